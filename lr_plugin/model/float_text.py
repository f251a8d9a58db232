"""Shortest float32 texts for millions of rates at once, as numpy writes them.

``values.astype(str)`` on a float32 array (numpy 2) writes each value as the shortest
decimal that reads back as the same float32 (the closest one when several are
as short), at about a microsecond a value: most of an export's time.
``rate_columns`` writes the same texts with whole-array numpy operations:

1. The decimals that read back as a value form an interval: half-way to its
   float32 neighbours, the ends included when its significand is even (as
   round-half-even parsing decides). Scaled by 10**-k, for the k whose steps
   are just no wider than the interval, it holds 1 to 10 whole numbers; a
   multiple of 10 among them is the shorter decimal, else the one closest to
   the value is the answer. Trailing zeros are then dropped.
2. The scaling is float64 arithmetic: exact for 10**j, 0 <= j <= 11, else
   right to a few parts in 1e16. A value whose interval end comes that close
   to a whole number, or that ties between two, is left to numpy's own
   formatter, so every text is the one numpy writes (tests compare them).
3. Texts follow numpy's float32 layout: positional for 1e-4 <= |x| < 1e6
   (``0.01``, ``100.0``), otherwise scientific (``1e-05``, ``1.5e+20``).

Texts are columns of a ``uint8`` array, with zero bytes that ``join_columns``
drops, so the export turns a block of points into one string at once.
"""

from fractions import Fraction

import numpy as np

_POWERS = np.array([10**i for i in range(19)], dtype=np.int64)
_SCALE_OFFSET = 60
# 10**j as the float64 nearest to it (int / int is correctly rounded), j in [-60, 60).
_SCALES = np.array([float(Fraction(10) ** j) for j in range(-_SCALE_OFFSET, _SCALE_OFFSET)])
_TOLERANCE = 1e-14  # relative; float64 scaling errs by under 5e-16
_DIGIT, _DOT, _MINUS, _PLUS, _E = (ord(c) for c in "0.-+e")


def rate_columns(values):
    """The shortest float32 text of each value, one per column of a ``uint8`` array.

    Args:
        values: a 1-D float32 array of finite values.

    Returns:
        A ``(width, n)`` ``uint8`` array: column i holds the ASCII text of
        ``values[i]``, exactly ``numpy_texts(values)[i]`` (numpy 2's ``values.astype(str)[i]``), with zero bytes between
        and after its characters.
    """
    values = np.asarray(values, dtype=np.float32).ravel()
    digits, exponents, unsure = _shortest_digits(values)
    columns, odd = _layout(values, digits, exponents)
    unsure |= odd
    if unsure.any():
        columns = put_texts(columns, np.flatnonzero(unsure), numpy_texts(values[unsure]))
    return columns


def numpy_texts(values):
    """numpy's shortest float32 texts, one value at a time, in numpy 2's layout.

    ``astype(str)`` lays values from 1e6 up positionally before numpy 2
    (``1727290400.0``); ``format_float_*`` with ``unique=True`` give the same
    digits on every numpy this package supports, laid out as numpy 2 does.
    """
    texts = []
    for value in np.asarray(values, dtype=np.float32):
        magnitude = abs(float(value))
        if magnitude != 0 and (magnitude < 1e-4 or magnitude >= 1e6):
            texts.append(np.format_float_scientific(value, unique=True, trim="-", exp_digits=2))
        else:
            texts.append(np.format_float_positional(value, unique=True, trim="0"))
    return texts


def put_texts(columns, where, texts):
    """``columns`` (as rate_columns returns) with the columns ``where`` holding
    the ASCII ``texts`` instead (the array grows when one is longer)."""
    encoded = np.array(texts, dtype=bytes)  # zero-padded to the longest
    width = encoded.dtype.itemsize
    if width > columns.shape[0]:
        columns = np.pad(columns, ((0, width - columns.shape[0]), (0, 0)))
    columns[:, where] = 0
    columns[:width, where] = encoded.view(np.uint8).reshape(len(texts), width).T
    return columns


def step_columns(steps):
    """Each whole number >= 0 of ``steps`` in decimal digits, one per column."""
    steps = np.asarray(steps, dtype=np.int64).ravel()
    width = len(str(int(steps.max()))) if steps.size else 1
    if width < 10:
        steps = steps.astype(np.uint32)  # divides faster
    columns = np.empty((width, steps.size), dtype=np.uint8)
    for row in range(width):
        power = 10 ** (width - 1 - row)
        digit = steps // power % 10 + _DIGIT
        columns[row] = digit if power == 1 else np.where(steps >= power, digit, 0)
    return columns


def join_columns(*pieces):
    """The texts of the pieces side by side, one point after the other, as one string.

    Each piece is a ``uint8`` array with one column per point (zero bytes are
    dropped), or ``bytes`` written for every point.
    """
    points = next(p.shape[1] for p in pieces if isinstance(p, np.ndarray))
    widths = [len(p) if isinstance(p, bytes) else p.shape[0] for p in pieces]
    rows = np.empty((points, sum(widths)), dtype=np.uint8)
    start = 0
    for piece, width in zip(pieces, widths):
        rows[:, start:start + width] = (np.frombuffer(piece, dtype=np.uint8)
                                        if isinstance(piece, bytes) else piece.T)
        start += width
    text = rows.ravel()
    return text[text != 0].tobytes().decode("utf-8")


def _shortest_digits(values):
    """``(digits, exponent, unsure)``: each value is ``digits * 10**exponent``
    with the fewest digits, unless ``unsure`` (left to numpy's formatter)."""
    magnitude = np.abs(values)
    exact = magnitude.astype(np.float64)
    bits = magnitude.view(np.uint32)
    even = (bits & 1) == 0
    # Half-way to each neighbour: exact in float64, as both are float32 values.
    above = (bits + 1).view(np.float32).astype(np.float64)
    above[bits == 0x7F7FFFFF] = 2.0**128  # the largest float32 rounds up to infinity
    below = (bits - 1).view(np.float32).astype(np.float64)
    below[bits == 0] = 0.0
    high, low = (exact + above) / 2, (exact + below) / 2

    # In steps of 10**k no wider than the interval, it holds 1 to 10 whole
    # numbers; one of them is a multiple of 10 when the interval holds a
    # shorter decimal (at most one: it is narrower than 10 such steps).
    with np.errstate(divide="ignore"):
        exponents = np.floor(np.log10(high - low)).astype(np.int64)
    digits, found, unsure = _digits_at(exponents, low, high, exact, even)
    unsure &= bits != 0  # 0 is 0 * 10**k, sure
    rest = np.flatnonzero(~found)
    for _ in range(2):  # where log10 rounded up: one step finer
        if not rest.size:
            break
        exponents[rest] -= 1
        more, found, close = _digits_at(exponents[rest], low[rest], high[rest], exact[rest],
                                        even[rest])
        digits[rest], unsure[rest] = more, close
        rest = rest[~found]
    unsure[rest] = True  # not reached for a float32; numpy's text if it were
    digits = digits.astype(np.int64)
    # Fewest digits: 120 at 10**-5 is 12 at 10**-4.
    strip = np.flatnonzero((digits % 10 == 0) & (digits != 0))
    while strip.size:
        digits[strip] //= 10
        exponents[strip] += 1
        strip = strip[(digits[strip] % 10 == 0) & (digits[strip] != 0)]
    return digits, exponents, unsure


def _digits_at(exponent, low, high, exact, even):
    """``(digits, found, unsure)``: the whole number of the interval
    ``[low, high]`` scaled by ``10**-exponent`` that is a multiple of 10 or
    else the closest to ``exact``, whether there is one, and whether float64
    may have decided wrongly."""
    scale = _SCALES[_SCALE_OFFSET - exponent]
    lo, hi, value = low * scale, high * scale, exact * scale
    first, last = np.ceil(lo), np.floor(hi)
    open_ends = ~even
    first += (first == lo) & open_ends
    last -= (last == hi) & open_ends
    tens = np.floor(last / 10) * 10
    floor = np.floor(value)
    # Unsure: an end of the interval near a whole number (unless the scaling
    # was exact: 10**j, j <= 11, times 26 bits fits in 53), or a tie between
    # the two whole numbers closest to the value.
    inexact = (exponent > 0) | (exponent < -11)
    unsure = ((inexact & ((np.minimum(first - lo, lo - first + 1) <= _TOLERANCE * lo)
                          | (np.minimum(hi - last, last + 1 - hi) <= _TOLERANCE * hi)))
              | ((np.abs(value - floor - 0.5) <= _TOLERANCE * value)
                 & (floor >= first) & (floor < last) & (tens < first)))
    digits = np.where(tens >= first, tens, np.clip(np.rint(value), first, last))
    return digits, (first <= last) | unsure, unsure


# Columns of the source matrix each text is picked from (see _layout).
_SIGN, _FRACTION_ZERO, _SCIENTIFIC_DOT, _POWER_SIGN, _POWER_TENS, _POWER_UNITS = range(9, 15)
_ZERO, _POINT, _EXPONENT, _NOTHING = range(15, 19)
_FIRST_POSITIONAL, _LAST_POSITIONAL = -4, 5  # numpy: positional for 1e-4 <= |x| < 1e6


def _templates():
    """For each layout, the source columns of its text, left to right."""
    layouts = []
    for leading in range(_FIRST_POSITIONAL, _LAST_POSITIONAL + 1):
        if leading < 0:  # 0.00123
            layouts.append([_SIGN, _ZERO, _POINT] + [_ZERO] * (-leading - 1) + list(range(9)))
        else:  # 12.3, 100.0
            layouts.append([_SIGN] + list(range(leading + 1)) + [_POINT]
                           + list(range(leading + 1, 9)) + [_FRACTION_ZERO])
    layouts.append([_SIGN, 0, _SCIENTIFIC_DOT] + list(range(1, 9))
                   + [_EXPONENT, _POWER_SIGN, _POWER_TENS, _POWER_UNITS])
    width = max(map(len, layouts))
    return np.array([t + [_NOTHING] * (width - len(t)) for t in layouts], dtype=np.intp)


_TEMPLATES = _templates()
# The characters of 000 to 999, one column each.
_THREE_DIGITS = np.array([list(f"{i:03d}".encode()) for i in range(1000)], dtype=np.uint8).T.copy()


def _layout(values, digits, exponents):
    """numpy's float32 text of ``digits * 10**exponents`` with the sign of
    ``values`` as ``(columns, rows)``, and which rows it could not lay out."""
    count = np.searchsorted(_POWERS, digits, side="right").clip(1)  # digits of `digits`
    leading = exponents + count - 1  # the power of ten of the first digit
    magnitude = np.abs(values).astype(np.float64)
    scientific = (magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e6))
    # One row per source column (see _TEMPLATES), one column per value.
    source = np.empty((_NOTHING + 1, values.size), dtype=np.uint8)
    odd = count > 9  # not reached: nine digits are enough for any float32
    padded = (digits * _POWERS[9 - np.minimum(count, 9)]).astype(np.uint32)  # first digit first
    # Positional texts show zeros up to the units (100.0); none after the last digit.
    shown = np.where(scientific, count, np.maximum(count, leading + 1))
    for group, part in enumerate((padded // np.uint32(1000000),
                                  padded // np.uint32(1000) % np.uint32(1000),
                                  padded % np.uint32(1000))):
        np.take(_THREE_DIGITS, part, axis=1, out=source[3 * group:3 * group + 3])
    source[:9] *= np.arange(9)[:, None] < shown
    source[_SIGN] = np.where(np.signbit(values), _MINUS, 0)
    source[_FRACTION_ZERO] = np.where(count <= leading + 1, _DIGIT, 0)
    source[_SCIENTIFIC_DOT] = np.where(count > 1, _DOT, 0)
    power = np.abs(leading)
    source[_POWER_SIGN] = np.where(leading < 0, _MINUS, _PLUS)
    source[_POWER_TENS] = power // 10 % 10 + _DIGIT
    source[_POWER_UNITS] = power % 10 + _DIGIT
    source[_ZERO], source[_POINT], source[_EXPONENT], source[_NOTHING] = _DIGIT, _DOT, _E, 0
    layout = np.where(scientific, len(_TEMPLATES) - 1, leading - _FIRST_POSITIONAL)
    odd |= ~scientific & ((leading < _FIRST_POSITIONAL) | (leading > _LAST_POSITIONAL))
    layout[odd] = 0
    used = np.flatnonzero(np.bincount(layout, minlength=len(_TEMPLATES)))
    if used.size == 1:  # a block of rates of one magnitude: whole rows at once
        return source[_TEMPLATES[used[0]]], odd
    text = np.empty((_TEMPLATES.shape[1], values.size), dtype=np.uint8)
    for kind in used.tolist():
        where = np.flatnonzero(layout == kind)
        text[:, where] = source[np.ix_(_TEMPLATES[kind], where)]
    return text, odd
