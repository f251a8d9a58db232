"""The on-disk contract of lr_plugin: plugin name, tags, payload kinds and versions.

The callbacks' writer and the TensorBoard plugin's reader both import this module
and nothing else of each other. It needs neither TensorFlow nor Keras.

Layout of a run (one directory, owned by one writer per process)::

    <log_dir>/lr_timeline/events.out.tfevents.*
        bundles                     kind "bundle":  everything one flush wrote (written now,
                                    see "Bundles" below): the tags that follow, as parts
        learning_rate/<optimizer>   kind "rates":   the rates applied, one chunk per flush
        planned/<optimizer>         kind "rates":   the schedule's planned rate, same layout
        epochs                      kind "records": JSON list of epoch records
        plateau                     kind "records": JSON list of plateau decisions
        events                      kind "records": JSON list of events
        sessions                    kind "records": JSON list of training-session marks
        setup                       kind "records": one record per session: the callbacks that
                                    change or watch the rate, their order and settings, the
                                    optimizer and the legacy arguments Keras dropped
        lr_finder                   kind "records": JSON list of LR range tests

Training sessions. Each ``fit()`` call (each process, each call) is a session:
its writer adds ``{"session": id, "state": "begin", "start_step": s,
"start_time": t, "host": h, "pid": p}`` when training begins and ``{"session":
id, "state": "end", "end_step": e, "end_time": t}`` when it ends, e being the
last step that ran (no end mark:
the session crashed or is still running). Every epoch, plateau and event
record carries the ``"session"`` id of the training that wrote it; a rates
chunk belongs to the session of its run directory that began last at or
before the chunk's wall time. Readers resolve sessions as TensorBoard resolves
restarts: a session that starts at step s supersedes every earlier session's
rates and records at steps >= s; one that starts after its predecessor's last
step extends it. Data written before sessions existed is one session.

LR finder. ``lr_plugin.find_lr(..., log_dir=...)`` adds one ``lr_finder``
record per sweep: ``{"session": id, "step": s, "optimizer": name, "mode":
"exponential"|"linear", "min_lr", "max_lr", "steps", "smoothing",
"diverge_factor", "start_time", "end_time", "learning_rates": [...],
"losses": [...], "smoothed_losses": [...], "diverged_at": rate|null,
"stopped": "diverged"|"max_lr"|"out_of_data", "suggestions": {method:
rate|null}, "suggestion": method}``. ``step`` is the optimizer's iteration
count when the sweep began; the finder restores it, so the training that
follows starts there. A sweep is not a training session: its ``session`` is
its own id and it supersedes nothing. ``losses[i]`` is the loss measured
after the update at ``learning_rates[i]``.

Rates payloads. A chunk of ``n`` (step, rate) pairs is one of two kinds of
tensor; a reader tells them apart by the tensor's dtype, and the layouts of
uint8 tensors by their header, never by the summary metadata (TensorBoard
keeps a tag's metadata from its first event only, and one tag may hold chunks
of every layout when a newer lr_plugin resumes an older run):

- Version 1: a float64 tensor of shape [n, 2], rows (step, rate). 16 bytes a step.
- Versions 2 and 3: a 1-D uint8 tensor, a 32-byte little-endian header, then
  the body; the layout version byte tells them apart::

      offset  size  field
           0     4  magic b"LRTR"
           4     1  layout version, 2 or 3
           5     1  bytes of a rate: 4 (float32) or 8 (float64)
           6     1  step layout: 0 = arithmetic, step[i] = first + i * stride;
                    1 = explicit, the body holds the n steps
           7     1  reserved, 0
           8     8  n, uint64
          16     8  first, int64 (0 when explicit)
          24     8  stride, int64 (0 when explicit)
          32        body

  Version 2 body: the steps (explicit layout only) as n int64, then the rates
  as n float32 or float64. The tensor holds exactly ``32 + n * (8 if
  explicit) + n * rate bytes`` bytes. The usual chunk costs 4 bytes a step.

  Version 3 body (written now): one zlib stream, to the last byte of the
  tensor, of ``lr_plugin.format.rate_codec``: the differences of the rates'
  bit patterns (uint32 or uint64, wrapping), split into byte planes (every
  first byte, then every second byte, ...); in the explicit layout the steps'
  int64 differences, planed the same way, come first in the same stream. It
  inflates to exactly ``n * (8 if explicit) + n * rate bytes`` bytes and
  nothing follows it; there is no byte count, the tensor's end is the
  stream's. A reader inflates no more than that, and refuses an ``n`` the
  stream's bytes could not hold (deflate inflates at most 1032-fold). A
  float32 schedule costs 0.01-0.6 bytes a step (see rate_codec), plus 40
  bytes a chunk (the header, zlib's own 8).

  Rates are float32 when every rate of the chunk is a float32 value (as Keras
  applies them), else float64 (a schedule evaluated on the host may not be).
  Steps are (first, stride) when they form an arithmetic progression (one per
  optimizer update, or per ``update_freq`` updates), else explicit.

In every layout steps are whole numbers from 0 to 2**53 and rates may be NaN
or infinite; -0.0 keeps its sign.

Bundles (written since payload version 4). A writer's flush is one event of
the tag ``bundles``: one TensorBoard point per flush (an epoch, usually)
rather than one per tag, which is what TensorBoard's memory grows with. The
payload is a 1-D uint8 tensor::

      offset  size  field
           0     4  magic b"LRTB"
           4     1  bundle layout version, 1
           5     3  reserved, 0
           8     4  I, the bytes of the index, uint32 little-endian
          12     I  the index: UTF-8 JSON {"parts": [[tag, bytes], ...],
                    "tags": [tag, ...]}
        12+I        the parts, back to back, each of its listed bytes, to
                    the tensor's last byte

A part of a rates tag is a version 2 or 3 rates payload (below); a part of a
record tag is its records payload (a JSON list) as one zlib stream. Parts
come in the order written (rates, then records), and a tag has at most one
part per bundle. ``tags`` lists every tag the writer has written to the run
so far, so that the run's last bundle alone says what the run holds
(optimizers, plateau decisions, a planned series). A reader treats each part
as a payload of its tag with the bundle's step and wall time. A part that
does not match its tag's format is skipped alone; a bundle whose header or
index is damaged is skipped whole.

Every summary has ``plugin_name = "lr_timeline"`` and ``data_class = DATA_CLASS_TENSOR``
(without a data class TensorBoard's data providers hide the series). Its
``plugin_data.content`` is a serialized ``LrTimelinePluginData`` message::

    syntax = "proto3";
    package lr_plugin;
    message LrTimelinePluginData {
      int32 version = 1;  // the oldest reader version that reads the payload;
                          // readers skip versions newer than theirs
      string kind = 2;    // "rates" or "records"
    }

The message class is built at import time from a FileDescriptorProto rather than from
generated ``_pb2`` code: generated code newer than the installed protobuf runtime fails
to import, and TensorFlow 2.16+ pins a wide range of protobuf versions.
"""

import json
import struct
import zlib

import numpy as np
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory
from tensorboard.compat.proto import summary_pb2

from lr_plugin.format import rate_codec

PLUGIN_NAME = "lr_timeline"
"""Name of the TensorBoard plugin and of the summaries it reads."""

RUN_SUBDIR = "lr_timeline"
"""The callbacks write to ``os.path.join(log_dir, RUN_SUBDIR)``, beside Keras'
``train`` and ``validation`` directories, so a run never shares a directory
with another writer."""

PAYLOAD_VERSION = 4
"""The newest payload version this lr_plugin reads. Bump it when a payload
changes so that older readers would misread it."""

KIND_RATES = "rates"
KIND_RECORDS = "records"
KIND_BUNDLE = "bundle"

WRITTEN_VERSIONS = {KIND_RATES: 3, KIND_RECORDS: 1, KIND_BUNDLE: 4}
"""The version each kind is written with: the oldest reader that reads it.
The writer writes bundles only (version 4); an older lr_plugin does not know
their tag and reads nothing of a run written with them. The other kinds are
read in runs written before bundles, and their versions are what those hold."""

LEARNING_RATE_PREFIX = "learning_rate/"
PLANNED_PREFIX = "planned/"
EPOCHS_TAG = "epochs"
PLATEAU_TAG = "plateau"
EVENTS_TAG = "events"
SESSIONS_TAG = "sessions"
SETUP_TAG = "setup"
RECORD_TAGS = (EPOCHS_TAG, PLATEAU_TAG, EVENTS_TAG, SESSIONS_TAG, SETUP_TAG)

SESSION_KEY = "session"
"""Key of the session id in every record."""
SESSION_BEGIN = "begin"
SESSION_END = "end"

PLATEAU_ACTIONS = (
    "improved",
    "wait",
    "cooldown",
    "reduce",
    "at_min_lr",
    "missing_metric",
)
EVENT_KINDS = (
    "reduce",
    "cooldown_start",
    "cooldown_end",
    "min_lr_reached",
    "lr_set",
)

LR_FINDER_TAG = "lr_finder"
"""Records of LR range tests (``lr_plugin.find_lr``), one per sweep."""
RECORD_TAGS = RECORD_TAGS + (LR_FINDER_TAG,)

BUNDLE_TAG = "bundles"
"""The tag of bundles: everything one flush of a writer wrote, in one point."""


def _build_plugin_data_class():
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="lr_plugin/plugin_data.proto", package="lr_plugin", syntax="proto3"
    )
    message = file_proto.message_type.add(name="LrTimelinePluginData")
    field = descriptor_pb2.FieldDescriptorProto
    message.field.add(
        name="version", number=1, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL
    )
    message.field.add(
        name="kind", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    descriptor = pool.FindMessageTypeByName("lr_plugin.LrTimelinePluginData")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


LrTimelinePluginData = _build_plugin_data_class()


def rates_tag(optimizer_name, planned=False):
    """Tag of the rate series of one optimizer."""
    return (PLANNED_PREFIX if planned else LEARNING_RATE_PREFIX) + optimizer_name


def kind_of_tag(tag):
    """The payload kind a tag carries, or None for a tag this version does not know."""
    if tag.startswith(LEARNING_RATE_PREFIX) or tag.startswith(PLANNED_PREFIX):
        return KIND_RATES
    if tag in RECORD_TAGS:
        return KIND_RECORDS
    if tag == BUNDLE_TAG:
        return KIND_BUNDLE
    return None


def create_summary_metadata(kind):
    """SummaryMetadata for a summary of the given payload kind."""
    content = LrTimelinePluginData(version=WRITTEN_VERSIONS[kind], kind=kind)
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=content.SerializeToString()
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


def parse_plugin_metadata(content):
    """Parses ``plugin_data.content`` into an ``LrTimelinePluginData``.

    Raises:
        ValueError: when the bytes are not such a message.
    """
    if not isinstance(content, bytes):
        raise TypeError(f"Content must be bytes. Received: {type(content)!r}")
    result = LrTimelinePluginData()
    try:
        result.ParseFromString(content)
    except Exception as error:  # protobuf raises its own DecodeError
        raise ValueError(f"Not lr_timeline plugin data: {error}") from error
    return result


def is_readable(content):
    """Whether this version of lr_plugin can read a payload with that metadata."""
    try:
        data = parse_plugin_metadata(content)
    except ValueError:
        return False
    return 0 < data.version <= PAYLOAD_VERSION


RATES_MAGIC = b"LRTR"
RATES_LAYOUT_VERSION = 3
"""The layout version ``encode_rates`` writes by default; ``decode_rates`` reads 2 and 3."""
STEPS_ARITHMETIC = 0
STEPS_EXPLICIT = 1
RATES_HEADER = struct.Struct("<4sBBBBQqq")
"""The 32-byte header of a version 2 or 3 rates payload (see the module docstring)."""
RATES_HEADER_BYTES = RATES_HEADER.size


def encode_rates(steps, rates, layout_version=RATES_LAYOUT_VERSION):
    """The ``rates`` payload (see the module docstring): a 1-D uint8 array.

    Args:
        steps: the whole-number steps, from 0 to 2**53.
        rates: the rates, one per step; float32 values are stored in 4 bytes.
        layout_version: 3 (compressed, written by default) or 2 (the arrays
            as they are, what lr_plugin wrote before version 3; for tests and
            benchmarks that compare the two).
    """
    if layout_version not in (2, 3):
        raise ValueError(
            f"encode_rates writes rates payload layout 2 or 3. Received "
            f"layout_version={layout_version!r}")
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    if steps.size != rates.size:
        raise ValueError(
            f"A rates payload needs one rate per step. Received {steps.size} steps and "
            f"{rates.size} rates.")
    rates = rate_codec.narrowest(rates)
    count = steps.size
    first = int(steps[0]) if count else 0
    stride = int(steps[1] - steps[0]) if count > 1 else 0
    arithmetic = count < 2 or bool(np.all(np.diff(steps) == stride))
    layout, first, stride = ((STEPS_ARITHMETIC, first, stride) if arithmetic
                             else (STEPS_EXPLICIT, 0, 0))
    header = RATES_HEADER.pack(RATES_MAGIC, layout_version, rates.itemsize, layout, 0,
                                count, first, stride)
    rates = rates.astype(rate_codec.RATE_TYPES[rates.itemsize], copy=False)
    if layout_version == 3:
        body = (rate_codec.encode(rates) if arithmetic
                else rate_codec.encode_steps_and_rates(steps, rates))
    else:
        body = (b"" if arithmetic else steps.astype(rate_codec.STEP_TYPE).tobytes()) + rates.tobytes()
    return np.frombuffer(header + body, dtype=np.uint8)


def decode_rates(array):
    """``(int64 steps, float64 rates)`` of a ``rates`` payload of any version.

    Checks the layout, not the values: ``lr_plugin.format.schema.check_rates``
    also checks that steps lie in [0, 2**53). Never allocates more than a small
    multiple of the bytes the payload holds (version 2) or of the steps its
    header declares (version 3, whose count its bytes must be able to hold).

    Raises:
        ValueError: for an array that is no layout, saying what was wrong.
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return _decode_rates_with_header(array)
    array = np.asarray(array, dtype=np.float64).reshape(-1, 2)  # version 1
    return array[:, 0].astype(np.int64), array[:, 1]


def _decode_rates_with_header(array):
    if array.ndim != 1:
        raise ValueError(
            f"a version 2 or 3 rates payload must be a 1-D uint8 tensor; received shape "
            f"{list(array.shape)}")
    data = np.ascontiguousarray(array)  # read in place: no copy of the payload
    if data.size < RATES_HEADER_BYTES:
        raise ValueError(
            f"a version 2 or 3 rates payload needs its {RATES_HEADER_BYTES}-byte header; "
            f"received {data.size} bytes")
    magic, version, rate_bytes, layout, reserved, count, first, stride = (
        RATES_HEADER.unpack_from(data))
    if magic != RATES_MAGIC or version not in (2, 3) or reserved:
        raise ValueError(
            f"the rates payload's header is not lr_timeline's (magic {magic!r}, layout "
            f"version {version}, reserved byte {reserved}; expected {RATES_MAGIC!r}, 2 or 3, "
            "0)")
    if rate_bytes not in rate_codec.RATE_TYPES:
        raise ValueError(
            f"the rates payload's rates are {rate_bytes} bytes each; expected 4 (float32) "
            "or 8 (float64)")
    if layout not in (STEPS_ARITHMETIC, STEPS_EXPLICIT):
        raise ValueError(
            f"the rates payload's step layout is {layout}; expected {STEPS_ARITHMETIC} "
            f"(arithmetic) or {STEPS_EXPLICIT} (explicit)")
    explicit = layout == STEPS_EXPLICIT
    if explicit and (first or stride):
        raise ValueError(
            f"the rates payload's explicit steps come with first {first} and stride {stride}; "
            "expected 0 and 0")
    if version == 3:
        body = data[RATES_HEADER_BYTES:]
        try:
            if explicit:
                steps, rates = rate_codec.decode_steps_and_rates(body, count, rate_bytes)
                return steps, rates.astype(np.float64)
            rates = rate_codec.decode(body, count, rate_bytes).astype(np.float64)
        except ValueError as error:
            raise ValueError(
                f"the rates payload's header declares {count} steps; its body does not hold "
                f"them: {error}") from None
    else:
        step_bytes = rate_codec.STEP_TYPE.itemsize if explicit else 0
        # Python integers: a hostile count cannot overflow, and nothing is allocated yet.
        expected = RATES_HEADER_BYTES + count * (step_bytes + rate_bytes)
        if data.size != expected:
            raise ValueError(
                f"the rates payload's header declares {count} steps, which take {expected} "
                f"bytes; it holds {data.size}")
        rates_at = RATES_HEADER_BYTES + count * step_bytes
        rates = np.frombuffer(data, rate_codec.RATE_TYPES[rate_bytes], count, rates_at).astype(np.float64)
        if explicit:
            return (np.frombuffer(data, rate_codec.STEP_TYPE, count, RATES_HEADER_BYTES).astype(np.int64),
                    rates)
    return _arithmetic_steps(count, first, stride), rates


def _arithmetic_steps(count, first, stride):
    last = first + stride * (count - 1) if count else first
    # Every step and every partial product of the in-place computation below fits int64.
    if not (-2**63 <= min(first, last) and max(first, last) < 2**63 and abs(last - first) < 2**63):
        raise ValueError(
            f"the rates payload's steps run from {first} to {last}, beyond int64")
    steps = np.arange(count, dtype=np.int64)  # then in place: one array, no temporaries
    steps *= stride
    steps += first
    return steps


def encode_records(records):
    """The ``records`` payload: JSON bytes of a list of dicts.

    NaN and infinities are kept as the JSON extensions ``NaN``/``Infinity``,
    which Python's json module reads back.
    """
    return json.dumps(list(records), separators=(",", ":")).encode("utf-8")


def decode_records(payload):
    """Inverse of encode_records."""
    if isinstance(payload, np.ndarray):
        payload = payload.item()
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    records = json.loads(payload)
    if not isinstance(records, list):
        raise ValueError("A records payload must be a JSON list.")
    return records


BUNDLE_MAGIC = b"LRTB"
BUNDLE_LAYOUT_VERSION = 1
BUNDLE_HEADER = struct.Struct("<4sB3sI")
"""The 12-byte header of a bundle (see the module docstring)."""
_RECORDS_ZLIB_LEVEL = 6


def encode_bundle(rates, records, tags):
    """The ``bundle`` payload of one flush: a 1-D uint8 array.

    Args:
        rates: ``[(tag, rates payload), ...]``, payloads of ``encode_rates``.
        records: ``[(tag, [record, ...]), ...]``.
        tags: every tag the writer has written to the run, these included.
    """
    parts, bodies = [], []
    for tag, payload in rates:
        body = np.asarray(payload, dtype=np.uint8).tobytes()
        parts.append([tag, len(body)])
        bodies.append(body)
    for tag, tag_records in records:
        body = zlib.compress(encode_records(tag_records), _RECORDS_ZLIB_LEVEL)
        parts.append([tag, len(body)])
        bodies.append(body)
    index = json.dumps({"parts": parts, "tags": sorted(tags)}, separators=(",", ":")).encode("utf-8")
    header = BUNDLE_HEADER.pack(BUNDLE_MAGIC, BUNDLE_LAYOUT_VERSION, bytes(3), len(index))
    return np.frombuffer(b"".join([header, index, *bodies]), dtype=np.uint8)


def decode_bundle(array):
    """``(parts, tags)`` of a ``bundle`` payload.

    ``parts`` is ``[(tag, part), ...]`` in the order written: for a rates tag the
    rates payload (a uint8 array, to check with ``schema.check_rates``), for a
    record tag the records payload's JSON bytes, or the ``ValueError`` that says
    why that part cannot be inflated (a damaged part is skipped alone). Tags
    this version does not know are left out. ``tags`` is the index's list of
    every tag written to the run.

    Raises:
        ValueError: when the header or the index is damaged, saying what was wrong.
    """
    index, data = _bundle_index(array)
    parts, offset = [], BUNDLE_HEADER.size + index["size"]
    for tag, size in index["parts"]:
        # Views of the bundle, not copies: a build holds thousands of parts.
        body = data[offset:offset + size]
        offset += size
        kind = kind_of_tag(tag)
        if kind == KIND_RATES:
            parts.append((tag, body))
        elif kind == KIND_RECORDS:
            parts.append((tag, _inflate_records(body)))
    return parts, index["tags"]


def bundle_tags(array):
    """The index's list of every tag written to the run (see ``decode_bundle``), parts not read."""
    return _bundle_index(array)[0]["tags"]


def _bundle_index(array):
    data = np.asarray(array)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(
            f"a bundle must be a 1-D uint8 tensor; received {data.dtype} of shape "
            f"{list(data.shape)}")
    data = np.ascontiguousarray(data)
    if len(data) < BUNDLE_HEADER.size:
        raise ValueError(
            f"a bundle needs its {BUNDLE_HEADER.size}-byte header; received {len(data)} bytes")
    magic, version, reserved, size = BUNDLE_HEADER.unpack_from(data)
    if magic != BUNDLE_MAGIC or version != BUNDLE_LAYOUT_VERSION or reserved != bytes(3):
        raise ValueError(
            f"the bundle's header is not lr_timeline's (magic {magic!r}, layout version "
            f"{version}, reserved {reserved!r}; expected {BUNDLE_MAGIC!r}, "
            f"{BUNDLE_LAYOUT_VERSION}, zeros)")
    end = BUNDLE_HEADER.size + size
    if end > len(data):
        raise ValueError(
            f"the bundle's index is said to take {size} bytes; only "
            f"{len(data) - BUNDLE_HEADER.size} follow the header")
    text = data[BUNDLE_HEADER.size:end].tobytes()
    try:
        index = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"the bundle's index is not JSON: {error}") from None
    parts = index.get("parts") if isinstance(index, dict) else None
    tags = index.get("tags") if isinstance(index, dict) else None
    if (not isinstance(parts, list) or not isinstance(tags, list)
            or not all(isinstance(t, str) for t in tags)
            or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                       and isinstance(p[1], int) and not isinstance(p[1], bool) and p[1] >= 0
                       for p in parts)):
        raise ValueError(
            "the bundle's index must be {\"parts\": [[tag, bytes], ...], \"tags\": [tag, "
            f"...]}}; received {text[:200]!r}")
    body = sum(p[1] for p in parts)
    if end + body != len(data):
        raise ValueError(
            f"the bundle's parts are said to take {body} bytes; {len(data) - end} follow "
            "the index")
    return {"parts": parts, "tags": tags, "size": size}, data


MAX_RECORDS_PART_BYTES = 64 * 2**20
"""A bundle's records part inflates to no more than this: a flush's records are
kilobytes (an LR finder sweep's lists, a few hundred), so more is damage, not
inflated at all."""


def _inflate_records(body):
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(body, MAX_RECORDS_PART_BYTES)
    except zlib.error as error:
        return ValueError(f"the records part does not inflate ({error})")
    if inflater.unconsumed_tail:
        return ValueError(f"the records part inflates to more than {MAX_RECORDS_PART_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        return ValueError("the records part is not one whole zlib stream")
    return text
