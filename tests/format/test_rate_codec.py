"""rate_codec: bit-exact, compact on real schedules, and safe on damaged bytes."""

import math
import zlib

import numpy as np
import pytest

from lr_plugin.format import rate_codec


def _schedules(steps):
    """Per-step rates of the schedules users train with, as float32 (what Keras applies)."""
    step = np.arange(steps, dtype=np.float64)
    warmup = 1000
    progress = np.clip((step - warmup) / (steps - warmup), 0, 1)
    rates = {
        "cosine with warmup": np.where(step < warmup, 0.01 * step / warmup,
                                       0.005 * (1 + np.cos(np.pi * progress))),
        "exponential": 0.01 * 0.96 ** (step / 1000),
        "time-based": 0.01 / (1 + 1e-3 * step),
        "step": np.select([step < steps // 3, step < 2 * steps // 3], [0.1, 0.01], 0.001),
        "polynomial": (0.01 - 1e-5) * (1 - step / steps) ** 2 + 1e-5,
        "constant": np.full(steps, 0.001),
    }
    return {name: values.astype(np.float32) for name, values in rates.items()}


def test_real_schedules_round_trip_to_the_bit_in_under_a_byte_a_step():
    for name, rates in _schedules(20_000).items():
        data = rate_codec.encode(rates)
        back = rate_codec.decode(data, rates.size, 4)
        assert back.dtype == np.float32
        assert np.array_equal(back.view(np.uint32), rates.view(np.uint32)), name
        # Raw float32 takes 4 bytes a step.
        assert len(data) / rates.size < 1.0, (name, len(data) / rates.size)


def test_every_bit_pattern_round_trips_in_both_widths():
    rng = np.random.default_rng(7)
    for width, unsigned, floats in ((4, np.uint32, np.float32), (8, np.uint64, np.float64)):
        bits = rng.integers(0, np.iinfo(unsigned).max, 5000, dtype=unsigned, endpoint=True)
        special = np.array([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, 3.4e38], floats)
        rates = np.concatenate([bits.view(floats), special, -special])
        rates = np.concatenate([rates, np.array([np.nan], floats).view(unsigned)
                                .__or__(unsigned(1)).view(floats)])  # a NaN with a payload
        back = rate_codec.decode(rate_codec.encode(rates), rates.size, width)
        assert back.dtype == floats
        assert np.array_equal(back.view(unsigned), rates.view(unsigned))


def test_empty_series():
    assert rate_codec.decode(rate_codec.encode(np.zeros(0, np.float32)), 0, 4).size == 0


def test_encode_names_what_it_takes():
    with pytest.raises(ValueError, match=r"1-D float32 or float64 array\. Received dtype int64"):
        rate_codec.encode(np.arange(3))
    with pytest.raises(ValueError, match=r"shape \[2, 2\]"):
        rate_codec.encode(np.zeros((2, 2), np.float32))


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:-6], "end before zlib's end mark|inflate to"),
    (lambda data: data + b"xx", "followed by 2 stray bytes"),
    (lambda data: b"\x00" + data[1:], "do not inflate"),
    (lambda data: zlib.compress(b"\x00" * 10_000_000), "hold more than 4000 bytes"),
    (lambda data: zlib.compress(b"\x00" * 3996), "inflate to 3996 bytes"),
])
def test_damaged_bytes_raise_a_clear_error_and_never_inflate_past_the_count(damage, message):
    data = rate_codec.encode(np.linspace(0.1, 0.2, 1000, dtype=np.float32))
    with pytest.raises(ValueError, match=message):
        rate_codec.decode(damage(data), 1000, 4)


def test_decode_checks_its_arguments():
    data = rate_codec.encode(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="4 \\(float32\\) or 8 \\(float64\\) bytes wide; received 2"):
        rate_codec.decode(data, 4, 2)
    with pytest.raises(ValueError, match="whole number >= 0; received -1"):
        rate_codec.decode(data, -1, 4)


def test_steps_and_rates_round_trip_in_one_stream_whatever_the_steps():
    rng = np.random.default_rng(3)
    rates = rng.random(3000).astype(np.float32)
    for steps in (np.arange(3000) * 5 + 2**53 - 15001,  # evenly spaced, up to 2**53 - 1
                  np.sort(rng.integers(0, 2**53, 3000)),  # gaps
                  np.concatenate([np.arange(1500), np.arange(1500) + 7]),  # a restart
                  rng.integers(-2**63, 2**63 - 1, 3000, endpoint=True)):  # any int64
        data = rate_codec.encode_steps_and_rates(steps, rates)
        back_steps, back_rates = rate_codec.decode_steps_and_rates(data, 3000, 4)
        assert back_steps.dtype == np.int64 and back_rates.dtype == np.float32
        np.testing.assert_array_equal(back_steps, steps)
        assert np.array_equal(back_rates.view(np.uint32), rates.view(np.uint32))


def test_steps_with_gaps_cost_a_fraction_of_their_eight_bytes():
    steps = np.arange(100_000) + np.arange(100_000) // 7  # one step in eight not logged
    rates = _schedules(100_000)["cosine with warmup"]
    data = rate_codec.encode_steps_and_rates(steps, rates)
    assert len(data) < 100_000, len(data)  # raw: 12 bytes a step
    assert len(data) - len(rate_codec.encode(rates)) < 0.03 * 100_000  # the steps add little


def test_encode_steps_and_rates_names_what_it_takes():
    with pytest.raises(ValueError, match=r"1-D integer steps, one per rate\. Received dtype "
                                         r"float64, shape \[2\] for 2 rates"):
        rate_codec.encode_steps_and_rates(np.zeros(2), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match=r"shape \[3\] for 2 rates"):
        rate_codec.encode_steps_and_rates(np.arange(3), np.zeros(2, np.float32))


def test_a_count_its_bytes_cannot_hold_is_refused_before_inflating():
    data = rate_codec.encode(np.zeros(1000, np.float32))
    limit = rate_codec.MAX_INFLATION * len(data)
    with pytest.raises(ValueError, match=f"of {len(data)} bytes cannot inflate to more than {limit}"):
        rate_codec.decode(data, 2**62, 4)
    with pytest.raises(ValueError, match="steps and rates of 8 \\+ 4 bytes"):
        rate_codec.decode_steps_and_rates(data, 1000, 4)  # rates only: too few bytes


def test_an_empty_series_does_not_inflate_a_bomb():
    bomb = zlib.compress(bytes(10_000_000))
    with pytest.raises(ValueError, match="hold more than 0 bytes"):
        rate_codec.decode(bomb, 0, 4)


def test_narrowest_is_float32_only_when_no_value_changes():
    keras_rates = np.array([0.1, 1e-8, np.nan, np.inf, -0.0], np.float32).astype(np.float64)
    narrowed = rate_codec.narrowest(keras_rates)
    assert narrowed.dtype == np.float32
    np.testing.assert_array_equal(narrowed.astype(np.float64), keras_rates)
    for wide in ([0.1, 0.2], [0.5, 1e39], [0.5, 1e-46]):  # rounded, beyond range, below subnormals
        values = np.array(wide)
        assert rate_codec.narrowest(values) is values
