"""LearningRateMonitor callback."""

import keras

from lr_plugin.record import rate_recorder
from lr_plugin.record.arguments import validate_log_dir
from lr_plugin.record.arguments import validate_update_freq
from lr_plugin.record.rate_recorder import RateRecorder


class LearningRateMonitor(keras.callbacks.Callback):
    """Logs the learning rate each optimizer update really applied.

    Whatever sets the rate (a float, any `LearningRateSchedule`, a callable,
    `LearningRateScheduler` or `ReduceLROnPlateau` before or after this
    callback in the list, a `LossScaleOptimizer`, several optimizers), the
    value logged at step `s` is the rate update `s` used, where `s` is
    `optimizer.iterations` before that update. It also logs one record per
    epoch: its first and last step, the rate, and the metrics in `logs`.
    Everything goes to `<log_dir>/lr_timeline`, beside the `train` and
    `validation` directories of Keras' `TensorBoard` callback, and shows in
    TensorBoard's "LR Timeline" tab.

    Values are kept in host memory during the epoch and written at epoch end
    (and every 2 seconds by a background thread, and at exit), so batch hooks
    do no I/O. With `steps_per_execution=k`, every one of the k updates is
    recorded, each with the rate in effect for that execution.

    A float rate is read after each update, so changes made in
    `on_epoch_begin`, `on_train_batch_begin` or `on_epoch_end` by any callback,
    before or after this one, land on the right steps. A callback that changes
    the rate in `on_train_batch_end` should come after this one in the list.
    Only updates that ran are logged: with `gradient_accumulation_steps=A`,
    one every A batches (a schedule's rate is the one Keras applied, taken at
    its batch counter); under a `LossScaleOptimizer`, not the updates it
    skipped on overflow; with `steps_per_execution` that does not divide the
    epoch, not the steps the last execution did not run. Under
    `tf.distribute`, only the chief (worker 0) writes.

    Example:

    ```python
    monitor = lr_plugin.callbacks.LearningRateMonitor(log_dir="runs/exp1")
    model.fit(x, y, epochs=10, callbacks=[monitor,
              keras.callbacks.TensorBoard(log_dir="runs/exp1")])
    # tensorboard --logdir runs
    ```

    Args:
        log_dir: the path of the directory where to save the log files, the
            same you give Keras' `TensorBoard` callback. The records go to
            its `lr_timeline` subdirectory.
        update_freq: `"batch"` (default) logs the rate of every update;
            `"epoch"` logs one rate per epoch, at the epoch's first step; an
            integer `N` logs the updates whose step is a multiple of `N`.
        write_planned: if True (default) and the optimizer's rate is a
            `LearningRateSchedule`, writes at train begin the planned rate of
            every step from 0 to `epochs * steps_per_epoch` (when Keras knows
            the steps per epoch), which the plugin draws dashed under the
            actual rate.
    """

    def __init__(self, log_dir="logs", update_freq="batch", write_planned=True):
        super().__init__()
        owner = type(self).__name__
        log_dir = validate_log_dir(log_dir, owner, required=True)
        validate_update_freq(update_freq, owner)
        if not isinstance(write_planned, bool):
            raise ValueError(f"{owner} expects write_planned to be True or False. "
                             f"Received write_planned={write_planned!r}")
        self.log_dir = log_dir
        self.update_freq = update_freq
        self.write_planned = write_planned
        self._recorder = RateRecorder(log_dir, update_freq, owner=self)

    def get_config(self):
        return {
            "log_dir": self.log_dir,
            "update_freq": self.update_freq,
            "write_planned": self.write_planned,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def on_train_begin(self, logs=None):
        rate_recorder.begin_training(self._recorder, self.model, self.params,
                                     write_planned=self.write_planned)

    def on_epoch_begin(self, epoch, logs=None):
        self._recorder.on_epoch_begin(epoch, self.model)

    def on_train_batch_end(self, batch, logs=None):
        self._recorder.on_train_batch_end(batch)

    def on_epoch_end(self, epoch, logs=None):
        self._recorder.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        self._recorder.on_train_end()
