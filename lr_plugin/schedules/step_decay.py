"""StepDecay: multiply the learning rate by a factor every N steps (or epochs)."""

import keras
import numpy as np
from keras import ops

from lr_plugin.schedules import _util


@keras.saving.register_keras_serializable(package="lr_plugin")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule` that drops the learning rate by a factor every N steps.

    The tutorials' "step decay", as a schedule the optimizer evaluates at every
    update (so it needs no callback and is saved with the model):

    ```python
    def decayed_learning_rate(step):
        period = step_size * (steps_per_epoch or 1)
        return initial_learning_rate * drop_rate ** floor(step / period)
    ```

    With `staircase=False` the exponent is `step / period` (a smooth curve
    through the same points, like `ExponentialDecay`).

    `step` is the optimizer step (`optimizer.iterations`), not the epoch. To
    drop every N *epochs*, give `step_size=N * steps_per_epoch`, or give
    `step_size=N` and `steps_per_epoch`: both mean the same.

    Example: halve the rate every 10 epochs of 100 steps, as the tutorial's
    `LearningRateScheduler(lambda epoch: 0.01 * 0.5 ** (epoch // 10))` does.

    ```python
    schedule = lr_plugin.schedules.StepDecay(
        0.01, drop_rate=0.5, step_size=10, steps_per_epoch=100)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    ```

    Args:
        initial_learning_rate: A Python float. The rate of the first period.
        drop_rate: A Python float > 0. The factor applied at each drop
            (0.5 halves the rate).
        step_size: A Python int > 0. Length of a period: in optimizer steps,
            or in epochs when `steps_per_epoch` is given.
        staircase: Boolean. If True (default), the rate changes once per
            period; if False, continuously.
        steps_per_epoch: Optional Python int > 0. When given, `step_size`
            counts epochs of that many steps.
        name: String. Optional name of the operation. Defaults to
            `"StepDecay"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        Keras' float type.
    """

    def __init__(
        self,
        initial_learning_rate,
        drop_rate,
        step_size,
        staircase=True,
        steps_per_epoch=None,
        name="StepDecay",
    ):
        super().__init__()
        owner = type(self).__name__
        self.initial_learning_rate = _util.check_number(
            owner, "initial_learning_rate", initial_learning_rate, minimum=0.0
        )
        self.drop_rate = _util.check_number(owner, "drop_rate", drop_rate, minimum=0.0, strict=True)
        self.step_size = _util.check_steps(owner, "step_size", step_size)
        if steps_per_epoch is not None:
            steps_per_epoch = _util.check_steps(owner, "steps_per_epoch", steps_per_epoch)
        self.steps_per_epoch = steps_per_epoch
        self.staircase = bool(staircase)
        self.name = name

    @property
    def period(self):
        """Length of a period in optimizer steps."""
        return self.step_size * (self.steps_per_epoch or 1)

    def __call__(self, step):
        with keras.name_scope(self.name):
            initial_learning_rate = ops.convert_to_tensor(self.initial_learning_rate)
            dtype = initial_learning_rate.dtype
            drop_rate = ops.cast(self.drop_rate, dtype)
            p = ops.cast(step, dtype) / ops.cast(self.period, dtype)
            if self.staircase:
                p = ops.floor(p)
            return ops.multiply(initial_learning_rate, ops.power(drop_rate, p))

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        lr0 = dtype.type(self.initial_learning_rate)
        p = _util.as_float_steps(steps, dtype) / dtype.type(self.period)
        if self.staircase:
            p = np.floor(p)
        return lr0 * _util.power(dtype.type(self.drop_rate), p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "drop_rate": self.drop_rate,
            "step_size": self.step_size,
            "staircase": self.staircase,
            "steps_per_epoch": self.steps_per_epoch,
            "name": self.name,
        }
