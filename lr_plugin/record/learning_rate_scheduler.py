"""LearningRateScheduler callback that records the rates it sets."""

import keras
import numpy as np

from lr_plugin.format import metadata
from lr_plugin.record import arguments
from lr_plugin.record import rate_recorder
from lr_plugin.record import rate_sources
from lr_plugin.record.rate_recorder import RateRecorder


class LearningRateScheduler(keras.callbacks.LearningRateScheduler):
    """Learning rate scheduler that records the rates it sets.

    A drop-in `keras.callbacks.LearningRateScheduler`: at the beginning of
    every epoch it calls `schedule(epoch, lr)` (or `schedule(epoch)`), sets the
    optimizer's rate to the result, prints the same message with `verbose=1`
    and puts the same `logs["learning_rate"]`. With `log_dir`, each rate it
    sets is also recorded as an `lr_set` event, and the effective rate of
    every update as `LearningRateMonitor` does.

    As in Keras, `schedule` must return a Python or NumPy float (not a tensor),
    and an optimizer built with a `LearningRateSchedule` raises TypeError:
    use the schedule or this callback, not both.

    Example:

    ```python
    def step_decay(epoch, lr):
        return 0.1 * 0.5 ** (epoch // 10)

    callback = lr_plugin.callbacks.LearningRateScheduler(
        step_decay, verbose=1, log_dir="runs/exp1")
    model.fit(x, y, epochs=30, callbacks=[callback])
    ```

    Args:
        schedule: a function that takes an epoch index (integer, indexed from
            0) and current learning rate (float) as inputs and returns a new
            learning rate as output (float).
        verbose: Integer. 0: quiet, 1: log update messages.
        log_dir: path of the log directory (the same you give Keras'
            `TensorBoard`), or None to record nothing.
        update_freq: with `log_dir`, how often to record the effective rate:
            `"batch"`, `"epoch"` or an integer number of steps.
    """

    def __init__(self, schedule, verbose=0, log_dir=None, update_freq="batch"):
        owner = type(self).__name__
        if not callable(schedule):
            raise ValueError(
                f"{owner} expects schedule to be a function of the epoch (and the "
                f"current rate) returning a float. Received schedule={schedule!r}")
        arguments.validate_count(verbose, "verbose", owner)
        log_dir = arguments.validate_log_dir(log_dir, owner, required=False)
        arguments.validate_update_freq(update_freq, owner)
        super().__init__(schedule, verbose=verbose)
        self.log_dir = log_dir
        self.update_freq = update_freq
        self._recorder = (
            RateRecorder(log_dir, update_freq, owner=self) if log_dir is not None else None
        )

    def get_config(self):
        return {
            "schedule": self.schedule,
            "verbose": self.verbose,
            "log_dir": self.log_dir,
            "update_freq": self.update_freq,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _update_optimizer_lr(self, optimizer, epoch):
        before = rate_sources.current_rate(getattr(optimizer, "inner_optimizer", optimizer))
        learning_rate = super()._update_optimizer_lr(optimizer, epoch)
        # An event only where the rate changed: a schedule returning the rate it
        # was given would otherwise draw a marker on every epoch.
        if np.float32(learning_rate) == np.float32(before):
            return learning_rate
        if self._recorder is not None and self._recorder.writer is not None:
            first = self._recorder.first_step()
            self._recorder.writer.add_record(metadata.EVENTS_TAG, {
                "kind": "lr_set",
                "epoch": int(epoch),
                "step": first,
                "lr": float(learning_rate),
                "lr_before": float(before),
                "optimizer": rate_sources.series_name_of(self.model.optimizer, optimizer),
                "source": "LearningRateScheduler",
            })
        return learning_rate

    def on_train_begin(self, logs=None):
        rate_recorder.begin_training(self._recorder, self.model, self.params)

    def on_epoch_begin(self, epoch, logs=None):
        if self._recorder is not None:
            self._recorder.on_epoch_begin(epoch, self.model)
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self._recorder is not None:
            self._recorder.on_train_batch_end(batch)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self._recorder is not None:
            self._recorder.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self._recorder is not None:
            self._recorder.on_train_end()
