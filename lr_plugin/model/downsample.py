"""Downsampling of learning-rate series for drawing, exact where the rate steps.

TensorBoard's own ``downsample`` picks points at random, which can drop the
step where a rate changed. A learning rate is usually a step function (plateau
reductions, step decay), so this module keeps every point a step line needs and
spends the rest of the budget on the smooth parts (warmup, cosine decay).

The rule, for a series of ``n`` points and a budget of ``max_points``:

1. If ``n <= max_points``, every point is kept.
2. A *plateau* is two or more consecutive points with the same rate (NaN equals
   NaN). Where the rate moves into or out of a plateau, both sides of the move
   are *change points*: the last point before it and the first point after it.
   The first and the last point of the series are always kept too. A step line
   (and a straight line) drawn through the kept points then shows every plateau
   and every jump exactly.
3. If the change points alone exceed ``max_points``, they are all returned
   anyway: a correct step function beats the budget.
4. Otherwise the remaining budget goes to the points that are neither change
   points nor inside a plateau (the smooth parts): they are split into equal
   buckets in order, and each bucket keeps its smallest and its largest rate,
   so peaks and troughs of cyclic or warmup schedules survive.

The result never exceeds ``max_points`` except in case 3.
"""

import numpy as np


def downsample_indices(rates, max_points):
    """Sorted indices of the points of ``rates`` to keep (see the module rule).

    Args:
        rates: 1-D array of rates, in step order.
        max_points: the budget, an int >= 2.

    Returns:
        An int64 array of increasing indices into ``rates``.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)):
        raise TypeError(f"max_points must be an int. Received: {max_points!r}")
    if max_points < 2:
        raise ValueError(
            f"max_points must be at least 2 (the first and last point). "
            f"Received: max_points={max_points}"
        )
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    n = rates.size
    if n <= max_points:
        return np.arange(n, dtype=np.int64)

    # same[i]: point i+1 has the rate of point i.
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

    budget = max_points - int(np.count_nonzero(required))
    if budget <= 0:
        return np.flatnonzero(required).astype(np.int64)

    # Interior plateau points add nothing to the drawing; the rest is smooth.
    candidates = np.flatnonzero(~required & ~in_plateau)
    if candidates.size <= budget:
        required[candidates] = True
    elif budget >= 2:
        required[_bucket_extremes(rates, candidates, budget // 2)] = True
    return np.flatnonzero(required).astype(np.int64)


def _bucket_extremes(rates, candidates, buckets):
    """Indices of the min and max rate of each of ``buckets`` equal groups of candidates."""
    size = -(-candidates.size // buckets)  # ceil
    pad = buckets * size - candidates.size
    values = rates[candidates]
    # Padding goes last, and argmin/argmax return the first of equal values, so
    # a padded slot is picked only in a bucket that is all padding.
    low = np.concatenate([values, np.full(pad, np.inf)]).reshape(buckets, size)
    high = np.concatenate([values, np.full(pad, -np.inf)]).reshape(buckets, size)
    offsets = np.arange(buckets) * size
    picks = np.concatenate([offsets + low.argmin(axis=1), offsets + high.argmax(axis=1)])
    return candidates[picks[picks < candidates.size]]


def downsample_series(steps, rates, max_points):
    """At most ``max_points`` (step, rate) points of a rate series, exact at every change.

    Args:
        steps: 1-D array of steps, increasing.
        rates: 1-D array of rates, same length.
        max_points: the budget, an int >= 2. It is exceeded only when the
            change points alone need more (see the module docstring).

    Returns:
        ``(steps, rates)`` arrays of the kept points, in step order.
    """
    steps = np.asarray(steps).reshape(-1)
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    if steps.shape != rates.shape:
        raise ValueError(
            f"steps and rates must have the same length. Received: "
            f"{steps.size} steps and {rates.size} rates"
        )
    keep = downsample_indices(rates, max_points)
    return steps[keep], rates[keep]
