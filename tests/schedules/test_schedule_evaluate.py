"""schedule_values: Keras' own float32 numbers, vectorized, for every learning-rate source."""

import time
import warnings

import keras
import numpy as np
import pytest
from keras import ops

from lr_plugin import schedules
from lr_plugin.schedules import evaluate
from lr_plugin.schedules import schedule_values

K = keras.optimizers.schedules


def call_each(schedule, steps):
    """What the optimizer gets: the schedule called with an int64 step tensor."""
    return np.array(
        [float(ops.convert_to_numpy(schedule(ops.convert_to_tensor(np.int64(k))))) for k in steps]
    )


def steps_around(*points, until=60_000, every=613):
    near = {p + d for p in points for d in (-2, -1, 0, 1, 2)}
    return np.array(sorted({s for s in near if s >= 0} | set(range(0, 400)) | set(range(0, until, every))))


KERAS_SCHEDULES = [
    (K.ExponentialDecay(0.1, 100, 0.96), steps_around(100, 1000)),
    (K.ExponentialDecay(0.1, 100, 0.5, staircase=True), steps_around(100, 200, 1000)),
    (K.ExponentialDecay(0.001, 10_000, 0.9), steps_around(10_000)),  # seed 002
    (K.PiecewiseConstantDecay([100, 1000, 5000], [0.1, 0.05, 0.01, 0.001]),
     steps_around(100, 1000, 5000)),
    (K.PiecewiseConstantDecay([100.7, 1000.2], [0.1, 0.05, 0.01]), steps_around(100, 1000)),
    (K.PolynomialDecay(0.1, 10_000, 0.01, power=0.5), steps_around(10_000)),  # seed 002
    (K.PolynomialDecay(0.1, 1000), steps_around(1000)),
    (K.PolynomialDecay(0.1, 1000, 0.0001, power=2.0, cycle=True), steps_around(0, 1000, 2000, 3000)),
    (K.InverseTimeDecay(0.1, 100, 0.5), steps_around(100)),
    (K.InverseTimeDecay(0.1, 100, 0.5, staircase=True), steps_around(100, 200)),
    (K.CosineDecay(0.1, 1000), steps_around(1000)),
    (K.CosineDecay(0.1, 1000, alpha=0.1), steps_around(500, 1000)),
    (K.CosineDecay(0.0, 1000, warmup_target=0.1, warmup_steps=300, alpha=0.05),
     steps_around(300, 1300)),
    (K.CosineDecay(0.01, 500, warmup_target=0.05, warmup_steps=0), steps_around(500)),
    (K.CosineDecayRestarts(0.1, 100), steps_around(100, 300, 700, 1500)),
    (K.CosineDecayRestarts(0.1, 100, t_mul=1.0, m_mul=0.9, alpha=0.1),
     steps_around(100, 200, 300)),
    (K.CosineDecayRestarts(0.1, 100, t_mul=1.5, m_mul=0.8), steps_around(100, 250, 475)),
    (K.CosineDecayRestarts(0.1, 10, t_mul=3.0), steps_around(10, 40, 130, 400)),
    # Keras' float32 log puts step 22 in the previous period: mirrored too.
    (K.CosineDecayRestarts(0.1, 10, t_mul=1.2), steps_around(10, 22, 36)),
]


@pytest.mark.parametrize(
    "schedule, steps", KERAS_SCHEDULES, ids=lambda x: type(x).__name__ if not isinstance(x, np.ndarray) else ""
)
def test_schedule_values_equal_keras_own_outputs(schedule, steps):
    values = schedule_values(schedule, steps)
    assert values.dtype == np.float64 and values.shape == steps.shape
    if keras.backend.backend() == "tensorflow":  # schedule_values follows TensorFlow's kernels
        np.testing.assert_allclose(values, call_each(schedule, steps), rtol=1e-6, atol=0)
    else:  # other kernels: the bound docs/SCHEDULES.md states, 2**-19 of the peak rate
        np.testing.assert_allclose(values, call_each(schedule, steps), rtol=0,
                                   atol=2.0 ** -19 * np.abs(values).max())


def test_keras_restart_glitch_is_reproduced_exactly():
    schedule = K.CosineDecayRestarts(0.1, 10, t_mul=1.2)
    assert schedule_values(schedule, [21, 22, 23]).tolist() == call_each(schedule, [21, 22, 23]).tolist()
    assert schedule_values(schedule, 22) == 0.0


OUR_SCHEDULES = [
    schedules.StepDecay(0.1, 0.5, 10, steps_per_epoch=30),
    schedules.StepDecay(0.1, 0.5, 300, staircase=False),
    schedules.TimeBasedDecay(0.1, 1e-3),
    schedules.LinearWarmup(K.CosineDecay(0.1, 1000), 200),
    schedules.LinearWarmup(0.05, 37, initial_learning_rate=0.001),
    schedules.LinearWarmup(schedules.OneCycle(0.01, 1000), 100, initial_learning_rate=0.001),
    schedules.CyclicLR(1e-4, 1e-2, 150),
    schedules.CyclicLR(1e-4, 1e-2, 150, mode="triangular2"),
    schedules.CyclicLR(1e-4, 1e-2, 150, mode="exp_range", gamma=0.99995),
    schedules.OneCycle(0.01, 5000),
    schedules.OneCycle(0.01, 5000, anneal="linear", pct_start=0.25),
    schedules.CosineRestartsWarmup(0.1, 100, warmup_steps=50, m_mul=0.8, alpha=0.01),
    schedules.CosineRestartsWarmup(0.1, 10, t_mul=3.0),
    schedules.CosineRestartsWarmup(0.1, 100, t_mul=1.0, warmup_steps=10),
    schedules.ScaledSchedule(K.CosineDecay(0.1, 1000), scale=0.3, min_lr=0.01),
    schedules.ScaledSchedule(schedules.CyclicLR(0.001, 0.01, 50), scale=0.5),
]


@pytest.mark.parametrize("schedule", OUR_SCHEDULES, ids=lambda s: type(s).__name__)
def test_our_values_method_equals_our_keras_ops_code(schedule):
    steps = steps_around(50, 100, 200, 1000, 1500, 5000, until=30_000, every=397)
    np.testing.assert_allclose(
        schedule_values(schedule, steps), call_each(schedule, steps), rtol=1e-6, atol=0
    )


def test_every_lr_plugin_schedule_has_a_closed_form():
    for schedule in OUR_SCHEDULES:
        assert evaluate._closed_form(schedule) is not None, type(schedule).__name__


def test_scaled_schedule_values_keep_the_old_scale_before_the_change_step():
    base = K.ExponentialDecay(0.1, 100, 0.9)
    schedule = schedules.ScaledSchedule(base)
    schedule.set_scale(0.5, step=10)
    schedule.set_scale(0.25, step=20)
    steps = np.arange(30)
    expected = schedule_values(base, steps) * np.repeat([1.0, 0.5, 0.25], 10)
    np.testing.assert_allclose(schedule_values(schedule, steps), expected, rtol=1e-6)
    # A change for an earlier step replaces the later ones.
    schedule.set_scale(0.1, step=15)
    expected = schedule_values(base, steps) * np.repeat([1.0, 0.5, 0.1], [10, 5, 15])
    np.testing.assert_allclose(schedule_values(schedule, steps), expected, rtol=1e-6)
    # Without a step, the scale applies to every step.
    schedule.set_scale(0.2)
    np.testing.assert_allclose(schedule_values(schedule, steps),
                               schedule_values(base, steps) * 0.2, rtol=1e-6)
    # Meanwhile the compiled step reads the current scale.
    assert float(schedule(5)) == pytest.approx(float(base(5)) * 0.2)


def test_constant_sources():
    steps = np.arange(5)
    np.testing.assert_array_equal(schedule_values(0.1, steps), np.full(5, float(np.float32(0.1))))
    np.testing.assert_array_equal(schedule_values(np.float64(0.5), steps), np.full(5, 0.5))
    variable = keras.Variable(0.25, dtype="float32", trainable=False)
    np.testing.assert_array_equal(schedule_values(variable, steps), np.full(5, 0.25))


def test_a_zero_argument_callable_is_called_once_for_all_steps():
    calls = []

    def learning_rate():
        calls.append(1)
        return ops.convert_to_tensor(0.01)

    values = schedule_values(learning_rate, np.arange(1000))
    assert len(calls) == 1
    np.testing.assert_allclose(values, 0.01, rtol=1e-7)


def test_a_callable_that_needs_the_step_is_refused():
    with pytest.raises(ValueError, match="zero-argument callable"):
        schedule_values(lambda step: 0.1, np.arange(3))


def test_a_callable_that_returns_no_number_is_refused():
    with pytest.raises(ValueError, match="should return a number. Got: 'fast'"):
        schedule_values(lambda: "fast", np.arange(3))


def test_unknown_sources_and_steps_are_refused():
    with pytest.raises(ValueError, match="Received schedule='0.1'"):
        schedule_values("0.1", [0, 1])
    with pytest.raises(ValueError, match=r"integer optimizer steps. Received steps=\[0.5"):
        schedule_values(0.1, [0.5, 1.0])
    np.testing.assert_array_equal(schedule_values(0.5, [0.0, 3.0]), [0.5, 0.5])


class Halving(K.LearningRateSchedule):
    def __call__(self, step):
        return 1.0 / (2.0 ** ops.cast(step, "float32"))

    def get_config(self):
        return {}


def test_an_unknown_schedule_is_called_per_step_with_one_warning_naming_it():
    evaluate._warned_classes.discard(Halving)
    with pytest.warns(UserWarning, match=r"Halving has no vectorized form.*_values\(self, steps\)"):
        values = schedule_values(Halving(), np.arange(4))
    np.testing.assert_array_equal(values, [1.0, 0.5, 0.25, 0.125])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schedule_values(Halving(), np.arange(4))  # warned once per class


class HalvingWithValues(Halving):
    def _values(self, steps):
        return 1.0 / 2.0 ** steps.astype(np.float32)


def test_a_values_method_makes_any_schedule_fast():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(schedule_values(HalvingWithValues(), [0, 3]), [1.0, 0.125])


class ShiftedExponentialDecay(K.ExponentialDecay):
    def __call__(self, step):
        return super().__call__(step) + 1.0


def test_a_subclass_that_overrides_call_is_not_given_its_parents_closed_form():
    schedule = ShiftedExponentialDecay(0.1, 10, 0.5)
    with pytest.warns(UserWarning, match="ShiftedExponentialDecay"):
        values = schedule_values(schedule, [0, 10])
    np.testing.assert_allclose(values, [1.1, 1.05], rtol=1e-6)


def test_shape_of_steps_is_kept():
    schedule = K.ExponentialDecay(0.1, 10, 0.5)
    assert schedule_values(schedule, 3).shape == ()
    assert schedule_values(schedule, np.arange(6).reshape(2, 3)).shape == (2, 3)
    assert schedule_values(schedule, ops.convert_to_tensor(np.int64(10))) == pytest.approx(0.05)


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="JAX has no float64 unless jax_enable_x64 is set")
def test_values_are_computed_in_the_dtype_keras_computes_them_in():
    # Keras computes in the dtype of ops.convert_to_tensor(initial_learning_rate):
    # float32 for a Python float on TensorFlow even when floatx is float64.
    steps = np.arange(0, 1200, 7)
    float64_rate = K.CosineDecay(np.float64(0.1), 1000)
    assert ops.convert_to_numpy(float64_rate(3)).dtype == np.float64
    np.testing.assert_allclose(schedule_values(float64_rate, steps), call_each(float64_rate, steps),
                               rtol=1e-12)
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        for schedule in (K.CosineDecay(0.1, 1000), schedules.OneCycle(0.01, 1000)):
            want = call_each(schedule, steps)
            np.testing.assert_allclose(schedule_values(schedule, steps), want, rtol=1e-6, atol=0)
        assert schedule_values(0.1, [0])[0] == 0.1  # a float64 learning-rate variable
    finally:
        keras.config.set_floatx(previous)
    assert schedule_values(0.1, [0])[0] == float(np.float32(0.1))


@pytest.mark.parametrize(
    "schedule",
    [
        K.ExponentialDecay(0.1, 100, 0.96),
        K.CosineDecay(0.0, 1000, warmup_target=0.1, warmup_steps=300),
        K.CosineDecayRestarts(0.1, 100, t_mul=1.5),
        schedules.OneCycle(0.01, 5000),
        schedules.ScaledSchedule(schedules.LinearWarmup(schedules.CosineRestartsWarmup(0.1, 100), 50)),
    ],
    ids=lambda s: type(s).__name__,
)
def test_one_thousand_steps_take_well_under_a_millisecond(schedule):
    steps = np.arange(50_000, 51_000, dtype=np.int64)
    schedule_values(schedule, steps)
    best = min(_timed(schedule_values, schedule, steps) for _ in range(30))
    assert best < 1e-3, f"{best * 1e6:.0f} us"


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start
