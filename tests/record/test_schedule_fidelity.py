"""The rate recorded for a schedule is the one the optimizer applied, within the
bound docs/SCHEDULES.md states, for every built-in and lr_plugin schedule.

The probe's input alternates +1, -1 from batch to batch, so its one weight
moves down and up by the applied rate and stays within the largest rate of 0:
its float32 rounding stays below one ulp of the peak rate (a weight that only
falls would carry the rounding of its growing size into every delta).
"""

import keras
import numpy as np
import pytest
from conftest import rates_of, read_run

from lr_plugin import schedules
from lr_plugin.callbacks import LearningRateMonitor

BOUND = 2.0 ** -19
"""|recorded - applied| <= BOUND * the schedule's largest applied rate: 32 float32
ulps there, about 1.9e-6 of it (measured: at most 15.6, on TensorFlow and on JAX,
for CosineDecayRestarts with t_mul=1 at the end of a period, where 1 + cos cancels)."""

STEPS_PER_EPOCH, EPOCHS = 60, 4
_keras = keras.optimizers.schedules

SCHEDULES = {
    "ExponentialDecay": lambda: _keras.ExponentialDecay(0.1, 7, 0.9),
    "ExponentialDecay-staircase": lambda: _keras.ExponentialDecay(0.1, 7, 0.9, staircase=True),
    "PiecewiseConstantDecay": lambda: _keras.PiecewiseConstantDecay([50, 100], [0.1, 0.01, 0.001]),
    "PolynomialDecay-cycle": lambda: _keras.PolynomialDecay(0.1, 70, 0.001, power=2.0, cycle=True),
    "InverseTimeDecay": lambda: _keras.InverseTimeDecay(0.1, 10, 0.5),
    "CosineDecay-alpha": lambda: _keras.CosineDecay(0.1, 200, alpha=0.1),
    "CosineDecay-warmup": lambda: _keras.CosineDecay(0.0, 180, warmup_target=0.2, warmup_steps=40),
    "CosineDecayRestarts": lambda: _keras.CosineDecayRestarts(0.1, 37, t_mul=2.0, m_mul=0.9, alpha=0.01),
    "CosineDecayRestarts-t1": lambda: _keras.CosineDecayRestarts(0.1, 30, t_mul=1.0),
    "StepDecay": lambda: schedules.StepDecay(0.1, 0.5, 30),
    "TimeBasedDecay": lambda: schedules.TimeBasedDecay(0.1, 0.01),
    "LinearWarmup": lambda: schedules.LinearWarmup(_keras.CosineDecay(0.1, 200), warmup_steps=30),
    "CyclicLR": lambda: schedules.CyclicLR(0.001, 0.1, step_size=20, mode="exp_range", gamma=0.999),
    "OneCycle": lambda: schedules.OneCycle(0.1, total_steps=STEPS_PER_EPOCH * EPOCHS),
    "CosineRestartsWarmup": lambda: schedules.CosineRestartsWarmup(
        0.1, first_decay_steps=50, warmup_steps=20),
    "ScaledSchedule": lambda: schedules.ScaledSchedule(
        _keras.CosineDecayRestarts(0.1, 37), scale=0.3, min_lr=0.005),
}


def alternating_probe(schedule):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(schedule),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    return model


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_recorded_schedule_rate_is_the_applied_one_within_the_bound(name, tmp_path, weight_trace):
    model = alternating_probe(SCHEDULES[name]())
    signs = np.where(np.arange(STEPS_PER_EPOCH) % 2 == 0, 1.0, -1.0).astype("float32")
    x, y = signs.reshape(-1, 1), np.zeros((STEPS_PER_EPOCH, 1), "float32")
    model.fit(x, y, batch_size=1, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[LearningRateMonitor(tmp_path), weight_trace.callback])
    # The gradient of batch k is its input: the weight moves by -rate * input.
    applied = weight_trace.applied_rates() * np.tile(signs, EPOCHS)
    steps, recorded = rates_of(read_run(tmp_path))
    assert steps == list(range(STEPS_PER_EPOCH * EPOCHS))
    error = np.abs(recorded - applied)
    ulps = error.max() / np.abs(applied).max() / 2.0 ** -24
    print(f"{keras.backend.backend()} {name}: {ulps:.2f} float32 ulps of the peak")
    assert error.max() <= BOUND * np.abs(applied).max(), f"{name}: {ulps:.2f} ulps of the peak"
