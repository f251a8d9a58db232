"""LinearWarmup: a linear ramp in front of any schedule (or constant rate)."""

import keras
import numpy as np
from keras import ops

from lr_plugin.schedules import _util
from lr_plugin.schedules.evaluate import schedule_values


@keras.saving.register_keras_serializable(package="lr_plugin")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule` that ramps up linearly, then hands over to a schedule.

    For `warmup_steps` steps the rate grows linearly from
    `initial_learning_rate` to the wrapped schedule's first value,
    `schedule(0)`; then the wrapped schedule runs, **shifted**: it starts at
    step `warmup_steps`, so its own step 0 comes right after the warmup and
    the curve is continuous.

    ```python
    def learning_rate(step):
        if step < warmup_steps:
            target = schedule(0)
            return initial_learning_rate + (
                target - initial_learning_rate) * step / warmup_steps
        return schedule(step - warmup_steps)
    ```

    So a `CosineDecay(0.1, decay_steps=1000)` wrapped with `warmup_steps=100`
    reaches 0.1 at step 100 and reaches its end at step 1100. (Keras'
    `CosineDecay(..., warmup_steps=...)` does the same for cosine only.)

    Example:

    ```python
    schedule = lr_plugin.schedules.LinearWarmup(
        keras.optimizers.schedules.ExponentialDecay(0.1, 1000, 0.5),
        warmup_steps=500)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    ```

    Args:
        schedule: The schedule to run after the warmup: a
            `LearningRateSchedule` (Keras' or one of lr_plugin's), or a
            Python float for a constant rate after a warmup.
        warmup_steps: A Python int >= 0. Length of the ramp in optimizer
            steps (0: no warmup, the schedule itself).
        initial_learning_rate: A Python float. The rate at step 0.
            Defaults to 0.0.
        name: String. Optional name of the operation. Defaults to
            `"LinearWarmup"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        the wrapped schedule's float type.
    """

    def __init__(self, schedule, warmup_steps, initial_learning_rate=0.0, name="LinearWarmup"):
        super().__init__()
        owner = type(self).__name__
        self.schedule = _util.check_rate_source(owner, "schedule", schedule)
        self.warmup_steps = _util.check_steps(owner, "warmup_steps", warmup_steps, allow_zero=True)
        self.initial_learning_rate = _util.check_number(
            owner, "initial_learning_rate", initial_learning_rate, minimum=0.0
        )
        self.name = name

    def _after(self, step):
        if isinstance(self.schedule, keras.optimizers.schedules.LearningRateSchedule):
            return self.schedule(step)
        return ops.convert_to_tensor(self.schedule)

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.convert_to_tensor(step)
            if self.warmup_steps == 0:
                return self._after(step)
            after = self._after(ops.maximum(ops.subtract(step, self.warmup_steps), 0))
            dtype = after.dtype
            target = ops.cast(self._after(ops.zeros_like(step)), dtype)
            start = ops.cast(self.initial_learning_rate, dtype)
            fraction = ops.cast(step, dtype) / ops.cast(self.warmup_steps, dtype)
            warm = ops.add(start, ops.multiply(ops.subtract(target, start), fraction))
            return ops.where(ops.cast(step, dtype) < self.warmup_steps, warm, after)

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        if self.warmup_steps == 0:
            return schedule_values(self.schedule, steps).astype(dtype)
        after = schedule_values(self.schedule, np.maximum(steps - self.warmup_steps, 0))
        after = after.astype(dtype)
        target = dtype.type(schedule_values(self.schedule, 0))
        start = dtype.type(self.initial_learning_rate)
        steps_f = _util.as_float_steps(steps, dtype)
        warm = start + (target - start) * (steps_f / dtype.type(self.warmup_steps))
        return np.where(steps_f < self.warmup_steps, warm, after)

    def get_config(self):
        return {
            "schedule": _util.serialize_rate_source(self.schedule),
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["schedule"] = _util.deserialize_rate_source(config["schedule"])
        return cls(**config)
