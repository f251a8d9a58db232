"""preview: a schedule's or an epoch function's planned rates, without training."""

import inspect
import os
from typing import NamedTuple

import keras
import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import writer as writer_lib
from lr_plugin.schedules import _util
from lr_plugin.schedules.evaluate import schedule_values
from lr_plugin.schedules.functions import call_epoch_function


class PlannedRates(NamedTuple):
    """The result of `preview`: unpack it as `steps, rates = preview(...)`.

    Attributes:
        steps: int64 numpy array of optimizer steps.
        rates: float64 numpy array, the rate update `steps[i]` will apply.
    """

    steps: np.ndarray
    rates: np.ndarray

    def to_list(self):
        """`[[step, rate], ...]` as Python numbers, the format of `lr-plugin export`."""
        return [[int(s), float(r)] for s, r in zip(self.steps, self.rates)]


def preview(
    schedule,
    steps=None,
    steps_per_epoch=None,
    epochs=None,
    log_dir=None,
    optimizer_name="preview",
    learning_rate=None,
):
    """The rates a schedule or an epoch function will give, step by step, without training.

    Example:

    ```python
    steps, rates = lr_plugin.preview(
        lr_plugin.schedules.OneCycle(0.01, total_steps=3000), steps=3000)

    # An epoch function, as LearningRateScheduler would apply it:
    planned = lr_plugin.preview(
        lambda epoch: 0.002 if epoch < 3 else 0.001,
        steps_per_epoch=100, epochs=10, log_dir="runs/exp1",
        optimizer_name="adam")
    planned.to_list()[:2]  # [[0, 0.002], [1, 0.002]]
    ```

    A `LearningRateSchedule` (or a float, or a zero-argument callable) is
    evaluated at every step with `schedule_values`. An epoch function
    `fn(epoch)` or `fn(epoch, lr)`, as given to `LearningRateScheduler`, is
    called once per epoch the way the callback calls it (two arguments, then
    one on TypeError; `lr` is the rate it returned for the previous epoch,
    starting from `learning_rate`); the rate of epoch `e` applies to steps
    `e * steps_per_epoch` to `(e + 1) * steps_per_epoch - 1`. Rates are
    rounded to float32, as the optimizer stores them.

    With `log_dir`, the rates are written as the planned series of
    `optimizer_name` to `<log_dir>/lr_timeline`, where TensorBoard's
    "LR Timeline" tab draws them (beside the rates a run recorded there, when
    `optimizer_name` is that optimizer's `name`, e.g. "SGD" or "adam").

    Args:
        schedule: A `LearningRateSchedule`, a float, a zero-argument
            callable, or an epoch function.
        steps: For a schedule: the number of steps (0 to steps - 1) or an
            array of steps. Defaults to `steps_per_epoch * epochs`.
        steps_per_epoch: Int > 0. Needed for an epoch function.
        epochs: Int > 0. Needed for an epoch function.
        log_dir: Optional directory to write the planned series to.
        optimizer_name: Name of the series in the log. Defaults to
            `"preview"`.
        learning_rate: The optimizer's rate before epoch 0, passed as `lr`
            to a two-argument epoch function that uses it.

    Returns:
        A `PlannedRates` named tuple `(steps, rates)` of numpy arrays, with
        `to_list()`.

    Raises:
        ValueError: when the steps are missing or not positive, or an epoch
            function returns something other than a float.
    """
    if steps_per_epoch is not None:
        steps_per_epoch = _util.check_steps("preview", "steps_per_epoch", steps_per_epoch)
    if epochs is not None:
        epochs = _util.check_steps("preview", "epochs", epochs)
    if _is_epoch_function(schedule):
        planned = _preview_epoch_function(schedule, steps, steps_per_epoch, epochs, learning_rate)
    else:
        planned = _preview_schedule(schedule, steps, steps_per_epoch, epochs)
    if log_dir is not None:
        run = writer_lib.open_run_writer(os.path.join(os.fspath(log_dir), metadata.RUN_SUBDIR))
        run.add_rates(optimizer_name, planned.steps, planned.rates, planned=True)
        run.flush()
        run.release()  # the reference open_run_writer took: the writer closes unless a fit holds it
    return planned


def planned_rates(optimizer, steps):
    """The rates an optimizer's schedule plans for `steps`, or None without a schedule.

    For callbacks that know the number of steps at train begin. Unwraps a
    `LossScaleOptimizer`. Returns None when the rate is a float (callbacks
    may change it, so nothing is planned), a callable, or for a
    `MultiOptimizer` (ask each of its `optimizers`).

    Args:
        optimizer: A Keras optimizer.
        steps: An int or array of optimizer steps, as for `schedule_values`.

    Returns:
        A float64 numpy array, or None.
    """
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    source = getattr(optimizer, "_learning_rate", None)
    if isinstance(source, keras.optimizers.schedules.LearningRateSchedule):
        return schedule_values(source, steps)
    return None


def _is_epoch_function(schedule):
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return False
    if not callable(schedule) or isinstance(schedule, keras.Variable):
        return False
    try:
        parameters = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        for p in parameters
    )


def _preview_schedule(schedule, steps, steps_per_epoch, epochs):
    if steps is None:
        if steps_per_epoch is None or epochs is None:
            raise ValueError(
                "preview needs the steps to evaluate: pass steps=<number of steps> "
                "or both steps_per_epoch and epochs. Received steps=None, "
                f"steps_per_epoch={steps_per_epoch}, epochs={epochs}"
            )
        steps = steps_per_epoch * epochs
    if np.ndim(steps) == 0:
        steps = np.arange(_util.check_steps("preview", "steps", steps), dtype=np.int64)
    steps = np.asarray(steps)
    if steps.size and steps.dtype.kind in "iu" and steps.min() < 0:
        raise ValueError(f"preview does not support negative steps. Received steps={steps!r}")
    rates = schedule_values(schedule, steps)
    return PlannedRates(steps.astype(np.int64).reshape(-1), rates.reshape(-1))


def _preview_epoch_function(fn, steps, steps_per_epoch, epochs, learning_rate):
    if steps is not None:
        raise ValueError(
            "preview evaluates an epoch function per epoch: pass steps_per_epoch "
            f"and epochs, not steps. Received steps={steps!r}"
        )
    if steps_per_epoch is None or epochs is None:
        raise ValueError(
            "preview needs steps_per_epoch and epochs for an epoch function "
            f"(its rate holds for a whole epoch). Received steps_per_epoch="
            f"{steps_per_epoch}, epochs={epochs}"
        )
    name = getattr(fn, "__name__", type(fn).__name__)
    lr = None
    if learning_rate is not None:
        lr = float(np.float32(_util.check_number("preview", "learning_rate", learning_rate,
                                                 minimum=0.0)))
    per_epoch = np.empty(epochs, dtype=np.float64)
    for epoch in range(epochs):
        # The optimizer stores the rate in float32 and hands it back as lr.
        lr = float(np.float32(call_epoch_function(fn, epoch, lr, name)))
        per_epoch[epoch] = lr
    steps = np.arange(epochs * steps_per_epoch, dtype=np.int64)
    return PlannedRates(steps, np.repeat(per_epoch, steps_per_epoch))
