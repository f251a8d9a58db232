"""The logged rate of every step equals the rate that update really applied.

The probe model's weight drops by exactly the applied rate at every update
(see conftest.linear_probe), so the weight trace is the ground truth.
"""

import keras
import numpy as np
import pytest
from conftest import linear_probe, probe_data, rates_of, read_run

from lr_plugin.callbacks import LearningRateMonitor
from lr_plugin.callbacks import LearningRateScheduler
from lr_plugin.callbacks import ReduceLROnPlateau

STEPS_PER_EPOCH = 5


def fit(model, callbacks, epochs=4, steps_per_epoch=STEPS_PER_EPOCH, **kwargs):
    x, y = probe_data(steps_per_epoch)
    return model.fit(x, y, batch_size=4, epochs=epochs, callbacks=callbacks,
                     verbose=0, shuffle=False, **kwargs)


def assert_logged_equals_applied(logdir, trace, first_step=0):
    steps, logged = rates_of(read_run(logdir))
    applied = trace.applied_rates()
    assert steps == list(range(first_step, first_step + len(applied)))
    # The weight is float32, so each difference carries its rounding.
    np.testing.assert_allclose(logged, applied, rtol=1e-5, atol=1e-7)
    return logged


def test_constant_rate(tmp_path, weight_trace):
    model = linear_probe(0.05)
    fit(model, [LearningRateMonitor(tmp_path), weight_trace.callback])
    logged = assert_logged_equals_applied(tmp_path, weight_trace)
    assert len(logged) == 4 * STEPS_PER_EPOCH
    np.testing.assert_array_equal(logged, np.float32(0.05))


def test_schedule_with_warmup_logs_the_rate_used_not_the_next_one(tmp_path, weight_trace):
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=12, warmup_target=0.2, warmup_steps=6)
    model = linear_probe(schedule)
    fit(model, [LearningRateMonitor(tmp_path), weight_trace.callback])
    logged = assert_logged_equals_applied(tmp_path, weight_trace)
    assert logged[0] == 0.0  # step 0 of the warmup applies rate 0
    expected = [float(schedule(step)) for step in range(len(logged))]
    np.testing.assert_allclose(logged, expected, rtol=1e-6)


@pytest.mark.parametrize("scheduler_first", [True, False], ids=["scheduler-first", "monitor-first"])
def test_keras_learning_rate_scheduler_in_either_order(tmp_path, weight_trace, scheduler_first):
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    monitor = LearningRateMonitor(tmp_path)
    order = [scheduler, monitor] if scheduler_first else [monitor, scheduler]
    fit(linear_probe(0.3), order + [weight_trace.callback])
    logged = assert_logged_equals_applied(tmp_path, weight_trace)
    np.testing.assert_allclose(logged[::STEPS_PER_EPOCH], [0.1, 0.05, 0.025, 0.0125], rtol=1e-6)


@pytest.mark.parametrize("plateau_first", [True, False], ids=["plateau-first", "monitor-first"])
def test_keras_reduce_lr_on_plateau_in_either_order(tmp_path, weight_trace, plateau_first):
    # min_delta is huge, so no epoch after the first improves: reductions at epochs 1, 2, 3.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100)
    monitor = LearningRateMonitor(tmp_path)
    order = [plateau, monitor] if plateau_first else [monitor, plateau]
    fit(linear_probe(0.2), order + [weight_trace.callback], epochs=5)
    logged = assert_logged_equals_applied(tmp_path, weight_trace)
    per_epoch = logged[::STEPS_PER_EPOCH]
    np.testing.assert_allclose(per_epoch, [0.2, 0.2, 0.1, 0.05, 0.025], rtol=1e-6)


def test_our_reduce_lr_on_plateau_logs_rates_by_itself(tmp_path, weight_trace):
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                cooldown=2, log_dir=tmp_path)
    fit(linear_probe(0.2), [plateau, weight_trace.callback], epochs=6)
    logged = assert_logged_equals_applied(tmp_path, weight_trace)
    # cooldown=2 blocks one epoch: reductions at the ends of epochs 1 and 3.
    np.testing.assert_allclose(logged[::STEPS_PER_EPOCH], [0.2, 0.2, 0.1, 0.1, 0.05, 0.05], rtol=1e-6)


def test_our_learning_rate_scheduler_logs_rates_and_lr_set_events(tmp_path, weight_trace):
    scheduler = LearningRateScheduler(lambda epoch: 0.1 / (1 + epoch), log_dir=tmp_path)
    fit(linear_probe(0.3), [scheduler, weight_trace.callback], epochs=3)
    assert_logged_equals_applied(tmp_path, weight_trace)
    events = read_run(tmp_path)["events"]
    assert [(e["kind"], e["epoch"], e["step"]) for e in events] == [
        ("lr_set", 0, 0), ("lr_set", 1, 5), ("lr_set", 2, 10)]
    np.testing.assert_allclose([e["lr"] for e in events], [0.1, 0.05, 0.1 / 3])


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="Keras' torch backend does not support steps_per_execution > 1")
def test_steps_per_execution_records_every_update(tmp_path, weight_trace):
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    model = linear_probe(0.3, steps_per_execution=2)
    # weight_trace sees one batch end per execution: compare at those points.
    fit(model, [scheduler, LearningRateMonitor(tmp_path), weight_trace.callback], epochs=2,
        steps_per_epoch=6)
    steps, logged = rates_of(read_run(tmp_path))
    assert steps == list(range(12))
    per_execution = logged.reshape(-1, 2).sum(axis=1)
    np.testing.assert_allclose(per_execution, weight_trace.applied_rates(), rtol=1e-5)
    np.testing.assert_allclose(logged, [0.1] * 6 + [0.05] * 6, rtol=1e-6)


def test_update_freq_every_n_steps_and_per_epoch(tmp_path):
    every_three = tmp_path / "three"
    per_epoch = tmp_path / "epoch"
    fit(linear_probe(0.1), [LearningRateMonitor(every_three, update_freq=3),
                            LearningRateMonitor(per_epoch, update_freq="epoch")], epochs=3)
    assert rates_of(read_run(every_three))[0] == [0, 3, 6, 9, 12]
    assert rates_of(read_run(per_epoch))[0] == [0, 5, 10]


def test_resumed_training_continues_steps_without_overwriting(tmp_path, weight_trace):
    model = linear_probe(0.1)
    fit(model, [LearningRateMonitor(tmp_path)], epochs=2)
    model.optimizer.learning_rate = 0.01
    fit(model, [LearningRateMonitor(tmp_path), weight_trace.callback], epochs=4, initial_epoch=2)
    run = read_run(tmp_path)
    steps, logged = rates_of(run)
    assert steps == list(range(20))
    np.testing.assert_allclose(logged[:10], 0.1, rtol=1e-6)
    np.testing.assert_allclose(logged[10:], weight_trace.applied_rates(), rtol=1e-5)
    assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2, 3]
    assert [(e["first_step"], e["last_step"]) for e in run["epochs"]] == [
        (0, 4), (5, 9), (10, 14), (15, 19)]


def test_loss_scale_optimizer_is_unwrapped(tmp_path, weight_trace):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05)),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    fit(model, [LearningRateMonitor(tmp_path), weight_trace.callback], epochs=2)
    steps, logged = rates_of(read_run(tmp_path), optimizer="SGD")
    assert len(steps) == 10
    np.testing.assert_allclose(logged, np.float32(0.05))


def test_epoch_records_carry_metrics_and_steps(tmp_path):
    x, y = probe_data(STEPS_PER_EPOCH)
    linear_probe(0.1).fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), verbose=0,
                          callbacks=[LearningRateMonitor(tmp_path)])
    epochs = read_run(tmp_path)["epochs"]
    assert [(e["epoch"], e["first_step"], e["last_step"]) for e in epochs] == [(0, 0, 4), (1, 5, 9)]
    assert set(epochs[0]["metrics"]) == {"loss", "val_loss"}
    assert epochs[0]["learning_rate"] == pytest.approx(0.1)
    assert epochs[0]["start_time"] <= epochs[0]["end_time"] <= epochs[1]["start_time"]


def test_several_optimizers_get_one_series_each(tmp_path):
    first, second = keras.optimizers.SGD(0.1, name="body_sgd"), keras.optimizers.Adam(0.01, name="head_adam")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, name="body"),
                              keras.layers.Dense(1, name="head")])
    model.compile(
        optimizer=keras.optimizers.MultiOptimizer(
            lambda variable: first if "body" in variable.path else second),
        loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    fit(model, [scheduler, LearningRateMonitor(tmp_path)], epochs=2)
    run = read_run(tmp_path)
    assert sorted(run["learning_rate"]) == ["body_sgd", "head_adam"]
    _, body = rates_of(run, "body_sgd")
    _, head = rates_of(run, "head_adam")
    # The scheduler halves every sub-optimizer's rate at each epoch begin; on
    # the TensorFlow backend MultiOptimizer builds its sub-optimizers at the
    # first update, so Keras' scheduler finds none at the start of epoch 0.
    for series, optimizer in ((body, first), (head, second)):
        final = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        np.testing.assert_allclose(series[5:], final, rtol=1e-6)
        np.testing.assert_allclose(series[:5], 2 * final, rtol=1e-6)
    if keras.backend.backend() == "tensorflow":
        np.testing.assert_allclose(body, [0.1] * 5 + [0.05] * 5, rtol=1e-6)
    assert run["epochs"][1]["learning_rates"] == {
        "body_sgd": pytest.approx(body[-1]), "head_adam": pytest.approx(head[-1])}


class StepWarmup(keras.callbacks.Callback):
    """A user's per-step warmup: sets the rate before every update of the first epoch."""

    def __init__(self, target, steps):
        super().__init__()
        self.target, self.steps = target, steps

    def on_train_batch_begin(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if step < self.steps:
            self.model.optimizer.learning_rate = self.target * (step + 1) / self.steps


@pytest.mark.parametrize("warmup_first", [True, False], ids=["warmup-first", "monitor-first"])
def test_a_callback_changing_the_rate_every_step(tmp_path, weight_trace, warmup_first):
    warmup, monitor = StepWarmup(0.1, steps=7), LearningRateMonitor(tmp_path)
    order = [warmup, monitor] if warmup_first else [monitor, warmup]
    fit(linear_probe(0.1), order + [weight_trace.callback], epochs=2)
    logged = assert_logged_equals_applied(tmp_path, weight_trace)
    np.testing.assert_allclose(logged[:7], [0.1 * (s + 1) / 7 for s in range(7)], rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="writes the TF variable directly")
def test_a_change_that_bypasses_assign_is_caught_and_then_read_every_step(tmp_path, weight_trace):
    class Bypass(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            if step in (10, 150):  # writes the tf.Variable under the Keras variable
                self.model.optimizer._learning_rate.value.assign(0.01 if step == 10 else 0.001)

    with pytest.warns(UserWarning, match="changed without Variable.assign"):
        fit(linear_probe(0.1), [Bypass(), LearningRateMonitor(tmp_path), weight_trace.callback],
            epochs=1, steps_per_epoch=200)
    steps, logged = rates_of(read_run(tmp_path))
    applied = weight_trace.applied_rates()
    # The weight grows to about 2.5: its float32 rounding is about 1e-6 absolute.
    late = np.flatnonzero(~np.isclose(logged, applied, rtol=1e-5, atol=1e-6))
    # The first bypass is seen at the next check, at most 64 steps late ...
    assert late.size and late.min() == 10 and late.max() < 10 + 64
    # ... after which every step is read: the second one is exact.
    np.testing.assert_allclose(logged[100:], applied[100:], rtol=1e-5, atol=1e-6)


def test_planned_series_covers_the_whole_training_also_when_resumed(tmp_path):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5)
    model = linear_probe(schedule)
    fit(model, [LearningRateMonitor(tmp_path)], epochs=2)
    fit(model, [LearningRateMonitor(tmp_path)], epochs=4, initial_epoch=2)
    run = read_run(tmp_path)
    planned_steps = [s for s, _ in run["planned"]["SGD"]]
    assert planned_steps == list(range(4 * STEPS_PER_EPOCH))
    planned = np.array([r for _, r in run["planned"]["SGD"]])
    np.testing.assert_allclose(planned, rates_of(run)[1], rtol=1e-6)  # nothing changed the plan
