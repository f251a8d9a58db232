"""ScaledSchedule: a schedule times a scale that can change during training."""

import bisect

import keras
import numpy as np
from keras import ops

from lr_plugin.schedules import _util
from lr_plugin.schedules.evaluate import schedule_values


LOAD_NOTE = ("A lr_plugin ScaledSchedule (ReduceLROnPlateau reduced this schedule): "
             "run `import lr_plugin.schedules` before keras.models.load_model().")


@keras.saving.register_keras_serializable(package="lr_plugin")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule` scaled by a factor that callbacks may lower during `fit()`.

    Keras' `ReduceLROnPlateau` raises `TypeError` when the optimizer's rate is
    a schedule. `lr_plugin.callbacks.ReduceLROnPlateau` wraps the schedule in
    a `ScaledSchedule` instead and multiplies `scale` by `factor` at each
    reduction, so the schedule keeps its shape at a lower level:

    ```python
    def learning_rate(step):
        rate = schedule(step)
        return max(rate * scale, min(rate, min_lr))
    ```

    A reduction never takes the rate below `min_lr`; but where the wrapped
    schedule itself goes below `min_lr` (the tail of a decay), its own value
    is kept: `min_lr` bounds the reduction, not the schedule.

    `scale` lives in a non-trainable float32 `keras.Variable`, so a change
    takes effect at the next update of an already compiled (`tf.function`,
    `torch.compile`) train step on the TensorFlow and PyTorch backends. On the JAX backend a
    jit-compiled step reads variables that the optimizer does not own as
    constants: after a change during `fit()`, call
    `model.make_train_function(force=True)` (one recompilation) for it to
    take effect; without jit (`jit_compile=False`) it takes effect at once.

    `get_config()` stores the current `scale` and `min_lr`, so
    `model.save()` then `keras.models.load_model()` restores the reduced
    rate. Import `lr_plugin.schedules` before loading, which registers the
    class; in a process that does not, loading fails with Keras' "Could not
    locate class 'ScaledSchedule'" error, whose config says to
    `import lr_plugin.schedules`.

    Example:

    ```python
    schedule = lr_plugin.schedules.ScaledSchedule(
        keras.optimizers.schedules.CosineDecay(0.1, decay_steps=10_000),
        min_lr=1e-4)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    ...
    schedule.set_scale(schedule.scale * 0.5, step=int(optimizer.iterations))
    ```

    Args:
        schedule: The base schedule: a `LearningRateSchedule` or a Python
            float.
        scale: A Python float > 0. The factor applied to the base. Defaults
            to 1.0.
        min_lr: A Python float >= 0. The floor of a reduction. Defaults to
            0.0.
        name: String. Optional name of the operation. Defaults to
            `"ScaledSchedule"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        the base schedule's float type.
    """

    def __init__(self, schedule, scale=1.0, min_lr=0.0, name="ScaledSchedule"):
        super().__init__()
        owner = type(self).__name__
        self.schedule = _util.check_rate_source(owner, "schedule", schedule)
        scale = _util.check_number(owner, "scale", scale, minimum=0.0, strict=True)
        min_lr = _util.check_number(owner, "min_lr", min_lr, minimum=0.0)
        self.name = name
        self._scale = keras.Variable(
            scale, dtype="float32", trainable=False, name="learning_rate_scale",
            aggregation="only_first_replica",
        )
        self._min_lr = keras.Variable(
            min_lr, dtype="float32", trainable=False, name="learning_rate_min",
            aggregation="only_first_replica",
        )
        self._min_lr_value = min_lr
        # Host copy of the scale's history, (first step, scale) sorted by step,
        # so that rates of past steps are evaluated without a device read.
        self._change_steps = [None]
        self._change_scales = [scale]

    @property
    def scale(self):
        """The current scale, a Python float."""
        return self._change_scales[-1]

    @scale.setter
    def scale(self, value):
        self.set_scale(value)

    def set_scale(self, value, step=None):
        """Sets the scale; the compiled train step sees it at its next update.

        Args:
            value: A Python float > 0, the new scale.
            step: Optional int, the first optimizer step that uses the new
                scale (usually `int(optimizer.iterations)` when you change
                it). With it, `schedule_values` keeps the old scale for the
                earlier steps, so recorded rates show what each update
                applied. Without it, every step is evaluated with the new
                scale.
        """
        owner = type(self).__name__
        value = _util.check_number(owner, "scale", value, minimum=0.0, strict=True)
        self._scale.assign(value)
        if step is None:
            self._change_steps, self._change_scales = [None], [value]
            return
        step = _util.check_steps(owner, "step", step, allow_zero=True)
        keep = bisect.bisect_left(self._change_steps, step, lo=1)
        self._change_steps = self._change_steps[:keep] + [step]
        self._change_scales = self._change_scales[:keep] + [value]

    @property
    def min_lr(self):
        """The floor of a reduction, a Python float. Settable."""
        return self._min_lr_value

    @min_lr.setter
    def min_lr(self, value):
        value = _util.check_number(type(self).__name__, "min_lr", value, minimum=0.0)
        self._min_lr.assign(value)
        self._min_lr_value = value

    @property
    def variables(self):
        """The scale and min_lr variables, read by the compiled train step."""
        return [self._scale, self._min_lr]

    def __call__(self, step):
        with keras.name_scope(self.name):
            if isinstance(self.schedule, keras.optimizers.schedules.LearningRateSchedule):
                rate = self.schedule(step)
            else:
                rate = ops.convert_to_tensor(self.schedule)
            dtype = rate.dtype
            scale = ops.cast(self._scale, dtype)
            min_lr = ops.cast(self._min_lr, dtype)
            return ops.maximum(ops.multiply(rate, scale), ops.minimum(rate, min_lr))

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        rate = schedule_values(self.schedule, steps).astype(dtype)
        scales = np.asarray(self._change_scales, dtype=np.float32).astype(dtype)
        if len(scales) == 1:
            scale = scales[0]
        else:
            starts = np.asarray(self._change_steps[1:], dtype=np.int64)
            scale = scales[np.searchsorted(starts, steps, side="right")]
        min_lr = dtype.type(np.float32(self._min_lr_value))
        return np.maximum(rate * scale, np.minimum(rate, min_lr))

    def get_config(self):
        return {
            "schedule": _util.serialize_rate_source(self.schedule),
            "scale": self.scale,
            "min_lr": self.min_lr,
            "name": self.name,
            # Keras prints the config of a class it cannot find: say what fixes it.
            "note": LOAD_NOTE,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("note", None)
        config["schedule"] = _util.deserialize_rate_source(config["schedule"])
        return cls(**config)
