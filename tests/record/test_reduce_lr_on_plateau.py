"""lr_plugin's ReduceLROnPlateau decides exactly as Keras' does, and records why."""

import math
import warnings

import keras
import numpy as np
import pytest
from conftest import linear_probe, probe_data, read_run
from plateau_helpers import drive, random_values

from lr_plugin.callbacks import ReduceLROnPlateau


@pytest.mark.parametrize("seed", range(40))
def test_same_decisions_messages_and_logs_as_keras(seed, tmp_path):
    rng = np.random.default_rng(seed)
    kwargs = dict(
        monitor="val_loss",
        factor=float(rng.choice([0.1, 0.5, 0.9])),
        patience=int(rng.integers(0, 4)),
        cooldown=int(rng.integers(0, 4)),
        min_delta=float(rng.choice([0.0, 1e-4, -1e-4, 0.02, -0.02])),
        min_lr=float(rng.choice([0.0, 1e-3, 0.05])),
        mode=str(rng.choice(["auto", "min", "max"])),
        verbose=1,
    )
    values = random_values(rng, 30)
    theirs = drive(keras.callbacks.ReduceLROnPlateau(**kwargs), values)
    ours = drive(ReduceLROnPlateau(**kwargs, log_dir=tmp_path), values)
    for epoch, (t, o) in enumerate(zip(theirs, ours)):
        assert t[:3] == o[:3], f"epoch {epoch}: {kwargs}"
        # logs: same keys and values; NaN compared as NaN.
        assert t[3].keys() == o[3].keys()
        for key in t[3]:
            a, b = t[3][key], o[3][key]
            assert a == b or (math.isnan(a) and math.isnan(b))
        assert t[4] == o[4]  # verbose messages
        assert t[5] == o[5]  # warnings

    plateau = read_run(tmp_path)["plateau"]
    assert [r["epoch"] for r in plateau] == list(range(30))
    for record, value, t in zip(plateau, values, theirs):
        assert record["lr_after"] == pytest.approx(t[0])
        assert record["wait"] == t[1] and record["cooldown_counter"] == t[2]
        if value == "missing":
            assert record["action"] == "missing_metric" and record["value"] is None


def test_actions_show_cooldown_apart_from_wait(tmp_path):
    callback = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=3, min_delta=0, log_dir=tmp_path)
    drive(callback, [1.0, 0.5] + [0.5] * 8)
    run = read_run(tmp_path)
    assert [r["action"] for r in run["plateau"]] == [
        "improved", "improved", "wait", "reduce",
        "cooldown", "cooldown", "wait", "reduce", "cooldown", "cooldown"]
    assert [r["lr_after"] for r in run["plateau"]][3] == 0.5
    kinds = [(e["kind"], e["epoch"]) for e in run["events"]]
    assert kinds == [("reduce", 3), ("cooldown_start", 3), ("cooldown_end", 6),
                     ("reduce", 7), ("cooldown_start", 7)]
    start = run["events"][1]
    assert start["cooldown"] == 3 and start["blocked_epochs"] == 2


def test_cooldown_of_one_blocks_nothing_as_in_keras(tmp_path):
    callback = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_delta=0, log_dir=tmp_path)
    drive(callback, [1.0] * 5)
    actions = [r["action"] for r in read_run(tmp_path)["plateau"]]
    assert actions == ["improved", "reduce", "reduce", "reduce", "reduce"]


def test_min_lr_reached_then_at_min_lr(tmp_path):
    callback = ReduceLROnPlateau(factor=0.1, patience=1, min_delta=10, min_lr=0.005, log_dir=tmp_path)
    trace = drive(callback, [1.0] * 6, learning_rate=0.1)
    assert [round(t[0], 6) for t in trace] == [0.1, 0.01, 0.005, 0.005, 0.005, 0.005]
    run = read_run(tmp_path)
    assert [r["action"] for r in run["plateau"]] == [
        "improved", "reduce", "reduce", "at_min_lr", "at_min_lr", "at_min_lr"]
    reached = [e for e in run["events"] if e["kind"] == "min_lr_reached"]
    assert [(e["epoch"], e["lr"]) for e in reached] == [(2, pytest.approx(0.005))]


def test_plateau_record_fields(tmp_path):
    callback = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3, min_delta=0.01,
                                 mode="min", log_dir=tmp_path)
    drive(callback, [1.0, 0.995], learning_rate=0.2)
    run = read_run(tmp_path)
    second = run["plateau"][1]
    # Stamped by the writer: the training session that made the decision.
    assert second.pop("session") == run["sessions"][0]["session"]
    assert second == {
        "epoch": 1, "step": 1, "monitor": "val_loss", "mode": "min",
        "value": 0.995, "best": 1.0, "best_before": 1.0, "threshold": pytest.approx(0.99),
        "min_delta": 0.01, "wait": 1, "wait_before": 0, "patience": 3, "cooldown": 0,
        "cooldown_counter": 0, "factor": 0.5, "min_lr": 0.0, "action": "wait",
        "lr_before": pytest.approx(0.2), "lr_after": pytest.approx(0.2)}


def test_nan_and_inf_recorded_as_such(tmp_path):
    from lr_plugin.format import reader

    drive(ReduceLROnPlateau(patience=5, log_dir=tmp_path), [1.0, float("nan"), float("inf")])
    plateau = reader.read_timelines(str(tmp_path))["lr_timeline"]["plateau"]
    assert math.isnan(plateau[1]["value"]) and plateau[1]["action"] == "wait"
    assert plateau[2]["value"] == float("inf")


@pytest.mark.parametrize("kwargs, message", [
    (dict(factor=1.0), "does not support a factor >= 1.0. Received factor=1.0"),
    (dict(patience=-1), "does not support a negative patience. Received patience=-1"),
    (dict(cooldown=-2), "does not support a negative cooldown. Received cooldown=-2"),
    (dict(log_dir="x", update_freq="sometimes"), "Received update_freq='sometimes'"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        ReduceLROnPlateau(**kwargs)


def test_get_config_round_trips(tmp_path):
    callback = ReduceLROnPlateau(monitor="loss", factor=0.3, patience=4, verbose=1, mode="min",
                                 min_delta=0.01, cooldown=2, min_lr=1e-5, log_dir=str(tmp_path),
                                 update_freq=10)
    clone = ReduceLROnPlateau.from_config(callback.get_config())
    assert clone.get_config() == callback.get_config()
    assert (clone.factor, clone.patience, clone.cooldown, clone.min_lr) == (0.3, 4, 2, 1e-5)


def test_unwritable_log_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    model = linear_probe(0.1)
    x, y = probe_data(2)
    with pytest.raises(OSError, match="cannot write to the log directory"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[ReduceLROnPlateau(monitor="loss", log_dir=blocker)])
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


@pytest.mark.parametrize("monitor_first", [False, True], ids=["plateau-alone", "monitor-first"])
def test_works_on_a_schedule_by_scaling_it(tmp_path, weight_trace, monitor_first):
    from lr_plugin.callbacks import LearningRateMonitor

    schedule = keras.optimizers.schedules.ExponentialDecay(0.2, decay_steps=5, decay_rate=0.9)
    model = linear_probe(schedule)
    x, y = probe_data(5)
    callbacks = [ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                   log_dir=tmp_path), weight_trace.callback]
    if monitor_first:
        # The monitor resolves the rate source before the plateau callback wraps it.
        callbacks.insert(0, LearningRateMonitor(tmp_path))
    model.fit(x, y, batch_size=4, epochs=4, verbose=0, shuffle=False, callbacks=callbacks)
    applied = weight_trace.applied_rates()
    base = np.array([float(schedule(s)) for s in range(20)])
    scale = np.repeat([1.0, 1.0, 0.5, 0.25], 5)
    np.testing.assert_allclose(applied, base * scale, rtol=1e-5)
    run = read_run(tmp_path)
    logged = np.array([r for _, r in run["learning_rate"]["SGD"]])
    np.testing.assert_allclose(logged, applied, rtol=1e-5)
    planned = np.array([r for _, r in run["planned"]["SGD"]])
    np.testing.assert_allclose(planned, base, rtol=1e-6)  # the plan is the unscaled schedule
