"""Rates as text (timeline.rate_texts, series_text, csv_text): the shortest
text that reads back as the float32 the optimizer applied, bit for bit."""

import decimal
import json

import numpy as np
import pytest

from lr_plugin.model import float_text
from lr_plugin.model import timeline


def _random_float32(count, seed):
    """Every kind of float32: random bit patterns (huge, tiny, subnormal, both
    signs), zeros, the extremes and powers of two with their neighbours."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, count, dtype=np.uint64).astype(np.uint32)
    subnormal = rng.integers(1, 2**23, count // 10, dtype=np.uint32)
    powers = np.float32(2.0) ** np.arange(-149, 128, dtype=np.float32)
    around = powers.view(np.uint32)
    extremes = np.array([0.0, -0.0, 1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38,
                         -3.4028235e38, 1e-4, 1e6, 0.1, 0.01, 16777217.0], dtype=np.float32)
    values = np.concatenate([bits.view(np.float32), subnormal.view(np.float32),
                             (around - 1).view(np.float32), powers, (around + 1).view(np.float32),
                             extremes])
    return values[np.isfinite(values)]


def _bits(values):
    return np.asarray(values, dtype=np.float32).view(np.uint32)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_rate_reads_back_as_the_same_float32_bit_for_bit(seed):
    values = _random_float32(400_000, seed)
    texts = timeline.rate_texts(values.astype(np.float64), quote=True)
    assert len(texts) == values.size
    # As numpy parses it, and as JSON readers do (to float64, then float32).
    np.testing.assert_array_equal(_bits(np.array(texts, dtype=np.float32)), _bits(values))
    np.testing.assert_array_equal(_bits([float(t) for t in texts]), _bits(values))


def test_texts_are_numpys_shortest_float32_texts():
    values = _random_float32(400_000, 2)
    # numpy's formatter one value at a time (format_float_*, the same digits on every
    # numpy), laid out as numpy 2's astype(str), which older numpy lays out otherwise.
    expected = float_text.numpy_texts(values)
    assert timeline.rate_texts(values.astype(np.float64), quote=False) == expected
    if np.array([1e7], dtype=np.float32).astype(str)[0] == "1e+07":  # numpy 2's layout
        assert expected == values.astype(str).tolist()


def test_no_decimal_with_one_digit_fewer_reads_back():
    values = _random_float32(20_000, 3)
    values = values[values != 0]
    for value, text in zip(values.tolist(), timeline.rate_texts(values, quote=False)):
        digits = len(text.lstrip("-").split("e")[0].replace(".", "").strip("0"))
        if digits == 1:
            continue
        exact = decimal.Decimal(value)
        unit = decimal.Decimal(1).scaleb(exact.adjusted() - digits + 2)  # one digit fewer
        for rounding in (decimal.ROUND_FLOOR, decimal.ROUND_CEILING):
            shorter = str(exact.quantize(unit, rounding=rounding))
            with np.errstate(over="ignore"):  # above the largest float32: infinity
                assert np.float32(shorter) != np.float32(value), (text, shorter)


def test_a_cosine_schedule_reads_back_exactly():
    steps = np.arange(200_000)
    rates = (0.01 * (0.5 + 0.5 * np.cos(np.pi * steps / steps.size))).astype(np.float32)
    points = json.loads("[" + timeline.series_text(steps, rates.astype(np.float64)) + "]")
    assert [s for s, _ in points] == steps.tolist()
    np.testing.assert_array_equal(_bits([r for _, r in points]), _bits(rates))
    assert points[0] == [0, 0.01] and points[100_000][1] == float(np.float32(rates[100_000]).astype(str))


def test_typical_rates_are_short_and_layout_follows_numpy():
    rates = np.array([0.1, 0.01, 1e-3, 1e-4, 3e-5, 1e-5, 1.0, 100.0, 123456.0, 1e6, 2.5e7,
                      -0.0, 0.0], dtype=np.float32).astype(np.float64)
    assert timeline.rate_texts(rates, quote=False) == [
        "0.1", "0.01", "0.001", "1e-04", "3e-05", "1e-05", "1.0", "100.0", "123456.0",
        "1e+06", "2.5e+07", "-0.0", "0.0"]


def test_values_that_are_not_float32_keep_their_float64_text_and_specials_are_words():
    rates = np.array([0.1, np.nan, np.inf, -np.inf, 1e300, 0.25])
    assert timeline.rate_texts(rates, quote=True) == [
        "0.1", '"NaN"', '"Infinity"', '"-Infinity"', "1e+300", "0.25"]
    assert timeline.rate_texts(rates, quote=False) == [
        "0.1", "NaN", "Infinity", "-Infinity", "1e+300", "0.25"]
    doubles = np.random.default_rng(4).lognormal(-5, 3, 5000)
    assert timeline.rate_texts(doubles, quote=False) == [repr(r) for r in doubles.tolist()]


def test_constant_stretches_are_written_as_every_value_alone():
    # A step decay (few distinct rates) takes another path than a new rate each step.
    rates = np.repeat(np.float32(0.1) * np.float32(0.5) ** np.arange(5, dtype=np.float32),
                      1000).astype(np.float64)
    rates[2500] = np.nan
    assert timeline.rate_texts(rates, quote=False) == [
        timeline.rate_texts(np.array([r]), quote=False)[0] for r in rates]


def test_csv_rows_quote_nothing_themselves_and_end_each_point_with_a_newline():
    steps = np.array([0, 9, 10, 123456789012])
    rates = np.array([0.1, np.inf, 2e-5, 0.5], dtype=np.float32).astype(np.float64)
    assert timeline.csv_text('"a,b",SGD,', steps, rates) == (
        '"a,b",SGD,0,0.1\n"a,b",SGD,9,Infinity\n"a,b",SGD,10,2e-05\n"a,b",SGD,123456789012,0.5\n')
    assert timeline.csv_text("läuft/lr_timeline,Adam,", steps[:1], rates[:1]) == \
        "läuft/lr_timeline,Adam,0,0.1\n"
    assert timeline.series_text(steps[:0], rates[:0]) == ""
