"""Rates payloads: version 3 (compressed, written now), 2 and 1 (older runs) read right.

A version 2 or 3 chunk is a 1-D uint8 tensor: a 32-byte header, then float32
rates when every rate is a float32 value, and steps only when they are not an
arithmetic progression (layout in lr_plugin/format/metadata.py). Version 2
holds the arrays as they are, version 3 one zlib stream of rate_codec.
"""

import json
import math
import os
import re
import subprocess
import sys
import tarfile
import tracemalloc
import zlib

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from lr_plugin.format import metadata
from lr_plugin.format import rate_codec
from lr_plugin.format import reader
from lr_plugin.format import schema
from lr_plugin.format import writer as writer_lib
import raw_events

HEADER = metadata.RATES_HEADER_BYTES
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def float32_values(values):
    """Python floats that are float32 values, as Keras applies rates."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


COSINE = float32_values(0.01 * (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, 1000))))

ROUND_TRIPS = {
    # name: (steps, rates, bytes of the version 2 payload)
    "contiguous steps, float32 rates": (range(1000), COSINE, HEADER + 4 * 1000),
    "strided steps (update_freq=5)": (range(10, 5010, 5), COSINE, HEADER + 4 * 1000),
    "irregular steps": ([0, 1, 3, 7, 8], COSINE[:5], HEADER + (8 + 4) * 5),
    "a restart inside the chunk": ([5, 6, 2, 3], COSINE[:4], HEADER + (8 + 4) * 4),
    "rates that are not float32 values": (
        range(4), [0.1, 1 / 3, 1e-300, 1e300], HEADER + 8 * 4),
    "NaN, infinities and -0.0": (
        range(5), [math.nan, math.inf, -math.inf, -0.0, COSINE[0]], HEADER + 4 * 5),
    "float64 NaN, infinities and -0.0": (
        [0, 3, 4, 9], [math.nan, -math.inf, -0.0, 1 / 3], HEADER + (8 + 8) * 4),
    "empty": ([], [], HEADER),
    "one step": ([7], [COSINE[0]], HEADER + 4),
    "one float64 step": ([2**53 - 1], [0.1], HEADER + 8),
    "steps up to 2**53 - 1": (range(2**53 - 3, 2**53), COSINE[:3], HEADER + 4 * 3),
    "irregular steps up to 2**53 - 1": ([0, 2**53 - 2, 2**53 - 1], COSINE[:3], HEADER + 12 * 3),
}


def header_of(payload):
    """``{field: value}`` of a version 2 or 3 payload's header."""
    names = ("magic", "version", "rate_bytes", "layout", "reserved", "count", "first", "stride")
    return dict(zip(names, metadata.RATES_HEADER.unpack_from(bytes(payload))))


def assert_same_bits(actual, expected):
    """Equal as float64 bit patterns: NaN equals NaN, -0.0 differs from 0.0."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.dtype == np.float64
    np.testing.assert_array_equal(actual.view(np.uint64), expected.view(np.uint64))


def assert_reads_back(payload, steps, rates):
    """Through TensorBoard's tensor conversion and the schema check, as every reader reads."""
    proto = tensor_util.make_tensor_proto(payload)
    assert proto.dtype == 4 and proto.tensor_content == payload.tobytes()  # DT_UINT8, raw bytes
    # TensorBoard's own conversion (what both data providers hand the plugin) keeps it as is.
    np.testing.assert_array_equal(tensor_util.make_ndarray(proto), payload)
    decoded_steps, decoded_rates = schema.check_rates(schema.decode_tensor(proto))
    assert decoded_steps.dtype == np.int64
    assert decoded_steps.tolist() == list(steps)
    assert_same_bits(decoded_rates, rates)
    raw_steps, raw_rates = metadata.decode_rates(payload)  # the contract's decoder, unchecked
    assert raw_steps.tolist() == list(steps)
    assert_same_bits(raw_rates, rates)


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_version_3_round_trips_to_the_bit_as_one_zlib_stream_after_the_header(name):
    steps, rates, version_2_size = ROUND_TRIPS[name]
    payload = metadata.encode_rates(steps, rates)
    assert payload.dtype == np.uint8 and payload.ndim == 1
    header = header_of(payload)
    assert header["version"] == 3 == metadata.RATES_LAYOUT_VERSION
    count = len(steps)
    body_bytes = count * (header["rate_bytes"] + 8 * header["layout"])
    # The body is one zlib stream that ends with the tensor and inflates to the arrays.
    assert len(zlib.decompress(payload[HEADER:].tobytes())) == body_bytes
    # Same header fields as version 2 would write.
    version_2 = metadata.encode_rates(steps, rates, layout_version=2)
    assert {**header_of(version_2), "version": 3} == header
    assert_reads_back(payload, steps, rates)


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_version_2_round_trips_exactly_in_the_bytes_the_layout_promises(name):
    steps, rates, size = ROUND_TRIPS[name]
    payload = metadata.encode_rates(steps, rates, layout_version=2)
    assert payload.nbytes == size and header_of(payload)["version"] == 2
    assert_reads_back(payload, steps, rates)


def test_version_3_of_a_slow_float32_schedule_takes_a_fraction_of_a_byte_a_step():
    # One epoch of 10,000 steps of a cosine over 1,000,000 (Keras applies float32).
    rates = float32_values(0.01 * (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, 1_000_000))))
    steps = range(500_000, 510_000)
    payload = metadata.encode_rates(steps, rates[500_000:510_000])
    assert payload.nbytes < HEADER + 0.5 * 10_000, payload.nbytes  # version 2: 4 a step
    gaps = [s + s // 7 for s in steps]  # explicit steps: version 2 stores 12 bytes a step
    assert metadata.encode_rates(gaps, rates[500_000:510_000]).nbytes < HEADER + 10_000


def test_version_1_payloads_still_read_through_the_same_check():
    version_1 = np.array([[0, 0.1], [1, math.nan], [5, 0.3]], dtype=np.float64)
    steps, rates = schema.check_rates(schema.decode_tensor(
        tensor_util.make_tensor_proto(version_1)))
    assert steps.tolist() == [0, 1, 5]
    np.testing.assert_array_equal(rates, [0.1, math.nan, 0.3])


def test_encoding_rejects_steps_and_rates_of_different_lengths_and_unknown_layouts():
    with pytest.raises(ValueError, match="one rate per step. Received 3 steps and 2 rates"):
        metadata.encode_rates([0, 1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="layout 2 or 3. Received layout_version=1"):
        metadata.encode_rates([0], [0.1], layout_version=1)


def forged(rate_bytes=4, layout=metadata.STEPS_ARITHMETIC, count=2, first=0, stride=1,
           body=8, magic=metadata.RATES_MAGIC, version=2, reserved=0):
    """A version 2 (or ``version``) payload with the given header fields, then
    ``body`` (bytes, or that many zero bytes)."""
    header = metadata.RATES_HEADER.pack(magic, version, rate_bytes, layout, reserved, count,
                                        first, stride)
    return np.frombuffer(header + bytes(body), dtype=np.uint8)


HOSTILE = {
    "count far above the bytes": (forged(count=2**62), "declares 4611686018427387904 steps"),
    "count of 2**64 - 1": (forged(count=2**64 - 1, layout=1, stride=0), "it holds 40"),
    "truncated": (metadata.encode_rates(range(1000), COSINE, layout_version=2)[:-3],
                  "declares 1000 steps, which take 4032 bytes; it holds 4029"),
    "shorter than the header": (np.zeros(10, np.uint8), "needs its 32-byte header; received 10"),
    "not our magic": (forged(magic=b"LRTX"), "magic b'LRTX'"),
    "a later layout version": (forged(version=4), "layout version 4"),
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
    "explicit steps with a first step": (forged(layout=1, count=1, first=3, stride=0, body=12),
                                         "first 3 and stride 0; expected 0 and 0"),
}


def compressed(count=2, rates=None, layout=metadata.STEPS_ARITHMETIC, body=None, rate_bytes=4):
    """A version 3 payload declaring ``count`` steps (first 1,000,000, stride 1) with
    ``body`` after its header: by default rate_codec's stream of ``rates``."""
    if body is None:
        body = rate_codec.encode(np.asarray(rates, np.float32))
    arithmetic = layout == metadata.STEPS_ARITHMETIC
    return forged(rate_bytes=rate_bytes, layout=layout, count=count, version=3,
                  first=1_000_000 if arithmetic else 0, stride=1 if arithmetic else 0, body=body)


RATES_1000 = np.linspace(0.1, 0.2, 1000)
STREAM_1000 = rate_codec.encode(RATES_1000.astype(np.float32))
BOMB = zlib.compress(bytes(50_000_000), 9)  # 48 KB that inflate to 50 MB

HOSTILE_VERSION_3 = {
    # name: (payload, message, steps whose memory a reader may spend: the declared count, or
    # none when the payload's bytes could not hold it)
    "truncated zlib": (compressed(1000, body=STREAM_1000[:-6]), "compressed rates inflate to",
                       1000),
    "zlib cut after its end": (compressed(1000, body=STREAM_1000[:-2]),
                               "end before zlib's end mark", 1000),
    "zlib cut in its header": (compressed(1000, body=STREAM_1000[:1]),
                               "of 1 bytes cannot inflate to more than 1032 bytes", 0),
    "not zlib": (compressed(2, body=b"\x00" * 16), "do not inflate", 2),
    "a count that lies bigger": (compressed(1200, body=STREAM_1000), "inflate to 4000 bytes", 1200),
    "a count that lies smaller": (compressed(999, body=STREAM_1000),
                                  "hold more than 3996 bytes", 999),
    "a count its bytes cannot hold": (compressed(2**62, body=STREAM_1000),
                                      "cannot inflate to more than", 0),
    "a count of 2**64 - 1, explicit": (compressed(2**64 - 1, body=STREAM_1000, layout=1),
                                       "cannot inflate to more than", 0),
    "a zip bomb": (compressed(1000, body=BOMB), "hold more than 4000 bytes", 1000),
    "a zip bomb behind an empty chunk": (compressed(0, body=BOMB), "hold more than 0 bytes", 0),
    "trailing bytes": (compressed(1000, body=STREAM_1000 + b"LRTR"),
                       "followed by 4 stray bytes", 1000),
    "a rate stream where steps and rates belong": (
        compressed(1000, body=STREAM_1000, layout=1), "inflate to 4000 bytes", 1000),
    "steps past 2**53": (compressed(2, rates=[0.5, 0.25], body=rate_codec.encode_steps_and_rates(
        np.array([0, 2**53]), np.float32([0.5, 0.25])), layout=1),
        "from 0 to 2**53; received 9007199254740992", 2),
}


def peak_bytes_of_refusing(payload, message):
    """The most memory ``schema.check_rates`` held while refusing ``payload`` with ``message``."""
    tracemalloc.start()
    try:
        with pytest.raises(schema.PayloadError, match=re.escape(message)):
            schema.check_rates(payload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("name", HOSTILE_VERSION_3)
def test_a_hostile_version_3_body_is_refused_within_a_small_multiple_of_its_count(name):
    payload, message, allowed_steps = HOSTILE_VERSION_3[name]
    peak = peak_bytes_of_refusing(payload, message)
    # Never what a bomb inflates to, nor what a count declares beyond what its bytes hold.
    assert peak < 64 * 1024 + 4 * payload.nbytes + 4 * 12 * allowed_steps, peak


@pytest.mark.parametrize("name", HOSTILE)
def test_a_lying_header_is_refused_without_allocating_what_it_declares(name):
    payload, message = HOSTILE[name]
    peak = peak_bytes_of_refusing(payload, message)
    assert peak < 64 * 1024 + 4 * payload.nbytes, peak


def read_tensor_values(run_dir, tag):
    """The payload arrays of ``tag`` in the run's event files (bundles opened), in written order."""
    return [payload for _, part_tag, payload in raw_events.written_parts(str(run_dir))
            if part_tag == tag]


def layout_of(payload):
    """``(layout version, rate bytes, step layout, count)`` from a payload's header."""
    header = header_of(payload.tobytes())
    return header["version"], header["rate_bytes"], header["layout"], header["count"]


def metadata_versions(run_dir):
    """``{tag: plugin metadata version}`` of the run's summaries."""
    versions = {}
    for name in [f for f in os.listdir(run_dir) if "tfevents" in f]:
        for event in reader.read_event_file(os.path.join(run_dir, name)):
            for value in event.summary.value:
                content = metadata.parse_plugin_metadata(value.metadata.plugin_data.content)
                versions[value.tag] = content.version
    return versions


def test_the_writer_writes_version_3_rates_in_version_4_bundles(tmp_path):
    run_writer = writer_lib.open_run_writer(tmp_path)
    run_writer.add_rates("SGD", range(100), COSINE[:100])
    run_writer.add_record(metadata.EPOCHS_TAG, {"epoch": 0, "first_step": 0, "last_step": 99})
    run_writer.flush(step=99)
    run_writer.add_rates("SGD", [100, 102, 107], [0.1, 0.2, 0.3])
    run_writer.close()
    first, second = read_tensor_values(tmp_path, "learning_rate/SGD")
    assert layout_of(first) == (3, 4, metadata.STEPS_ARITHMETIC, 100)
    assert len(first) < HEADER + 400  # what version 2 took
    assert layout_of(second) == (3, 8, metadata.STEPS_EXPLICIT, 3)
    # An older lr_plugin (payload version 3 or less) skips the bundles rather than misreading them.
    assert metadata_versions(tmp_path) == {"bundles": 4}


def write_older_chunk(run_dir, version, steps, rates, wall_time):
    """One rates chunk as an older lr_plugin wrote it: version 1 (float64 [n, 2]) or 2
    (uint8, arrays as they are), with that version in its metadata, in a file named
    as if written at ``wall_time`` (long ago), so that every loader reads it first."""
    os.makedirs(run_dir, exist_ok=True)
    events = EventFileWriter(str(run_dir), filename_suffix=f".v{version}")
    event = event_pb2.Event(wall_time=wall_time, step=int(steps[-1]))
    summary_metadata = metadata.create_summary_metadata(metadata.KIND_RATES)
    summary_metadata.plugin_data.content = metadata.LrTimelinePluginData(
        version=version, kind=metadata.KIND_RATES).SerializeToString()
    if version == 1:
        payload = np.stack([np.asarray(steps, np.float64), np.asarray(rates, np.float64)], axis=1)
    else:
        payload = metadata.encode_rates(steps, rates, layout_version=2)
    event.summary.value.add(tag="learning_rate/SGD", metadata=summary_metadata,
                            tensor=tensor_util.make_tensor_proto(payload))
    events.add_event(event)
    events.close()
    (name,) = [f for f in os.listdir(run_dir) if f.endswith(f".v{version}")]
    os.rename(os.path.join(run_dir, name), os.path.join(
        run_dir, f"events.out.tfevents.{int(wall_time)}.older-lr-plugin.v{version}"))


MIXED_RATES = np.concatenate([np.full(100, 0.1), COSINE[:100], COSINE[::-1][:100]])


def write_mixed_run(run_dir):
    """Steps 0-99 in a version 1 chunk, 100-199 in version 2 chunks (older lr_plugins;
    explicit steps, then arithmetic), 200-299 in version 3 chunks (written now)."""
    write_older_chunk(run_dir, 1, range(100), MIXED_RATES[:100], 1.6e9)
    write_older_chunk(run_dir, 2, [100, 101, 103, 102], MIXED_RATES[[100, 101, 103, 102]], 1.7e9)
    run_writer = writer_lib.open_run_writer(run_dir)
    run_writer.add_rates("SGD", range(104, 200), MIXED_RATES[104:200])  # (a version 2 leftover)
    run_writer.flush(step=199)
    for first in (200, 250):
        run_writer.add_rates("SGD", range(first, first + 50), MIXED_RATES[first:first + 50])
        run_writer.flush(step=first + 49)
    run_writer.close()


def test_the_mixed_run_holds_every_layout_in_one_tag(tmp_path):
    run_dir = tmp_path / "resumed" / "lr_timeline"
    write_mixed_run(run_dir)
    chunks = read_tensor_values(run_dir, "learning_rate/SGD")
    assert chunks[0].dtype == np.float64  # version 1
    assert [layout_of(p)[0] for p in chunks[1:]] == [2, 3, 3, 3]


def test_one_tag_mixing_versions_1_2_and_3_reads_every_step(tmp_path):
    write_mixed_run(tmp_path / "resumed" / "lr_timeline")
    steps, rates = reader.read_timelines(str(tmp_path))["resumed/lr_timeline"]["learning_rate"][
        "SGD"]
    assert steps.tolist() == list(range(300))
    np.testing.assert_array_equal(rates, MIXED_RATES)


def test_lr_plugin_export_reads_a_mixed_tag_whole_in_a_subprocess(tmp_path):
    write_mixed_run(tmp_path / "resumed" / "lr_timeline")
    result = subprocess.run(
        [sys.executable, "-m", "lr_plugin.tools.cli", "export", str(tmp_path), "--run", "resumed"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    points = json.loads(result.stdout)["runs"]["resumed/lr_timeline"]["learning_rate"]["SGD"]
    steps, rates = served_rates({"learning_rate": {"SGD": points}})
    assert steps == list(range(300))
    # (Export writes each rate as the shortest text of its float32 value.)
    np.testing.assert_array_equal(rates.astype(np.float32), MIXED_RATES.astype(np.float32))


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
    assert response.json["points"] == {"SGD": 300}
    steps, rates = served_rates(response.json)
    assert steps == list(range(300))
    np.testing.assert_array_equal(rates, MIXED_RATES)


def hostile_run(tmp_path, payload):
    """A healthy 10-step run, then one chunk with ``payload`` at event step 1,000,000."""
    run_dir = tmp_path / "exp" / "lr_timeline"
    run_writer = writer_lib.open_run_writer(run_dir)
    run_writer.add_rates("SGD", range(10), COSINE[:10])
    run_writer.close()
    events = EventFileWriter(str(run_dir), filename_suffix=".hostile")
    event = event_pb2.Event(wall_time=2e9, step=10**6)
    event.summary.value.add(tag="learning_rate/SGD",
                            metadata=metadata.create_summary_metadata(metadata.KIND_RATES),
                            tensor=tensor_util.make_tensor_proto(payload))
    events.add_event(event)
    events.close()


SKIPPED = ("lr_timeline skipped data that does not match its format (run 'exp/lr_timeline', tag "
           "'learning_rate/SGD', step 1000000): {}. The rest of the run is read.")


@pytest.mark.parametrize("payload, reason", [
    (forged(count=2**62), "the rates payload's header declares 4611686018427387904 steps, which "
                          "take 18446744073709551648 bytes; it holds 40"),
    (compressed(1000, body=BOMB), "the rates payload's header declares 1000 steps; its body does "
                                  "not hold them: compressed rates hold more than 4000 bytes; "
                                  "expected 1000 rates of 4 bytes (4000 bytes), zlib-compressed "
                                  "and nothing after"),
], ids=["version 2 count", "version 3 zip bomb"])
def test_a_lying_chunk_is_skipped_with_one_warning_and_the_rest_read(tmp_path, payload, reason):
    hostile_run(tmp_path, payload)
    with pytest.warns(schema.InvalidPayloadWarning) as caught:
        run = reader.read_timelines(str(tmp_path))["exp/lr_timeline"]
    assert [str(w.message) for w in caught] == [SKIPPED.format(reason)]
    assert run["learning_rate"]["SGD"][0].tolist() == list(range(10))


def older_lr_plugin(destination):
    """The lr_plugin package of the newest commit that read up to payload version 2,
    unpacked under ``destination`` (skips the test outside a git checkout)."""
    def git(*args):
        return subprocess.run(["git", "-C", REPO, *args], capture_output=True, timeout=60)

    listed = git("log", "--format=%H", "--", "lr_plugin/format/metadata.py")
    if listed.returncode:
        pytest.skip("no git history here to take an older lr_plugin from")
    for commit in listed.stdout.decode().split():
        text = git("show", f"{commit}:lr_plugin/format/metadata.py").stdout.decode()
        if "\nPAYLOAD_VERSION = 2\n" in text:
            destination.mkdir()
            archive = destination / "older.tar"
            archive.write_bytes(git("archive", commit, "lr_plugin").stdout)
            with tarfile.open(archive) as tar:
                tar.extractall(destination, filter="data")
            return destination
    pytest.fail("no commit of lr_plugin/format/metadata.py reads up to payload version 2")


def test_an_older_lr_plugin_reads_nothing_of_a_bundled_run_rather_than_misreading_it(tmp_path):
    run_dir = tmp_path / "logs" / "exp" / "lr_timeline"
    run_writer = writer_lib.open_run_writer(run_dir)
    run_writer.add_rates("SGD", range(100), COSINE[:100])
    run_writer.add_record(metadata.EPOCHS_TAG, {"epoch": 0, "first_step": 0, "last_step": 99,
                                                "learning_rate": float(COSINE[99])})
    run_writer.close()
    older = older_lr_plugin(tmp_path / "older")
    env = {**os.environ, "PYTHONPATH": str(older)}
    result = subprocess.run(
        [sys.executable, "-m", "lr_plugin.tools.cli", "export", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    # Bundles are a tag it does not know: it says it found nothing to read, and exits 2.
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"lr-plugin export: error: No learning-rate data under {str(tmp_path / 'logs')!r}.")


def test_a_real_fit_writes_version_3_whose_rates_the_weights_confirm(tmp_path, weight_trace):
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
    assert chunks and all(p.dtype == np.uint8 for p in chunks)
    # Keras applies float32 rates and one update per step.
    assert {layout_of(p)[:3] for p in chunks} == {(3, 4, metadata.STEPS_ARITHMETIC)}
    assert sum(layout_of(p)[3] for p in chunks) == 12
    steps, logged = rates_of(read_run(tmp_path))
    assert steps == list(range(12))
    # (The weight is float32: each delta is the rate up to one rounding of the weight.)
    np.testing.assert_allclose(logged, weight_trace.applied_rates(), rtol=1e-6, atol=1e-7)
    assert len(set(logged.tolist())) == 12  # the schedule moved the rate at every step


@pytest.mark.slow
@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_a_real_tensorboard_serves_a_mixed_tag_whole_on_both_loaders(tmp_path, load_fast):
    """Both data providers hand the plugin each chunk's tensor unchanged: uint8
    version 2 and 3 chunks after a float64 version 1 chunk whose metadata the tag keeps."""
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
            if body is not None and body.get("points") == {"SGD": 300}:
                break
            time.sleep(2)
        assert body is not None and body["points"] == {"SGD": 300}, body
        steps, rates = served_rates(body)
        assert steps == list(range(300))
        np.testing.assert_array_equal(rates, MIXED_RATES)
        log = log_path.read_text(errors="replace")
        assert "Traceback" not in log and "skipped data" not in log, log[-4000:]
    finally:
        tb_helpers.stop_process(process)
