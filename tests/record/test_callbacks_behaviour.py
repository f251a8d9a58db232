"""Callback conventions: configs, drop-in messages, chief-only writing, crash safety."""

import io
import json
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest
from conftest import linear_probe, probe_data, rates_of, read_run

from lr_plugin.callbacks import LearningRateMonitor
from lr_plugin.callbacks import LearningRateScheduler


def test_monitor_get_config_round_trips(tmp_path):
    monitor = LearningRateMonitor(tmp_path, update_freq=7, write_planned=False)
    clone = LearningRateMonitor.from_config(monitor.get_config())
    assert clone.get_config() == {"log_dir": str(tmp_path), "update_freq": 7, "write_planned": False}


@pytest.mark.parametrize("update_freq", [0, -3, "step", 1.5, True])
def test_monitor_rejects_bad_update_freq(update_freq):
    with pytest.raises(ValueError, match=r"LearningRateMonitor expects update_freq to be 'batch', "
                                         r"'epoch' or a positive integer"):
        LearningRateMonitor("logs", update_freq=update_freq)


def test_scheduler_get_config_round_trips(tmp_path):
    def schedule(epoch, lr):
        return lr

    scheduler = LearningRateScheduler(schedule, verbose=1, log_dir=tmp_path, update_freq="epoch")
    clone = LearningRateScheduler.from_config(scheduler.get_config())
    assert clone.get_config() == scheduler.get_config()
    assert clone.schedule is schedule


def fit_with(callback, epochs=3):
    model = linear_probe(0.3)
    x, y = probe_data(2)
    output = io.StringIO()
    with redirect_stdout(output):
        history = model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[callback])
    return model, history, output.getvalue()


def test_scheduler_is_a_drop_in_for_keras(tmp_path):
    def schedule(epoch, lr):
        return lr * 0.5

    _, theirs, their_output = fit_with(keras.callbacks.LearningRateScheduler(schedule, verbose=1))
    _, ours, our_output = fit_with(LearningRateScheduler(schedule, verbose=1, log_dir=tmp_path))
    assert ours.history["learning_rate"] == theirs.history["learning_rate"]
    assert type(ours.history["learning_rate"][0]) is float
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.0375" in our_output
    assert our_output == their_output


def test_scheduler_keeps_keras_errors(tmp_path):
    with pytest.raises(ValueError, match="The output of the `schedule` function should be a float"):
        fit_with(LearningRateScheduler(lambda epoch: 1, log_dir=tmp_path))
    model = linear_probe(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))
    x, y = probe_data(2)
    with pytest.raises(TypeError, match="This optimizer was created with a `LearningRateSchedule`"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda e, lr: lr / 2, log_dir=tmp_path)])


def test_only_the_chief_writes(tmp_path, monkeypatch):
    config = {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    fit_with(LearningRateMonitor(tmp_path / "worker1"))
    assert not (tmp_path / "worker1").exists()
    config["task"]["index"] = 0
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    fit_with(LearningRateMonitor(tmp_path / "worker0"))
    assert len(rates_of(read_run(tmp_path / "worker0"))[0]) == 6


def test_monitor_and_plateau_on_one_directory_record_the_rate_once(tmp_path):
    from lr_plugin.callbacks import ReduceLROnPlateau

    model = linear_probe(0.3)
    x, y = probe_data(3)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[
        LearningRateMonitor(tmp_path), ReduceLROnPlateau(monitor="loss", log_dir=tmp_path)])
    run = read_run(tmp_path)
    assert rates_of(run)[0] == list(range(6))
    assert [e["epoch"] for e in run["epochs"]] == [0, 1]
    assert [r["epoch"] for r in run["plateau"]] == [0, 1]


INTERRUPTED_FIT = """
import keras, numpy as np, sys
sys.path.insert(0, {tests!r})
from conftest import linear_probe, probe_data
from lr_plugin.callbacks import LearningRateMonitor

class Interrupt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations.numpy() == 13:
            raise {error}("stopped by the user")

x, y = probe_data(5)
linear_probe(0.1).fit(x, y, batch_size=4, epochs=5, verbose=0,
                      callbacks=[LearningRateMonitor({logdir!r}), Interrupt()])
"""


@pytest.mark.parametrize("error", ["KeyboardInterrupt", "RuntimeError"])
def test_everything_recorded_before_a_crash_is_on_disk(tmp_path, error):
    import os

    script = INTERRUPTED_FIT.format(tests=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), logdir=str(tmp_path), error=error)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode != 0 and error in result.stderr
    run = read_run(tmp_path)
    steps, rates = rates_of(run)
    assert steps == list(range(13))  # every update that ran, the last one included
    np.testing.assert_allclose(rates, np.float32(0.1))
    assert [e["epoch"] for e in run["epochs"]] == [0, 1]
