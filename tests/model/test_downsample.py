"""Specification of lr_plugin.model.downsample: exact at every change, extremes kept elsewhere."""

import numpy as np
import pytest

from lr_plugin.model import downsample


def step_line(kept_steps, kept_rates, steps):
    """The rate a step line through the kept points shows at each step."""
    index = np.searchsorted(kept_steps, steps, side="right") - 1
    return kept_rates[index]


def piecewise(n, changes, seed=0):
    """n steps of a step function that changes at ``changes`` random steps."""
    rng = np.random.default_rng(seed)
    boundaries = np.sort(rng.choice(np.arange(1, n), size=changes, replace=False))
    levels = 0.1 * 0.5 ** np.arange(changes + 1)
    return np.arange(n), levels[np.searchsorted(boundaries, np.arange(n), side="right")]


def test_short_series_is_returned_whole():
    steps = np.arange(5)
    rates = np.array([0.1, 0.2, 0.3, 0.2, 0.1])
    kept_steps, kept_rates = downsample.downsample_series(steps, rates, 5)
    np.testing.assert_array_equal(kept_steps, steps)
    np.testing.assert_array_equal(kept_rates, rates)


def test_empty_and_single_point_series():
    assert downsample.downsample_series([], [], 2)[0].size == 0
    kept_steps, kept_rates = downsample.downsample_series([7], [0.5], 2)
    assert kept_steps.tolist() == [7] and kept_rates.tolist() == [0.5]


def test_constant_series_keeps_first_and_last_only():
    kept_steps, kept_rates = downsample.downsample_series(
        np.arange(1000), np.full(1000, 0.01), 10
    )
    assert kept_steps.tolist() == [0, 999]
    assert kept_rates.tolist() == [0.01, 0.01]


def test_keeps_both_sides_of_every_change():
    rates = np.array([1.0] * 10 + [0.5] * 10 + [0.25] * 10)
    kept_steps, _ = downsample.downsample_series(np.arange(30), rates, 8)
    assert kept_steps.tolist() == [0, 9, 10, 19, 20, 29]


def test_step_function_with_29_changes_is_exact_after_downsampling():
    steps, rates = piecewise(100_000, 29)
    kept_steps, kept_rates = downsample.downsample_series(steps, rates, 500)
    assert kept_steps.size <= 500
    assert kept_steps[0] == 0 and kept_steps[-1] == 99_999
    np.testing.assert_array_equal(step_line(kept_steps, kept_rates, steps), rates)
    # Straight lines between the kept points are exact too: the last point
    # before each change is kept, so no segment slopes across a plateau.
    np.testing.assert_array_equal(np.interp(steps, kept_steps, kept_rates), rates)


def test_one_step_spike_between_plateaus_is_kept():
    rates = np.full(1000, 0.1)
    rates[500] = 1.0
    kept_steps, kept_rates = downsample.downsample_series(np.arange(1000), rates, 10)
    assert kept_steps.tolist() == [0, 499, 500, 501, 999]
    assert kept_rates.tolist() == [0.1, 0.1, 1.0, 0.1, 0.1]


def test_change_points_beyond_the_budget_give_each_range_its_extremes():
    # 40 plateaus of 3 steps: 80 change points, more than the budget of 10.
    # 4 ranges of 30 steps each keep their largest (first) and smallest rate.
    rates = np.repeat(0.1 * 0.9 ** np.arange(40), 3)
    kept_steps, kept_rates = downsample.downsample_series(np.arange(120), rates, 10)
    assert kept_steps.tolist() == [0, 27, 30, 57, 60, 87, 90, 117, 119]
    np.testing.assert_array_equal(kept_rates, rates[kept_steps])


@pytest.mark.parametrize("max_points", [80, 81])
def test_change_points_that_fill_the_budget_exactly_are_all_kept(max_points):
    # 80 change points, the first and last point among them.
    rates = np.repeat(0.1 * 0.9 ** np.arange(40), 3)
    kept_steps, kept_rates = downsample.downsample_series(np.arange(120), rates, max_points)
    assert kept_steps.size == 80
    np.testing.assert_array_equal(step_line(kept_steps, kept_rates, np.arange(120)), rates)


def test_slow_float32_cosine_stays_within_the_budget():
    # Rounded to float32, as Keras applies it, a slow cosine repeats each rate
    # for a few steps: 12,018 change points in 1M steps, for a budget of 2000.
    n = 1_000_000
    rates = (0.01 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * np.arange(n) / n)))).astype(np.float32)
    kept_steps, kept_rates = downsample.downsample_series(np.arange(n), rates, 2000)
    assert kept_steps.size <= 2000
    assert kept_steps[0] == 0 and kept_steps[-1] == n - 1
    assert kept_rates.max() == rates.max() and kept_rates.min() == rates.min()
    np.testing.assert_array_equal(kept_rates, rates[kept_steps])
    # Each of the 999 ranges of about 1002 steps (each cut moved back to a
    # multiple of 16) keeps its largest and smallest rate.
    bounds = [0] + [k * 1002 // 16 * 16 for k in range(1, 999)] + [n]
    for start, end in zip(bounds[:-1], bounds[1:]):
        inside = rates[start:end]
        assert inside.max() in kept_rates and inside.min() in kept_rates


def test_nan_plateau_counts_as_a_plateau():
    rates = np.array([0.1] * 50 + [np.nan] * 50 + [0.01] * 50)
    kept_steps, kept_rates = downsample.downsample_series(np.arange(150), rates, 20)
    assert kept_steps.tolist() == [0, 49, 50, 99, 100, 149]
    np.testing.assert_array_equal(
        step_line(kept_steps, kept_rates, np.arange(150)), rates
    )


def test_smooth_schedule_respects_budget_and_keeps_peak_and_ends():
    n = 10_000
    steps = np.arange(n)
    warmup = np.linspace(0.0, 1.0, 1000, endpoint=False)
    decay = 0.5 * (1 + np.cos(np.pi * np.arange(n - 1000) / (n - 1000)))
    rates = np.concatenate([warmup, decay])
    kept_steps, kept_rates = downsample.downsample_series(steps, rates, 200)
    assert 100 <= kept_steps.size <= 200
    assert kept_steps[0] == 0 and kept_steps[-1] == n - 1
    assert kept_rates.max() == rates.max()
    assert np.all(np.diff(kept_steps) > 0)


def test_cyclic_schedule_keeps_every_peak_and_trough():
    # Triangular cycles of 200 steps: each of 20 buckets holds one cycle.
    n = 4000
    phase = np.arange(n) % 200
    rates = 0.001 + 0.009 * np.minimum(phase, 200 - phase) / 100
    kept_steps, kept_rates = downsample.downsample_series(np.arange(n), rates, 42)
    assert kept_steps.size <= 42
    assert np.count_nonzero(kept_rates == rates.max()) == 20
    assert np.count_nonzero(kept_rates == rates.min()) >= 20


def test_smooth_parts_share_the_budget_left_after_change_points():
    # Linear warmup, then a constant rate: the plateau needs only its ends.
    rates = np.concatenate([np.linspace(0.0, 0.1, 100, endpoint=False), np.full(900, 0.1)])
    kept_steps, kept_rates = downsample.downsample_series(np.arange(1000), rates, 50)
    assert kept_steps.size <= 50
    assert {99, 100, 999} <= set(kept_steps.tolist())
    assert np.count_nonzero(kept_steps > 100) == 1  # only the last point inside the plateau
    np.testing.assert_array_equal(step_line(kept_steps, kept_rates, np.arange(100, 1000)), 0.1)


def test_steps_are_carried_with_their_rates():
    steps = np.arange(0, 3000, 3)
    rates = np.where(steps < 1500, 0.1, 0.01)
    kept_steps, kept_rates = downsample.downsample_series(steps, rates, 10)
    assert kept_steps.tolist() == [0, 1497, 1500, 2997]
    assert kept_rates.tolist() == [0.1, 0.1, 0.01, 0.01]


@pytest.mark.parametrize("max_points", [2, 3])
def test_smallest_budgets_keep_the_ends_even_beyond_the_change_points(max_points):
    rates = np.repeat(0.1 * 0.9 ** np.arange(40), 3)
    kept_steps, _ = downsample.downsample_series(np.arange(120), rates, max_points)
    assert kept_steps.tolist() == [0, 119]


@pytest.mark.parametrize("max_points", [0, 1, -5])
def test_budget_below_two_is_refused(max_points):
    with pytest.raises(ValueError, match="at least 2"):
        downsample.downsample_series(np.arange(10), np.zeros(10), max_points)


@pytest.mark.parametrize("max_points", [2.5, "10", None, True])
def test_budget_must_be_an_int(max_points):
    with pytest.raises(TypeError, match="max_points must be an int"):
        downsample.downsample_series(np.arange(10), np.zeros(10), max_points)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        downsample.downsample_series(np.arange(10), np.zeros(9), 5)
