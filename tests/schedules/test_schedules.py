"""lr_plugin.schedules: each schedule against its formula, serialization, training, bad input."""

import importlib.util
import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from lr_plugin import schedules
from lr_plugin.schedules import functions

K = keras.optimizers.schedules
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def call_each(schedule, steps):
    """The schedule's own keras.ops output at each step, as the optimizer calls it."""
    return np.array(
        [float(ops.convert_to_numpy(schedule(ops.convert_to_tensor(np.int64(k))))) for k in steps]
    )


def assert_rates(got, want):
    # float32 rounding, relative to each rate and to the schedule's peak:
    # a float32 step in the thousands, or a cosine near zero, carries the
    # rounding of the larger numbers it was computed from.
    want = np.asarray(want, dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.max(np.abs(want)))


def around(*points, width=2, limit=None):
    """Integer steps at and beside each point, >= 0."""
    steps = {p + d for p in points for d in range(-width, width + 1)}
    return np.array(sorted(s for s in steps if s >= 0 and (limit is None or s < limit)))


# Formulas, written independently in float64.


def step_decay_formula(lr0, drop, period, k):
    return lr0 * drop ** math.floor(k / period)


def f32(value):
    """A config value as the schedule holds it: float32 (gamma ** 3000 feels it)."""
    return float(np.float32(value))


def cyclic_formula(base, top, size, k, mode="triangular", gamma=1.0):
    gamma = f32(gamma)
    cycle = math.floor(1 + k / (2 * size))
    x = abs(k / size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**k}[mode]
    return base + (top - base) * max(0.0, 1 - x) * scale


def one_cycle_formula(max_lr, total, k, pct=0.3, div=25.0, final_div=1e4, anneal="cos"):
    # torch.optim.lr_scheduler.OneCycleLR, three_phase=False.
    initial = max_lr / div
    low = initial / final_div
    peak, last = pct * total - 1, total - 1

    def shape(start, end, t):
        if anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * t) + 1)
        return (end - start) * t + start

    k = min(k, last)
    if k <= peak:
        return shape(initial, max_lr, k / peak)
    return shape(max_lr, low, (k - peak) / (last - peak))


def sgdr_formula(lr0, first, k, warmup=0, t_mul=2.0, m_mul=1.0, alpha=0.0, start=0.0):
    if k < warmup:
        return start + (lr0 - start) * k / warmup
    s, i, begin, length = k - warmup, 0, 0.0, float(first)
    while s >= begin + length:
        begin, length, i = begin + length, length * t_mul, i + 1
    cosine = 0.5 * m_mul**i * (1 + math.cos(math.pi * (s - begin) / length))
    return lr0 * ((1 - alpha) * cosine + alpha)


# StepDecay


def test_step_decay_drops_by_drop_rate_every_period():
    schedule = schedules.StepDecay(0.1, drop_rate=0.5, step_size=100)
    steps = np.concatenate([around(0, 100, 200, 300, 1000), [99, 12345]])
    assert_rates(call_each(schedule, steps), [step_decay_formula(0.1, 0.5, 100, k) for k in steps])
    assert call_each(schedule, [99, 100]).tolist() == [pytest.approx(0.1), pytest.approx(0.05)]


def test_step_decay_counts_epochs_when_given_steps_per_epoch():
    by_epoch = schedules.StepDecay(0.01, 0.5, step_size=10, steps_per_epoch=30)
    by_step = schedules.StepDecay(0.01, 0.5, step_size=300)
    steps = around(0, 300, 600, 900, 3000)
    assert by_epoch.period == 300
    np.testing.assert_array_equal(call_each(by_epoch, steps), call_each(by_step, steps))
    # The tutorial's epoch function, applied to every step of each epoch.
    tutorial = [0.01 * 0.5 ** ((k // 30) // 10) for k in steps]
    assert_rates(call_each(by_epoch, steps), tutorial)


def test_step_decay_without_staircase_is_continuous():
    schedule = schedules.StepDecay(0.1, 0.5, 100, staircase=False)
    steps = np.arange(0, 1000, 7)
    assert_rates(call_each(schedule, steps), [0.1 * 0.5 ** (k / 100) for k in steps])


# TimeBasedDecay


def test_time_based_decay_is_the_legacy_decay_formula():
    schedule = schedules.TimeBasedDecay(0.01, decay=1e-4)
    steps = np.array([0, 1, 2, 10, 999, 10_000, 123_456])
    assert_rates(call_each(schedule, steps), [0.01 / (1 + 1e-4 * k) for k in steps])


def test_time_based_decay_equals_inverse_time_decay_with_one_step():
    ours = schedules.TimeBasedDecay(0.05, decay=0.01)
    keras_own = K.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.01)
    steps = np.arange(0, 5000, 37)
    assert_rates(call_each(ours, steps), call_each(keras_own, steps))


def test_keras3_ignores_legacy_decay_which_time_based_decay_restores():
    with pytest.warns(UserWarning, match="decay"):
        legacy = keras.optimizers.SGD(learning_rate=0.01, decay=0.1)
    legacy.iterations.assign(100)
    assert float(legacy.learning_rate) == pytest.approx(0.01)  # decay silently lost
    fixed = keras.optimizers.SGD(learning_rate=schedules.TimeBasedDecay(0.01, decay=0.1))
    fixed.iterations.assign(100)
    assert float(fixed.learning_rate) == pytest.approx(0.01 / 11)


# LinearWarmup


def test_linear_warmup_ramps_then_runs_the_schedule_shifted():
    inner = K.CosineDecay(0.1, decay_steps=1000)
    schedule = schedules.LinearWarmup(inner, warmup_steps=200)
    steps = np.concatenate([around(0, 100, 199, 200, 201, 1200), [700, 5000]])
    cosine = lambda s: 0.1 * 0.5 * (1 + math.cos(math.pi * min(s, 1000) / 1000))  # noqa: E731
    want = [0.1 * k / 200 if k < 200 else cosine(k - 200) for k in steps]
    assert_rates(call_each(schedule, steps), want)
    assert float(schedule(200)) == pytest.approx(0.1)  # the schedule's own step 0


def test_linear_warmup_from_an_initial_rate_to_a_constant():
    schedule = schedules.LinearWarmup(0.05, warmup_steps=10, initial_learning_rate=0.01)
    steps = np.arange(0, 20)
    want = [0.01 + 0.04 * k / 10 if k < 10 else 0.05 for k in steps]
    assert_rates(call_each(schedule, steps), want)


def test_linear_warmup_of_zero_steps_is_the_schedule():
    inner = schedules.StepDecay(0.1, 0.5, 10)
    schedule = schedules.LinearWarmup(inner, warmup_steps=0)
    steps = np.arange(0, 40)
    np.testing.assert_array_equal(call_each(schedule, steps), call_each(inner, steps))


# CyclicLR


@pytest.mark.parametrize(
    "mode, gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.9995)]
)
def test_cyclic_lr_follows_smith(mode, gamma):
    schedule = schedules.CyclicLR(1e-4, 1e-2, step_size=150, mode=mode, gamma=gamma)
    steps = np.concatenate([around(0, 150, 300, 450, 600, 3000), np.arange(0, 3001, 17)])
    want = [cyclic_formula(1e-4, 1e-2, 150, k, mode, gamma) for k in steps]
    assert_rates(call_each(schedule, steps), want)


def test_cyclic_lr_is_base_at_cycle_edges_and_max_at_half_cycles():
    schedule = schedules.CyclicLR(0.001, 0.006, step_size=2000)
    rates = call_each(schedule, [0, 2000, 4000, 6000, 1000])
    np.testing.assert_allclose(rates, [0.001, 0.006, 0.001, 0.006, 0.0035], rtol=1e-6)


# OneCycle


@pytest.mark.parametrize("anneal, pct", [("cos", 0.3), ("linear", 0.25)])
def test_one_cycle_matches_pytorch_one_cycle_lr(anneal, pct):
    schedule = schedules.OneCycle(0.01, total_steps=1000, pct_start=pct, anneal=anneal)
    peak = int(pct * 1000) - 1
    steps = np.concatenate([around(0, peak, 999, 1000), np.arange(0, 1200, 13)])
    want = [one_cycle_formula(0.01, 1000, k, pct=pct, anneal=anneal) for k in steps]
    assert_rates(call_each(schedule, steps), want)


def test_one_cycle_starts_peaks_and_ends_where_documented():
    schedule = schedules.OneCycle(0.01, total_steps=100, div_factor=25, final_div_factor=1e4)
    rates = call_each(schedule, [0, 29, 99, 150])
    np.testing.assert_allclose(rates, [0.0004, 0.01, 4e-8, 4e-8], rtol=1e-6)
    assert schedule.initial_lr == pytest.approx(0.0004)
    assert schedule.min_lr == pytest.approx(4e-8)


# CosineRestartsWarmup


@pytest.mark.parametrize(
    "config",
    [
        dict(first_decay_steps=100, warmup_steps=50, m_mul=0.8, alpha=0.01),
        dict(first_decay_steps=100, warmup_steps=10, t_mul=1.0, m_mul=0.9),
        dict(first_decay_steps=10, t_mul=3.0),
        dict(first_decay_steps=100, t_mul=1.5, warmup_start=0.02, warmup_steps=7),
        dict(first_decay_steps=10, t_mul=1.2),
    ],
)
def test_cosine_restarts_warmup_follows_sgdr(config):
    schedule = schedules.CosineRestartsWarmup(0.1, **config)
    first, warmup = config["first_decay_steps"], config.get("warmup_steps", 0)
    formula_config = {k: v for k, v in config.items() if k not in ("first_decay_steps", "warmup_steps")}
    if "warmup_start" in formula_config:
        formula_config["start"] = formula_config.pop("warmup_start")
    restarts, begin, length = [], 0.0, float(first)
    while begin < 20000:
        restarts.append(warmup + int(round(begin)))
        begin, length = begin + length, length * config.get("t_mul", 2.0)
    steps = np.concatenate([around(0, warmup, *restarts), np.arange(0, 20000, 101)])
    want = [sgdr_formula(0.1, first, k, warmup=warmup, **formula_config) for k in steps]
    assert_rates(call_each(schedule, steps), want)


def test_cosine_restarts_warmup_restarts_where_keras_float32_log_does_not():
    # Keras finds the period with a float32 log: at step 22 of t_mul=1.2 it
    # lands in the previous period and returns alpha (0.0) for that step.
    keras_own = K.CosineDecayRestarts(0.1, 10, t_mul=1.2)
    ours = schedules.CosineRestartsWarmup(0.1, 10, t_mul=1.2)
    assert float(keras_own(22)) == 0.0
    assert float(ours(22)) == pytest.approx(0.1)
    # Elsewhere the same curve; Keras grows the periods by float32(1.2),
    # a drift of a few millionths of the peak after 3000 steps.
    steps = np.setdiff1d(np.arange(0, 3000), [22])
    np.testing.assert_allclose(call_each(ours, steps), call_each(keras_own, steps),
                               rtol=1e-6, atol=1e-5 * 0.1)


# ScaledSchedule


def test_scaled_schedule_scales_but_never_reduces_below_min_lr():
    base = K.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.0)
    schedule = schedules.ScaledSchedule(base, scale=0.1, min_lr=0.005)
    steps = np.arange(0, 120, 3)
    base_rates = call_each(base, steps)
    want = [max(b * 0.1, min(b, 0.005)) for b in base_rates]
    assert_rates(call_each(schedule, steps), want)
    # Where the base itself is below min_lr (its tail), the base is kept.
    assert float(schedule(99)) == pytest.approx(float(base(99)))
    assert float(schedule(0)) == pytest.approx(0.01)


def test_scaled_schedule_scale_is_a_float32_variable_and_settable():
    schedule = schedules.ScaledSchedule(0.1)
    assert schedule.scale == 1.0
    schedule.set_scale(0.25)
    assert schedule.scale == 0.25
    assert float(schedule(5)) == pytest.approx(0.025)
    scale_variable = schedule.variables[0]
    assert isinstance(scale_variable, keras.Variable)
    assert not scale_variable.trainable and scale_variable.dtype == "float32"
    schedule.scale = 0.5
    assert float(scale_variable.value) == 0.5
    schedule.min_lr = 0.08
    assert schedule.min_lr == 0.08 and float(schedule(5)) == pytest.approx(0.08)
    assert isinstance(schedule.schedule, float) and schedule.schedule == 0.1


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="a jit-compiled JAX step needs a retrace to see it (tested apart)")
def test_scaled_schedule_change_takes_effect_inside_compiled_fit():
    schedule = schedules.ScaledSchedule(K.PiecewiseConstantDecay([10_000], [0.1, 0.1]))
    model, weights = _constant_gradient_model(schedule), []

    class HalveEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(float(self.model.layers[0].kernel.numpy()[0, 0]))
            schedule.set_scale(schedule.scale * 0.5, step=int(self.model.optimizer.iterations))

    model.fit(np.ones((4, 1)), np.zeros((4, 1)), batch_size=1, epochs=3, verbose=0,
              callbacks=[HalveEachEpoch()])
    per_step = -np.diff([0.0] + weights) / 4  # the gradient is 1: w moves by lr
    np.testing.assert_allclose(per_step, [0.1, 0.05, 0.025], rtol=1e-5)


def _constant_gradient_model(learning_rate):
    # loss = mean(w * 1): dloss/dw = 1, so SGD moves w by exactly -lr per step.
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=lambda y_true, y_pred: ops.mean(y_pred))
    return model


# Serialization


def all_schedules():
    return [
        schedules.StepDecay(0.1, 0.5, 10, staircase=False, steps_per_epoch=3, name="sd"),
        schedules.TimeBasedDecay(0.01, 1e-3),
        schedules.LinearWarmup(K.ExponentialDecay(0.1, 100, 0.9), 20, initial_learning_rate=0.001),
        schedules.LinearWarmup(0.05, 5),
        schedules.CyclicLR(1e-4, 1e-2, 50, mode="exp_range", gamma=0.999),
        schedules.OneCycle(0.02, 500, pct_start=0.2, anneal="linear"),
        schedules.CosineRestartsWarmup(0.1, 30, warmup_steps=5, t_mul=1.5, m_mul=0.9, alpha=0.1),
        schedules.ScaledSchedule(schedules.StepDecay(0.1, 0.5, 10), scale=0.3, min_lr=0.002),
        schedules.ScaledSchedule(
            schedules.LinearWarmup(K.CosineDecay(0.1, 100), 10), scale=0.5
        ),
    ]


@pytest.mark.parametrize("schedule", all_schedules(), ids=lambda s: type(s).__name__)
def test_get_config_from_config_round_trip(schedule):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert clone.get_config() == config
    steps = np.arange(0, 600, 11)
    np.testing.assert_array_equal(call_each(clone, steps), call_each(schedule, steps))


@pytest.mark.parametrize("schedule", all_schedules(), ids=lambda s: type(s).__name__)
def test_keras_serialize_round_trip_uses_the_registered_name(schedule):
    serialized = keras.optimizers.schedules.serialize(schedule)
    assert serialized["registered_name"] == f"lr_plugin>{type(schedule).__name__}"
    clone = keras.optimizers.schedules.deserialize(serialized)
    assert type(clone) is type(schedule)
    assert clone.get_config() == schedule.get_config()


def test_saved_model_reloads_its_schedule_and_reduced_scale(tmp_path):
    schedule = schedules.ScaledSchedule(
        schedules.LinearWarmup(schedules.CyclicLR(0.001, 0.01, 20, mode="triangular2"), 10),
        min_lr=1e-4,
    )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 1)), batch_size=4, epochs=2, verbose=0)
    schedule.set_scale(0.25)
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)

    loaded = keras.models.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, schedules.ScaledSchedule)
    assert restored.scale == 0.25 and restored.min_lr == 1e-4
    assert isinstance(restored.schedule, schedules.LinearWarmup)
    assert isinstance(restored.schedule.schedule, schedules.CyclicLR)
    assert int(loaded.optimizer.iterations) == 4
    steps = np.arange(0, 100, 3)
    np.testing.assert_array_equal(call_each(restored, steps), call_each(schedule, steps))


# Training


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.StepDecay(0.05, 0.5, step_size=2, steps_per_epoch=4),
        schedules.OneCycle(0.05, total_steps=24),
        schedules.CosineRestartsWarmup(0.05, 8, warmup_steps=4),
        schedules.CyclicLR(0.001, 0.05, step_size=4),
        schedules.TimeBasedDecay(0.05, 0.1),
    ],
    ids=lambda s: type(s).__name__,
)
def test_fit_with_sgd_and_a_schedule_trains(schedule):
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert int(optimizer.iterations) == 24
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(24)))


def test_fit_applies_each_steps_rate():
    schedule = schedules.StepDecay(0.1, 0.5, step_size=2)
    model, weights = _constant_gradient_model(schedule), []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append(float(self.model.layers[0].kernel.numpy()[0, 0]))

    model.fit(np.ones((6, 1)), np.zeros((6, 1)), batch_size=1, epochs=1, verbose=0,
              callbacks=[Record()])
    np.testing.assert_allclose(-np.diff([0.0] + weights),
                               [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-5)


# Bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: schedules.StepDecay(0.1, 0.5, 0),
         "StepDecay does not support step_size <= 0. Received step_size=0"),
        (lambda: schedules.StepDecay(0.1, 0.0, 10),
         "StepDecay does not support drop_rate <= 0. Received drop_rate=0"),
        (lambda: schedules.StepDecay(0.1, 0.5, 10, steps_per_epoch=-3),
         "StepDecay does not support steps_per_epoch <= 0. Received steps_per_epoch=-3"),
        (lambda: schedules.StepDecay(-0.1, 0.5, 10),
         "StepDecay does not support initial_learning_rate < 0. Received initial_learning_rate=-0.1"),
        (lambda: schedules.StepDecay("0.1", 0.5, 10),
         "StepDecay expects initial_learning_rate to be a Python float. Received initial_learning_rate='0.1'"),
        (lambda: schedules.StepDecay(0.1, 0.5, 2.5),
         "StepDecay expects step_size to be an integer number of steps. Received step_size=2.5"),
        (lambda: schedules.TimeBasedDecay(0.1, -1e-4),
         "TimeBasedDecay does not support decay < 0. Received decay=-0.0001"),
        (lambda: schedules.LinearWarmup(K.CosineDecay(0.1, 10), -1),
         "LinearWarmup does not support warmup_steps < 0. Received warmup_steps=-1"),
        (lambda: schedules.LinearWarmup(None, 10),
         "LinearWarmup expects schedule to be a LearningRateSchedule or a Python float. "
         "Received schedule=None"),
        (lambda: schedules.CyclicLR(0.01, 0.001, 10),
         "CyclicLR does not support max_lr < base_lr. Received base_lr=0.01, max_lr=0.001"),
        (lambda: schedules.CyclicLR(0.001, 0.01, 0),
         "CyclicLR does not support step_size <= 0. Received step_size=0"),
        (lambda: schedules.CyclicLR(0.001, 0.01, 10, mode="triangle"),
         "CyclicLR does not support mode='triangle'. Use one of: 'triangular', 'triangular2', 'exp_range'"),
        (lambda: schedules.CyclicLR(0.001, 0.01, 10, mode="exp_range", gamma=1.5),
         "CyclicLR does not support gamma > 1. Received gamma=1.5"),
        (lambda: schedules.OneCycle(0.01, 0),
         "OneCycle does not support total_steps <= 0. Received total_steps=0"),
        (lambda: schedules.OneCycle(0.01, 100, pct_start=1.0),
         "OneCycle does not support pct_start >= 1"),
        (lambda: schedules.OneCycle(0.01, 3, pct_start=0.3),
         "OneCycle does not support pct_start * total_steps <= 1"),
        (lambda: schedules.OneCycle(0.01, 100, div_factor=0),
         "OneCycle does not support div_factor <= 0. Received div_factor=0"),
        (lambda: schedules.OneCycle(0.01, 100, anneal="cosine"),
         "OneCycle does not support anneal='cosine'"),
        (lambda: schedules.CosineRestartsWarmup(0.1, 0),
         "CosineRestartsWarmup does not support first_decay_steps <= 0. Received first_decay_steps=0"),
        (lambda: schedules.CosineRestartsWarmup(0.1, 10, t_mul=0.5),
         "CosineRestartsWarmup does not support t_mul < 1"),
        (lambda: schedules.CosineRestartsWarmup(0.1, 10, t_mul=1.0001),
         "CosineRestartsWarmup does not support t_mul this close to 1"),
        (lambda: schedules.CosineRestartsWarmup(0.1, 10, alpha=1.5),
         "CosineRestartsWarmup does not support alpha > 1. Received alpha=1.5"),
        (lambda: schedules.ScaledSchedule(0.1, scale=0),
         "ScaledSchedule does not support scale <= 0. Received scale=0"),
        (lambda: schedules.ScaledSchedule(0.1).set_scale(-1.0),
         "ScaledSchedule does not support scale <= 0. Received scale=-1"),
        (lambda: schedules.ScaledSchedule(0.1, min_lr=-1e-3),
         "ScaledSchedule does not support min_lr < 0. Received min_lr=-0.001"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


# Epoch functions for LearningRateScheduler


def test_step_decay_function_matches_the_tutorials():
    # seed 000: initial_learning_rate * (decay_factor ** (epoch // decay_epochs))
    fn = functions.step_decay(0.01, drop=0.5, epochs_drop=10)
    assert [fn(e) for e in range(35)] == [0.01 * 0.5 ** (e // 10) for e in range(35)]
    # The widespread lr0 * drop ** floor((1 + epoch) / epochs_drop).
    early = functions.step_decay(0.1, drop=0.5, epochs_drop=10, offset=1)
    assert [early(e) for e in range(30)] == [
        0.1 * 0.5 ** math.floor((1 + e) / 10) for e in range(30)
    ]


def test_epoch_functions_follow_their_formulas():
    assert functions.exponential_decay(0.01, k=0.1)(7) == pytest.approx(0.01 * math.exp(-0.7))
    tutorial = functions.exponential_decay(0.01, k=-math.log(0.95))  # 0.01 * 0.95 ** epoch
    assert [tutorial(e) for e in range(5)] == pytest.approx([0.01 * 0.95**e for e in range(5)])
    assert functions.time_based_decay(0.01, decay=0.1)(10) == pytest.approx(0.005)
    cosine = functions.cosine_decay(0.1, epochs=100, alpha=0.1)
    assert [cosine(0), cosine(50), cosine(100), cosine(150)] == pytest.approx(
        [0.1, 0.055, 0.01, 0.01]
    )
    ramp = functions.warmup(functions.step_decay(0.1, 0.5, 10), warmup_epochs=4)
    assert [ramp(e) for e in range(6)] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1, 0.1])
    assert ramp(14) == pytest.approx(0.05)  # the step decay's epoch 10
    assert functions.warmup(0.3, warmup_epochs=2)(5) == 0.3


@pytest.mark.parametrize(
    "fn",
    [
        functions.step_decay(0.01, 0.5, 2),
        functions.exponential_decay(0.01, 0.1),
        functions.time_based_decay(0.01, 0.1),
        functions.cosine_decay(0.01, 5),
        functions.warmup(functions.cosine_decay(0.01, 5), 2),
    ],
    ids=lambda fn: fn.__name__,
)
def test_epoch_functions_drive_keras_learning_rate_scheduler(fn):
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=6, verbose=0,
              callbacks=[keras.callbacks.LearningRateScheduler(fn), Record()])
    assert all(type(fn(e)) is float and type(fn(e, 0.5)) is float for e in range(6))
    np.testing.assert_allclose(seen, [fn(e) for e in range(6)], rtol=1e-6)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: functions.step_decay(0.1, 0.5, 0), "step_decay does not support epochs_drop <= 0"),
        (lambda: functions.exponential_decay(0.1, -1), "exponential_decay does not support k < 0"),
        (lambda: functions.cosine_decay(0.1, 0), "cosine_decay does not support epochs <= 0"),
        (lambda: functions.warmup(0.1, -2), "warmup does not support warmup_epochs < 0"),
    ],
)
def test_epoch_function_factories_validate(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_warmup_rejects_a_schedule_function_that_returns_a_tensor():
    ramp = functions.warmup(lambda epoch: ops.convert_to_tensor(0.1), warmup_epochs=2)
    with pytest.raises(ValueError, match="should return a Python or NumPy float"):
        ramp(0)


# Other backends

# Evaluated in this process and in a JAX one, so both see the same schedules.
_BACKEND_CASES = """[
    schedules.StepDecay(0.1, 0.5, 10, steps_per_epoch=30),
    schedules.TimeBasedDecay(0.1, 1e-3),
    schedules.LinearWarmup(K.CosineDecay(0.1, 1000), 200),
    schedules.CyclicLR(1e-4, 1e-2, 150, mode="triangular2"),
    schedules.CyclicLR(1e-4, 1e-2, 150, mode="exp_range", gamma=0.99995),
    schedules.OneCycle(0.01, 5000),
    schedules.CosineRestartsWarmup(0.1, 100, warmup_steps=50, m_mul=0.8, alpha=0.01),
    schedules.CosineRestartsWarmup(0.1, 10, t_mul=1.2),
    schedules.ScaledSchedule(K.CosineDecay(0.1, 1000), scale=0.3, min_lr=0.01),
]"""

_BACKEND_RATES = """
import json, sys
import numpy as np, keras
from keras import ops
from lr_plugin import schedules
K = keras.optimizers.schedules
steps = [int(s) for s in sys.argv[2].split(",")]
rates = []
for schedule in eval(sys.argv[1]):
    if keras.backend.backend() == "jax":
        import jax
        compiled = jax.jit(lambda step: schedule(step))
        rates.append([float(compiled(np.int32(k))) for k in steps])
    else:
        rates.append([float(ops.convert_to_numpy(schedule(ops.convert_to_tensor(np.int64(k)))))
                      for k in steps])
print(json.dumps(rates))
"""

_SCALE_IN_FIT = """
import json
import numpy as np, keras
from keras import ops
from lr_plugin import schedules

def per_step_rates(retrace):
    schedule = schedules.ScaledSchedule(0.1)
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(schedule),
                  loss=lambda y_true, y_pred: ops.mean(y_pred), jit_compile=True)
    weights = []

    class HalveEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(float(ops.convert_to_numpy(self.model.layers[0].kernel)[0, 0]))
            schedule.set_scale(schedule.scale * 0.5)
            if retrace:
                self.model.make_train_function(force=True)

    model.fit(np.ones((4, 1)), np.zeros((4, 1)), batch_size=1, epochs=3, verbose=0,
              callbacks=[HalveEachEpoch()])
    return (-np.diff([0.0] + weights) / 4).tolist()

print(json.dumps([per_step_rates(False), per_step_rates(True)]))
"""


def _run_on(backend, script, *args):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_schedules_give_the_same_rates_on_other_backends(backend):
    steps = np.unique(np.concatenate([np.arange(0, 400), np.arange(400, 20000, 97), [22, 220]]))
    backend_rates = _run_on(backend, _BACKEND_RATES, _BACKEND_CASES,
                            ",".join(str(s) for s in steps))
    cases = eval(_BACKEND_CASES, {"schedules": schedules, "K": K})
    for schedule, rates in zip(cases, backend_rates):
        expected = schedules.schedule_values(schedule, steps)
        # XLA (jit) fuses float32 operations differently: a few ulps of the peak.
        np.testing.assert_allclose(rates, expected, rtol=1e-6, atol=1e-6 * expected.max(),
                                   err_msg=type(schedule).__name__)


@pytest.mark.slow
def test_on_jax_a_scale_change_needs_a_retrace_of_the_compiled_step():
    # The documented limitation: jit captures the scale variable as a constant.
    without, with_retrace = _run_on("jax", _SCALE_IN_FIT)
    np.testing.assert_allclose(without, [0.1, 0.1, 0.1], rtol=1e-5)
    np.testing.assert_allclose(with_retrace, [0.1, 0.05, 0.025], rtol=1e-5)


@pytest.mark.slow
def test_on_torch_a_scale_change_takes_effect_at_once():
    without, with_retrace = _run_on("torch", _SCALE_IN_FIT)
    np.testing.assert_allclose(without, [0.1, 0.05, 0.025], rtol=1e-5)
    np.testing.assert_allclose(with_retrace, [0.1, 0.05, 0.025], rtol=1e-5)
