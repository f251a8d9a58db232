"""TimeBasedDecay: the legacy `SGD(decay=...)` learning rate, as a schedule."""

import keras
from keras import ops

from lr_plugin.schedules import _util


@keras.saving.register_keras_serializable(package="lr_plugin")
class TimeBasedDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule` that divides the rate by `1 + decay * step`.

    This is what Keras 2 optimizers did with their `decay=` argument:

    ```python
    def decayed_learning_rate(step):
        return initial_learning_rate / (1 + decay * step)
    ```

    Keras 3 optimizers accept `decay=` but ignore it, with only a warning
    ("Argument `decay` is no longer supported and will be ignored."), so code
    written as `SGD(learning_rate=0.01, decay=1e-4)` silently trains at a
    constant 0.01. Replace it with this schedule to get the old behaviour
    back. `step` counts optimizer updates (batches), as Keras 2's
    `iterations` did, not epochs.

    Example: the old `SGD(lr=0.01, momentum=0.9, decay=1e-4)`.

    ```python
    optimizer = keras.optimizers.SGD(
        learning_rate=lr_plugin.schedules.TimeBasedDecay(0.01, decay=1e-4),
        momentum=0.9)
    ```

    It equals `keras.optimizers.schedules.InverseTimeDecay(
    initial_learning_rate, decay_steps=1, decay_rate=decay)`.

    Args:
        initial_learning_rate: A Python float. The rate at step 0.
        decay: A Python float >= 0. The legacy `decay=` value, per step.
        name: String. Optional name of the operation. Defaults to
            `"TimeBasedDecay"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        Keras' float type.
    """

    def __init__(self, initial_learning_rate, decay, name="TimeBasedDecay"):
        super().__init__()
        owner = type(self).__name__
        self.initial_learning_rate = _util.check_number(
            owner, "initial_learning_rate", initial_learning_rate, minimum=0.0
        )
        self.decay = _util.check_number(owner, "decay", decay, minimum=0.0)
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            initial_learning_rate = ops.convert_to_tensor(self.initial_learning_rate)
            dtype = initial_learning_rate.dtype
            decay = ops.cast(self.decay, dtype)
            denominator = ops.add(ops.cast(1, dtype), ops.multiply(decay, ops.cast(step, dtype)))
            return ops.divide(initial_learning_rate, denominator)

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        one = dtype.type(1)
        denominator = one + dtype.type(self.decay) * _util.as_float_steps(steps, dtype)
        return dtype.type(self.initial_learning_rate) / denominator

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay": self.decay,
            "name": self.name,
        }
