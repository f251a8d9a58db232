"""Specification of lr_plugin.model.summary: any window at any budget, exact where the rate steps."""

import json
import tracemalloc

import numpy as np
import pytest

from lr_plugin.format import metadata
from lr_plugin.model import summary
from lr_plugin.model import timeline


def step_line(kept_steps, kept_rates, steps):
    index = np.searchsorted(kept_steps, steps, side="right") - 1
    return kept_rates[index]


def random_walk(n, seed=0):
    """Distinct rates (no plateaus): every point but the ends is smooth."""
    return np.random.default_rng(seed).normal(size=n).cumsum() * 1e-3 + 1.0


def ranges(i0, i1, groups):
    """The ranges the module docstring states: ``[(start, end), ...]`` cutting ``i0 .. i1 - 1``.

    Equal ranges of ``ceil((i1 - i0) / groups)`` points; from 64 points a range,
    each cut between two ranges moved back to a multiple of 16.
    """
    size = -(-(i1 - i0) // groups)
    cuts = list(range(i0 + size, i1, size))
    if size >= 64:
        cuts = [c for c in (c // 16 * 16 for c in cuts) if c > i0]
    bounds = [i0] + cuts + [i1]
    return list(zip(bounds[:-1], bounds[1:]))


def test_long_ranges_are_cut_at_bucket_multiples_and_never_more_than_asked():
    for i0, i1, groups in [(0, 10_000_000, 999), (12_345, 9_876_543, 7), (5, 300_000, 1000),
                           (3, 9_000, 100)]:
        cut = ranges(i0, i1, groups)
        assert len(cut) <= groups and cut[0][0] == i0 and cut[-1][1] == i1
        assert all(end > start for start, end in cut)
        if (i1 - i0) / groups >= 64:
            assert all(start % 16 == 0 for start, _ in cut[1:])
        starts, ends = summary._ranges(i0, i1, groups)
        assert list(zip(starts.tolist(), ends.tolist())) == cut


@pytest.mark.parametrize("n", [3, 17, 16**2, 16**3 + 5, 100_003])
@pytest.mark.parametrize("max_points", [4, 10, 101, 2000])
def test_every_range_keeps_its_smallest_and_largest_rate(n, max_points):
    rates = random_walk(n, seed=n)
    rate_summary = summary.RateSummary(np.arange(n), rates)
    rng = np.random.default_rng(max_points)
    windows = [(0, n)] + [tuple(sorted(rng.integers(0, n + 1, size=2))) for _ in range(20)]
    for i0, i1 in windows:
        kept = rate_summary.select(int(i0), int(i1), max_points)
        if i1 - i0 <= max_points:
            assert kept.tolist() == list(range(i0, i1))
            continue
        assert kept.size <= max_points
        assert kept[0] == i0 and kept[-1] == i1 - 1
        for start, end in ranges(i0, i1, (max_points - 2) // 2):
            inside = np.arange(start, end)
            smooth = inside[(inside > 0) & (inside < n - 1)]
            if smooth.size:
                assert smooth[rates[smooth].argmin()] in kept
                assert smooth[rates[smooth].argmax()] in kept


def test_window_with_few_points_is_sent_whole():
    rates = random_walk(1_000_000)
    steps, kept = summary.RateSummary(np.arange(1_000_000), rates).points(
        2000, start=500_000, end=501_999
    )
    assert steps.tolist() == list(range(500_000, 502_000))
    np.testing.assert_array_equal(kept, rates[500_000:502_000])


def test_step_function_is_exact_in_every_window():
    n = 1_000_000
    boundaries = np.sort(np.random.default_rng(3).choice(np.arange(1, n), 60, replace=False))
    rates = (0.1 * 0.8 ** np.arange(61))[np.searchsorted(boundaries, np.arange(n), side="right")]
    rate_summary = summary.RateSummary(np.arange(n), rates)
    for start, end in [(None, None), (0, n - 1), (123_456, 654_321), (boundaries[7], boundaries[9])]:
        steps, kept = rate_summary.points(300, start=start, end=end)
        low, high = start or 0, n - 1 if end is None else end
        assert steps[0] == low and steps[-1] == high
        window = np.arange(low, high + 1)
        np.testing.assert_array_equal(step_line(steps, kept, window), rates[window])
        np.testing.assert_array_equal(np.interp(window, steps, kept), rates[window])


def test_smooth_schedule_with_reductions_keeps_its_extremes_within_the_budget():
    n = 200_000
    index = np.arange(n)
    rates = (0.01 * (1 + np.cos(np.pi * index / n)) / 2 + 1e-4) * 0.5 ** (index // 50_000)
    steps, kept = summary.RateSummary(index, rates).points(500)
    assert 480 <= steps.size <= 500
    assert kept.max() == rates.max() and kept.min() == rates.min()


def test_cyclic_rate_keeps_every_peak_in_a_zoomed_window():
    n = 1_000_000
    phase = np.arange(n) % 1000
    rates = 0.001 + 0.009 * np.minimum(phase, 1000 - phase) / 500
    # 100 cycles in the window, 100 ranges of one cycle each.
    steps, kept = summary.RateSummary(np.arange(n), rates).points(202, start=300_000, end=399_999)
    assert np.count_nonzero(kept == rates.max()) == 100


def float32_cosine(n, peak=0.01):
    """A slow cosine decay as Keras applies it: float32, so equal rates come in runs."""
    index = np.arange(n)
    rates = peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * index / n)))
    return rates.astype(np.float32).astype(np.float64)


def change_points(rates):
    """Brute force: the points on either side of a move into or out of a plateau, and the ends."""
    same = [bool(a == b) for a, b in zip(rates[:-1], rates[1:])]
    flat = [i > 0 and same[i - 1] or i < len(same) and same[i] for i in range(len(rates))]
    kept = {0, len(rates) - 1}
    for i, equal in enumerate(same):
        if not equal and (flat[i] or flat[i + 1]):
            kept |= {i, i + 1}
    return sorted(kept)


def assert_envelope(kept, rates, i0, i1, max_points):
    """Within the budget, real points, the window's ends, and each range's smallest and largest."""
    assert kept.size <= max_points
    assert kept[0] == i0 and kept[-1] == i1 - 1
    for start, end in ranges(i0, i1, (max_points - 2) // 2):
        inside = rates[start:end]
        assert inside.min() in rates[kept] and inside.max() in rates[kept]
        in_range = kept[(kept >= start) & (kept < end)]
        assert rates[in_range].min() == inside.min() and rates[in_range].max() == inside.max()


@pytest.mark.parametrize("window", [(None, None), (0, 99_999), (2_000, 11_999)])
def test_float32_cosine_beyond_the_budget_sends_its_envelope_within_it(window):
    n = 1_000_000
    rates = float32_cosine(n)
    start, end = window
    rate_summary = summary.RateSummary(np.arange(n), rates)
    i0, i1 = rate_summary.index_range(start, end)
    assert len(change_points(rates[i0:i1])) > 2000  # more than the budget: rule 3
    steps, kept = rate_summary.points(2000, start=start, end=end)
    assert steps.size <= 2000
    np.testing.assert_array_equal(kept, rates[steps])  # every point a real (step, rate)
    assert kept.min() == rates[i0:i1].min() and kept.max() == rates[i0:i1].max()
    assert_envelope(steps, rates, i0, i1, 2000)


def test_float32_cosine_keeps_every_change_where_they_fit_and_every_point_zoomed_in():
    n = 1_000_000
    rates = float32_cosine(n)
    rate_summary = summary.RateSummary(np.arange(n), rates)
    # Runs end where the decay steepens (step 18,994): 992 change points
    # in this window fit the budget and are all kept, exactly.
    steps, kept = rate_summary.points(2000, start=16_000, end=115_999)
    window = np.arange(16_000, 116_000)
    required = change_points(rates)
    inside = [i for i in required if 16_000 <= i < 116_000]
    assert 900 < len(inside) < 2000 and set(inside) <= set(steps.tolist())
    # Every plateau is drawn exactly (lone points between them are the smooth rule's).
    flat = window[(rates[window] == rates[window - 1]) | (rates[window] == rates[window + 1])]
    assert flat.size > 400
    np.testing.assert_array_equal(step_line(steps, kept, flat), rates[flat])
    # Zoomed to 2000 steps of the flat start, every point is sent.
    steps, kept = rate_summary.points(2000, start=1000, end=2999)
    assert steps.tolist() == list(range(1000, 3000))
    np.testing.assert_array_equal(kept, rates[1000:3000])


@pytest.mark.parametrize("seed", range(12))
def test_random_staircases_are_exact_when_their_changes_fit_and_enveloped_otherwise(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, size=400)  # runs of 1 to 5 equal rates
    levels = rng.choice([0.1, 0.05, 0.01, 0.001, np.float32(0.3)], size=lengths.size)
    rates = np.repeat(levels, lengths).astype(np.float64)
    n = rates.size
    rate_summary = summary.RateSummary(np.arange(n), rates)
    required = np.array(change_points(rates))
    for _ in range(10):
        i0, i1 = sorted(int(v) for v in rng.integers(0, n + 1, size=2))
        max_points = int(rng.integers(4, 300))
        kept = rate_summary.select(i0, i1, max_points)
        if i1 - i0 <= max_points:
            assert kept.tolist() == list(range(i0, i1))
            continue
        inside = set(required[(required >= i0) & (required < i1)].tolist()) | {i0, i1 - 1}
        if len(inside) <= max_points:
            assert inside <= set(kept.tolist()) and kept.size <= max_points
            window = np.arange(i0, i1)
            np.testing.assert_array_equal(step_line(kept, rates[kept], window), rates[window])
        else:
            assert_envelope(kept, rates, i0, i1, max_points)


def test_nan_rate_is_shown_even_far_below_the_budget():
    rates = random_walk(1_000_000)
    rates[777_777] = np.nan
    steps, kept = summary.RateSummary(np.arange(1_000_000), rates).points(100)
    assert 777_777 in steps.tolist()
    assert np.isnan(kept[steps.tolist().index(777_777)])


def test_steps_with_gaps_are_windowed_by_step():
    steps = np.arange(0, 3_000_000, 3)  # every third step recorded
    rates = random_walk(steps.size)
    rate_summary = summary.RateSummary(steps, rates)
    kept_steps, kept = rate_summary.points(5000, start=1_000_000, end=1_000_030)
    assert kept_steps.tolist() == list(range(1_000_002, 1_000_031, 3))
    np.testing.assert_array_equal(kept, rates[(kept_steps // 3)])
    assert rate_summary.last_step == 2_999_997
    # Every third step is kept as a first step and a stride, not as a copy of the steps.
    assert rate_summary.nbytes == summary.RateSummary(np.arange(steps.size), rates).nbytes


@pytest.mark.parametrize("start, end", [(None, None), (0, 10), (7, 7), (8, 8), (5, 1_000_000),
                                        (600_001, 600_004), (2_999_999, None)])
def test_uneven_steps_are_windowed_like_even_ones(start, end):
    # update_freq=3, then a restart that logs every step from 600,000 on.
    steps = np.concatenate([np.arange(0, 600_000, 3), np.arange(600_000, 3_000_000)])
    rates = random_walk(steps.size)
    rate_summary = summary.RateSummary(steps, rates)
    inside = (steps >= (start or 0)) & (steps <= (steps[-1] if end is None else end))
    kept_steps, kept = rate_summary.points(10**7, start=start, end=end)
    np.testing.assert_array_equal(kept_steps, steps[inside])
    np.testing.assert_array_equal(kept, rates[inside])


def test_float32_rates_and_contiguous_steps_are_stored_compactly():
    n = 1_000_000
    rates = random_walk(n).astype(np.float32).astype(np.float64)
    rate_summary = summary.RateSummary(np.arange(10, 10 + n), rates)
    assert rate_summary.rate_dtype == np.float32
    assert rate_summary.nbytes < 6 * n  # 4 bytes of rate, about 1 of index per point
    steps, kept = rate_summary.points(10, start=10, end=19)
    assert steps.tolist() == list(range(10, 20))
    np.testing.assert_array_equal(kept, rates[:10])  # exact: float32 values as float64
    assert summary.RateSummary([0, 1], [0.1, 0.2]).rate_dtype == np.float64


def test_building_a_float32_summary_needs_few_temporary_bytes_per_point():
    # The 10M-step build of a TensorBoard request: its peak is what RSS keeps.
    n = 1_000_000
    rates = random_walk(n).astype(np.float32).astype(np.float64)
    steps = np.arange(n)
    tracemalloc.start()
    try:
        summary.RateSummary(steps, rates)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * n  # the input alone is 16 bytes a point


def test_run_summary_gives_back_its_epoch_records_exactly():
    built = built_run()
    run_summary = summary.RunSummary(built)
    epochs = run_summary.epochs
    assert all(np.isnan(r["metrics"]["loss"]) for r in epochs)  # NaN itself, not "NaN"
    without_nan = [dict(r, metrics=None) for r in epochs]
    assert without_nan == [dict(r, metrics=None) for r in built["epochs"]]
    assert run_summary.epochs is not epochs  # decoded anew: the caller may change them


def test_run_summary_gives_back_its_plateau_records_and_planned_series_exactly():
    built = built_run()
    built["plateau"][3]["value"] = float("nan")
    steps = np.array([0, 5, 6, 40, 41, 1000])  # uneven steps too
    built["planned"]["SGD"] = (steps, np.linspace(0.1, 0.2, steps.size))
    run_summary = summary.RunSummary(built)
    plateau = run_summary.plateau
    assert np.isnan(plateau[3]["value"])
    plateau[3]["value"] = built["plateau"][3]["value"] = None
    assert plateau == built["plateau"]
    got_steps, got_rates = run_summary.planned["SGD"]
    assert got_steps.tolist() == steps.tolist()
    assert got_rates.dtype == np.float64 and got_rates.tolist() == built["planned"]["SGD"][1].tolist()


def test_empty_window_and_empty_series():
    rate_summary = summary.RateSummary(np.arange(100), random_walk(100))
    assert rate_summary.points(10, start=200)[0].size == 0
    assert rate_summary.points(10, start=50, end=40)[0].size == 0
    empty = summary.RateSummary([], [])
    assert empty.points(10)[0].size == 0 and empty.last_step is None


def test_bad_series_are_refused_with_what_was_received():
    with pytest.raises(ValueError, match="same length. Received: 3 steps and 2 rates"):
        summary.RateSummary([0, 1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="strictly increasing"):
        summary.RateSummary([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least 2"):
        summary.RateSummary([0, 1], [0.1, 0.2]).points(1)


def built_run(epochs=100, steps_per_epoch=10):
    """A build_run dict: a rate halved every 10 epochs, one epoch and plateau record each."""
    n = epochs * steps_per_epoch
    rates = 0.1 * 0.5 ** (np.arange(n) // (10 * steps_per_epoch))
    run = timeline.empty_run()
    run["learning_rate"]["SGD"] = (np.arange(n), rates)
    for epoch in range(epochs):
        last = (epoch + 1) * steps_per_epoch - 1
        run["epochs"].append({"epoch": epoch, "first_step": last + 1 - steps_per_epoch,
                              "last_step": last, "metrics": {"loss": float("nan")}})
        reduce = epoch % 10 == 9
        run["plateau"].append({"epoch": epoch, "step": last,
                               "action": "reduce" if reduce else "wait"})
        if reduce:
            run["events"].append({"epoch": epoch, "step": last, "kind": "reduce"})
    run["sessions"].append({"session": "a", "state": "begin", "start_step": 0})
    return run


def test_run_view_sends_records_of_the_window_and_counts_the_rest():
    run_summary = summary.RunSummary(built_run())
    view = run_summary.view(2000, start=250, end=349)
    assert [json.loads(r)["epoch"] for r in view.records["epochs"]] == list(range(25, 35))
    assert view.record_counts["epochs"] == {"total": 100, "in_window": 10, "sent": 10}
    assert view.record_counts["plateau"] == {"total": 100, "in_window": 10, "sent": 10}
    # Events and sessions are few: always sent whole.
    assert view.record_counts["events"] == {"total": 10, "in_window": 10, "sent": 10}
    assert len(view.records[metadata.SESSIONS_TAG]) == 1
    assert '"loss":"NaN"' in view.records["epochs"][0]  # TensorBoard's JSON for NaN
    steps, rates, dtype = view.series["learning_rate"]["SGD"]
    assert steps.tolist() == list(range(250, 350))
    assert view.totals["learning_rate"] == {"SGD": 1000}
    assert view.in_window["learning_rate"] == {"SGD": 100}
    assert view.last_step == 999


def test_run_view_thins_records_beyond_the_budget_but_keeps_every_reduction():
    view = summary.RunSummary(built_run(epochs=1000)).view(40)
    epochs = [json.loads(r)["epoch"] for r in view.records["epochs"]]
    assert len(epochs) == 20 and epochs[0] == 0 and epochs[-1] == 999
    assert view.record_counts["epochs"] == {"total": 1000, "in_window": 1000, "sent": 20}
    plateau = [json.loads(r) for r in view.records["plateau"]]
    assert {r["epoch"] for r in plateau if r["action"] == "reduce"} == set(range(9, 1000, 10))
    assert len(view.records["events"]) == 100


def test_run_view_since_sends_only_the_newer_tail():
    view = summary.RunSummary(built_run()).view(2000, since=979)
    steps, _, _ = view.series["learning_rate"]["SGD"]
    assert steps.tolist() == list(range(980, 1000))
    assert [json.loads(r)["epoch"] for r in view.records["epochs"]] == [98, 99]
    assert [json.loads(r)["epoch"] for r in view.records["events"]] == [99]


def test_metrics_are_computed_once_per_key_and_windowed():
    run_summary = summary.RunSummary(built_run())
    calls = []

    def compute():
        calls.append(1)
        return {"loss": [[e, e * 10 + 9, 1.0 / (e + 1)] for e in range(100)]}

    first = run_summary.metrics(("train", 1), compute)
    assert run_summary.metrics(("train", 1), compute) is first and len(calls) == 1
    run_summary.metrics(("train", 2), compute)
    assert len(calls) == 2
    view = run_summary.view(2000, start=0, end=99, metrics=first)
    assert view.metrics["loss"] == ["[0,9,1.0]", "[1,19,0.5]", "[2,29,0.3333333333333333]",
                                    "[3,39,0.25]", "[4,49,0.2]", "[5,59,0.16666666666666666]",
                                    "[6,69,0.14285714285714285]", "[7,79,0.125]",
                                    "[8,89,0.1111111111111111]", "[9,99,0.1]"]
    assert view.metric_counts["loss"] == {"total": 100, "in_window": 10, "sent": 10}


@pytest.mark.parametrize("count", [0, 1, 7, 5000])
def test_record_series_gives_back_any_pick_of_its_records_exactly(count):
    # Records of every size, some larger than a whole compressed block, with
    # text that JSON escapes: each picked record comes back as its own JSON text.
    rng = np.random.default_rng(count)
    records = [{"epoch": i, "note": "é\n\"" * int(rng.integers(0, 40)),
                "pad": "x" * (summary.RECORD_BLOCK_CHARS + 10 if i % 997 == 3 else int(rng.integers(0, 300)))}
               for i in range(count)]
    series = summary.RecordSeries(records, list(range(count)), list(range(count)))
    assert len(series) == count
    assert [json.loads(t) for t in series.texts()] == records
    if count:
        picked = np.sort(rng.choice(count, size=min(count, 50), replace=False))
        picked = np.concatenate([picked, picked[:3]])  # any order, repeats too
        assert [json.loads(t) for t in series.texts(picked)] == [records[i] for i in picked]
    assert series.texts([]) == []


def test_record_series_keeps_its_text_compressed():
    records = [{"epoch": i, "step": 1000 * i + 999, "action": "wait", "wait": i % 5,
                "monitor": "val_loss", "value": 0.3 + 1 / (i + 1)} for i in range(10_000)]
    series = summary.RecordSeries(records, [r["step"] for r in records], [r["step"] for r in records])
    text_bytes = sum(len(json.dumps(r, separators=(",", ":"))) for r in records)
    # Besides the text: an end per record and its two steps (24 bytes).
    assert series.nbytes - 24 * len(records) < text_bytes / 4


class PlainIndices:
    """The change point list as a plain array: the reference for ``summary._IndexRuns``."""

    def __init__(self, indices, index_type):
        self._indices = indices.astype(np.int64)
        self.size = int(indices.size)
        self.nbytes = self._indices.nbytes

    def __getitem__(self, positions):
        return self._indices[np.asarray(positions, np.int64)]

    def searchsorted(self, indices, side="left"):
        return np.searchsorted(self._indices, np.asarray(indices, np.int64), side=side)

    def stretch_starts(self):
        return self._indices[:-1][np.diff(self._indices) > 1] + 1

    def runs_at(self, indices):
        indices = np.asarray(indices, np.int64)
        run_starts = np.concatenate([self._indices[:1], self._indices[1:][np.diff(self._indices) > 1]])
        return (np.searchsorted(run_starts, indices, side="right") - 1,
                np.isin(indices, self._indices))


class PlainLevel:
    """A level as its plain per-bucket arrays: the reference for ``summary._Level``."""

    def __init__(self, lows, highs, low_rates, high_rates, bucket=None):
        self.size = int(lows.size)
        self._columns = ((lows, low_rates), (highs, high_rates))
        self.nbytes = sum(a.nbytes for a in (lows, highs, low_rates, high_rates))

    def extremes(self, buckets, valid):
        found = valid & (buckets < self.size)
        safe = np.where(found, buckets, 0)
        return [(np.where(found, indices[safe].astype(np.int64), -1), rates[safe])
                for indices, rates in self._columns]


@pytest.mark.parametrize("seed", range(8))
def test_flags_count_like_a_cumulative_sum(seed):
    rng = np.random.default_rng(seed)
    for n in (1, 7, 8, 63, 64, 65, 1000, int(rng.integers(1, 5000))):
        flags = rng.random(n) < rng.choice([0.0, 0.1, 0.5, 1.0])
        kept = summary._Flags(flags)
        positions = np.concatenate([np.arange(n), rng.integers(0, n, 50)])
        np.testing.assert_array_equal(kept[positions], flags[positions])
        before = np.cumsum(flags) - flags
        rank, flag = kept.rank_and_flag(positions)
        np.testing.assert_array_equal(rank, before[positions])
        np.testing.assert_array_equal(flag, flags[positions])
        assert summary._Flags(flags, counted=False).nbytes == -(-n // 8)


@pytest.mark.parametrize("bucket", [None, 16, 256])
def test_a_level_keeps_only_its_buckets_with_points_and_reads_like_the_plain_arrays(bucket):
    rng = np.random.default_rng(bucket or 0)
    size = 1000
    present = rng.random(size) < 0.1
    starts = np.arange(size) * (bucket or 1)
    offsets = [rng.integers(0, bucket or 10**6, size) for _ in range(2)]
    lows, highs = (np.where(present, (starts if bucket else 0) + o, -1).astype(np.int32) for o in offsets)
    rates = [np.where(present, rng.normal(size=size), 0).astype(np.float32) for _ in range(2)]
    level, plain = summary._Level(lows, highs, *rates, bucket=bucket), PlainLevel(lows, highs, *rates)
    assert level.nbytes < plain.nbytes / 4
    buckets = rng.integers(0, size + 5, (300, 32))
    valid = rng.random(buckets.shape) < 0.8
    for got, want in zip(level.extremes(buckets, valid), plain.extremes(buckets, valid)):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1][want[0] >= 0], want[1][want[0] >= 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_value_runs_give_back_every_value_bit_for_bit(dtype):
    rng = np.random.default_rng(3)
    for n in (1, 2, 9, 64, 1001):
        choices = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-3, 0.5], dtype)
        values = np.repeat(rng.choice(choices, n), rng.integers(1, 4, n))[:n]
        runs = summary._ValueRuns(values)
        positions = np.concatenate([np.arange(n), rng.integers(0, n, 30)])
        np.testing.assert_array_equal(runs[positions].view(np.uint8), values[positions].view(np.uint8))
        assert runs[positions].dtype == dtype


@pytest.mark.parametrize("seed", range(8))
def test_index_runs_read_like_the_plain_list(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    lists = [np.zeros(0, np.int64), np.array([0]), np.array([n - 1]), np.arange(n),
             np.arange(0, n, 2), np.flatnonzero(rng.random(n) < 0.3),
             np.unique(np.concatenate([[0, n - 1], *[np.arange(s, s + int(rng.integers(1, 7)))
                                                     for s in rng.integers(0, n, 50)]]))]
    keys = np.concatenate([np.arange(-2, n + 3), rng.integers(-5, n + 5, 100)])
    for indices in lists:
        indices = indices[indices < n].astype(np.int32)
        runs, plain = summary._IndexRuns(indices, np.int32), PlainIndices(indices, np.int32)
        assert runs.size == plain.size
        if indices.size:
            positions = rng.integers(0, indices.size, 200)
            np.testing.assert_array_equal(runs[positions], plain[positions])
            assert runs[positions].dtype == np.int64
        for side in ("left", "right"):
            np.testing.assert_array_equal(runs.searchsorted(keys, side), plain.searchsorted(keys, side))
        np.testing.assert_array_equal(runs.stretch_starts(), plain.stretch_starts())
        inside = keys[(keys >= 0) & (keys < n)]
        for got, want in zip(runs.runs_at(inside), plain.runs_at(inside)):
            np.testing.assert_array_equal(got, want)


def plateaus_and_specials(rng, n, dtype):
    """Runs of equal rates between smooth stretches, with NaN and +-inf among them."""
    rates = np.repeat(rng.normal(size=n).cumsum(), rng.integers(1, 5, n))[:n]
    rates[rng.random(n) < 0.2] = 0.5  # equal rates apart, as a schedule comes back to a value
    for value in (np.nan, np.inf, -np.inf):
        at = rng.integers(0, n, max(n // 50, 1))
        rates[at] = value
        rates[np.minimum(at + 1, n - 1)] = value  # some as plateaus
    return rates.astype(dtype).astype(np.float64)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_answers_are_those_of_plain_arrays(seed, dtype, monkeypatch):
    rng = np.random.default_rng(seed)
    for n in (1, 2, 5, 37, 4099, 70_001):
        rates = plateaus_and_specials(rng, n, dtype)
        uneven = np.cumsum(rng.integers(1, 4, n))  # gaps of 1 to 3 steps
        for steps in (np.arange(n), uneven):
            kept = summary.RateSummary(steps, rates)
            # Smooth points, told apart by one flag per stretch between change points.
            smooth = kept._smooth_at(np.arange(n), np.ones(n, bool), None)[0] >= 0
            stored = rates.astype(kept.rate_dtype)
            np.testing.assert_array_equal(smooth, summary._change_points_and_smooth(stored)[1])
            with monkeypatch.context() as patched:
                patched.setattr(summary, "_IndexRuns", PlainIndices)
                patched.setattr(summary, "_Level", PlainLevel)
                patched.setattr(summary, "_ValueRuns", np.array)
                reference = summary.RateSummary(steps, rates)
            queries = [(max_points, None, None) for max_points in (2, 3, 10, 2000)]
            for _ in range(15):
                start, end = sorted(int(s) for s in rng.integers(0, int(steps[-1]) + 2, 2))
                queries.append((int(rng.integers(2, 400)), start, end))
            for max_points, start, end in queries:
                got, want = kept.points(max_points, start, end), reference.points(max_points, start, end)
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])  # NaN where NaN
