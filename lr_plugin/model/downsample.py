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
   If the change points, with the first and the last point of the series, fit
   in ``max_points``, they are all kept: a step line (and a straight line)
   drawn through the kept points then shows every plateau and every jump
   exactly. The remaining budget goes to the points that are neither change
   points nor inside a plateau (the smooth parts): the series is cut into
   ``budget // 2`` equal ranges of points (*), and each range keeps its smallest
   and its largest smooth rate, so peaks and troughs of cyclic or warmup
   schedules survive. This is the usual case (step decay, plateau reductions).
3. If the change points do not fit (a slow decay in float32, as Keras applies
   it, has runs of equal rates every few steps: 1.29M change points in a 10M
   step cosine), the series is cut into ``(max_points - 2) // 2`` equal ranges
   of points (*), and each range keeps its smallest and its largest rate over all
   its points, change points included, plus the first and the last point: the
   envelope of what happened is drawn exactly, and every kept point is a real
   point of the series.

(*) Ranges of 64 points or more have each cut between two of them moved back to
a multiple of 16, so the summary's levels answer them whole.

The result never has more than ``max_points`` points. The rule is
implemented once, in ``lr_plugin.model.summary.RateSummary``, which also
answers it for a window of steps without rereading the series; this module is
the one-shot form for a whole series.
"""

import numpy as np

from lr_plugin.model import summary


def downsample_indices(rates, max_points):
    """Sorted indices of the points of ``rates`` to keep (see the module rule).

    Args:
        rates: 1-D array of rates, in step order.
        max_points: the budget, an int >= 2.

    Returns:
        An int64 array of increasing indices into ``rates``.
    """
    summary._check_budget(max_points)
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    return summary.RateSummary(np.arange(rates.size), rates, compact=False).select(
        0, rates.size, max_points)


def downsample_series(steps, rates, max_points):
    """At most ``max_points`` (step, rate) points of a rate series, exact at every change.

    Args:
        steps: 1-D array of steps, increasing.
        rates: 1-D array of rates, same length.
        max_points: the budget, an int >= 2: at most this many points are
            returned (see the module docstring).

    Returns:
        ``(steps, rates)`` arrays of the kept points, in step order.
    """
    steps, rates = summary.series_arrays(steps, rates)
    keep = downsample_indices(rates, max_points)
    return steps[keep], rates[keep]
