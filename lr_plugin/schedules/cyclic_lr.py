"""CyclicLR: Smith's cyclical learning rates (triangular, triangular2, exp_range)."""

import keras
import numpy as np
from keras import ops

from lr_plugin.schedules import _util

MODES = ("triangular", "triangular2", "exp_range")


@keras.saving.register_keras_serializable(package="lr_plugin")
class CyclicLR(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule` that cycles between two rates (Smith, 2017).

    See [Smith, "Cyclical Learning Rates for Training Neural Networks",
    WACV 2017](https://arxiv.org/abs/1506.01186). The rate goes linearly from
    `base_lr` up to `max_lr` in `step_size` steps and back down in as many,
    then repeats; a cycle is `2 * step_size` steps:

    ```python
    def learning_rate(step):
        cycle = floor(1 + step / (2 * step_size))
        x = abs(step / step_size - 2 * cycle + 1)
        return base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale(cycle, step)
    ```

    where `scale` is 1 (`"triangular"`), `1 / 2 ** (cycle - 1)`
    (`"triangular2"`: the height halves every cycle) or `gamma ** step`
    (`"exp_range"`). The rate is `base_lr` at step 0 and at every cycle
    boundary, `max_lr` (times the scale) at `step_size`, `3 * step_size`, ...
    Smith suggests `step_size` of 2 to 10 epochs' worth of steps.

    Example:

    ```python
    schedule = lr_plugin.schedules.CyclicLR(
        base_lr=1e-4, max_lr=1e-2, step_size=4 * steps_per_epoch)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    ```

    Args:
        base_lr: A Python float >= 0. The lowest rate of a cycle.
        max_lr: A Python float >= `base_lr`. The highest rate of the first
            cycle.
        step_size: A Python int > 0. Optimizer steps in half a cycle.
        mode: One of `"triangular"`, `"triangular2"`, `"exp_range"`.
            Defaults to `"triangular"`.
        gamma: A Python float in (0, 1]. Per-step decay of the height in
            `"exp_range"` mode. Defaults to 1.0.
        name: String. Optional name of the operation. Defaults to
            `"CyclicLR"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        Keras' float type.
    """

    def __init__(self, base_lr, max_lr, step_size, mode="triangular", gamma=1.0, name="CyclicLR"):
        super().__init__()
        owner = type(self).__name__
        self.base_lr = _util.check_number(owner, "base_lr", base_lr, minimum=0.0)
        self.max_lr = _util.check_number(owner, "max_lr", max_lr, minimum=0.0)
        if self.max_lr < self.base_lr:
            raise ValueError(
                f"{owner} does not support max_lr < base_lr. "
                f"Received base_lr={base_lr}, max_lr={max_lr}"
            )
        self.step_size = _util.check_steps(owner, "step_size", step_size)
        self.mode = _util.check_choice(owner, "mode", mode, MODES)
        self.gamma = _util.check_number(
            owner, "gamma", gamma, minimum=0.0, strict=True, maximum=1.0
        )
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            base_lr = ops.convert_to_tensor(self.base_lr)
            dtype = base_lr.dtype
            step = ops.cast(step, dtype)
            # Smith's cycle = floor(1 + step / (2 * step_size)) is index + 1;
            # the offset in the cycle is exact, so the height is not computed
            # from a large step / step_size that float32 rounds coarsely.
            cycle_length = ops.cast(2 * self.step_size, dtype)
            index = ops.floor(step / cycle_length)
            offset = step - index * cycle_length
            x = ops.abs(offset / ops.cast(self.step_size, dtype) - 1.0)
            height = ops.multiply(
                ops.cast(self.max_lr - self.base_lr, dtype), ops.maximum(0.0, 1.0 - x)
            )
            if self.mode == "triangular2":
                height = ops.multiply(height, ops.power(ops.cast(0.5, dtype), index))
            elif self.mode == "exp_range":
                height = ops.multiply(height, ops.power(ops.cast(self.gamma, dtype), step))
            return ops.add(base_lr, height)

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        one = dtype.type(1)
        step = _util.as_float_steps(steps, dtype)
        cycle_length = dtype.type(2 * self.step_size)
        index = np.floor(step / cycle_length)
        offset = step - index * cycle_length
        x = np.abs(offset / dtype.type(self.step_size) - one)
        height = dtype.type(self.max_lr - self.base_lr) * np.maximum(dtype.type(0), one - x)
        if self.mode == "triangular2":
            height = height * _util.power(dtype.type(0.5), index)
        elif self.mode == "exp_range":
            height = height * _util.power(dtype.type(self.gamma), step)
        return dtype.type(self.base_lr) + height

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }

