"""rate_blocks: the full detail kept compressed, decoded only where an answer reads it."""

import numpy as np
import pytest

from lr_plugin.format import rate_codec
from lr_plugin.model import rate_blocks
from lr_plugin.model import summary

BLOCK = rate_blocks.BLOCK


def float32_cosine(n, peak=0.01):
    index = np.arange(n)
    return (peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * index / n)))).astype(np.float32)


@pytest.mark.parametrize("store", [rate_blocks.RateBlocks, rate_blocks.PlainRates])
def test_a_window_reads_any_positions_inside_it_and_refuses_others(store):
    rates = float32_cosine(3 * BLOCK + 5)
    rates[BLOCK + 7] = np.nan
    held = store(rates)
    window = held.window(BLOCK - 3, 3 * BLOCK + 2)
    positions = np.array([[BLOCK - 3, BLOCK + 7, -1], [2 * BLOCK, 3 * BLOCK + 1, BLOCK]])
    got = window[positions]
    assert got.dtype == np.float32 and got.shape == positions.shape
    real = positions >= 0
    np.testing.assert_array_equal(got[real], rates[positions[real]])
    assert got[0, 2] == 0  # -1 is "none"
    with pytest.raises(IndexError, match=rf"outside the window {BLOCK - 3}\.\.{3 * BLOCK + 1}"):
        window[np.array([BLOCK - 4])]
    with pytest.raises(IndexError, match="positions"):
        window[np.array([3 * BLOCK + 2])]


@pytest.mark.parametrize("store", [rate_blocks.RateBlocks, rate_blocks.PlainRates])
@pytest.mark.parametrize("n", [0, 1, BLOCK, 2 * BLOCK + 3])
def test_values_give_back_every_rate(store, n):
    rates = float32_cosine(n)
    values = store(rates).values()
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, rates)


def test_blocks_take_a_fraction_of_the_array():
    rates = float32_cosine(1_000_000)
    held = rate_blocks.RateBlocks(rates)
    assert held.nbytes < rates.nbytes / 20
    assert rate_blocks.PlainRates(rates).nbytes == rates.nbytes


def summaries(steps, rates):
    return summary.RateSummary(steps, rates), summary.RateSummary(steps, rates, compact=False)


@pytest.mark.parametrize("seed", range(4))
def test_compact_and_plain_summaries_answer_alike(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3 * BLOCK, 40 * BLOCK))
    # A float32 cosine halved at random steps, with a NaN and a gap in the steps.
    rates = float32_cosine(n).astype(np.float64)
    for cut in rng.integers(0, n, 5):
        rates[cut:] *= 0.5
    rates[int(rng.integers(0, n))] = np.nan
    steps = np.arange(n) + np.where(np.arange(n) > n // 2, 10, 0)
    compact, plain = summaries(steps, rates)
    for _ in range(25):
        start, end = sorted(int(v) for v in rng.integers(0, n + 20, 2))
        budget = int(rng.choice([2, 3, 10, 300, 2000, 5000]))
        got_steps, got_rates = compact.points(budget, start=start, end=end)
        want_steps, want_rates = plain.points(budget, start=start, end=end)
        np.testing.assert_array_equal(got_steps, want_steps)
        np.testing.assert_array_equal(got_rates, want_rates)
        # Every point sent is a real (step, rate) of the series.
        index = np.searchsorted(steps, got_steps)
        np.testing.assert_array_equal(got_rates, rates[index])


def test_a_budgeted_answer_decodes_only_the_blocks_at_the_window_ends(monkeypatch):
    n = 400 * BLOCK  # 3.3M steps
    compact = summary.RateSummary(np.arange(n), float32_cosine(n).astype(np.float64))
    decoded = []
    decode = rate_codec.decode

    def counting(data, count, width):
        decoded.append(count)
        return decode(data, count, width)

    monkeypatch.setattr(rate_codec, "decode", counting)
    for start, end in [(None, None), (123_456, 2_345_678), (n // 2, n // 2 + 100_000)]:
        decoded.clear()
        steps, _ = compact.points(2000, start=start, end=end)
        assert 1000 < steps.size <= 2000
        assert len(decoded) <= 4, (start, end, len(decoded))
