"""Writer -> event file -> reader round trip of every field of the on-disk format."""

import json
import math
import os

import numpy as np
import pytest

from lr_plugin.format import metadata
from lr_plugin.format import reader
from lr_plugin.format import schema
from lr_plugin.model import timeline
from lr_plugin.format import writer as writer_lib
from sample_runs import write_full_run


def test_round_trip_of_every_field(tmp_path):
    write_full_run(tmp_path / "exp" / "lr_timeline")
    runs = reader.read_timelines(str(tmp_path))
    assert list(runs) == ["exp/lr_timeline"]
    run = timeline.to_json_run(runs["exp/lr_timeline"])
    assert run["learning_rate"] == {
        "SGD": [[0, 0.1], [1, 0.1], [2, 0.1], [3, 0.05], [4, 0.05], [5, "NaN"], [6, 0.01], [7, 0.01]],
        "Adam_head": [[0, 0.001]],
    }
    assert [s for s, _ in run["planned"]["SGD"]] == list(range(10))
    assert run["planned"]["SGD"][-1][1] == pytest.approx(0.01)
    assert run["epochs"] == [{"epoch": 0, "first_step": 0, "last_step": 2, "learning_rate": 0.1,
                              "learning_rates": {"SGD": 0.1},
                              "metrics": {"loss": 0.5, "val_loss": "Infinity"}}]
    assert run["plateau"][0]["value"] == "Infinity" and run["plateau"][0]["best"] is None
    assert [e["kind"] for e in run["events"]] == ["reduce", "cooldown_end"]
    json.dumps(run, allow_nan=False)  # strict JSON


def test_summaries_follow_the_contract(tmp_path):
    write_full_run(tmp_path)
    (path,) = reader.find_runs(str(tmp_path))["."]
    steps, bundles = [], []
    for event in reader.read_event_file(path):
        for value in event.summary.value:
            assert value.tag == metadata.BUNDLE_TAG  # one point per flush
            meta = value.metadata
            assert meta.plugin_data.plugin_name == "lr_timeline"
            assert meta.data_class == metadata.summary_pb2.DATA_CLASS_TENSOR
            parsed = metadata.parse_plugin_metadata(meta.plugin_data.content)
            assert (parsed.kind, parsed.version) == (metadata.KIND_BUNDLE, 4)
            assert metadata.WRITTEN_VERSIONS[parsed.kind] == metadata.PAYLOAD_VERSION == 4
            steps.append(event.step)
            bundles.append(metadata.decode_bundle(schema.decode_tensor(value.tensor)))
    everything = ["epochs", "events", "learning_rate/Adam_head", "learning_rate/SGD",
                  "planned/SGD", "plateau"]
    # The flush at step 3 holds everything buffered, rates first; close() the rest.
    assert [[tag for tag, _ in parts] for parts, _ in bundles] == [
        ["learning_rate/SGD", "learning_rate/Adam_head", "planned/SGD", "epochs", "plateau",
         "events"],
        ["learning_rate/SGD", "events"],
    ]
    # Each bundle lists every tag written so far: the last one alone says what the run holds.
    assert [tags for _, tags in bundles] == [everything, everything]
    # TensorBoard's fast loader drops points whose step does not grow: a bundle's step is
    # its newest rate's step (planned/SGD reaches 9), then one more.
    assert steps == [9, 10]


def test_one_writer_per_directory_per_process(tmp_path):
    first = writer_lib.open_run_writer(tmp_path / "run")
    second = writer_lib.open_run_writer(str(tmp_path / "run") + "/")
    assert first is second
    first.close()
    assert writer_lib.open_run_writer(tmp_path / "run") is not first
    assert len([f for f in os.listdir(tmp_path / "run") if "tfevents" in f]) == 2


def test_a_rewritten_step_keeps_the_last_value():
    steps, rates = timeline.merge_rates([
        (np.array([0, 1, 2]), np.array([0.1, 0.1, 0.1])),
        (np.array([1, 2, 3]), np.array([0.5, 0.5, 0.5])),
    ])
    assert steps.tolist() == [0, 1, 2, 3]
    assert rates.tolist() == [0.1, 0.5, 0.5, 0.5]


def write_rate_chunks(run_dir, chunks):
    """A run of ``chunks`` rate payloads of 10 steps; returns its event file."""
    w = writer_lib.open_run_writer(run_dir)
    for chunk in range(chunks):
        w.add_rates("SGD", range(chunk * 10, chunk * 10 + 10), [0.1] * 10)
        w.flush(step=chunk * 10 + 10)
    w.close()
    (path,) = [run_dir / f for f in os.listdir(run_dir) if "tfevents" in f]
    return path


def test_truncated_event_file_is_read_up_to_the_damage(tmp_path):
    path = write_rate_chunks(tmp_path / "crashed", 5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # cut into the last record
    with pytest.warns(reader.DamagedEventFileWarning, match="damaged or truncated after"):
        runs = reader.read_timelines(str(tmp_path))
    steps, _ = runs["crashed"]["learning_rate"]["SGD"]
    assert steps.tolist() == list(range(40))


def test_corrupted_record_in_the_middle_stops_there_with_a_warning(tmp_path):
    path = write_rate_chunks(tmp_path / "bad", 3)
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF  # flip a byte inside the last record's payload: its CRC fails
    path.write_bytes(bytes(data))
    with pytest.warns(reader.DamagedEventFileWarning):
        runs = reader.read_timelines(str(tmp_path))
    # The damaged record is kept only if it still reads, as TensorBoard keeps it.
    assert runs["bad"]["learning_rate"]["SGD"][0].tolist()[:20] == list(range(20))


def test_empty_or_missing_log_directory_says_what_to_do(tmp_path):
    with pytest.raises(reader.LogDirNotFound, match="does not exist"):
        reader.read_timelines(str(tmp_path / "nowhere"))
    with pytest.raises(reader.LogDirNotFound, match="LearningRateMonitor"):
        reader.read_timelines(str(tmp_path))


def test_payloads_of_a_newer_version_are_skipped(tmp_path):
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    events = EventFileWriter(str(tmp_path))
    event = event_pb2.Event(step=1)
    meta = metadata.create_summary_metadata(metadata.KIND_RATES)
    meta.plugin_data.content = metadata.LrTimelinePluginData(version=99, kind="rates").SerializeToString()
    event.summary.value.add(tag="learning_rate/SGD", metadata=meta,
                            tensor=tensor_util.make_tensor_proto(metadata.encode_rates([0], [0.1])))
    events.add_event(event)
    events.close()
    with pytest.raises(reader.LogDirNotFound):
        reader.read_timelines(str(tmp_path))


def test_plugin_metadata_rejects_garbage():
    with pytest.raises(ValueError, match="Not lr_timeline plugin data"):
        metadata.parse_plugin_metadata(b"\xff\xff\xff")
    assert not metadata.is_readable(b"\xff\xff")
    assert math.isnan(metadata.decode_rates(metadata.encode_rates([1], [float("nan")]))[1][0])


def test_a_damaged_payload_is_skipped_with_a_warning():
    good = metadata.encode_records([{"kind": "reduce", "epoch": 1, "step": 9}])
    with pytest.warns(UserWarning) as caught:
        run = timeline.build_run({"events": [np.array(b"{not json", dtype=object),
                                             np.array(good, dtype=object)],
                                  "learning_rate/SGD": [np.zeros(3)]})
    assert sorted(str(w.message).split(":")[0] for w in caught) == [
        "lr_timeline skipped data that does not match its format (tag 'events')",
        "lr_timeline skipped data that does not match its format (tag 'learning_rate/SGD')"]
    assert run["events"] == [{"kind": "reduce", "epoch": 1, "step": 9}]
    assert run["learning_rate"]["SGD"][0].size == 0
