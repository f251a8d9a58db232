"""The on-disk contract of lr_plugin: plugin name, tags, payload kinds and versions.

The callbacks' writer and the TensorBoard plugin's reader both import this module
and nothing else of each other. It needs neither TensorFlow nor Keras.

Layout of a run (one directory, owned by one writer per process)::

    <log_dir>/lr_timeline/events.out.tfevents.*
        learning_rate/<optimizer>   kind "rates":   float64 tensor [n, 2] of (step, rate)
        planned/<optimizer>         kind "rates":   the schedule's planned rate, same shape
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

Every summary has ``plugin_name = "lr_timeline"`` and ``data_class = DATA_CLASS_TENSOR``
(without a data class TensorBoard's data providers hide the series). Its
``plugin_data.content`` is a serialized ``LrTimelinePluginData`` message::

    syntax = "proto3";
    package lr_plugin;
    message LrTimelinePluginData {
      int32 version = 1;  // payload version; readers skip versions newer than theirs
      string kind = 2;    // "rates" or "records"
    }

The message class is built at import time from a FileDescriptorProto rather than from
generated ``_pb2`` code: generated code newer than the installed protobuf runtime fails
to import, and TensorFlow 2.16+ pins a wide range of protobuf versions.
"""

import json

import numpy as np
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory
from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "lr_timeline"
"""Name of the TensorBoard plugin and of the summaries it reads."""

RUN_SUBDIR = "lr_timeline"
"""The callbacks write to ``os.path.join(log_dir, RUN_SUBDIR)``, beside Keras'
``train`` and ``validation`` directories, so a run never shares a directory
with another writer."""

PAYLOAD_VERSION = 1
"""Version of the payloads written now. Bump it when a payload changes shape."""

KIND_RATES = "rates"
KIND_RECORDS = "records"

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
    return None


def create_summary_metadata(kind):
    """SummaryMetadata for a summary of the given payload kind."""
    content = LrTimelinePluginData(version=PAYLOAD_VERSION, kind=kind)
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


def encode_rates(steps, rates):
    """The ``rates`` payload: a float64 array of shape [n, 2], rows (step, rate).

    float64 holds every step below 2**53 exactly and every float32 rate exactly.
    """
    return np.stack(
        [np.asarray(steps, dtype=np.float64), np.asarray(rates, dtype=np.float64)],
        axis=1,
    ).reshape(-1, 2)


def decode_rates(array):
    """Inverse of encode_rates: (int64 steps, float64 rates)."""
    array = np.asarray(array, dtype=np.float64).reshape(-1, 2)
    return array[:, 0].astype(np.int64), array[:, 1]


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
