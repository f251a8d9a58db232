"""ReduceLROnPlateau callback that records every decision."""

import contextlib

import keras
import numpy as np

# Keras' own printer: the same routing (stdout or absl logging) as its callbacks.
from keras.src.utils import io_utils

from lr_plugin.format import metadata
from lr_plugin.record import arguments
from lr_plugin.record import rate_recorder
from lr_plugin.record import rate_sources
from lr_plugin.record.rate_recorder import RateRecorder


class ReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Reduce learning rate when a metric has stopped improving, and say why.

    A drop-in `keras.callbacks.ReduceLROnPlateau`: the same arguments, the same
    decisions for every sequence of monitored values, the same messages and
    warnings, and the same `logs["learning_rate"]`. With `log_dir`, it also
    records for every epoch a plateau record (monitored value, best, the
    threshold to beat, wait, patience, cooldown counter, the action taken and
    the rate before and after) and the events `reduce`, `cooldown_start`,
    `cooldown_end` and `min_lr_reached`, plus the effective rate of every
    update as `LearningRateMonitor` does. TensorBoard's "LR Timeline" tab
    draws them.

    Keras' decision rule, made visible by the records: an epoch improves when
    `value + |min_delta| < best` (mode "min"; `value - |min_delta| > best` in
    mode "max"); otherwise, outside cooldown, `wait` grows and at
    `wait >= patience` the rate becomes `max(rate * factor, min_lr)`. The
    cooldown counter is decremented *before* it is tested, so `cooldown=c`
    blocks `c - 1` epochs and `cooldown=1` blocks none. The sign of
    `min_delta` is ignored.

    Unlike Keras' callback, this one accepts an optimizer whose learning rate is
    a `LearningRateSchedule`: at its first reduction it wraps the schedule in
    `lr_plugin.schedules.ScaledSchedule` and multiplies its scale by `factor`
    at each reduction, so the schedule keeps its shape; a reduction never
    takes the rate below `min_lr`. Until then the optimizer keeps your
    schedule, so a model saved before any reduction loads in plain Keras; one
    saved after a reduction holds a `ScaledSchedule`, and loading it needs
    `import lr_plugin.schedules` first (the error says so).

    After each epoch, `last_decision` holds that epoch's plateau record, with or
    without `log_dir`; `lr-plugin replay` replays a recorded run with other
    settings.

    Example:

    ```python
    reduce_lr = lr_plugin.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.2, patience=5, min_lr=0.001,
        log_dir="runs/exp1")
    model.fit(x_train, y_train, validation_split=0.2, callbacks=[reduce_lr])
    ```

    Args:
        monitor: String. Quantity to be monitored.
        factor: Float. Factor by which the learning rate will be reduced.
            `new_lr = lr * factor`.
        patience: Integer. Number of epochs with no improvement after which
            learning rate will be reduced.
        verbose: Integer. 0: quiet, 1: update messages.
        mode: String. One of `{'auto', 'min', 'max'}`. In `'min'` mode,
            the learning rate will be reduced when the quantity monitored has
            stopped decreasing; in `'max'` mode it will be reduced when the
            quantity monitored has stopped increasing; in `'auto'` mode, the
            direction is automatically inferred from the name of the monitored
            quantity.
        min_delta: Float. Threshold for measuring the new optimum, to only
            focus on significant changes.
        cooldown: Integer. Number of epochs to wait before resuming normal
            operation after the learning rate has been reduced.
        min_lr: Float. Lower bound on the learning rate.
        log_dir: path of the log directory (the same you give Keras'
            `TensorBoard`), or None to record nothing. Records go to its
            `lr_timeline` subdirectory.
        update_freq: with `log_dir`, how often to record the effective rate:
            `"batch"`, `"epoch"` or an integer number of steps.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        log_dir=None,
        update_freq="batch",
        **kwargs,
    ):
        owner = type(self).__name__
        if not isinstance(monitor, str):
            raise ValueError(f"{owner} expects monitor to be the name of a metric, a str. "
                             f"Received monitor={monitor!r}")
        for name, value in (("factor", factor), ("min_delta", min_delta), ("min_lr", min_lr)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"{owner} expects {name} to be a float. "
                                 f"Received {name}={value!r} of type {type(value).__name__}")
        for name, value in (("patience", patience), ("cooldown", cooldown), ("verbose", verbose)):
            arguments.validate_count(value, name, owner)
        if min_lr < 0:
            raise ValueError(f"{owner} does not support a negative min_lr. "
                             f"Received min_lr={min_lr}")
        log_dir = arguments.validate_log_dir(log_dir, owner, required=False)
        arguments.validate_update_freq(update_freq, owner)
        super().__init__(
            monitor=monitor,
            factor=factor,
            patience=patience,
            verbose=verbose,
            mode=mode,
            min_delta=min_delta,
            cooldown=cooldown,
            min_lr=min_lr,
            **kwargs,
        )
        self._config = {
            "monitor": monitor,
            "factor": factor,
            "patience": patience,
            "verbose": verbose,
            "mode": mode,
            "min_delta": min_delta,
            "cooldown": cooldown,
            "min_lr": min_lr,
            "log_dir": log_dir,
            "update_freq": update_freq,
        }
        self.log_dir = log_dir
        self._recorder = (
            RateRecorder(log_dir, update_freq, owner=self) if log_dir is not None else None
        )
        self._reductions = []
        self._retrace = False
        self.last_decision = None
        """The plateau record of the last epoch (see README's export format), also
        without log_dir: what was decided and why."""

    def get_config(self):
        return dict(self._config)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # Schedules: scale instead of raising TypeError.

    def _reduce_optimizer_lr(self, optimizer, epoch, name=""):
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        kind, schedule = rate_sources.learning_rate_source(optimizer)
        before = rate_sources.current_rate(optimizer)
        if kind != "schedule":
            reduced = super()._reduce_optimizer_lr(optimizer, epoch, name)
        else:
            reduced = self._reduce_schedule(optimizer, schedule, before, epoch, name)
        if reduced:
            self._reductions.append((
                rate_sources.series_name_of(self.model.optimizer, optimizer), before,
                rate_sources.current_rate(optimizer)))
        return reduced

    def _reduce_schedule(self, optimizer, schedule, old_lr, epoch, name):
        # Same test and message as Keras' float path; the schedule's scale
        # carries the reduction, so its shape is kept.
        if not old_lr > np.float32(self.min_lr):
            return False
        from lr_plugin.schedules import ScaledSchedule

        if not isinstance(schedule, ScaledSchedule):
            # Wrapped only now, at its first reduction: a schedule never
            # reduced stays the user's own, which plain Keras can load.
            strategy = getattr(self.model, "distribute_strategy", None)
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                schedule = ScaledSchedule(schedule)
            optimizer.learning_rate = schedule
            self._retrace = True  # the compiled step holds the old schedule
        # The counter the optimizer calls its schedule with at its next update.
        step = rate_recorder.batch_counter(optimizer)
        schedule.set_scale(schedule.scale * self.factor, step=step)
        schedule.min_lr = self.min_lr
        # A jit-compiled JAX step holds the schedule's variables as
        # constants: retrace it (once per reduction) to apply the new scale.
        self._retrace = self._retrace or keras.backend.backend() == "jax"
        new_lr = rate_sources.current_rate(optimizer)
        if self.verbose > 0:
            name_str = f" {name}" if name else ""
            io_utils.print_msg(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing"
                f"{name_str} learning rate to {new_lr}."
            )
        return True

    # Hooks.

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        rate_recorder.begin_training(self._recorder, self.model, self.params)

    def on_epoch_begin(self, epoch, logs=None):
        if self._recorder is not None:
            self._recorder.on_epoch_begin(epoch, self.model)

    def on_train_batch_end(self, batch, logs=None):
        if self._recorder is not None:
            self._recorder.on_train_batch_end(batch)

    def on_epoch_end(self, epoch, logs=None):
        self._retrace = False
        self._decide(epoch, logs)
        if self._retrace:
            self.model.make_train_function(force=True)

    def _decide(self, epoch, logs):
        optimizers = rate_sources.unwrap_optimizers(self.model.optimizer)
        lr_before = rate_sources.current_rate(optimizers[0][1])
        best_before, wait_before = self.best, self.wait
        cooldown_before = self.cooldown_counter
        self._reductions = []
        logs = {} if logs is None else logs
        current = logs.get(self.monitor)
        super().on_epoch_end(epoch, logs)
        lr_after = rate_sources.current_rate(optimizers[0][1])
        step = None
        if self._recorder is not None and self._recorder.writer is not None:
            step = self._recorder.last_step()
        self.last_decision, events = self._explain(
            epoch, step, current, lr_before, lr_after, best_before, wait_before,
            cooldown_before)
        if self._recorder is not None and self._recorder.writer is not None:
            writer = self._recorder.writer
            writer.add_record(metadata.PLATEAU_TAG, self.last_decision)
            for event in events:
                writer.add_record(metadata.EVENTS_TAG, event)
            self._recorder.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self._recorder is not None:
            self._recorder.on_train_end()

    def _explain(self, epoch, step, current, lr_before, lr_after, best_before,
                 wait_before, cooldown_before):
        """The plateau record of an epoch and the events it caused."""
        threshold = None
        if self.best is not None and self.monitor_op is not None:
            # min_delta is negative in min mode once Keras set the monitor up.
            threshold = float(self.best) + float(self.min_delta)
        record = {
            "epoch": int(epoch),
            "step": step,
            "monitor": self.monitor,
            "mode": self._direction(),
            "value": _number(current),
            "best": _number(self.best),
            "best_before": _number(best_before),
            "threshold": threshold,
            "min_delta": abs(float(self.min_delta)),
            "wait": int(self.wait),
            "wait_before": int(wait_before),
            "patience": int(self.patience),
            "cooldown": int(self.cooldown),
            "cooldown_counter": int(self.cooldown_counter),
            "factor": float(self.factor),
            "min_lr": float(self.min_lr),
            "action": self._action(current, best_before),
            "lr_before": lr_before,
            "lr_after": lr_after,
        }
        events = []
        base = {"epoch": int(epoch), "step": step}
        # Keras decrements the counter before anything else: the epoch where it
        # reaches 0 is counted normally again. Blocked epochs lie strictly
        # between cooldown_start and cooldown_end.
        if cooldown_before > 0 and self.cooldown_counter == 0 and current is not None:
            events.append(dict(base, kind="cooldown_end"))
        floor = float(np.float32(self.min_lr))
        for name, before, after in self._reductions:
            events.append(dict(
                base, kind="reduce", optimizer=name or None, lr_before=before,
                lr_after=after, value=_number(current), best=_number(self.best),
                wait=int(wait_before) + 1, patience=int(self.patience),
                monitor=self.monitor))
            if after <= floor < before:
                events.append(dict(base, kind="min_lr_reached", optimizer=name or None,
                                   lr=after, min_lr=float(self.min_lr)))
        if self._reductions and self.cooldown > 0:
            blocked = max(int(self.cooldown) - 1, 0)  # Keras blocks cooldown - 1 epochs
            events.append(dict(base, kind="cooldown_start", cooldown=int(self.cooldown),
                               blocked_epochs=blocked, until_epoch=int(epoch) + blocked))
        return record, events

    def _action(self, current, best_before):
        if current is None:
            return "missing_metric"
        if self._reductions:
            return "reduce"
        # Keras sets best to the very object it received when it improves.
        if self.best is current and (best_before is None or best_before is not current):
            return "improved"
        if self.wait == 0:
            return "cooldown"
        if self.wait >= self.patience:
            return "at_min_lr"
        return "wait"

    def _direction(self):
        if self.monitor_op is None:
            return self.mode
        return "max" if self.monitor_op == keras.ops.greater else "min"


def _number(value):
    """A monitored value as a float (NaN and infinities kept), or None."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
