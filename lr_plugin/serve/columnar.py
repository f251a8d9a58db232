"""The two encodings of a ``/timeline`` answer: JSON for scripts, columnar binary for the frontend.

Columnar layout (``application/x-lr-timeline-columnar``, all little-endian)::

    bytes 0-3    magic "LRTC"
    bytes 4-7    uint32 format version (FORMAT_VERSION)
    bytes 8-11   uint32 header length H, in bytes
    bytes 12-15  uint32 0 (reserved)
    bytes 16-    UTF-8 JSON header, padded with spaces so the arrays start 8-aligned
    then         one array per column, each starting at a multiple of 8 bytes

The header is the JSON answer without ``learning_rate`` and ``planned``, plus
``"columns"``: ``[{"series": "learning_rate" | "planned", "optimizer": name,
"length": n, "steps": {"type": "float64", "offset": o}, "rates": {"type":
"float32" | "float64", "offset": o}}]``, offsets counted from byte 0. Steps are
float64 (exact below 2**53); rates are float32 when every rate of the series is
a float32 value, else float64. NaN and infinities are IEEE values there, while
the header's numbers follow the JSON conventions ("NaN" strings).
"""

import json
import struct

import numpy as np

from lr_plugin.model import timeline

CONTENT_TYPE = "application/x-lr-timeline-columnar"
JSON_CONTENT_TYPE = "application/json"
MAGIC = b"LRTC"
FORMAT_VERSION = 1
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
            arrays.append(np.asarray(steps, "<f8"))
            arrays.append(np.asarray(rates, "<f4" if rate_type == "float32" else "<f8"))
            columns.append({
                "series": key, "optimizer": name, "length": int(np.size(steps)),
                "steps": {"type": "float64", "offset": 0},
                "rates": {"type": rate_type, "offset": 0},
            })
    # Offsets depend on the header's length, which depends on the offsets'
    # digits: lay out with a guess, then again until the header fits.
    reserved = 0
    while True:
        header = _layout(head, view, columns, arrays, reserved)
        data_start = _align(_PREAMBLE.size + reserved)
        if _PREAMBLE.size + len(header) <= data_start:
            break
        reserved = max(reserved + _ALIGNMENT, len(header))
    parts = [_PREAMBLE.pack(MAGIC, FORMAT_VERSION, data_start - _PREAMBLE.size, 0),
             header.ljust(data_start - _PREAMBLE.size, b" ")]
    position = data_start
    for array in arrays:
        padding = _align(position) - position
        parts.append(b"\0" * padding)
        parts.append(array.tobytes())
        position += padding + array.nbytes
    return b"".join(parts)


def _layout(head, view, columns, arrays, reserved):
    position = _align(_PREAMBLE.size + reserved)
    for index, column in enumerate(columns):
        for part, array in zip(("steps", "rates"), arrays[2 * index: 2 * index + 2]):
            position = _align(position)
            column[part]["offset"] = position
            position += array.nbytes
    return _with_records(dict(head, columns=columns), view).encode("utf-8")


def _with_records(fields, view):
    """JSON text of ``fields`` plus the view's records and whole-run fields, already JSON text."""
    text = json.dumps(fields, separators=(",", ":"), allow_nan=False)
    parts = [text[:-1]]
    for name, encoded in view.encoded_fields.items():
        parts.append(f",{json.dumps(name)}:{encoded}")
    for tag, encoded in view.records.items():
        parts.append(f',{json.dumps(tag)}:[{",".join(encoded)}]')
    metrics = ",".join(
        f"{json.dumps(name)}:[{','.join(points)}]" for name, points in view.metrics.items()
    )
    parts.append(f',"metrics":{{{metrics}}}}}')
    return "".join(parts)


def _align(position):
    return -(-position // _ALIGNMENT) * _ALIGNMENT
