"""The record schema of the contract, and the one place where payloads are checked.

Export, replay and the TensorBoard plugin decode every payload through
``check_rates`` and ``check_records``; the writer checks every record it is
given with ``check_record_to_write``, the same tables. A payload or record that does not match
is skipped with one ``InvalidPayloadWarning`` naming the run, the tag, the step
and what was wrong; the rest of the run is served. ``decode_tensor`` turns a
``TensorProto`` into an array without ever allocating more than the bytes the
proto holds (TensorBoard's ``make_ndarray`` trusts the declared shape).

The fields of each record kind are declared in ``RECORD_FIELDS``: a record
must have the required ones with the declared types; other fields are passed
through if they are plain JSON no deeper than ``MAX_EXTRA_DEPTH``.
"""

import collections
import json
import math
import warnings

import numpy as np

from lr_plugin.format import metadata

MAX_EXTRA_DEPTH = 8
"""Deepest nesting of lists and dicts accepted in a record field."""

MAX_STEP = 2**53
"""Steps lie below this: version 1 payloads store them as float64, which holds
every whole number below it exactly."""

Payload = collections.namedtuple("Payload", "step wall_time numpy")
"""One summary of a tag: its event step, wall time and decoded tensor.

Field names match TensorBoard's ``provider.TensorDatum``, so the plugin passes
the data provider's points as they are.
"""


class InvalidPayloadWarning(UserWarning):
    """A payload or record did not match the contract and was skipped."""


class PayloadError(ValueError):
    """A payload that does not match the contract; the message says how."""


# Field types.
INT = "a whole number"
NUMBER = "a number"
TEXT = "a string"
NUMBERS = "an object of numbers"
SESSION_ID = "a session id (string or whole number)"
FLOATS = "a list of numbers"
CALLBACKS = "a list of callbacks, each an object with a string 'role' and an object 'settings'"
OPTIMIZER = "an object with a string 'class' and an object 'ignored_arguments'"


def _one_of(choices):
    return ("one of " + ", ".join(repr(c) for c in choices), tuple(choices))


PLATEAU_ACTION = _one_of(metadata.PLATEAU_ACTIONS)
EVENT_KIND = _one_of(metadata.EVENT_KINDS)
SESSION_STATE = _one_of((metadata.SESSION_BEGIN, metadata.SESSION_END))

REQUIRED, OPTIONAL = True, False

RECORD_FIELDS = {
    metadata.EPOCHS_TAG: {
        "epoch": (INT, REQUIRED),
        "first_step": (INT, OPTIONAL),
        "last_step": (INT, OPTIONAL),
        "learning_rate": (NUMBER, OPTIONAL),
        "learning_rates": (NUMBERS, OPTIONAL),
        "metrics": (NUMBERS, OPTIONAL),
        "start_time": (NUMBER, OPTIONAL),
        "end_time": (NUMBER, OPTIONAL),
        metadata.SESSION_KEY: (SESSION_ID, OPTIONAL),
    },
    metadata.PLATEAU_TAG: {
        "epoch": (INT, REQUIRED),
        "action": (PLATEAU_ACTION, REQUIRED),
        "step": (INT, OPTIONAL),
        "monitor": (TEXT, OPTIONAL),
        "mode": (TEXT, OPTIONAL),
        **{key: (NUMBER, OPTIONAL) for key in (
            "value", "best", "best_before", "threshold", "min_delta", "factor",
            "min_lr", "lr_before", "lr_after")},
        **{key: (INT, OPTIONAL) for key in (
            "wait", "wait_before", "patience", "cooldown", "cooldown_counter")},
        metadata.SESSION_KEY: (SESSION_ID, OPTIONAL),
    },
    metadata.EVENTS_TAG: {
        "kind": (EVENT_KIND, REQUIRED),
        "epoch": (INT, OPTIONAL),
        "step": (INT, OPTIONAL),
        "optimizer": (TEXT, OPTIONAL),
        **{key: (NUMBER, OPTIONAL) for key in (
            "lr", "lr_before", "lr_after", "min_lr", "value", "best")},
        **{key: (INT, OPTIONAL) for key in (
            "wait", "patience", "cooldown", "blocked_epochs", "until_epoch")},
        metadata.SESSION_KEY: (SESSION_ID, OPTIONAL),
    },
    metadata.SESSIONS_TAG: {
        metadata.SESSION_KEY: (SESSION_ID, REQUIRED),
        "state": (SESSION_STATE, REQUIRED),
        "start_step": (INT, OPTIONAL),
        "start_time": (NUMBER, OPTIONAL),
        "end_step": (INT, OPTIONAL),
        "end_time": (NUMBER, OPTIONAL),
        "host": (TEXT, OPTIONAL),
        "pid": (INT, OPTIONAL),
    },
    metadata.LR_FINDER_TAG: {
        "step": (INT, REQUIRED),
        "learning_rates": (FLOATS, REQUIRED),
        "losses": (FLOATS, REQUIRED),
        "smoothed_losses": (FLOATS, OPTIONAL),
        "diverged_at": (NUMBER, OPTIONAL),
        "suggestions": (NUMBERS, OPTIONAL),
        "suggestion": (TEXT, OPTIONAL),
        metadata.SESSION_KEY: (SESSION_ID, OPTIONAL),
    },
    metadata.SETUP_TAG: {
        "step": (INT, REQUIRED),
        "callbacks": (CALLBACKS, REQUIRED),
        "optimizer": (OPTIMIZER, OPTIONAL),
        "epochs": (INT, OPTIONAL),
        "steps_per_epoch": (INT, OPTIONAL),
        metadata.SESSION_KEY: (SESSION_ID, OPTIONAL),
    },
}
"""``{tag: {field: (type, required)}}``. An optional field may be null or absent."""

_SESSION_BEGIN_NEEDS = ("start_step", "start_time")
_STEP_FIELDS = ("step", "first_step", "last_step", "start_step", "end_step")
_COUNT_FIELDS = ("epoch",) + _STEP_FIELDS


# Tensors.

_DT_FLOAT, _DT_DOUBLE, _DT_UINT8, _DT_STRING = 1, 2, 4, 7
_NUMERIC = {_DT_FLOAT: ("float_val", np.float32), _DT_DOUBLE: ("double_val", np.float64),
            _DT_UINT8: ("int_val", np.uint8)}


def decode_tensor(tensor):
    """A ``TensorProto`` as a numpy array, checked against the bytes it holds.

    Raises:
        PayloadError: for a dtype other than float32, float64, uint8 or string,
            a negative dimension, or content that does not fill the shape.
    """
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise PayloadError(f"the tensor has a negative dimension: shape {shape}")
    count = math.prod(shape)
    if tensor.dtype == _DT_STRING:
        if len(tensor.string_val) != count:
            raise PayloadError(
                f"the tensor's shape {shape} needs {count} strings; it holds "
                f"{len(tensor.string_val)}")
        array = np.empty(count, dtype=object)
        array[:] = list(tensor.string_val)
        return array.reshape(shape)
    if tensor.dtype not in _NUMERIC:
        raise PayloadError(
            f"the tensor's dtype is {tensor.dtype} (a TensorFlow DataType number); "
            f"lr_timeline payloads are float64 ({_DT_DOUBLE}), uint8 ({_DT_UINT8}) or "
            f"string ({_DT_STRING})")
    field, dtype = _NUMERIC[tensor.dtype]
    itemsize = np.dtype(dtype).itemsize
    if tensor.tensor_content:
        if len(tensor.tensor_content) != count * itemsize:
            raise PayloadError(
                f"the tensor's shape {shape} needs {count * itemsize} bytes; it holds "
                f"{len(tensor.tensor_content)}")
        return np.frombuffer(tensor.tensor_content, dtype=dtype).reshape(shape)
    values = getattr(tensor, field)
    if len(values) != count:
        raise PayloadError(
            f"the tensor's shape {shape} needs {count} values; it holds {len(values)}")
    if dtype == np.uint8 and any(not 0 <= v <= 255 for v in values):
        raise PayloadError("the uint8 tensor holds values outside 0..255")
    return np.array(values, dtype=dtype).reshape(shape)


def check_rates(array):
    """``(steps int64, rates float64)`` of a ``rates`` payload array, any version.

    Versions 2 and 3 are a 1-D uint8 array (their layout is in ``metadata``),
    version 1 a float array of shape [n, 2] (step, rate); the dtype tells them apart.

    Raises:
        PayloadError: unless it is one of the layouts and its steps are
            whole numbers from 0 to 2**53.
    """
    if isinstance(array, np.ndarray) and array.dtype == np.uint8:
        try:
            steps, rates = metadata.decode_rates(array)
        except ValueError as error:
            raise PayloadError(str(error)) from None
    else:
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
            raise PayloadError(
                f"a rates payload must be a uint8 (version 2 or 3) or float (version 1) array; "
                f"received {kind}")
        if array.ndim != 2 or array.shape[1] != 2:
            raise PayloadError(
                "a version 1 rates payload must have shape [n, 2] (step, rate); received "
                f"{list(array.shape)}")
        steps, rates = array[:, 0].astype(np.float64), array[:, 1].astype(np.float64)
    bad = ~((steps >= 0) & (steps < MAX_STEP))
    if steps.dtype.kind == "f":
        bad |= np.floor(steps) != steps
    if bad.any():
        first = steps[np.argmax(bad)].item()
        raise PayloadError(
            f"rate steps must be whole numbers from 0 to 2**53; received {first!r}")
    return steps.astype(np.int64, copy=False), rates


def load_records(array):
    """The JSON list of a ``records`` payload (a scalar string tensor)."""
    if isinstance(array, np.ndarray):
        if array.size != 1:
            raise PayloadError(
                f"a records payload must be one string; received shape {list(array.shape)}")
        array = array.reshape(()).item()
    if isinstance(array, bytes):
        try:
            array = array.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PayloadError(f"the records payload is not UTF-8 text: {error}") from None
    if not isinstance(array, str):
        raise PayloadError(
            f"a records payload must be a JSON string; received {type(array).__name__}")
    try:
        records = json.loads(array)
    except RecursionError:
        raise PayloadError("the records payload is JSON nested too deeply") from None
    except ValueError as error:
        raise PayloadError(f"the records payload is not JSON: {error}") from None
    if not isinstance(records, list):
        raise PayloadError(
            f"a records payload must be a JSON list; received a {type(records).__name__}")
    return records


def check_record(tag, record):
    """None when ``record`` matches the schema of ``tag``, else what is wrong."""
    if not isinstance(record, dict):
        return f"a record must be a JSON object; received {_shown(record)}"
    fields = RECORD_FIELDS[tag]
    for name, (kind, required) in fields.items():
        value = record.get(name)
        if value is None:
            if required:
                return f"field {name!r} is missing (it must be {_kind_name(kind)})"
            continue
        if not _matches(kind, value):
            return f"field {name!r} must be {_kind_name(kind)}; received {_shown(value)}"
        if name in _COUNT_FIELDS and value < 0:
            return f"field {name!r} must be >= 0; received {value}"
        if name in _STEP_FIELDS and value >= MAX_STEP:
            return f"field {name!r} must be below 2**53; received {value}"
    for name, value in record.items():
        if name not in fields and not _shallow(value, MAX_EXTRA_DEPTH):
            return f"field {name!r} is nested deeper than {MAX_EXTRA_DEPTH} levels"
    if tag == metadata.SESSIONS_TAG and record["state"] == metadata.SESSION_BEGIN:
        for name in _SESSION_BEGIN_NEEDS:
            if record.get(name) is None:
                return f"a session's begin mark needs {name!r}"
    return None


def check_record_to_write(tag, record):
    """None when the writer may write ``record`` under ``tag``, else what is wrong.

    The readers' rule (``check_record``), plus the JSON the payload is made of,
    checked now rather than at a flush in another thread.
    """
    problem = check_record(tag, record)
    if problem is not None:
        return problem
    try:
        metadata.encode_records([record])
    except (TypeError, ValueError) as error:
        return (f"it is not JSON-serializable ({error}); convert NumPy values with "
                "float() or int()")
    return None


def check_records(tag, array):
    """``(valid records, [problem, ...])`` of a ``records`` payload of ``tag``.

    Raises:
        PayloadError: when the payload as a whole cannot be read.
    """
    valid, problems = [], []
    for index, record in enumerate(load_records(array)):
        problem = check_record(tag, record)
        if problem is None:
            valid.append(record)
        else:
            problems.append(f"record {index}: {problem}")
    return valid, problems


def warn_skipped(run, tag, step, what):
    """The one warning of a skipped payload or of the records skipped in one."""
    where = f"run {run!r}, " if run is not None else ""
    at = f", step {step}" if step is not None else ""
    warnings.warn(
        f"lr_timeline skipped data that does not match its format ({where}tag {tag!r}{at}): "
        f"{what}. The rest of the run is read.",
        InvalidPayloadWarning,
        stacklevel=2,
    )


def _matches(kind, value):
    if kind == INT or kind == SESSION_ID:
        whole = isinstance(value, int) and not isinstance(value, bool)
        return whole or (kind == SESSION_ID and isinstance(value, str))
    if kind == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == TEXT:
        return isinstance(value, str)
    if kind == NUMBERS:
        return isinstance(value, dict) and all(
            v is None or _matches(NUMBER, v) for v in value.values())
    if kind == FLOATS:
        return isinstance(value, list) and all(v is None or _matches(NUMBER, v) for v in value)
    if kind == CALLBACKS:
        return isinstance(value, list) and all(
            isinstance(c, dict) and isinstance(c.get("role"), str)
            and isinstance(c.get("class"), str) and isinstance(c.get("settings"), dict)
            and all(_is_scalar(v) for v in c["settings"].values()) for c in value)
    if kind == OPTIMIZER:
        return (isinstance(value, dict) and isinstance(value.get("class"), str)
                and _matches(NUMBERS, value.get("ignored_arguments") or {}))
    return isinstance(value, str) and value in kind[1]


def _is_scalar(value):
    return value is None or isinstance(value, (str, int, float))


def _kind_name(kind):
    return kind[0] if isinstance(kind, tuple) else kind


def _shallow(value, limit):
    """Whether ``value`` nests lists and dicts at most ``limit`` deep (no recursion)."""
    level = [value]
    for _ in range(limit + 1):
        level = [v for item in level if isinstance(item, (list, dict))
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return True
    return False


def _shown(value):
    text = repr(value)
    text = text if len(text) <= 40 else text[:40] + "..."
    return f"{text} ({type(value).__name__})"
