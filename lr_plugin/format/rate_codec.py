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

Used by the version 3 rates payload (``lr_plugin.format.metadata``) and by the
plugin's in-memory rate summaries (``lr_plugin.model.summary``): one codec.
"""

import zlib

import numpy as np

LEVEL = 6
"""zlib's level: level 9 gains under 5% here at twice the time; level 1 loses 30-40%."""

_UNSIGNED = {4: np.dtype("<u4"), 8: np.dtype("<u8")}
_FLOATS = {4: np.dtype("<f4"), 8: np.dtype("<f8")}


def encode(rates):
    """The compressed bytes of ``rates``, a 1-D float32 or float64 array (its dtype is not stored).

    Raises:
        ValueError: for another dtype or shape.
    """
    rates = np.asarray(rates)
    if rates.ndim != 1 or rates.dtype.kind != "f" or rates.dtype.itemsize not in _FLOATS:
        raise ValueError(
            f"rate_codec.encode takes a 1-D float32 or float64 array. Received dtype "
            f"{rates.dtype}, shape {list(rates.shape)}")
    width = rates.dtype.itemsize
    bits = rates.astype(_FLOATS[width], copy=False).view(_UNSIGNED[width])
    deltas = np.diff(bits, prepend=bits.dtype.type(0))  # unsigned: wraps, so always reversible
    planes = deltas.view(np.uint8).reshape(-1, width).T  # byte k of every delta, then k + 1
    return zlib.compress(planes.tobytes(), LEVEL)


def decode(data, count, width):
    """The ``count`` rates that ``encode`` wrote into ``data``, as float32 (``width`` 4) or float64 (8).

    Never inflates more than ``count * width`` bytes, so a damaged or hostile
    ``data`` cannot exhaust memory.

    Raises:
        ValueError: when ``data`` is not exactly ``count`` rates of that width,
            saying what was found.
    """
    if width not in _FLOATS:
        raise ValueError(f"compressed rates are 4 (float32) or 8 (float64) bytes wide; received {width}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"the count of compressed rates must be a whole number >= 0; received {count!r}")
    expected = int(count) * width
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(bytes(data), expected)
    except zlib.error as error:
        raise ValueError(f"compressed rates do not inflate: {error}") from None
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
        raise ValueError(
            f"compressed rates {problem}; expected {count} rates of {width} bytes "
            f"({expected} bytes), zlib-compressed and nothing after")
    planes = np.frombuffer(raw, np.uint8).reshape(width, int(count))
    deltas = np.ascontiguousarray(planes.T).view(_UNSIGNED[width]).reshape(-1)
    return np.cumsum(deltas, dtype=_UNSIGNED[width]).view(_FLOATS[width])
