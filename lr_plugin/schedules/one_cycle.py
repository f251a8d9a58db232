"""OneCycle: the 1cycle policy (Smith & Topin), as PyTorch's OneCycleLR computes it."""

import math

import keras
import numpy as np
from keras import ops

from lr_plugin.schedules import _util

ANNEALS = ("cos", "linear")


@keras.saving.register_keras_serializable(package="lr_plugin")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule` for the 1cycle policy: up to `max_lr`, then far down.

    See [Smith & Topin, "Super-Convergence", 2017](https://arxiv.org/abs/1708.07120).
    The same numbers as PyTorch's `OneCycleLR` (two phases):

    ```python
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    peak = pct_start * total_steps - 1       # step of max_lr
    last = total_steps - 1                   # step of min_lr, held after
    def learning_rate(step):
        step = min(step, last)
        if step <= peak:
            return anneal(initial_lr, max_lr, step / peak)
        return anneal(max_lr, min_lr, (step - peak) / (last - peak))
    ```

    with `anneal(a, b, t) = a * w + b * (1 - w)`, where `w = (1 + cos(pi * t)) / 2`
    (`"cos"`) or `w = 1 - t` (`"linear"`). Give `total_steps = epochs *
    steps_per_epoch` of your `fit()`; steps after the last keep `min_lr`.

    Example:

    ```python
    schedule = lr_plugin.schedules.OneCycle(
        max_lr=0.01, total_steps=epochs * steps_per_epoch)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    ```

    Args:
        max_lr: A Python float > 0. The peak rate.
        total_steps: A Python int. Steps in the cycle (all of training).
        pct_start: A Python float in (0, 1). Fraction of the steps spent
            going up. Defaults to 0.3.
        div_factor: A Python float > 0. `initial_lr = max_lr / div_factor`.
            Defaults to 25.
        final_div_factor: A Python float > 0. `min_lr = initial_lr /
            final_div_factor`. Defaults to 1e4.
        anneal: `"cos"` (default) or `"linear"`: the shape of both phases.
        name: String. Optional name of the operation. Defaults to
            `"OneCycle"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        Keras' float type.
    """

    def __init__(
        self,
        max_lr,
        total_steps,
        pct_start=0.3,
        div_factor=25.0,
        final_div_factor=1e4,
        anneal="cos",
        name="OneCycle",
    ):
        super().__init__()
        owner = type(self).__name__
        self.max_lr = _util.check_number(owner, "max_lr", max_lr, minimum=0.0, strict=True)
        self.total_steps = _util.check_steps(owner, "total_steps", total_steps)
        self.pct_start = _util.check_number(owner, "pct_start", pct_start, minimum=0.0, strict=True)
        if self.pct_start >= 1.0:
            raise ValueError(
                f"{owner} does not support pct_start >= 1 (no step would be left "
                f"to anneal down). Received pct_start={pct_start}"
            )
        if self.pct_start * self.total_steps <= 1.0:
            raise ValueError(
                f"{owner} does not support pct_start * total_steps <= 1: the warmup "
                f"would have no step. Received pct_start={pct_start}, "
                f"total_steps={total_steps}"
            )
        self.div_factor = _util.check_number(
            owner, "div_factor", div_factor, minimum=0.0, strict=True
        )
        self.final_div_factor = _util.check_number(
            owner, "final_div_factor", final_div_factor, minimum=0.0, strict=True
        )
        self.anneal = _util.check_choice(owner, "anneal", anneal, ANNEALS)
        self.name = name

    @property
    def initial_lr(self):
        return self.max_lr / self.div_factor

    @property
    def min_lr(self):
        return self.initial_lr / self.final_div_factor

    def _phases(self):
        # (first step, last step, start rate, end rate) of each phase, in
        # Python floats as PyTorch computes them.
        peak = self.pct_start * self.total_steps - 1.0
        last = float(self.total_steps - 1)
        return (
            (0.0, peak, self.initial_lr, self.max_lr),
            (peak, last, self.max_lr, self.min_lr),
        )

    def __call__(self, step):
        with keras.name_scope(self.name):
            max_lr = ops.convert_to_tensor(self.max_lr)
            dtype = max_lr.dtype
            up, down = self._phases()
            step = ops.minimum(ops.cast(step, dtype), ops.cast(down[1], dtype))
            rates = []
            for first, last, start, end in (up, down):
                fraction = (step - ops.cast(first, dtype)) / ops.cast(last - first, dtype)
                if self.anneal == "cos":
                    weight = 0.5 * (1.0 + ops.cos(ops.multiply(ops.cast(math.pi, dtype), fraction)))
                else:
                    weight = 1.0 - fraction
                # start * w + end * (1 - w): two positive terms, so a rate
                # near the small end keeps float32's relative precision.
                rates.append(
                    ops.cast(start, dtype) * weight + ops.cast(end, dtype) * (1.0 - weight)
                )
            return ops.where(step <= ops.cast(up[1], dtype), rates[0], rates[1])

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        up, down = self._phases()
        step = np.minimum(_util.as_float_steps(steps, dtype), dtype.type(down[1]))
        rates = []
        for first, last, start, end in (up, down):
            fraction = (step - dtype.type(first)) / dtype.type(last - first)
            one = dtype.type(1)
            if self.anneal == "cos":
                weight = dtype.type(0.5) * (one + _util.cos(dtype.type(math.pi) * fraction))
            else:
                weight = one - fraction
            rates.append(dtype.type(start) * weight + dtype.type(end) * (one - weight))
        return np.where(step <= dtype.type(up[1]), rates[0], rates[1])

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal": self.anneal,
            "name": self.name,
        }
