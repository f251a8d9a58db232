"""Bundles: one TensorBoard point per flush, each part read as a payload of its own tag."""

import json
import struct
import zlib

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from lr_plugin.format import metadata
from lr_plugin.format import reader
from lr_plugin.format import schema
from lr_plugin.format import writer as writer_lib
from lr_plugin.model import timeline

EPOCH = {"epoch": 0, "first_step": 0, "last_step": 3, "learning_rate": 0.1}
RATES = metadata.encode_rates(range(4), [0.1, 0.1, 0.05, float("nan")])


def forge(index, body=b"", magic=b"LRTB", version=1, reserved=b"\0\0\0", size=None):
    index = index if isinstance(index, bytes) else json.dumps(index).encode()
    header = struct.pack("<4sB3sI", magic, version, reserved, len(index) if size is None else size)
    return np.frombuffer(header + index + body, np.uint8)


def test_parts_come_back_in_written_order_with_every_tag_written():
    bundle = metadata.encode_bundle([("learning_rate/SGD", RATES)], [("epochs", [EPOCH])],
                                    {"learning_rate/SGD", "epochs", "plateau"})
    assert bundle.dtype == np.uint8 and bundle.ndim == 1
    assert bytes(bundle[:4]) == b"LRTB" and bundle[4] == 1
    parts, tags = metadata.decode_bundle(bundle)
    assert [tag for tag, _ in parts] == ["learning_rate/SGD", "epochs"]
    steps, rates = schema.check_rates(parts[0][1])
    assert steps.tolist() == [0, 1, 2, 3] and rates[2] == 0.05 and np.isnan(rates[3])
    assert schema.check_records("epochs", parts[1][1]) == ([EPOCH], [])
    assert tags == ["epochs", "learning_rate/SGD", "plateau"]
    assert metadata.bundle_tags(bundle) == tags


def test_a_part_of_a_tag_this_version_does_not_know_is_left_out():
    bundle = metadata.encode_bundle([], [("epochs", [EPOCH])], {"epochs"})
    records = bytes(bundle[12 + struct.unpack_from("<I", bundle, 8)[0]:])
    forged = forge({"parts": [["someday/new", 3], ["epochs", len(records)]],
                    "tags": ["epochs", "someday/new"]}, b"new" + records)
    parts, tags = metadata.decode_bundle(forged)
    assert [tag for tag, _ in parts] == ["epochs"] and "someday/new" in tags


@pytest.mark.parametrize("bundle, message", [
    (np.zeros(5, np.uint8), "needs its 12-byte header; received 5 bytes"),
    (forge({"parts": [], "tags": []}, magic=b"LRTR"), "not lr_timeline's"),
    (forge({"parts": [], "tags": []}, version=2), "layout version 2"),
    (forge({"parts": [], "tags": []}, reserved=b"\0\1\0"), "not lr_timeline's"),
    (forge({"parts": [], "tags": []}, size=10**6), "said to take 1000000 bytes; only 25 follow"),
    (forge(b"{not json"), "index is not JSON"),
    (forge({"parts": [["epochs", -1]], "tags": []}), "must be"),
    (forge({"parts": [["epochs", True]], "tags": []}), "must be"),
    (forge({"parts": [], "tags": [3]}), "must be"),
    (forge({"parts": [["epochs", 10]], "tags": []}, b"short"), "parts are said to take 10 bytes; 5"),
    (forge({"parts": [], "tags": []}, b"stray"), "parts are said to take 0 bytes; 5"),
    (np.zeros((2, 12), np.uint8), "1-D uint8"),
])
def test_a_damaged_header_or_index_is_refused_saying_what_was_wrong(bundle, message):
    with pytest.raises(ValueError, match=message):
        metadata.decode_bundle(bundle)


def write_bundles(run_dir, bundles):
    """Events of tag ``bundles`` with the given payloads, at steps 10, 20, ..."""
    events = EventFileWriter(str(run_dir))
    for index, payload in enumerate(bundles):
        event = event_pb2.Event(wall_time=1e9 + index, step=10 * (index + 1))
        event.summary.value.add(tag=metadata.BUNDLE_TAG,
                                metadata=metadata.create_summary_metadata(metadata.KIND_BUNDLE),
                                tensor=tensor_util.make_tensor_proto(payload))
        events.add_event(event)
    events.close()


def test_a_damaged_part_is_skipped_alone_and_a_damaged_bundle_whole(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    good = metadata.encode_bundle([("learning_rate/SGD", RATES)], [("epochs", [EPOCH])], set())
    later = metadata.encode_bundle(
        [("learning_rate/SGD", metadata.encode_rates([4, 5], [0.01, 0.01]))],
        [("epochs", [dict(EPOCH, epoch=1, first_step=4, last_step=5)])], set())
    # The second bundle's records part does not inflate; its rates part is whole.
    damaged_part = bytearray(later.tobytes())
    damaged_part[-4:] = b"\xff\xff\xff\xff"
    write_bundles(run_dir, [good, np.frombuffer(bytes(damaged_part), np.uint8),
                            forge({"parts": 3, "tags": []})])
    with pytest.warns(schema.InvalidPayloadWarning) as caught:
        run = reader.read_timelines(str(tmp_path))["exp/lr_timeline"]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages
    assert messages[0].startswith(
        "lr_timeline skipped data that does not match its format (run 'exp/lr_timeline', tag "
        "'epochs', step 20): the records part does not inflate")
    assert "(a part of a bundle)" in messages[0]
    assert messages[1].startswith(
        "lr_timeline skipped data that does not match its format (run 'exp/lr_timeline', tag "
        "'bundles', step 30): the bundle's index must be")
    assert run["learning_rate"]["SGD"][0].tolist() == [0, 1, 2, 3, 4, 5]
    assert [e["epoch"] for e in run["epochs"]] == [0]


def test_a_records_part_that_would_inflate_past_the_bound_is_refused_unread():
    bomb = zlib.compress(b" " * (metadata.MAX_RECORDS_PART_BYTES + 1), 9)
    bundle = forge({"parts": [["epochs", len(bomb)]], "tags": ["epochs"]}, bomb)
    ((tag, part),), _ = metadata.decode_bundle(bundle)
    assert tag == "epochs" and isinstance(part, ValueError)
    assert f"more than {metadata.MAX_RECORDS_PART_BYTES} bytes" in str(part)


def test_old_tags_and_bundles_in_one_run_read_as_one_timeline(tmp_path):
    """A run an older lr_plugin began (one tag per kind) and this one resumed."""
    run_dir = tmp_path / "exp" / "lr_timeline"
    events = EventFileWriter(str(run_dir), filename_suffix=".older")
    event = event_pb2.Event(wall_time=1e9, step=3)
    event.summary.value.add(tag="learning_rate/SGD",
                            metadata=metadata.create_summary_metadata(metadata.KIND_RATES),
                            tensor=tensor_util.make_tensor_proto(RATES))
    event.summary.value.add(tag="epochs",
                            metadata=metadata.create_summary_metadata(metadata.KIND_RECORDS),
                            tensor=tensor_util.make_tensor_proto(
                                np.array(metadata.encode_records([EPOCH]), dtype=object)))
    events.add_event(event)
    events.close()
    run_writer = writer_lib.open_run_writer(run_dir)
    run_writer.add_rates("SGD", [4, 5], [0.01, 0.01])
    run_writer.add_record("epochs", dict(EPOCH, epoch=1, first_step=4, last_step=5))
    run_writer.close()
    run = reader.read_timelines(str(tmp_path))["exp/lr_timeline"]
    assert run["learning_rate"]["SGD"][0].tolist() == [0, 1, 2, 3, 4, 5]
    assert [e["epoch"] for e in run["epochs"]] == [0, 1]
    import tb_helpers

    body = tb_helpers.make_client(tmp_path).get(
        "/data/plugin/lr_timeline/timeline?run=exp/lr_timeline").json
    assert [s for s, _ in body["learning_rate"]["SGD"]] == [0, 1, 2, 3, 4, 5]
    assert [e["epoch"] for e in body["epochs"]] == [0, 1]


def test_one_point_per_flush_whatever_the_tags(tmp_path):
    run_writer = writer_lib.open_run_writer(tmp_path)
    for epoch in range(3):
        run_writer.add_rates("SGD", range(epoch * 4, epoch * 4 + 4), [0.1] * 4)
        run_writer.add_rates("SGD", range(epoch * 4, epoch * 4 + 4), [0.1] * 4, planned=True)
        run_writer.add_record("epochs", dict(EPOCH, epoch=epoch))
        run_writer.add_record("plateau", {"epoch": epoch, "step": epoch * 4 + 3,
                                          "action": "wait"})
        run_writer.flush(step=epoch * 4 + 3)
    run_writer.close()
    (path,) = reader.find_runs(str(tmp_path))["."]
    events = [e for e in reader.read_event_file(path) if e.HasField("summary")]
    assert [[v.tag for v in e.summary.value] for e in events] == [["bundles"]] * 3
    assert [e.step for e in events] == [3, 7, 11]
    run = timeline.build_run({"bundles": [
        schema.decode_tensor(e.summary.value[0].tensor) for e in events]})
    assert run["learning_rate"]["SGD"][0].tolist() == list(range(12))
    assert run["planned"]["SGD"][0].tolist() == list(range(12))
    assert [r["epoch"] for r in run["plateau"]] == [0, 1, 2]
