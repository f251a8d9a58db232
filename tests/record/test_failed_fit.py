"""A fit() that raises: Keras calls no on_train_end, so the callbacks' next
on_train_begin (a user retrying in a notebook) lets go of what the failed fit
held and records the retry as a new training session."""

import threading

import keras
import numpy as np
import pytest
from conftest import linear_probe, probe_data, rates_of, read_run

from lr_plugin.callbacks import LearningRateMonitor
from lr_plugin.callbacks import LearningRateScheduler
from lr_plugin.callbacks import ReduceLROnPlateau
from lr_plugin.format import writer as writer_lib

STEPS_PER_EPOCH = 10


class FailAt(keras.callbacks.Callback):
    """Raises after the update of ``step`` (0-based) while armed, as a bad batch would."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.step is not None and int(self.model.optimizer.iterations.numpy()) == self.step + 1:
            raise RuntimeError("a bad batch")


def lr_plugin_threads():
    return [t for t in threading.enumerate() if t.name.startswith("lr_plugin")]


def writers_in(directory):
    """The open writers of runs under ``directory`` (other tests' writers are not ours)."""
    return [w for w in writer_lib._writers.values()
            if w.requested_dir.startswith(str(directory))]


def watch_of(model):
    return getattr(model.optimizer._learning_rate, "_lr_plugin_watch", None)


def test_a_retry_after_a_failed_fit_records_a_new_session_and_keeps_the_first(
        tmp_path, weight_trace):
    model = linear_probe(0.1)
    x, y = probe_data(STEPS_PER_EPOCH)
    fail = FailAt(step=13)  # epoch 1, after its fourth update
    callbacks = [
        LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch, log_dir=tmp_path),
        ReduceLROnPlateau(monitor="loss", patience=100, log_dir=tmp_path),
        LearningRateMonitor(tmp_path),
        fail,
    ]
    threads_before = len(lr_plugin_threads())
    with pytest.raises(RuntimeError, match="a bad batch"):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=callbacks)
    # What the failed fit left: one watcher of the rate variable, the run's writer.
    assert watch_of(model) is not None and watch_of(model).users == 1
    (writer,) = writers_in(tmp_path)
    assert writer._references == 3  # one per recording callback

    fail.step = None
    model.fit(x, y, batch_size=4, epochs=3, verbose=0,
              callbacks=callbacks + [weight_trace.callback])

    # Let go: no watcher, no writer, no extra thread.
    assert watch_of(model) is None
    assert writer.closed and writers_in(tmp_path) == []
    assert len(lr_plugin_threads()) <= max(threads_before, 1)  # the flusher ends when idle

    run = read_run(tmp_path)
    first, second = [s for s in run["sessions"]]
    assert first["start_step"] == 0 and first.get("end_step") is None  # crashed: no end mark
    assert second["start_step"] == 14 and second["end_step"] == 14 + 3 * STEPS_PER_EPOCH - 1
    steps, rates = rates_of(run)
    assert steps == list(range(14 + 3 * STEPS_PER_EPOCH))
    # The first fit, up to its failure: epoch 0 at 0.1, four updates of epoch 1 at 0.05.
    np.testing.assert_allclose(rates[:14], np.float32([0.1] * 10 + [0.05] * 4))
    # The retry: what the weights really did, update by update.
    np.testing.assert_allclose(rates[14:], weight_trace.applied_rates(), rtol=1e-5)
    np.testing.assert_allclose(
        rates[14:], np.float32(np.repeat([0.1, 0.05, 0.025], STEPS_PER_EPOCH)))
    epochs = [(e["session"], e["epoch"], e["first_step"], e["last_step"]) for e in run["epochs"]]
    assert epochs == [(first["session"], 0, 0, 9),
                      (second["session"], 0, 14, 23),
                      (second["session"], 1, 24, 33),
                      (second["session"], 2, 34, 43)]
    assert [(r["session"], r["epoch"]) for r in run["plateau"]] == [
        (first["session"], 0)] + [(second["session"], e) for e in range(3)]
    keras.backend.clear_session()


def test_a_retry_right_after_a_failure_before_any_update_is_a_new_session(tmp_path):
    model = linear_probe(0.1)
    x, y = probe_data(STEPS_PER_EPOCH)

    class FailFirstBatch(keras.callbacks.Callback):
        armed = True

        def on_train_batch_begin(self, batch, logs=None):
            if self.armed:
                raise RuntimeError("a bad first batch")

    fail = FailFirstBatch()
    callbacks = [LearningRateMonitor(tmp_path),
                 ReduceLROnPlateau(monitor="loss", log_dir=tmp_path), fail]
    with pytest.raises(RuntimeError, match="a bad first batch"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=callbacks)
    fail.armed = False
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=callbacks)

    run = read_run(tmp_path)
    # Both began at step 0 with the same optimizer: still two sessions, the retry's ended.
    assert [(s["start_step"], s.get("end_step")) for s in run["sessions"]] == [
        (0, None), (0, STEPS_PER_EPOCH - 1)]
    assert rates_of(run)[0] == list(range(STEPS_PER_EPOCH))
    assert [e["session"] for e in run["epochs"]] == [run["sessions"][1]["session"]]
    assert writers_in(tmp_path) == []
    keras.backend.clear_session()
