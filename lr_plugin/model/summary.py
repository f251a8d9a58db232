"""Multi-resolution summaries of a run: any window at any budget without rereading it.

(Over 400 lines: the rate summary, the record series and the run summary share
one windowing rule and are tested together; split, each would re-state it.)

A ``RateSummary`` is built once per rate series (O(n)) and answers "at most N
points of steps ``start..end``" in O(N * BRANCHING * log n), whatever the
length of the run, with the rule of ``lr_plugin.model.downsample``:

1. A window with at most N points is sent whole: full detail.
2. If the window's *change points* (both sides of a move into or out of a
   plateau, computed once over the whole series) and its first and last point
   fit in N, they are all kept, and the rest of the budget goes to the smooth
   parts: the window is cut into ``(N - kept) // 2`` ranges of points (see
   below), and each range keeps its smallest and its largest *smooth* rate (a point
   neither a change point nor inside a plateau), so peaks and troughs survive.
3. Otherwise (a slow float32 decay: runs of equal rates every few steps) the
   window is cut into ``(N - 2) // 2`` ranges, and each keeps its
   smallest and largest rate over *all* its points, plus the window's first
   and last point: the envelope of what happened, exactly, in at most N points.

The answer never has more than N points. Ranges are equal, except that when
they are ``ALIGN_FROM`` points or longer, each cut between two ranges moves
back to a multiple of ``BRANCHING`` (ranges then differ by fewer than that many
points): only the window's two ends need single rates, and everything else
comes from the levels.

How it stays cheap: level ``k`` stores, for every aligned bucket of
``BRANCHING**k`` points, the index and the rate of its smallest and of its
largest smooth rate. A range is covered by at most ``2 * BRANCHING`` buckets per level
(fewer, coarser buckets in its middle), so its extremes cost a few gathers.
The change points have the same levels over their own list, so rule 3 never
gathers a window's change points: a range's extremes over all its points are
those of its smooth points, of its change points and of its first point (a
plateau point has the rate of its plateau's ends, which are change points, or
the range lies inside the plateau and its first point has the rate of the
plateau's first point, a change point). Change points keep their rates too, so
an answer reads no single rate but the window's ends; the full detail is kept
compressed (``lr_plugin.model.rate_blocks``) and decoded only around them, or
for a window sent whole.

Storage is lossless and compact: evenly spaced steps (the usual case) are kept
as their first step and stride, and rates that are all float32 values (what
Keras applies) as float32. A float32 decay is nearly all plateaus, and the rest
is kept for that: change points come in runs of consecutive points and are
kept as their runs (``_IndexRuns``), their rates once per run of equal ones
(``_ValueRuns``: a plateau's two ends share one); between two runs every point
is smooth or every one is in a plateau, so one bit a stretch says which; a
level keeps only its buckets that have a smooth point (9 in 10 of level 1's
have none), found by their rank among bits (``_Flags``), with level 1's indices
(points, or positions in the change point list) as byte offsets into their
buckets (a 10M-step float32 cosine: 7.3 MB, from 20 MB).
``RecordSeries`` keeps epoch, plateau and event records and metric
points as JSON text, zlib-compressed in blocks of whole records: a window
selects them by step in one vectorized pass, they are thinned evenly when there
are more than asked, and only the blocks of the picked ones are decoded.
"""

import collections
import json
import sys
import threading
import zlib

import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import rate_codec
from lr_plugin.model import plateau_view
from lr_plugin.model import rate_blocks
from lr_plugin.model import timeline

BRANCHING = 16
"""Points per bucket of level 1, and buckets per bucket of each next level."""


class RateSummary:
    """One rate series, ready for windowed, budgeted reads.

    Example:

    ```python
    summary = RateSummary(np.arange(10_000_000), rates)
    steps, rates = summary.points(max_points=2000)  # the whole run
    steps, rates = summary.points(2000, start=5_000_000, end=5_001_000)  # full detail
    ```

    Args:
        steps: 1-D int array of steps, strictly increasing.
        rates: 1-D float array of rates, same length.
        compact: keep the rates compressed (``rate_blocks.RateBlocks``), decoding
            a request's window when asked; False keeps the array (one-shot uses).
    """

    def __init__(self, steps, rates, compact=True):
        steps, rates = series_arrays(steps, rates)
        steps = steps.astype(np.int64, copy=False)
        if steps.size > 1 and not np.all(steps[1:] > steps[:-1]):
            raise ValueError(
                "steps must be strictly increasing (merge chunks with "
                "lr_plugin.model.timeline.merge_rates first). Received steps "
                f"starting {steps[:5].tolist()}"
            )
        self.size = int(steps.size)
        # Evenly spaced steps (every step, or every n-th with update_freq=n) are their
        # first step and stride; a copy is kept only for uneven gaps.
        self._first_step = int(steps[0]) if self.size else 0
        self._stride = int(steps[1] - steps[0]) if self.size > 1 else 1
        even = self.size < 2 or bool(np.all(np.diff(steps) == self._stride))
        self._steps = None if even else steps.copy()
        stored = rate_codec.narrowest(rates)
        if stored is rates and not compact:
            stored = rates.copy()  # PlainRates keeps it: never the caller's array
        self._index_type = np.int32 if self.size < 2**31 - 1 else np.int64

        # From the stored rates (float32 when exact: the same order, half the temporaries).
        changes, smooth = _change_points_and_smooth(stored)
        changes = changes.astype(self._index_type)
        self._changes = _IndexRuns(changes, self._index_type)
        change_rates = stored[changes]
        self._change_values = _ValueRuns(change_rates)
        # Between two runs of change points, every point is smooth or every one is in a
        # plateau (a move into or out of a plateau has change points on both sides):
        # a flag per stretch says which.
        self._smooth_stretches = _Flags(smooth[self._changes.stretch_starts()], counted=False)
        smooth_indices = np.where(
            smooth, np.arange(self.size, dtype=self._index_type), self._index_type(-1)
        )
        self._levels = [
            _Level(*level, bucket=BRANCHING ** k)
            for k, level in enumerate(_build_levels(stored, smooth_indices, self._index_type), 1)
        ]
        del smooth_indices  # before the next build: the peak is what RSS keeps
        # Over positions in the change point list: offsets into their buckets (level 1's fit a byte).
        positions = np.arange(changes.size, dtype=self._index_type)
        self._change_levels = [
            _Level(*level, bucket=BRANCHING ** k)
            for k, level in enumerate(_build_levels(change_rates, positions, self._index_type), 1)
        ]
        del changes, change_rates, positions
        # The full detail, compressed unless asked otherwise (lr_plugin.model.rate_blocks).
        self._rates = (rate_blocks.RateBlocks if compact else rate_blocks.PlainRates)(stored)

    @property
    def rate_dtype(self):
        """``float32`` when every rate is a float32 value (stored and sent as such)."""
        return self._rates.dtype

    @property
    def last_step(self):
        """The last step of the series, or None when it is empty."""
        return None if self.size == 0 else int(self.steps_at(np.array([self.size - 1]))[0])

    @property
    def nbytes(self):
        """Bytes held by the arrays of this summary."""
        arrays = [self._changes, self._change_values, self._smooth_stretches]
        arrays += self._levels + self._change_levels
        if self._steps is not None:
            arrays.append(self._steps)
        return self._rates.nbytes + sum(a.nbytes for a in arrays)

    def arrays(self):
        """``(steps, rates)`` of every point: int64 steps and float64 rates."""
        return self.steps_at(np.arange(self.size)), self._rates.values().astype(np.float64)

    def steps_at(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        if self._steps is None:
            return indices * self._stride + self._first_step
        return self._steps[indices]

    def index_range(self, start=None, end=None):
        """``(i0, i1)``: the points with ``start <= step <= end`` are ``i0 .. i1 - 1``."""
        low, high = 0, self.size
        if self._steps is None:
            # Points at or after start: ceil((start - first) / stride); at or before end: floor + 1.
            if start is not None:
                low = int(min(max(-(-(start - self._first_step) // self._stride), 0), self.size))
            if end is not None:
                high = int(min(max((end - self._first_step) // self._stride + 1, 0), self.size))
        else:
            if start is not None:
                low = int(np.searchsorted(self._steps, start, side="left"))
            if end is not None:
                high = int(np.searchsorted(self._steps, end, side="right"))
        return low, max(low, high)

    def select(self, i0, i1, max_points):
        """Sorted indices of the points of ``i0 .. i1 - 1`` to send (see the module rule).

        At most ``max_points`` of them.
        """
        return self.points_in(i0, i1, max_points)[0]

    def points_in(self, i0, i1, max_points):
        """``(indices, float64 rates)`` of ``select(i0, i1, max_points)``."""
        _check_budget(max_points)
        window = self._rates.window(i0, i1)
        if i1 - i0 <= max_points:
            indices = np.arange(i0, i1, dtype=np.int64)
            return indices, window[indices].astype(np.float64)
        indices, rates = self._select(i0, i1, max_points, window)
        return indices, rates.astype(np.float64)

    def points(self, max_points, start=None, end=None):
        """``(steps, rates)`` of at most ``max_points`` points with ``start <= step <= end``.

        Returns int64 steps and float64 rates in step order.
        """
        keep, rates = self.points_in(*self.index_range(start, end), max_points)
        return self.steps_at(keep), rates

    def _select(self, i0, i1, max_points, window):
        """``(indices, rates)`` kept of a window of more than ``max_points`` points.

        ``window``: the window's rates (``rate_blocks``), read at its two ends only.
        """
        ends = np.array([i0, i1 - 1], np.int64)
        parts = [(ends, window[ends])]
        lo, hi = self._change_positions(np.array([i0, i1]))
        # The window's ends count once, whether they are change points or not.
        ends_apart = 2
        if lo < hi:
            first_change, last_change = self._changes[np.array([lo, hi - 1])].tolist()
            ends_apart = int(first_change != i0) + int(last_change != i1 - 1)
        if hi - lo + ends_apart > max_points:
            # Rule 3: the envelope of every range, from the levels alone.
            found = self._range_extremes(
                window, *_ranges(i0, i1, (max_points - 2) // 2), every=True)
            return _merge_points(parts + found)
        in_window = np.arange(lo, hi)
        parts.append((self._changes[in_window], self._change_values[in_window]))
        required = np.unique(np.concatenate([parts[0][0], parts[1][0]]))
        budget = max_points - required.size
        if budget < 2:
            return _merge_points(parts)
        found = self._range_extremes(window, *_ranges(i0, i1, budget // 2))
        return _merge_points(parts + [(i[i >= 0], v[i >= 0]) for i, v in found])

    def _range_extremes(self, window, starts, ends, every=False):
        """``[(indices, rates) of the smallest, (indices, rates) of the largest]`` smooth rate of each range.

        Ranges are ``[start, end)``; index -1 where a range has no smooth point.
        With ``every``, the extremes over all the points of each range instead
        (never -1 for a non-empty range).
        """
        dtype = self._rates.dtype
        lows, highs = _level_extremes(
            self._levels, starts, ends, lambda items, valid: self._smooth_at(items, valid, window),
            dtype)
        if not every:
            return [lows, highs]
        # A range's change points are a slice of the change point list.
        first, last = self._change_positions(starts), self._change_positions(ends)
        change_lows, change_highs = (
            (self._change_points(positions), rates) for positions, rates in _level_extremes(
                self._change_levels, first, last, self._change_at, dtype))
        # A range's first point counts when it lies in a plateau: its rate is then
        # that of the last change point at or before it (a smooth one is in the levels).
        before = np.maximum(self._changes.searchsorted(starts, side="right") - 1, 0)
        plateau_start = (ends > starts) & (self._smooth_at(starts, ends > starts, None)[0] < 0)
        start_points = (np.where(plateau_start, starts, -1),
                        self._change_values[before] if self._changes.size else np.zeros(starts.size, dtype))
        found = []
        for which, candidates in enumerate([(lows, change_lows), (highs, change_highs)]):
            columns = list(candidates) + [start_points]
            found.append(_pick_extreme(np.stack([c[1] for c in columns], axis=1),
                                       np.stack([c[0] for c in columns], axis=1), which))
        return found

    def _change_positions(self, indices):
        """Where ``indices`` fall in the change point list (``searchsorted``, left)."""
        return self._changes.searchsorted(indices)

    def _smooth_at(self, items, valid, window):
        """Level 0 of the smooth levels: ``(the point if it is smooth else -1, its rate)``.

        ``window``: where the rates are read (None: rates are not needed).
        """
        run, in_run = self._changes.runs_at(np.where(valid, items, 0))
        smooth = np.zeros(items.shape, bool)
        if self._smooth_stretches.size:  # none when every point is a change point
            smooth = ~in_run & self._smooth_stretches[np.clip(run, 0, self._smooth_stretches.size - 1)]
        points = np.where(valid & smooth, items, -1)
        return points, None if window is None else window[points]

    def _change_at(self, items, valid):
        """Level 0 of the change point levels: ``(the position in the change point list, its rate)``."""
        safe = np.where(valid, items, 0)
        return (np.where(valid, items, -1),
                self._change_values[safe] if self._changes.size else np.zeros(items.shape))

    def _change_points(self, positions):
        """The change points at ``positions`` of their list (-1: none stays -1)."""
        if self._changes.size == 0:
            return positions
        return np.where(positions >= 0, self._changes[np.maximum(positions, 0)], -1)


def series_arrays(steps, rates):
    """``(steps, rates)`` as 1-D arrays (rates float64), checked to be the same length."""
    steps = np.asarray(steps).reshape(-1)
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    if steps.shape != rates.shape:
        raise ValueError(
            f"steps and rates must have the same length. Received: "
            f"{steps.size} steps and {rates.size} rates"
        )
    return steps, rates


ALIGN_FROM = 4 * BRANCHING
"""Ranges at least this long have their cuts on multiples of BRANCHING (see the module docstring)."""


def _ranges(i0, i1, groups):
    """``(starts, ends)`` of at most ``groups`` ranges of points cutting ``i0 .. i1 - 1``.

    Equal ranges; from ALIGN_FROM points a range, each cut between two ranges
    moves back to a multiple of BRANCHING.
    """
    if groups <= 0 or i1 <= i0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    size = -(-(i1 - i0) // groups)  # ceil
    cuts = np.arange(i0 + size, i1, size, dtype=np.int64)
    if size >= ALIGN_FROM:
        cuts = cuts // BRANCHING * BRANCHING
        cuts = cuts[(cuts > i0) & (cuts < i1)]
    return np.concatenate([[i0], cuts]), np.concatenate([cuts, [i1]])


def _level_extremes(levels, starts, ends, level0, dtype):
    """Per range ``[start, end)`` of a level-0 list, ``(indices, rates)`` of its smallest and largest.

    ``level0(items, valid)`` gives ``(point index, rate)`` of list items (-1: none);
    ``levels`` are ``_build_levels`` of that list. -1 where a range has none.
    Each range is split, level by level, into its unaligned edges (fewer than
    BRANCHING buckets each) and an aligned middle handed to the next, coarser level.
    """
    count = starts.size
    best = [np.full(count, -1, np.int64), np.full(count, -1, np.int64)]
    best_rates = [np.zeros(count, dtype), np.zeros(count, dtype)]
    low, high = starts.astype(np.int64), ends.astype(np.int64)
    active = np.flatnonzero(high > low)
    offsets = np.arange(BRANCHING, dtype=np.int64)
    for level in range(len(levels) + 1):
        if active.size == 0:
            break
        a, z = low[active], high[active]
        aligned_a = -(-a // BRANCHING) * BRANCHING
        aligned_z = z // BRANCHING * BRANCHING
        whole = aligned_a >= aligned_z  # no aligned middle: take every bucket
        aligned_a = np.where(whole, z, aligned_a)
        aligned_z = np.where(whole, z, aligned_z)
        left = a[:, None] + offsets
        left_valid = left < aligned_a[:, None]
        # A range without a middle has fewer than 2 * BRANCHING buckets.
        right_from = np.where(whole, a + BRANCHING, aligned_z)
        right = right_from[:, None] + offsets
        right_valid = right < z[:, None]
        items = np.concatenate([left, right], axis=1)
        valid = np.concatenate([left_valid, right_valid], axis=1)
        items = np.where(valid, items, 0)
        # Level 0 is the list itself: its items are both their smallest and their largest.
        found = [level0(items, valid)] * 2 if level == 0 else levels[level - 1].extremes(items, valid)
        for which in (0, 1):
            candidates, rates = found[which]
            candidates = np.concatenate([candidates, best[which][active, None]], axis=1)
            rates = np.concatenate([rates, best_rates[which][active, None]], axis=1)
            best[which][active], best_rates[which][active] = _pick_extreme(rates, candidates, which)
        more = ~whole
        low[active] = aligned_a // BRANCHING
        high[active] = aligned_z // BRANCHING
        active = active[more]
    return [(best[0], best_rates[0]), (best[1], best_rates[1])]


def _pick_extreme(rates, candidates, which):
    """Per row, ``(index, rate)`` among ``candidates`` (-1: none) of the smallest (0) or largest rate.

    ``rates`` holds each candidate's rate (anything where it is -1). A NaN rate
    wins (numpy's argmin/argmax pick NaN), so a diverged rate is shown.
    """
    valid = candidates >= 0
    fill = np.inf if which == 0 else -np.inf
    values = np.where(valid, rates, fill)  # in the rates' dtype
    column = values.argmin(axis=1) if which == 0 else values.argmax(axis=1)
    rows = np.arange(candidates.shape[0])
    chosen = candidates[rows, column]
    # All valid values equal to the fill (rates of +-inf): take the first valid one.
    tie = (chosen < 0) & valid.any(axis=1)
    column[tie] = valid[tie].argmax(axis=1)
    return candidates[rows, column], rates[rows, column]


def _merge_points(parts):
    """Sorted unique indices of ``[(indices, rates), ...]``, with their rates."""
    indices = np.concatenate([p[0] for p in parts])
    rates = np.concatenate([p[1] for p in parts])
    unique, first = np.unique(indices, return_index=True)
    return unique, rates[first]


def _change_points_and_smooth(rates):
    """``(change point indices, smooth mask)``: the two kinds of points of the rule."""
    n = rates.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    same = (rates[1:] == rates[:-1]) | (np.isnan(rates[1:]) & np.isnan(rates[:-1]))
    in_plateau = np.zeros(n, dtype=bool)
    in_plateau[:-1] |= same
    in_plateau[1:] |= same
    # A move between i and i+1 that touches a plateau keeps both i and i+1.
    moves = np.flatnonzero(~same & (in_plateau[:-1] | in_plateau[1:]))
    required = np.zeros(n, dtype=bool)
    required[moves] = True
    required[moves + 1] = True
    required[0] = required[-1] = True
    return np.flatnonzero(required), ~required & ~in_plateau


def _build_levels(rates, indices, index_type):
    """``[(lows, highs, low rates, high rates), ...]``: per level, each bucket's extremes among ``indices`` (-1: none)."""
    levels = []
    lows = highs = indices
    low_rates = high_rates = rates[indices] if rates.size else np.zeros(0, rates.dtype)
    while lows.size > 1:
        pad = -lows.size % BRANCHING
        grouped = [
            np.concatenate([array, np.full(pad, fill, array.dtype)]).reshape(-1, BRANCHING)
            for array, fill in ((lows, -1), (highs, -1), (low_rates, 0), (high_rates, 0))
        ]
        lows, low_rates = _pick_extreme(grouped[2], grouped[0], 0)
        highs, high_rates = _pick_extreme(grouped[3], grouped[1], 1)
        lows, highs = lows.astype(index_type), highs.astype(index_type)
        levels.append((lows, highs, low_rates, high_rates))
    return levels


_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1).astype(np.uint8)
"""Set bits of each byte value."""


class _Flags:
    """Booleans as bits; counted, with how many are true before any position (its rank).

    The count is kept per 64 flags (int32) and per byte within them (uint8):
    under 3 bits a flag, and ``rank`` is a few gathers.

    Args:
        flags: 1-D bool array; read once, not kept.
        counted: keep the counts (for ``rank``).
    """

    def __init__(self, flags, counted=True):
        self.size = int(flags.size)
        self._bits = np.packbits(flags, bitorder="little")
        self._per_64 = self._within_64 = None
        if counted:
            counts = _POPCOUNT[self._bits].astype(np.int64)
            before = np.cumsum(counts) - counts  # true flags before each byte
            self._per_64 = before[::8].astype(np.int32 if self.size < 2**31 else np.int64)
            self._within_64 = (before - np.repeat(self._per_64, 8)[:before.size]).astype(np.uint8)

    @property
    def nbytes(self):
        counts = [] if self._per_64 is None else [self._per_64, self._within_64]
        return sum(a.nbytes for a in [self._bits, *counts])

    def __getitem__(self, positions):
        """The flags at ``positions`` (an int array of positions in ``0 .. size - 1``)."""
        return (self._bits[positions >> 3] >> (positions & 7).astype(np.uint8)) & 1 == 1

    def rank_and_flag(self, positions):
        """``(rank, flag)`` at each of ``positions``: how many flags before it are true, as
        int64, and its own flag."""
        positions = np.asarray(positions, np.int64)
        byte = positions >> 3
        bits = self._bits[byte]
        shift = (positions & 7).astype(np.uint8)
        # The bits of the position's byte below it (little bit order: the low bits).
        below = bits & ((np.uint8(1) << shift) - np.uint8(1))
        rank = self._per_64[positions >> 6].astype(np.int64) + self._within_64[byte] + _POPCOUNT[below]
        return rank, (bits >> shift) & 1 == 1


class _Level:
    """One level of ``_build_levels``: per bucket, the index and rate of its smallest and its largest.

    Only the buckets that have them are kept, found by their rank among the
    bucket flags: a float32 decay's points are nearly all in plateaus, so 9 in
    10 buckets of its smooth level 1 have none. With ``bucket``, indices are
    kept as offsets into their buckets (level 1's fit a byte).

    Args:
        lows, highs: per bucket, the point index of its smallest and largest (-1: none).
        low_rates, high_rates: their rates.
        bucket: points per bucket when the indices are points of the series.
    """

    def __init__(self, lows, highs, low_rates, high_rates, bucket=None):
        self.size = int(lows.size)
        kept = lows >= 0  # a bucket has both or neither
        self._kept = None if kept.all() else _Flags(kept)
        self._bucket = bucket
        lows, highs = lows[kept], highs[kept]
        if bucket is not None:
            starts = np.flatnonzero(kept) * bucket
            kind = next(t for t in (np.uint8, np.uint16, np.uint32, np.int64)
                        if bucket - 1 <= np.iinfo(t).max)
            lows, highs = (lows - starts).astype(kind), (highs - starts).astype(kind)
        self._indices = (lows, highs)
        self._rates = (low_rates[kept], high_rates[kept])

    @property
    def nbytes(self):
        arrays = [*self._indices, *self._rates]
        return sum(a.nbytes for a in arrays) + (0 if self._kept is None else self._kept.nbytes)

    def extremes(self, buckets, valid):
        """``[(point index or -1, rate) of the smallest, the same of the largest]`` of ``buckets`` where ``valid``."""
        found = valid & (buckets < self.size)
        safe = np.where(found, buckets, 0)
        if self._kept is not None:
            rank, kept = self._kept.rank_and_flag(safe)
            found &= kept
            safe = np.where(found, rank, 0)
        if self._rates[0].size == 0:
            none = (np.full(buckets.shape, -1, np.int64), np.zeros(buckets.shape, self._rates[0].dtype))
            return [none, none]
        extremes = []
        for indices, rates in zip(self._indices, self._rates):
            points = indices[safe].astype(np.int64)
            if self._bucket is not None:
                points += buckets * self._bucket
            extremes.append((np.where(found, points, -1), rates[safe]))
        return extremes


class _ValueRuns:
    """Values kept once per run of equal ones (bit for bit), read by their rank among the runs.

    Change point values: a plateau's two ends are side by side in the change
    point list with the same rate (4 in 10 values of a float32 decay repeat
    the one before).

    Args:
        values: 1-D float array; read once, not kept.
    """

    def __init__(self, values):
        self.size = int(values.size)
        bits = values.view(np.uint32 if values.dtype.itemsize == 4 else np.uint64)
        new = np.ones(self.size, bool)
        new[1:] = bits[1:] != bits[:-1]
        self._values = values[new]
        self._run_starts = _Flags(new)

    @property
    def nbytes(self):
        return self._values.nbytes + self._run_starts.nbytes

    def __getitem__(self, positions):
        """The values at ``positions`` (an int array of positions in ``0 .. size - 1``)."""
        rank, starts_a_run = self._run_starts.rank_and_flag(positions)
        return self._values[rank + starts_a_run - 1]


class _IndexRuns:
    """Sorted distinct point indices (the change points), kept as runs of consecutive ones.

    Both sides of every move into or out of a plateau are change points, so
    they come in runs (of about 6 in a float32 decay's short plateaus): a run
    takes its first index and its position in the list, 8 bytes, where the list
    took 4 bytes an index. Reads are vectorized binary searches over the runs.

    Args:
        indices: 1-D sorted distinct int array; read once, not kept.
        index_type: the integer type of the runs' first indices and positions.
    """

    def __init__(self, indices, index_type):
        self.size = int(indices.size)
        starts = np.flatnonzero(np.diff(indices) != 1) + 1
        positions = np.concatenate([[0], starts]) if self.size else starts
        self._firsts = indices[positions].astype(index_type)
        # Then the list's size: run k ends before position ``_positions[k + 1]``.
        self._positions = np.append(positions, self.size).astype(index_type)

    @property
    def nbytes(self):
        return self._firsts.nbytes + self._positions.nbytes

    def __getitem__(self, positions):
        """The indices at ``positions`` of the list (an int array), as int64."""
        positions = np.asarray(positions, np.int64)
        run = _searchsorted(self._positions, positions, "right") - 1
        return self._firsts[run].astype(np.int64) + (positions - self._positions[run])

    def stretch_starts(self):
        """Per run but the last, the index after it: where the stretch before the next run starts."""
        return self._firsts[:-1].astype(np.int64) + np.diff(self._positions[:-1])

    def runs_at(self, indices):
        """``(run, in_run)`` per index: the last run starting at or before it (-1: none), and
        whether the index is in that run (a change point) or in the stretch after it."""
        run, start, past, length = self._run_before(indices)
        return run, (run >= 0) & (past < length)

    def searchsorted(self, indices, side="left"):
        """``np.searchsorted`` of ``indices`` (an int array) in the list, as int64."""
        # The list holds the positions before the run and, of the run's own, those
        # below the index (or at it, for "right").
        run, start, past, length = self._run_before(indices)
        return np.where(run >= 0, start + np.minimum(past + (side == "right"), length), 0)

    def _run_before(self, indices):
        """Per index: the last run starting at or before it (-1: none), that run's
        position in the list, how far the index is past its first, and its length."""
        indices = np.asarray(indices, np.int64)
        if self.size == 0:
            none = np.full(indices.shape, -1, np.int64)
            return none, none + 1, none + 1, none + 1
        run = _searchsorted(self._firsts, indices, "right") - 1
        safe = np.maximum(run, 0)
        start = self._positions[safe].astype(np.int64)
        return run, start, indices - self._firsts[safe], self._positions[safe + 1] - start


def _searchsorted(values, keys, side):
    """``np.searchsorted`` with the keys in the values' type (int64 keys would cast
    the whole array: O(len(values)) a call). Keys must fit that type."""
    return np.searchsorted(values, keys.astype(values.dtype), side=side)


def _check_budget(max_points):
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)):
        raise TypeError(f"max_points must be an int. Received: {max_points!r}")
    if max_points < 2:
        raise ValueError(
            f"max_points must be at least 2 (the first and last point). "
            f"Received: max_points={max_points}"
        )


RECORD_BLOCK_CHARS = 32768
"""Characters of record text compressed together: a refresh's tail decodes one such block."""


class RecordSeries:
    """Records (dicts already JSON-safe) selectable by step window, each encoded once and kept as text.

    Args:
        records: list of JSON-safe dicts or lists, in the order to send them.
        first_steps, last_steps: per record, the steps it spans (equal for a
            record at one step); None where unknown: such records are sent
            only when no window is asked.
        always: optional per-record booleans: records never thinned out.
    """

    def __init__(self, records, first_steps, last_steps, always=None):
        # Only the text is kept, compressed in blocks of whole records: the decoded
        # records would take several times more, and a string per record would pin
        # the heap they were built in. JSON of records is ASCII (json.dumps escapes).
        texts = [json.dumps(r, separators=(",", ":"), allow_nan=False) for r in records]
        self._ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)))
        block_starts, blocks, first = [], [], 0
        while first < len(texts):
            # The records from ``first`` until the block holds RECORD_BLOCK_CHARS.
            base = int(self._ends[first - 1]) if first else 0
            last = int(np.searchsorted(self._ends, base + RECORD_BLOCK_CHARS, side="left"))
            last = min(max(last, first) + 1, len(texts))
            block_starts.append(first)
            blocks.append(zlib.compress("".join(texts[first:last]).encode("ascii"), 6))
            first = last
        del texts
        self._block_starts = np.array(block_starts, np.int64)
        self._blocks = rate_blocks.PackedBlocks(blocks)
        del blocks
        self._first = _steps_array(first_steps)
        self._last = _steps_array(last_steps)
        self._always = (
            np.zeros(len(records), bool) if always is None else np.asarray(always, bool)
        )
        arrays = (self._ends, self._block_starts, self._first, self._last, self._always)
        self._nbytes = self._blocks.nbytes + sum(a.nbytes for a in arrays)

    def __len__(self):
        return int(self._ends.size)

    @property
    def nbytes(self):
        return self._nbytes

    def texts(self, indices=None):
        """The JSON texts of the records at ``indices`` (all when None), in that order.

        Decodes each block that holds a picked record once: O(picked + their blocks).
        """
        if indices is None:
            indices = np.arange(self._ends.size)
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return []
        ends = self._ends[indices]
        # A record starts where the one before it ends (the first at 0): O(picked), not O(all).
        starts = np.where(indices > 0, self._ends[np.maximum(indices - 1, 0)], 0)
        numbers = np.searchsorted(self._block_starts, indices, side="right") - 1
        # Positions inside each record's block: less the characters of the blocks before it.
        first_records = self._block_starts[numbers]
        offsets = np.where(first_records > 0, self._ends[np.maximum(first_records - 1, 0)], 0)
        starts, ends = (starts - offsets).tolist(), (ends - offsets).tolist()
        decoded = {}
        out = []
        for number, a, b in zip(numbers.tolist(), starts, ends):
            text = decoded.get(number)
            if text is None:
                text = decoded[number] = zlib.decompress(self._blocks[number]).decode("ascii")
            out.append(text[a:b])
        return out

    def select(self, start=None, end=None, since=None, limit=None):
        """``(indices, in_window)``: records that reach into the window, thinned to ``limit``.

        A record is in the window when it spans a step ``>= start`` (and ``> since``)
        and a step ``<= end``. With more than ``limit`` such records, an evenly
        spaced ``limit`` of them are kept, plus every ``always`` record.
        """
        mask = np.ones(len(self), bool)
        lower = _max_or_none(start, None if since is None else since + 1)
        if lower is not None or end is not None:
            known = ~np.isnan(self._last)
            mask &= known
            if lower is not None:
                mask &= known & (self._last >= lower)
            if end is not None:
                mask &= known & (self._first <= end)
        selected = np.flatnonzero(mask)
        in_window = int(selected.size)
        if limit is not None and selected.size > limit:
            spaced = np.unique(np.linspace(0, selected.size - 1, max(limit, 1)).round().astype(int))
            keep = np.zeros(selected.size, bool)
            keep[spaced] = True
            keep |= self._always[selected]
            selected = selected[keep]
        return selected, in_window


def _steps_array(values):
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _max_or_none(a, b):
    values = [v for v in (a, b) if v is not None]
    return max(values) if values else None


ANSWERS_KEPT = 8
"""Encoded answers a RunSummary keeps: the page asks the same query every 30 s."""

ANSWER_BYTES_KEPT = 4 * 2**20
"""Bound on the bytes of those answers (the newest is kept whatever its size): a
10M-step run's answers are about 1.8 MB each, and panning makes a new one per request."""

PLATEAU_ACTIONS_ALWAYS_SENT = ("reduce", "at_min_lr", "missing_metric")
"""Plateau decisions never thinned out: the ones that change or stop the rate."""


class RunSummary:
    """One run's timeline (``timeline.build_run``'s dict), summarized for windowed reads.

    Rate series become ``RateSummary``s; epoch and plateau records are windowed by
    step and thinned to the budget; events and sessions are few and always sent
    (with ``since``, only the newer events).

    Args:
        built: the run dict of ``lr_plugin.model.timeline.build_run``.
    """

    def __init__(self, built):
        self.series = {
            key: {name: RateSummary(*built[key][name]) for name in sorted(built[key])}
            for key in ("learning_rate", "planned")
        }
        # Whole epoch records align metrics (when Keras' scalars change) and whole
        # plateau records feed the what-if replay: kept as compressed JSON text, a
        # fraction of the dicts' size. They were read from JSON, so the text gives
        # them back exactly (NaN too).
        self._exact_texts = {
            tag: zlib.compress(json.dumps(built[tag], separators=(",", ":")).encode("ascii"), 6)
            for tag in (metadata.EPOCHS_TAG, metadata.PLATEAU_TAG)
        }
        self.records = {}
        for tag in metadata.RECORD_TAGS:
            records = timeline.clean(built.get(tag, []))
            if tag == metadata.EPOCHS_TAG:
                first = [_step_or_none(r.get("first_step")) for r in records]
                last = [_step_or_none(r.get("last_step")) for r in records]
                always = None
            else:
                first = last = [_step_or_none(r.get("step")) for r in records]
                always = [r.get("action") in PLATEAU_ACTIONS_ALWAYS_SENT for r in records]
            self.records[tag] = RecordSeries(records, first, last, always)
            if tag == metadata.PLATEAU_TAG:
                self._set_plateau_view(built.get(tag, []), first)
        # The planned series runs ahead of training: the newest data is the applied rate.
        steps = [s.last_step for s in self.series["learning_rate"].values()]
        steps = [s for s in steps if s is not None]
        self.last_step = max(steps) if steps else None
        self._metrics = {}
        self._answers = collections.OrderedDict()
        self._answers_lock = threading.Lock()
        self.derived = {}

    def __getstate__(self):
        # Pickled by a child process that built it (serve/build_worker): not its
        # lock, nor answers encoded for requests.
        state = dict(self.__dict__)
        state.pop("_answers_lock")
        state["_answers"] = collections.OrderedDict()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._answers_lock = threading.Lock()

    def _set_plateau_view(self, plateau, steps):
        """Keeps ``plateau_view.derive`` of the plateau records: each decision beside its record.

        An answer sends the decisions of the plateau records it holds (a
        window's, a tail's) and every cooldown window (a few per reduction).
        """
        view = timeline.clean(plateau_view.derive(plateau))
        decisions = iter(view["decisions"])
        aligned = [next(decisions) if plateau_view.has_epoch(r) else None for r in plateau]
        self._decisions = RecordSeries(aligned, steps, steps)
        self._cooldown_windows_text = json.dumps(
            view["cooldown_windows"], separators=(",", ":"), allow_nan=False)

    def _plateau_view_text(self, picked):
        """JSON text of the plateau view of an answer holding the plateau records at ``picked``."""
        decisions = [text for text in self._decisions.texts(picked) if text != "null"]
        return (f'{{"decisions":[{",".join(decisions)}],'
                f'"cooldown_windows":{self._cooldown_windows_text}}}')

    def set_derived(self, fields):
        """Whole-run fields sent with every view (``{name: JSON-safe value}``), encoded once.

        They can be large (a decision per plateau record): encoding them per
        request would cost the run's length.
        """
        self.derived = {
            name: json.dumps(value, separators=(",", ":"), allow_nan=False)
            for name, value in fields.items()
        }

    @property
    def epochs(self):
        """The run's epoch records as ``timeline.build_run`` made them (decoded anew each time)."""
        return json.loads(zlib.decompress(self._exact_texts[metadata.EPOCHS_TAG]))

    @property
    def plateau(self):
        """The run's plateau records as ``timeline.build_run`` made them (decoded anew each time)."""
        return json.loads(zlib.decompress(self._exact_texts[metadata.PLATEAU_TAG]))

    @property
    def planned(self):
        """``{optimizer: (steps, rates)}`` of the planned series, every point (decoded anew)."""
        return {name: rates.arrays() for name, rates in self.series["planned"].items()}

    @property
    def nbytes(self):
        total = sum(sys.getsizeof(text) for text in self._exact_texts.values())
        total += sum(sys.getsizeof(text) for text in self.derived.values())
        total += sum(s.nbytes for series in self.series.values() for s in series.values())
        total += sum(r.nbytes for r in self.records.values())
        total += self._decisions.nbytes + sys.getsizeof(self._cooldown_windows_text)
        total += sum(r.nbytes for metrics in self._metrics.values() for r in metrics.values())
        total += sum(len(answer) for answer in list(self._answers.values()))
        return total

    def answer(self, key, compute):
        """``compute()``'s bytes, kept for the last ANSWERS_KEPT keys (the page polls the same query).

        Fewer when they hold more than ANSWER_BYTES_KEPT bytes: the oldest go first.
        """
        with self._answers_lock:  # TensorBoard serves requests from several threads
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                return found
        found = compute()
        with self._answers_lock:
            self._answers[key] = found
            while len(self._answers) > 1 and (
                len(self._answers) > ANSWERS_KEPT
                or sum(map(len, self._answers.values())) > ANSWER_BYTES_KEPT
            ):
                self._answers.popitem(last=False)
        return found

    def metrics(self, key, compute):
        """``{metric: RecordSeries}`` of ``compute()``'s ``{metric: [[epoch, step, value]]}``.

        Computed once per ``key`` (what the metrics depend on besides this run).
        """
        if key not in self._metrics:
            self._metrics.clear()  # an older key will not come back
            self._metrics[key] = {
                name: RecordSeries(points, *([[_step_or_none(p[1]) for p in points]] * 2))
                for name, points in compute().items()
            }
        return self._metrics[key]

    def view(self, max_points, start=None, end=None, since=None, metrics=None):
        """What one request sends: ``TimelineView`` of the window, at most ``max_points`` each.

        ``since`` keeps only what is newer than that step (a refresh's tail).
        """
        lower = _max_or_none(start, None if since is None else since + 1)
        view = TimelineView(last_step=self.last_step)
        view.encoded_fields = dict(self.derived)
        for key, series in self.series.items():
            view.series[key] = {}
            view.in_window[key] = {}
            for name, rate_summary in series.items():
                i0, i1 = rate_summary.index_range(lower, end)
                keep, rates = rate_summary.points_in(i0, i1, max_points)
                view.series[key][name] = (
                    rate_summary.steps_at(keep), rates,
                    rate_summary.rate_dtype,
                )
                view.totals[key][name] = rate_summary.size
                view.in_window[key][name] = i1 - i0
        # One record per bucket of the rate series at most.
        limit = max(max_points // 2, 1)
        for tag, records in self.records.items():
            if tag == metadata.EPOCHS_TAG or tag == metadata.PLATEAU_TAG:
                picked, in_window = records.select(start, end, since, limit)
            elif tag == metadata.EVENTS_TAG:
                picked, in_window = records.select(since=since)
            else:
                picked, in_window = np.arange(len(records)), len(records)
            view.records[tag] = records.texts(picked)
            view.record_counts[tag] = _counts(len(records), in_window, len(picked))
            if tag == metadata.PLATEAU_TAG:
                view.encoded_fields["plateau_view"] = self._plateau_view_text(picked)
        for name, points in (metrics or {}).items():
            picked, in_window = points.select(start, end, since, limit)
            view.metrics[name] = points.texts(picked)
            view.metric_counts[name] = _counts(len(points), in_window, len(picked))
            view.metric_series[name] = (points, picked)
        return view


class TimelineView:
    """The parts of one ``/timeline`` answer: series as arrays, records already encoded."""

    def __init__(self, last_step=None):
        self.last_step = last_step
        self.series = {}  # key -> optimizer -> (steps int64, rates float64, stored dtype)
        self.totals = {"learning_rate": {}, "planned": {}}
        self.in_window = {}
        self.metric_series = {}  # metric -> (RecordSeries, indices of the points sent)
        self.records = {}  # tag -> [JSON text of each record]
        self.record_counts = {}
        self.metrics = {}  # metric -> [JSON text of each [epoch, step, value]]
        self.encoded_fields = {}  # name -> JSON text of a whole-run field
        self.metric_counts = {}


def _counts(total, in_window, sent):
    return {"total": int(total), "in_window": int(in_window), "sent": int(sent)}


def _step_or_none(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if np.isfinite(value) else None
