"""A seeded generator of damaged lr_timeline event files.

``write_base_run`` writes a healthy run with the writer API (a session, 12
epochs of 20 steps, each flushed as one bundle: a rate chunk, an epoch
record, a plateau record and, at some epochs, an event). ``variants(seed)`` derives damaged
copies of its event file: truncations, byte flips, inserted garbage, and frames
whose checksums are valid around malformed payloads (wrong dtype, bad shapes,
non-JSON, wrong JSON types, deep nesting, a newer payload version, rates
payloads whose header or zlib body lies, a zip bomb, bundles whose header,
index or parts lie). Each variant says up to
which byte the file is intact, so a test can check that everything before the
damage was kept.
"""

import collections
import json
import os
import random
import struct
import time
import zlib

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.compat.proto import tensor_pb2
from tensorboard.compat.proto import tensor_shape_pb2

from lr_plugin.format import metadata
from lr_plugin.format import records
from lr_plugin.format import writer as writer_lib

EPOCHS = 12
STEPS_PER_EPOCH = 20
REDUCED_AT = (3, 7, 10)
LATE_STEP = 10**6  # event step of inserted payloads: after every real one, so no loader purges

Variant = collections.namedtuple("Variant", "name data intact_until")
"""``data``: the damaged file's bytes; bytes before ``intact_until`` are untouched
(for an inserted frame, the whole original file is intact around it)."""


def rate_of_epoch(epoch):
    return 0.1 * 0.5 ** sum(epoch > e for e in REDUCED_AT)


def write_base_run(run_dir):
    """Writes the healthy run; returns the path of its one event file."""
    run_writer = writer_lib.open_run_writer(run_dir)
    run_writer.add_record(metadata.SESSIONS_TAG, {
        "session": "s1", "state": "begin", "start_step": 0, "start_time": time.time() - 60,
        "host": "faults", "pid": 1})
    for epoch in range(EPOCHS):
        first, last = epoch * STEPS_PER_EPOCH, (epoch + 1) * STEPS_PER_EPOCH - 1
        rate = rate_of_epoch(epoch)
        run_writer.add_rates("SGD", range(first, last + 1), [rate] * STEPS_PER_EPOCH)
        run_writer.add_record(metadata.EPOCHS_TAG, {
            "session": "s1", "epoch": epoch, "first_step": first, "last_step": last,
            "learning_rate": rate, "metrics": {"loss": 1.0 / (epoch + 1)}})
        reduced = epoch in REDUCED_AT
        run_writer.add_record(metadata.PLATEAU_TAG, {
            "session": "s1", "epoch": epoch, "step": last,
            "action": "reduce" if reduced else "wait", "lr_before": rate,
            "lr_after": rate / 2 if reduced else rate})
        if reduced:
            run_writer.add_record(metadata.EVENTS_TAG, {
                "session": "s1", "kind": "reduce", "epoch": epoch, "step": last,
                "lr_before": rate, "lr_after": rate / 2})
        run_writer.flush(step=last)
    run_writer.close()
    (name,) = [f for f in os.listdir(run_dir) if "tfevents" in f]
    return os.path.join(run_dir, name)


def epochs_before(data, offset):
    """The epochs whose epoch record lies wholly in ``data[:offset]``."""
    epochs = []
    for start, frame in _frames(data):
        if start + len(frame) + records.HEADER_BYTES + records.FOOTER_BYTES > offset:
            break
        event = event_pb2.Event.FromString(frame)
        for value in event.summary.value:
            if value.tag != metadata.BUNDLE_TAG:
                continue
            bundle = np.frombuffer(value.tensor.tensor_content, np.uint8)
            for tag, part in metadata.decode_bundle(bundle)[0]:
                if tag == metadata.EPOCHS_TAG:
                    epochs.extend(r["epoch"] for r in metadata.decode_records(part))
    return epochs


def _frames(data):
    offset = 0
    while offset + records.HEADER_BYTES <= len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        end = offset + records.HEADER_BYTES + length + records.FOOTER_BYTES
        if end > len(data):
            return
        yield offset, data[offset + records.HEADER_BYTES:end - records.FOOTER_BYTES]
        offset = end


def variants(base, seed=0, per_kind=8):
    """Damaged copies of the event file bytes ``base``: a list of ``Variant``."""
    rng = random.Random(seed)
    boundaries = [start for start, _ in _frames(base)][1:]  # after the file-version record
    result = []
    for index in range(per_kind):
        cut = rng.randrange(len(base) // 4, len(base))
        result.append(Variant(f"truncated_{index}", base[:cut], cut))
    for index in range(per_kind):
        where = rng.randrange(boundaries[0], len(base))
        flipped = bytearray(base)
        flipped[where] ^= 1 << rng.randrange(8)
        result.append(Variant(f"flipped_{index}", bytes(flipped), where))
    for index in range(per_kind):
        where = rng.choice(boundaries) if index % 2 else rng.randrange(boundaries[0], len(base))
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        result.append(Variant(f"garbage_{index}", base[:where] + garbage + base[where:], where))
    for name, frame in malformed_frames():
        result.append(Variant(f"malformed_{name}", base + frame, len(base)))
    return result


def _tensor(dtype, shape, content=b"", **values):
    tensor = tensor_pb2.TensorProto(
        dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in shape]),
        tensor_content=content)
    for field, items in values.items():
        getattr(tensor, field).extend(items)
    return tensor


def _summary_frame(tag, tensor, kind=None, version=metadata.PAYLOAD_VERSION, content=None):
    kind = kind or metadata.kind_of_tag(tag)
    plugin_content = content if content is not None else metadata.LrTimelinePluginData(
        version=version, kind=kind).SerializeToString()
    event = event_pb2.Event(wall_time=time.time(), step=LATE_STEP)
    event.summary.value.add(tag=tag, tensor=tensor, metadata=summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=plugin_content),
        data_class=summary_pb2.DATA_CLASS_TENSOR))
    return records.frame(event.SerializeToString())


def _records_tensor(text):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _tensor(7, [], string_val=[data])


def _packed_tensor(version=2, count=None, cut=0, layout=None, first=None, body=None, extra=b""):
    """A version 2 or 3 rates tensor of two steps (float32 rates) with header fields
    forged, ``cut`` bytes cut off its end, its body replaced or ``extra`` appended."""
    good = metadata.encode_rates([1_000_000, 1_000_001], [0.5, 0.25],
                                 layout_version=version).tobytes()
    fields = list(metadata.RATES_HEADER.unpack_from(good))  # magic, version, rate bytes,
    for index, value in ((3, layout), (5, count), (6, first)):  # layout, 0, count, first, stride
        if value is not None:
            fields[index] = value
    header_bytes = metadata.RATES_HEADER.size
    data = metadata.RATES_HEADER.pack(*fields) + (good[header_bytes:] if body is None else body)
    data = data[:len(data) - cut] + extra
    return _tensor(4, [len(data)], data)


ZIP_BOMB = zlib.compress(bytes(20_000_000), 9)
"""19 KB that inflate to 20 MB: a version 3 body that would exhaust a careless reader."""


def _bundle_tensor(index=None, parts=(), magic=b"LRTB", version=1, size_delta=0):
    """A bundle (uint8 tensor) of ``parts`` (``[(tag, bytes)]``) with header or index forged."""
    if index is None:
        index = {"parts": [[tag, len(body)] for tag, body in parts],
                 "tags": sorted({tag for tag, _ in parts})}
    text = index if isinstance(index, bytes) else json.dumps(index).encode()
    data = (metadata.BUNDLE_HEADER.pack(magic, version, bytes(3), len(text) + size_delta)
            + text + b"".join(body for _, body in parts))
    return _tensor(4, [len(data)], data)


def _late_records(records_list):
    """A bundle's records part."""
    return zlib.compress(json.dumps(records_list).encode())


def malformed_frames():
    """``[(name, frame)]``: valid frames around payloads that break the contract."""
    rates_tag, doubles = "learning_rate/SGD", np.array([[1e6, 0.5]]).tobytes()
    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        ("rates_int32_dtype", rates_tag, _tensor(3, [1, 2], np.array([1, 2], "<i4").tobytes())),
        ("rates_unknown_dtype", rates_tag, _tensor(999, [1, 2], doubles)),
        ("rates_negative_dim", rates_tag, _tensor(2, [-3, 2], doubles)),
        ("rates_content_does_not_fit", rates_tag, _tensor(2, [5, 2], doubles)),
        ("rates_huge_shape_empty", rates_tag, _tensor(2, [10**12, 2])),
        ("rates_three_columns", rates_tag, _tensor(2, [1, 3], np.zeros(3).tobytes())),
        ("rates_nan_step", rates_tag, _tensor(2, [1, 2], np.array([np.nan, 0.1]).tobytes())),
        ("rates_string", rates_tag, _records_tensor("[]")),
        # Version 2 (uint8) payloads whose header lies about the bytes that follow.
        ("rates_v2_count_too_large", rates_tag, _packed_tensor(count=2**62)),
        ("rates_v2_truncated", rates_tag, _packed_tensor(cut=3)),
        ("rates_v2_unknown_step_layout", rates_tag, _packed_tensor(layout=7)),
        ("rates_v2_steps_past_2_53", rates_tag, _packed_tensor(first=2**53 - 1)),
        # Version 3 (compressed) payloads whose zlib body lies about the steps it holds.
        ("rates_v3_truncated_zlib", rates_tag, _packed_tensor(3, cut=3)),
        ("rates_v3_count_too_large", rates_tag, _packed_tensor(3, count=3)),
        ("rates_v3_count_far_too_large", rates_tag, _packed_tensor(3, count=2**62)),
        ("rates_v3_count_too_small", rates_tag, _packed_tensor(3, count=1)),
        ("rates_v3_zip_bomb", rates_tag, _packed_tensor(3, body=ZIP_BOMB)),
        ("rates_v3_trailing_bytes", rates_tag, _packed_tensor(3, extra=b"\x00\x01")),
        ("rates_v3_steps_past_2_53", rates_tag, _packed_tensor(3, first=2**53 - 1)),
        ("planned_negative_step", "planned/SGD",
         _tensor(2, [1, 2], np.array([-5.0, 0.1]).tobytes())),
        ("records_not_json", "events", _records_tensor("{not json")),
        ("records_not_utf8", "events", _records_tensor(b"\xff\xfe[")),
        ("records_not_a_list", "events", _records_tensor('{"kind": "reduce"}')),
        ("records_two_strings", "events", _tensor(7, [2], string_val=[b"[]", b"[]"])),
        ("records_float_tensor", "plateau", _tensor(2, [1, 2], doubles)),
        ("epoch_warmup", "epochs", _records_tensor(json.dumps(
            [{"epoch": "warmup", "first_step": 0, "last_step": 5}, {"epoch": 20}]))),
        ("epoch_list", "epochs", _records_tensor(json.dumps([{"epoch": [1, 2]}]))),
        ("event_steps_of_mixed_types", "events", _records_tensor(json.dumps(
            [{"kind": "reduce", "epoch": 1, "step": "5"},
             {"kind": "reduce", "epoch": 1, "step": 5.5},
             {"kind": "reduce", "epoch": 1, "step": [1]},
             {"kind": "lr_set", "epoch": 2, "step": None},
             {"kind": "teleport", "epoch": 1, "step": 3}, "not a record", None]))),
        ("plateau_unknown_action", "plateau", _records_tensor(json.dumps(
            [{"epoch": 1, "action": "panic"}, {"epoch": True, "action": "wait"}]))),
        ("sessions_without_start", "sessions", _records_tensor(json.dumps(
            [{"session": "s2", "state": "begin"}, {"session": 1.5, "state": "end"}]))),
        ("records_deep_json", "events", _records_tensor(deep)),
        ("record_field_deep_json", "epochs", _records_tensor(
            '[{"epoch": 30, "extra": ' + "[" * 500 + "]" * 500 + "}]")),
        ("records_newer_version", "events",
         _records_tensor(json.dumps([{"kind": "reduce", "epoch": 1, "step": 1}]))),
        ("garbage_plugin_content", "events", _records_tensor("[]")),
        # Bundles: a damaged header or index skips the bundle, a damaged part only itself.
        ("bundle_wrong_magic", "bundles", _bundle_tensor(parts=[("events", _late_records([]))],
                                                         magic=b"LRTR")),
        ("bundle_newer_layout", "bundles", _bundle_tensor(version=2)),
        ("bundle_index_not_json", "bundles", _bundle_tensor(index=b"{not json")),
        ("bundle_index_past_the_end", "bundles", _bundle_tensor(size_delta=10**6)),
        ("bundle_parts_lie_about_sizes", "bundles", _bundle_tensor(
            index={"parts": [["events", 10**6]], "tags": ["events"]})),
        ("bundle_records_part_not_zlib", "bundles", _bundle_tensor(
            parts=[("events", b"not zlib at all")])),
        ("bundle_records_part_zip_bomb", "bundles", _bundle_tensor(
            parts=[("events", zlib.compress(b"[" + b" " * 70_000_000 + b"]", 9))])),
        ("bundle_rates_part_lies", "bundles", _bundle_tensor(
            parts=[("learning_rate/SGD", _packed_tensor(3, count=2**62).tensor_content)])),
    ]
    frames = []
    for name, tag, tensor in cases:
        if name == "records_newer_version":
            frames.append((name, _summary_frame(tag, tensor, version=metadata.PAYLOAD_VERSION + 1)))
        elif name == "garbage_plugin_content":
            frames.append((name, _summary_frame(tag, tensor, content=b"\xff\xff\xff")))
        else:
            frames.append((name, _summary_frame(tag, tensor)))
    frames.append(("frame_not_an_event", records.frame(b"\x0a\xff\xff\xff\xff\xff\xff")))
    return frames


def write_variants(logdir, seed=0, per_kind=8, exclude=()):
    """Writes the base run and every variant as runs ``<name>/lr_timeline`` under logdir.

    Returns ``{run: Variant}`` plus the base run as ``"healthy/lr_timeline"``;
    variants named in ``exclude`` are left out.
    """
    base_path = write_base_run(os.path.join(logdir, "healthy", metadata.RUN_SUBDIR))
    with open(base_path, "rb") as handle:
        base = handle.read()
    written = {"healthy/lr_timeline": Variant("healthy", base, len(base))}
    for variant in variants(base, seed, per_kind):
        if variant.name in exclude:
            continue
        run_dir = os.path.join(logdir, variant.name, metadata.RUN_SUBDIR)
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, os.path.basename(base_path)), "wb") as handle:
            handle.write(variant.data)
        written[f"{variant.name}/lr_timeline"] = variant
    return written
