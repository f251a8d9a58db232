"""The two encodings of a ``/timeline`` answer: JSON for scripts, columnar binary for the frontend.

Columnar layout (``application/x-lr-timeline-columnar``, all little-endian)::

    bytes 0-3    magic "LRTC"
    bytes 4-7    uint32 format version (FORMAT_VERSION)
    bytes 8-11   uint32 header length H, in bytes
    bytes 12-15  uint32 0 (reserved)
    bytes 16-    UTF-8 JSON header, padded with spaces so the arrays start 8-aligned
    then         one array per column, each starting at a multiple of 8 bytes

The header is the JSON answer without ``learning_rate``, ``planned`` and
``metrics``, plus ``"columns"``: ``[{"series": "learning_rate" | "planned",
"optimizer": name, "length": n, "steps": {"type": "float64", "offset": o},
"rates": {"type": "float32" | "float64", "offset": o}}]``, and
``"metric_columns"``: ``[{"metric": name, "length": n, "epochs": {"type":
"float64", "offset": o}, "steps": {"type": "float64", "offset": o}, "values":
{"type": "float32" | "float64", "offset": o}}]``, the JSON answer's
``[epoch, step, value]`` points of each metric as three columns, in the same
order, with NaN where the JSON answer has ``null`` (a batch metric's epoch, an
unknown step). Offsets count from byte 0. Steps and epochs are float64 (exact
below 2**53); rates and metric values are float32 when every value of the
series is a float32 value, else float64. NaN and infinities are IEEE values
there, while the header's numbers follow the JSON conventions ("NaN" strings).

Version 1 sent ``metrics`` as JSON in the header.
"""

import json
import struct
import weakref

import numpy as np

from lr_plugin.format import rate_codec
from lr_plugin.model import timeline

CONTENT_TYPE = "application/x-lr-timeline-columnar"
JSON_CONTENT_TYPE = "application/json"
MAGIC = b"LRTC"
FORMAT_VERSION = 2
FORMATS = ("json", "columnar")

_ALIGNMENT = 8
_PREAMBLE = struct.Struct("<4sIII")


def negotiate(request):
    """``(format, None)`` with format "json" or "columnar", or ``(None, message)``.

    ``format=`` in the query wins; otherwise an ``Accept`` header that names
    CONTENT_TYPE gets columnar, and anything else JSON.
    """
    asked = request.args.get("format")
    if asked is not None:
        if asked in FORMATS:
            return asked, None
        shown = asked if len(asked) <= 40 else asked[:40] + "..."
        return None, (
            f"Query parameter 'format' must be one of {', '.join(FORMATS)}. "
            f"Received: {shown!r}. Leave it out for JSON, or send "
            f"'Accept: {CONTENT_TYPE}' for the binary form."
        )
    if CONTENT_TYPE in request.headers.get("Accept", ""):
        return "columnar", None
    return "json", None


def json_body(head, view):
    """The JSON answer: ``head`` (a dict of small fields) and the view's series and records."""
    fields = {
        key: {name: timeline.series_to_json(steps, rates) for name, (steps, rates, _) in sorted(series.items())}
        for key, series in view.series.items()
    }
    return _with_records(dict(head, **fields), view)


def columnar_body(head, view):
    """The columnar answer (see the module docstring) as bytes."""
    columns, arrays = [], []
    for key, series in view.series.items():
        for name, (steps, rates, dtype) in sorted(series.items()):
            rate_type = "float32" if dtype == np.float32 else "float64"
            columns.append({"series": key, "optimizer": name, "length": int(np.size(steps))})
            arrays.append((columns[-1], "steps", np.asarray(steps, "<f8")))
            arrays.append((columns[-1], "rates", np.asarray(rates, _LITTLE_ENDIAN[rate_type])))
    metric_columns = []
    for name in view.metrics:
        epochs, steps, values = _metric_columns(view, name)
        metric_columns.append({"metric": name, "length": int(steps.size)})
        arrays.append((metric_columns[-1], "epochs", epochs))
        arrays.append((metric_columns[-1], "steps", steps))
        values = rate_codec.narrowest(values)
        arrays.append((metric_columns[-1], "values", values.astype(_LITTLE_ENDIAN[values.dtype.name])))
    for column, part, array in arrays:
        column[part] = {"type": array.dtype.name, "offset": 0}
    # Offsets depend on the header's length, which depends on the offsets'
    # digits: lay out with a guess, then again until the header fits.
    reserved = 0
    while True:
        header = _layout(dict(head, columns=columns, metric_columns=metric_columns), view, arrays, reserved)
        data_start = _align(_PREAMBLE.size + reserved)
        if _PREAMBLE.size + len(header) <= data_start:
            break
        reserved = max(reserved + _ALIGNMENT, len(header))
    parts = [_PREAMBLE.pack(MAGIC, FORMAT_VERSION, data_start - _PREAMBLE.size, 0),
             header.ljust(data_start - _PREAMBLE.size, b" ")]
    position = data_start
    for _, _, array in arrays:
        padding = _align(position) - position
        parts.append(b"\0" * padding)
        parts.append(array.tobytes())
        position += padding + array.nbytes
    return b"".join(parts)


def _layout(fields, view, arrays, reserved):
    position = _align(_PREAMBLE.size + reserved)
    for column, part, array in arrays:
        position = _align(position)
        column[part]["offset"] = position
        position += array.nbytes
    return _with_records(fields, view, metrics=False).encode("utf-8")


_LITTLE_ENDIAN = {"float32": "<f4", "float64": "<f8"}
# json_number's strings and null as the literals json.loads and numpy read as floats.
_AS_FLOAT_LITERALS = (('"NaN"', "NaN"), ('"Infinity"', "Infinity"), ('"-Infinity"', "-Infinity"),
                      ("null", "NaN"))
# A metric's points as numbers, parsed once per RecordSeries (once per data change),
# not once per answer: 100,000 points take a few hundred ms to parse on a busy core.
_METRIC_TABLES = weakref.WeakKeyDictionary()


def _metric_columns(view, name):
    """(epochs, steps, values) float64 of the [epoch, step, value] points sent for ``name``.

    null (a batch metric's epoch, an unknown step) becomes NaN, and so does
    anything else that is not a number.
    """
    series, picked = view.metric_series.get(name, (None, None))
    if series is None:  # a view put together without its RecordSeries
        table = _parse_points(view.metrics[name])
    else:
        table = _METRIC_TABLES.get(series)
        if table is None:
            table = _METRIC_TABLES[series] = _parse_points(series.texts())
        table = table[np.asarray(picked, dtype=np.int64)]
    return tuple(np.ascontiguousarray(table[:, i]) for i in range(3))


def _parse_points(texts):
    """(n, 3) float64 of the JSON texts of n [epoch, step, value] points."""
    text = _as_literals(",".join(texts))
    try:  # numbers only (the usual case): one pass in C
        table = np.fromstring(text.replace("[", "").replace("]", ""), dtype="<f8", sep=",") if texts else np.empty(0)
    except ValueError:
        table = None
    if table is None or table.size != 3 * len(texts):  # a field that is not a number: NaN, one by one
        table = np.array([[_float_or_nan(v) for v in json.loads(_as_literals(t))] for t in texts], dtype="<f8")
    return table.reshape(-1, 3)


def _as_literals(text):
    for quoted, literal in _AS_FLOAT_LITERALS:
        text = text.replace(quoted, literal)
    return text


def _float_or_nan(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return np.nan
    return float(value)


def _with_records(fields, view, metrics=True):
    """JSON text of ``fields`` plus the view's records and whole-run fields, already JSON text."""
    text = json.dumps(fields, separators=(",", ":"), allow_nan=False)
    parts = [text[:-1]]
    for name, encoded in view.encoded_fields.items():
        parts.append(f",{json.dumps(name)}:{encoded}")
    for tag, encoded in view.records.items():
        parts.append(f',{json.dumps(tag)}:[{",".join(encoded)}]')
    if metrics:
        listed = ",".join(
            f"{json.dumps(name)}:[{','.join(points)}]" for name, points in view.metrics.items()
        )
        parts.append(f',"metrics":{{{listed}}}')
    parts.append("}")
    return "".join(parts)


def _align(position):
    return -(-position // _ALIGNMENT) * _ALIGNMENT
