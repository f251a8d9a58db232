"""Rates payloads: version 2 (compact, written now) and version 1 (older runs) read right.

A version 2 chunk is a 1-D uint8 tensor: a 32-byte header, then float32 rates
when every rate is a float32 value, and explicit int64 steps only when they are
not an arithmetic progression (layout in lr_plugin/format/metadata.py).
"""

import json
import math
import os
import re
import tracemalloc

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from lr_plugin.format import metadata
from lr_plugin.format import reader
from lr_plugin.format import schema
from lr_plugin.format import writer as writer_lib

HEADER = metadata.RATES_HEADER_BYTES


def float32_values(values):
    """Python floats that are float32 values, as Keras applies rates."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


COSINE = float32_values(0.01 * (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, 1000))))

ROUND_TRIPS = {
    # name: (steps, rates, bytes of the payload)
    "contiguous steps, float32 rates": (range(1000), COSINE, HEADER + 4 * 1000),
    "strided steps (update_freq=5)": (range(10, 5010, 5), COSINE, HEADER + 4 * 1000),
    "irregular steps": ([0, 1, 3, 7, 8], COSINE[:5], HEADER + (8 + 4) * 5),
    "a restart inside the chunk": ([5, 6, 2, 3], COSINE[:4], HEADER + (8 + 4) * 4),
    "rates that are not float32 values": (
        range(4), [0.1, 1 / 3, 1e-300, 1e300], HEADER + 8 * 4),
    "NaN and infinities": (range(4), [math.nan, math.inf, -math.inf, COSINE[0]], HEADER + 4 * 4),
    "empty": ([], [], HEADER),
    "one step": ([7], [COSINE[0]], HEADER + 4),
    "steps up to 2**53 - 1": (range(2**53 - 3, 2**53), COSINE[:3], HEADER + 4 * 3),
    "irregular steps up to 2**53 - 1": ([0, 2**53 - 2, 2**53 - 1], COSINE[:3], HEADER + 12 * 3),
}


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_version_2_round_trips_exactly_in_the_bytes_the_layout_promises(name):
    steps, rates, size = ROUND_TRIPS[name]
    payload = metadata.encode_rates(steps, rates)
    assert payload.dtype == np.uint8 and payload.ndim == 1 and payload.nbytes == size
    proto = tensor_util.make_tensor_proto(payload)
    assert proto.dtype == 4 and len(proto.tensor_content) == size  # DT_UINT8, raw bytes
    # TensorBoard's own conversion (what both data providers hand the plugin) keeps it as is.
    np.testing.assert_array_equal(tensor_util.make_ndarray(proto), payload)
    decoded_steps, decoded_rates = schema.check_rates(schema.decode_tensor(proto))
    assert decoded_steps.dtype == np.int64 and decoded_rates.dtype == np.float64
    assert decoded_steps.tolist() == list(steps)
    np.testing.assert_array_equal(decoded_rates, np.asarray(rates, dtype=np.float64))
    raw_steps, raw_rates = metadata.decode_rates(payload)  # the contract's decoder, unchecked
    assert raw_steps.tolist() == list(steps)
    np.testing.assert_array_equal(raw_rates, decoded_rates)


def test_version_1_payloads_still_read_through_the_same_check():
    version_1 = np.array([[0, 0.1], [1, math.nan], [5, 0.3]], dtype=np.float64)
    steps, rates = schema.check_rates(schema.decode_tensor(
        tensor_util.make_tensor_proto(version_1)))
    assert steps.tolist() == [0, 1, 5]
    np.testing.assert_array_equal(rates, [0.1, math.nan, 0.3])


def test_encoding_rejects_steps_and_rates_of_different_lengths():
    with pytest.raises(ValueError, match="one rate per step. Received 3 steps and 2 rates"):
        metadata.encode_rates([0, 1, 2], [0.1, 0.2])


def forged(rate_bytes=4, layout=metadata.STEPS_ARITHMETIC, count=2, first=0, stride=1,
           body=8, magic=metadata.RATES_MAGIC, version=2, reserved=0):
    """A version 2 payload with the given header fields, then ``body`` (bytes, or
    that many zero bytes)."""
    header = metadata.RATES_HEADER.pack(magic, version, rate_bytes, layout, reserved, count,
                                        first, stride)
    return np.frombuffer(header + bytes(body), dtype=np.uint8)


HOSTILE = {
    "count far above the bytes": (forged(count=2**62), "declares 4611686018427387904 steps"),
    "count of 2**64 - 1": (forged(count=2**64 - 1, layout=1), "it holds 40"),
    "truncated": (metadata.encode_rates(range(1000), COSINE)[:-3],
                  "declares 1000 steps, which take 4032 bytes; it holds 4029"),
    "shorter than the header": (np.zeros(10, np.uint8), "needs its 32-byte header; received 10"),
    "not our magic": (forged(magic=b"LRTX"), "magic b'LRTX'"),
    "a later layout version": (forged(version=3), "layout version 3"),
    "a reserved byte set": (forged(reserved=1), "reserved byte 1"),
    "two-byte rates": (forged(rate_bytes=2), "2 bytes each; expected 4 (float32) or 8"),
    "an unknown step layout": (forged(layout=7), "step layout is 7; expected 0"),
    "steps beyond int64": (forged(count=3, first=2**62, stride=2**62, body=12), "beyond int64"),
    "a stride that wraps int64": (forged(first=2**62, stride=-(2**63)), "beyond int64"),
    "steps past 2**53": (forged(first=2**53 - 1), "from 0 to 2**53; received 9007199254740992"),
    "a negative first step": (forged(first=-1), "received -1"),
    "a negative explicit step": (forged(layout=1, count=1, first=0, stride=0,
                                        body=np.int64(-5).tobytes() + bytes(4)), "received -5"),
    "a two-dimensional uint8 tensor": (np.zeros((4, 8), np.uint8), "must be a 1-D uint8 tensor"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_lying_header_is_refused_without_allocating_what_it_declares(name):
    payload, message = HOSTILE[name]
    tracemalloc.start()
    try:
        with pytest.raises(schema.PayloadError, match=re.escape(message)):
            schema.check_rates(payload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 + 4 * payload.nbytes, peak


def read_tensor_values(run_dir, tag):
    """The TensorProtos of ``tag`` in the run's event files, in written order."""
    protos = []
    for name in sorted(f for f in os.listdir(run_dir) if "tfevents" in f):
        for event in reader.read_event_file(os.path.join(run_dir, name)):
            protos += [v.tensor for v in event.summary.value if v.tag == tag]
    return protos


def layout_of(proto):
    """``(rate bytes, step layout, count)`` from a version 2 payload's header."""
    fields = metadata.RATES_HEADER.unpack_from(proto.tensor_content)
    return fields[2], fields[3], fields[5]


def test_the_writer_writes_version_2_and_marks_only_rates_as_needing_it(tmp_path):
    run_writer = writer_lib.open_run_writer(tmp_path)
    run_writer.add_rates("SGD", range(100), COSINE[:100])
    run_writer.add_record(metadata.EPOCHS_TAG, {"epoch": 0, "first_step": 0, "last_step": 99})
    run_writer.flush(step=99)
    run_writer.add_rates("SGD", [100, 102, 107], [0.1, 0.2, 0.3])
    run_writer.close()
    first, second = read_tensor_values(tmp_path, "learning_rate/SGD")
    assert layout_of(first) == (4, metadata.STEPS_ARITHMETIC, 100)
    assert len(first.tensor_content) == HEADER + 400
    assert layout_of(second) == (8, metadata.STEPS_EXPLICIT, 3)
    versions = {}
    for name in [f for f in os.listdir(tmp_path) if "tfevents" in f]:
        for event in reader.read_event_file(os.path.join(tmp_path, name)):
            for value in event.summary.value:
                content = metadata.parse_plugin_metadata(value.metadata.plugin_data.content)
                versions[value.tag] = content.version
    # An older lr_plugin (version 1) still reads the records and skips the rates with
    # its "newer lr_plugin" warning rather than misreading them.
    assert versions == {"learning_rate/SGD": 2, "epochs": 1}


def write_version_1_run(run_dir, steps, rates):
    """One rates chunk as lr_plugin wrote it before version 2 (float64 [n, 2]), in a
    file named as if written a year ago, so that every loader reads it first."""
    os.makedirs(run_dir, exist_ok=True)
    events = EventFileWriter(str(run_dir), filename_suffix=".v1")
    event = event_pb2.Event(wall_time=1.7e9, step=int(steps[-1]))
    summary_metadata = metadata.create_summary_metadata(metadata.KIND_RATES)
    summary_metadata.plugin_data.content = metadata.LrTimelinePluginData(
        version=1, kind=metadata.KIND_RATES).SerializeToString()
    version_1 = np.stack([np.asarray(steps, np.float64), np.asarray(rates, np.float64)], axis=1)
    event.summary.value.add(tag="learning_rate/SGD", metadata=summary_metadata,
                            tensor=tensor_util.make_tensor_proto(version_1))
    events.add_event(event)
    events.close()
    (name,) = os.listdir(run_dir)
    os.rename(os.path.join(run_dir, name), os.path.join(
        run_dir, "events.out.tfevents.1700000000.older-lr-plugin.v1"))


MIXED_RATES = np.concatenate([np.full(100, 0.1), COSINE[:100]])


def write_mixed_run(run_dir):
    """Steps 0-99 in a version 1 chunk (an older lr_plugin), 100-199 in version 2 chunks."""
    write_version_1_run(run_dir, range(100), MIXED_RATES[:100])
    run_writer = writer_lib.open_run_writer(run_dir)
    for first in (100, 150):
        run_writer.add_rates("SGD", range(first, first + 50), MIXED_RATES[first:first + 50])
        run_writer.flush(step=first + 49)
    run_writer.close()


def test_one_tag_mixing_version_1_and_version_2_chunks_reads_every_step(tmp_path):
    write_mixed_run(tmp_path / "resumed" / "lr_timeline")
    steps, rates = reader.read_timelines(str(tmp_path))["resumed/lr_timeline"]["learning_rate"][
        "SGD"]
    assert steps.tolist() == list(range(200))
    np.testing.assert_array_equal(rates, MIXED_RATES)


def served_rates(body):
    """``(steps, rates)`` of the SGD series of a /timeline answer."""
    points = body["learning_rate"]["SGD"]
    return [s for s, _ in points], np.array([r for _, r in points], dtype=np.float64)


def test_the_in_process_plugin_serves_a_mixed_tag_whole(tmp_path):
    import tb_helpers

    write_mixed_run(tmp_path / "resumed" / "lr_timeline")
    response = tb_helpers.make_client(tmp_path).get(
        "/data/plugin/lr_timeline/timeline?run=resumed/lr_timeline&downsample=1000000")
    assert response.status_code == 200
    assert response.json["points"] == {"SGD": 200}
    steps, rates = served_rates(response.json)
    assert steps == list(range(200))
    np.testing.assert_array_equal(rates, MIXED_RATES)


def test_a_lying_version_2_chunk_is_skipped_with_one_warning_and_the_rest_read(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    run_writer = writer_lib.open_run_writer(run_dir)
    run_writer.add_rates("SGD", range(10), COSINE[:10])
    run_writer.close()
    events = EventFileWriter(str(run_dir), filename_suffix=".hostile")
    event = event_pb2.Event(wall_time=2e9, step=10**6)
    event.summary.value.add(tag="learning_rate/SGD",
                            metadata=metadata.create_summary_metadata(metadata.KIND_RATES),
                            tensor=tensor_util.make_tensor_proto(forged(count=2**62)))
    events.add_event(event)
    events.close()
    with pytest.warns(schema.InvalidPayloadWarning) as caught:
        run = reader.read_timelines(str(tmp_path))["exp/lr_timeline"]
    assert [str(w.message) for w in caught] == [
        "lr_timeline skipped data that does not match its format (run 'exp/lr_timeline', tag "
        "'learning_rate/SGD', step 1000000): the rates payload's header declares "
        "4611686018427387904 steps, which take 18446744073709551648 bytes; it holds 40. "
        "The rest of the run is read."]
    assert run["learning_rate"]["SGD"][0].tolist() == list(range(10))


def test_a_real_fit_writes_version_2_whose_rates_the_weights_confirm(tmp_path, weight_trace):
    import keras

    from conftest import linear_probe
    from conftest import probe_data
    from conftest import rates_of
    from conftest import read_run
    from lr_plugin.callbacks import LearningRateMonitor

    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=12, alpha=0.1)
    model = linear_probe(schedule)
    model.fit(*probe_data(6), batch_size=4, epochs=2, verbose=0, shuffle=False,
              callbacks=[LearningRateMonitor(tmp_path), weight_trace.callback])
    run_dir = tmp_path / "lr_timeline"
    chunks = read_tensor_values(run_dir, "learning_rate/SGD")
    assert chunks and all(p.dtype == 4 for p in chunks)  # every chunk is version 2
    # Keras applies float32 rates and one update per step: 4 bytes a step.
    assert {layout_of(p)[:2] for p in chunks} == {(4, metadata.STEPS_ARITHMETIC)}
    assert sum(layout_of(p)[2] for p in chunks) == 12
    steps, logged = rates_of(read_run(tmp_path))
    assert steps == list(range(12))
    # (The weight is float32: each delta is the rate up to one rounding of the weight.)
    np.testing.assert_allclose(logged, weight_trace.applied_rates(), rtol=1e-6, atol=1e-7)
    assert len(set(logged.tolist())) == 12  # the schedule moved the rate at every step


@pytest.mark.slow
@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_a_real_tensorboard_serves_a_mixed_tag_whole_on_both_loaders(tmp_path, load_fast):
    """Both data providers hand the plugin each chunk's tensor unchanged: uint8
    version 2 chunks after a float64 version 1 chunk whose metadata the tag keeps."""
    import time
    import urllib.error

    import tb_helpers

    logdir = tmp_path / "logs"
    write_mixed_run(logdir / "resumed" / "lr_timeline")
    process, port, log_path = tb_helpers.start_tensorboard_with_loader(logdir, tmp_path, load_fast)
    try:
        body = None
        for _ in range(90):  # until the run is loaded whole, or the process dies
            if process.poll() is not None:
                pytest.fail("tensorboard exited:\n" + log_path.read_text(errors="replace"))
            try:
                status, _, text = tb_helpers.fetch(port, "/data/plugin/lr_timeline/timeline?"
                                                   "run=resumed/lr_timeline&downsample=1000000")
                body = json.loads(text) if status == 200 else None
            except (urllib.error.URLError, OSError, ValueError):
                body = None
            if body is not None and body.get("points") == {"SGD": 200}:
                break
            time.sleep(2)
        assert body is not None and body["points"] == {"SGD": 200}, body
        steps, rates = served_rates(body)
        assert steps == list(range(200))
        np.testing.assert_array_equal(rates, MIXED_RATES)
        log = log_path.read_text(errors="replace")
        assert "Traceback" not in log and "skipped data" not in log, log[-4000:]
    finally:
        tb_helpers.stop_process(process)
