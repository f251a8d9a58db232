"""preview and planned_rates: the rates a schedule or epoch function plans, without training."""

import math
import os

import keras
import numpy as np
import pytest
from keras import ops

import lr_plugin
from lr_plugin.format import reader
from lr_plugin.format import writer as writer_lib
from lr_plugin.schedules import LinearWarmup
from lr_plugin.schedules import OneCycle
from lr_plugin.schedules import PlannedRates
from lr_plugin.schedules import StepDecay
from lr_plugin.schedules import functions
from lr_plugin.schedules import planned_rates
from lr_plugin.schedules import preview
from lr_plugin.schedules import schedule_values

K = keras.optimizers.schedules


def f32(values):
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def test_lr_plugin_preview_is_the_schedules_preview():
    assert lr_plugin.preview is preview


def test_preview_of_a_schedule_gives_every_step():
    schedule = OneCycle(0.01, total_steps=300)
    planned = preview(schedule, steps=300)
    assert isinstance(planned, PlannedRates)
    steps, rates = planned
    np.testing.assert_array_equal(steps, np.arange(300))
    np.testing.assert_array_equal(rates, schedule_values(schedule, np.arange(300)))
    assert steps.dtype == np.int64 and rates.dtype == np.float64
    assert planned.to_list()[:2] == [[0, float(rates[0])], [1, float(rates[1])]]
    assert all(type(s) is int and type(r) is float for s, r in planned.to_list())


def test_preview_of_a_schedule_over_epochs_and_at_chosen_steps():
    schedule = StepDecay(0.1, 0.5, step_size=2, steps_per_epoch=10)
    steps, rates = preview(schedule, steps_per_epoch=10, epochs=5)
    np.testing.assert_array_equal(steps, np.arange(50))
    np.testing.assert_allclose(rates, 0.1 * 0.5 ** (np.arange(50) // 20), rtol=1e-7)
    steps, rates = preview(schedule, steps=[0, 19, 20, 1000])
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.1 * 0.5**50], rtol=1e-6)


def test_preview_of_constants():
    steps, rates = preview(0.01, steps=4)
    np.testing.assert_array_equal(rates, f32([0.01] * 4))
    steps, rates = preview(lambda: 0.02, steps=3)  # Keras' zero-argument callable
    np.testing.assert_array_equal(rates, [0.02] * 3)


def test_an_epoch_functions_rate_holds_for_each_step_of_its_epoch():
    # seed 003: lr_schedul(epoch)
    def lr_schedul(epoch):
        x = 0.002
        if epoch >= 3:
            x = 0.001
        if epoch >= 5:
            x = 0.0005
        return x

    steps, rates = preview(lr_schedul, steps_per_epoch=4, epochs=10)
    per_epoch = f32([0.002] * 3 + [0.001] * 2 + [0.0005] * 5)
    np.testing.assert_array_equal(steps, np.arange(40))
    np.testing.assert_array_equal(rates, np.repeat(per_epoch, 4))


def test_preview_of_the_tutorials_epoch_functions():
    # seed 000: step decay, exponential decay.
    def step_decay(epoch):
        return 0.01 * (0.5 ** (epoch // 10))

    def exponential_decay(epoch):
        return 0.01 * (0.95**epoch)

    for tutorial, ours in [
        (step_decay, functions.step_decay(0.01, drop=0.5, epochs_drop=10)),
        (exponential_decay, functions.exponential_decay(0.01, k=-math.log(0.95))),
    ]:
        _, expected = preview(tutorial, steps_per_epoch=3, epochs=40)
        _, got = preview(ours, steps_per_epoch=3, epochs=40)
        np.testing.assert_allclose(got, expected, rtol=1e-6)

    # seed 004: 1e-3, halved after epoch 30 and again after 60.
    def lr_schedule(epoch):
        lr = 1e-3
        if epoch > 30:
            lr *= 0.5
        if epoch > 60:
            lr *= 0.5
        return lr

    _, rates = preview(lr_schedule, steps_per_epoch=1, epochs=100)
    np.testing.assert_array_equal(rates, f32([1e-3] * 31 + [5e-4] * 30 + [2.5e-4] * 39))


@pytest.mark.parametrize(
    "epoch_function, schedule",
    [
        # seed 003's lr_schedul, per step: epochs 0-2, 3-4, 5+ (10 steps each).
        (lambda epoch: 0.002 if epoch < 3 else (0.001 if epoch < 5 else 0.0005),
         K.PiecewiseConstantDecay([29, 49], [0.002, 0.001, 0.0005])),
        # seed 000's exponential decay 0.01 * 0.95 ** epoch.
        (lambda epoch: 0.01 * 0.95**epoch,
         K.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.95, staircase=True)),
        # seed 000's step decay.
        (functions.step_decay(0.01, drop=0.5, epochs_drop=3),
         StepDecay(0.01, drop_rate=0.5, step_size=3, steps_per_epoch=10)),
        # seed 001's scheduler_exp: lr * exp(-1) from epoch 1 on.
        (functions.exponential_decay(0.01, k=1.0),
         K.ExponentialDecay(0.01, decay_steps=10, decay_rate=math.exp(-1.0), staircase=True)),
    ],
)
def test_documented_per_step_equivalents_of_the_tutorials_epoch_functions(epoch_function, schedule):
    _, per_epoch = preview(epoch_function, steps_per_epoch=10, epochs=8)
    _, per_step = preview(schedule, steps_per_epoch=10, epochs=8)
    np.testing.assert_allclose(per_step, per_epoch, rtol=1e-6)


def test_a_two_argument_function_gets_the_previous_rate_like_learning_rate_scheduler():
    # seed 001: scheduler_exp(epoch, lr), with SGD's default rate 0.01.
    def scheduler_exp(epoch, lr):
        if epoch < 1:
            return lr
        return lr * np.exp(-1.0)

    _, rates = preview(scheduler_exp, steps_per_epoch=2, epochs=4, learning_rate=0.01)
    expected, lr = [], 0.01
    for epoch in range(4):
        lr = float(np.float32(scheduler_exp(epoch, float(np.float32(lr)))))
        expected.append(lr)
    np.testing.assert_array_equal(rates, np.repeat(expected, 2))

    # And it matches what Keras' LearningRateScheduler applies.
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=4, verbose=0,
              callbacks=[keras.callbacks.LearningRateScheduler(scheduler_exp), Record()])
    np.testing.assert_array_equal(seen, expected)


def test_a_two_argument_function_without_learning_rate_asks_for_it():
    with pytest.raises(ValueError, match="pass learning_rate="):
        preview(lambda epoch, lr: lr * 0.5, steps_per_epoch=2, epochs=3)


def test_a_function_returning_a_tensor_is_refused_as_keras_would():
    # seed 002's `lr * tf.math.exp(-0.1)`: Keras' LearningRateScheduler rejects it.
    def scheduler(epoch, lr):
        if epoch < 10:
            return lr
        return lr * ops.exp(-0.1)

    with pytest.raises(ValueError) as error:
        preview(scheduler, steps_per_epoch=2, epochs=12, learning_rate=0.01)
    message = str(error.value)
    assert "scheduler(10, " in message and "should return a Python or NumPy float" in message
    assert "float(...)" in message

    fixed = lambda epoch, lr: lr if epoch < 10 else lr * math.exp(-0.1)  # noqa: E731
    _, rates = preview(fixed, steps_per_epoch=2, epochs=12, learning_rate=0.01)
    assert rates[-1] == pytest.approx(0.01 * math.exp(-0.2), rel=1e-6)


@pytest.mark.parametrize(
    "fn, received",
    [(lambda epoch: 1, r"Received: 1 \(an int"), (lambda epoch: None, "Received: None$")],
)
def test_a_function_returning_no_float_is_refused(fn, received):
    with pytest.raises(ValueError, match=r"<lambda>\(0\) should return a Python or NumPy float"):
        preview(fn, steps_per_epoch=1, epochs=1)
    with pytest.raises(ValueError, match=received):
        preview(fn, steps_per_epoch=1, epochs=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(schedule=lambda epoch: 0.1, epochs=3),
         "preview needs steps_per_epoch and epochs for an epoch function"),
        (dict(schedule=lambda epoch: 0.1, steps=10, steps_per_epoch=2, epochs=3),
         "pass steps_per_epoch and epochs, not steps"),
        (dict(schedule=OneCycle(0.01, 100)),
         "preview needs the steps to evaluate"),
        (dict(schedule=OneCycle(0.01, 100), steps=0),
         "preview does not support steps <= 0. Received steps=0"),
        (dict(schedule=OneCycle(0.01, 100), steps=[3, -1]),
         "preview does not support negative steps"),
        (dict(schedule=OneCycle(0.01, 100), steps_per_epoch=0, epochs=2),
         "preview does not support steps_per_epoch <= 0. Received steps_per_epoch=0"),
    ],
)
def test_preview_refuses_missing_or_bad_steps(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        preview(**kwargs)


def test_preview_writes_a_planned_series_the_reader_reads(tmp_path):
    log_dir = str(tmp_path)
    schedule = LinearWarmup(K.CosineDecay(0.1, 900), warmup_steps=100)
    planned = preview(schedule, steps=1000, log_dir=log_dir, optimizer_name="SGD")
    epochs = preview(functions.step_decay(0.01, 0.5, 2), steps_per_epoch=5, epochs=6,
                     log_dir=log_dir, optimizer_name="adam")
    writer_lib.flush_all()

    timelines = reader.read_timelines(log_dir)
    run = timelines["lr_timeline"]
    steps, rates = run["planned"]["SGD"]
    np.testing.assert_array_equal(steps, planned.steps)
    np.testing.assert_array_equal(rates, planned.rates)
    steps, rates = run["planned"]["adam"]
    np.testing.assert_array_equal(rates, epochs.rates)
    assert run["learning_rate"] == {}
    assert os.path.isdir(os.path.join(log_dir, "lr_timeline"))


def test_planned_rates_of_an_optimizer_with_a_schedule():
    schedule = OneCycle(0.01, total_steps=100)
    steps = np.arange(40, 60)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    np.testing.assert_array_equal(planned_rates(optimizer, steps), schedule_values(schedule, steps))
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=schedule))
    np.testing.assert_array_equal(planned_rates(wrapped, steps), schedule_values(schedule, steps))


def test_planned_rates_is_none_without_a_schedule():
    assert planned_rates(keras.optimizers.SGD(learning_rate=0.01), np.arange(3)) is None
    assert planned_rates(keras.optimizers.SGD(learning_rate=lambda: 0.01), np.arange(3)) is None
