"""Lossless compression of a rate series: the bits of each rate, as a delta, byte-planed, deflated.

Learning rates move slowly or not at all from one step to the next, so the
difference between the bit patterns of two neighbouring float32 (or float64)
rates is a small integer, mostly 0 (a float32 decay holds each value for several
steps). Stored as those differences, split into byte planes (every first byte,
then every second byte, ...), and deflated with zlib, a series takes 0.01-0.6
bytes a step instead of 4 (a schedule over 20,000 steps; 0.05-0.3 over 100,000
steps and more; see tests/format/test_rate_codec.py), and decodes at about
30 ns a step.

The encoding is exact to the bit: NaN payloads, -0.0 and infinities come back
as they were written. The arithmetic wraps (unsigned integers), so any bit
pattern round-trips.

Steps that are not evenly spaced go through the same idea (``encode_steps_and_rates``):
the int64 differences of the steps, byte-planed, ahead of the rates' planes in
one zlib stream.

Used by the version 3 rates payload (``lr_plugin.format.metadata``) and by the
plugin's in-memory rate summaries (``lr_plugin.model.summary``): one codec.
"""

import zlib

import numpy as np

LEVEL = 6
"""zlib's level: level 9 gains under 5% here at twice the time; level 1 loses 30-40%."""

MAX_INFLATION = 1032
"""No deflate stream inflates to more than this many times its own bytes (a
258-byte match costs at least 2 bits), so a count that would need more is a lie,
refused before anything is inflated."""

RATE_TYPES = {4: np.dtype("<f4"), 8: np.dtype("<f8")}
"""The stored rates' types by width: little-endian float32 and float64."""

STEP_TYPE = np.dtype("<i8")
"""The stored steps' type: little-endian int64."""

_UNSIGNED = {4: np.dtype("<u4"), 8: np.dtype("<u8")}


def narrowest(values):
    """``values`` as float32 when every one is a float32 value (as Keras applies rates), else float64.

    The one rule for the width a series is stored and sent in: a value beyond
    float32's range, or one float32 rounds, keeps the whole series float64.
    Returns ``values`` itself (as a float64 array) when it stays float64.
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):  # beyond float32's range: stays float64
        single = values.astype(np.float32)
    return single if np.array_equal(single, values, equal_nan=True) else values


def encode(rates):
    """The compressed bytes of ``rates``, a 1-D float32 or float64 array (its dtype is not stored).

    Raises:
        ValueError: for another dtype or shape.
    """
    return _deflate([_bits(rates, "encode")])


def decode(data, count, width):
    """The ``count`` rates that ``encode`` wrote into ``data``, as float32 (``width`` 4) or float64 (8).

    Never inflates more than ``count * width`` bytes, so a damaged or hostile
    ``data`` cannot exhaust memory.

    Raises:
        ValueError: when ``data`` is not exactly ``count`` rates of that width,
            saying what was found.
    """
    _check_width(width)
    (bits,) = _inflate(data, count, [width], "rates")
    return bits.view(RATE_TYPES[width])


def encode_steps_and_rates(steps, rates):
    """The compressed bytes of whole-number ``steps`` (any int64) and one rate per step.

    The steps' differences wrap as uint64, so any int64 steps round-trip
    (restarts, gaps, huge values); ``rates`` is as for ``encode``.

    Raises:
        ValueError: for rates ``encode`` refuses, or not one rate per step.
    """
    steps = np.asarray(steps)
    bits = _bits(rates, "encode_steps_and_rates")
    if steps.ndim != 1 or steps.dtype.kind not in "iu" or steps.size != bits.size:
        raise ValueError(
            f"rate_codec.encode_steps_and_rates takes 1-D integer steps, one per rate. Received "
            f"dtype {steps.dtype}, shape {list(steps.shape)} for {bits.size} rates")
    return _deflate([steps.astype(STEP_TYPE, copy=False).view(_UNSIGNED[8]), bits])


def decode_steps_and_rates(data, count, width):
    """``(int64 steps, rates)`` that ``encode_steps_and_rates`` wrote into ``data``, as ``decode`` does.

    Never inflates more than ``count * (8 + width)`` bytes.

    Raises:
        ValueError: when ``data`` is not exactly ``count`` steps and rates.
    """
    _check_width(width)
    steps, bits = _inflate(data, count, [8, width], "steps and rates")
    return steps.view(STEP_TYPE), bits.view(RATE_TYPES[width])


def _bits(rates, caller):
    rates = np.asarray(rates)
    if rates.ndim != 1 or rates.dtype.kind != "f" or rates.dtype.itemsize not in RATE_TYPES:
        raise ValueError(
            f"rate_codec.{caller} takes a 1-D float32 or float64 array. Received dtype "
            f"{rates.dtype}, shape {list(rates.shape)}")
    width = rates.dtype.itemsize
    return rates.astype(RATE_TYPES[width], copy=False).view(_UNSIGNED[width])


def _check_width(width):
    if width not in RATE_TYPES:
        raise ValueError(f"compressed rates are 4 (float32) or 8 (float64) bytes wide; received {width}")


def _deflate(columns):
    """One zlib stream: the byte planes of each column's differences, column after column."""
    planes = []
    for bits in columns:
        deltas = np.diff(bits, prepend=bits.dtype.type(0))  # unsigned: wraps, so always reversible
        planes.append(deltas.view(np.uint8).reshape(-1, bits.itemsize).T.tobytes())
    return zlib.compress(b"".join(planes), LEVEL)


def _inflate(data, count, widths, what):
    """The columns ``_deflate`` wrote, ``count`` values of each width, as unsigned integers."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"the count of compressed {what} must be a whole number >= 0; received {count!r}")
    data = bytes(data)
    count = int(count)
    expected = count * sum(widths)
    described = (f"expected {count} {what} of {' + '.join(map(str, widths))} bytes ({expected} "
                 "bytes), zlib-compressed and nothing after")
    if expected > MAX_INFLATION * len(data):
        raise ValueError(
            f"compressed {what} of {len(data)} bytes cannot inflate to more than "
            f"{MAX_INFLATION * len(data)} bytes; {described}")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, max(expected, 1))  # (a limit of 0 means none)
    except zlib.error as error:
        raise ValueError(f"compressed {what} do not inflate: {error}; {described}") from None
    if inflater.unconsumed_tail:
        problem = f"hold more than {expected} bytes"
    elif len(raw) != expected:
        problem = f"inflate to {len(raw)} bytes"
    elif not inflater.eof:
        problem = "end before zlib's end mark"
    elif inflater.unused_data:
        problem = f"are followed by {len(inflater.unused_data)} stray bytes"
    else:
        problem = None
    if problem:
        raise ValueError(f"compressed {what} {problem}; {described}")
    columns, start = [], 0
    for width in widths:
        planes = np.frombuffer(raw, np.uint8, count * width, start).reshape(width, count)
        deltas = np.ascontiguousarray(planes.T).view(_UNSIGNED[width]).reshape(-1)
        columns.append(np.cumsum(deltas, dtype=_UNSIGNED[width]))
        start += count * width
    return columns
