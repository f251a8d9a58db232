"""CosineRestartsWarmup: SGDR (cosine decay with warm restarts) after a linear warmup."""

import math

import keras
import numpy as np
from keras import ops

from lr_plugin.schedules import _util

_MAX_PERIODS = 4096
_LAST_STEP = 2.0**31  # periods starting later are never reached


@keras.saving.register_keras_serializable(package="lr_plugin")
class CosineRestartsWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A `LearningRateSchedule`: linear warmup, then cosine decay with warm restarts.

    See [Loshchilov & Hutter, "SGDR", ICLR 2017](https://arxiv.org/abs/1608.03983).
    For `warmup_steps` steps the rate grows linearly from `warmup_start` to
    `initial_learning_rate`; then periods of cosine decay follow, the first
    `first_decay_steps` long, each next one `t_mul` times longer and
    starting `m_mul` times lower:

    ```python
    def learning_rate(step):
        if step < warmup_steps:
            return warmup_start + (
                initial_learning_rate - warmup_start) * step / warmup_steps
        s = step - warmup_steps
        i = the period s falls in (period i starts at
            first_decay_steps * (t_mul**i - 1) / (t_mul - 1), or at
            first_decay_steps * i when t_mul == 1)
        t = fraction of period i done at s, in [0, 1)
        cosine = 0.5 * m_mul**i * (1 + cos(pi * t))
        return initial_learning_rate * ((1 - alpha) * cosine + alpha)
    ```

    The warmup happens once, at the start. With `warmup_steps=0` this is
    Keras' `CosineDecayRestarts`, except that the period is found exactly:
    Keras computes it with a float32 logarithm, which at some restart
    steps lands in the previous period and gives `alpha` instead of the
    restart's peak for that one step (`CosineDecayRestarts(0.1, 10,
    t_mul=1.2)` gives 0.0 at step 22). Here the periods are computed once
    on the host, so every backend gets the same period at every step.

    Example:

    ```python
    schedule = lr_plugin.schedules.CosineRestartsWarmup(
        0.1, first_decay_steps=10 * steps_per_epoch,
        warmup_steps=2 * steps_per_epoch, t_mul=2.0, m_mul=0.8)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    ```

    Args:
        initial_learning_rate: A Python float. The peak rate: end of the
            warmup, start of the first period.
        first_decay_steps: A Python int > 0. Steps in the first period.
        warmup_steps: A Python int >= 0. Steps of linear warmup. Defaults
            to 0.
        t_mul: A Python float >= 1. Each period is `t_mul` times longer
            than the one before. Defaults to 2.0. Values between 1 and
            about 1.005 are refused (too many periods to tabulate).
        m_mul: A Python float >= 0. Each period starts `m_mul` times lower
            than the one before. Defaults to 1.0.
        alpha: A Python float in [0, 1]. The lowest rate, as a fraction of
            `initial_learning_rate`. Defaults to 0.0.
        warmup_start: A Python float >= 0. The rate at step 0, where the
            warmup starts. Defaults to 0.0.
        name: String. Optional name of the operation. Defaults to
            `"CosineRestartsWarmup"`.

    Returns:
        A 1-arg callable learning rate schedule that takes the current
        optimizer step and outputs the learning rate, a scalar tensor of
        Keras' float type.
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        warmup_steps=0,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        warmup_start=0.0,
        name="CosineRestartsWarmup",
    ):
        super().__init__()
        owner = type(self).__name__
        self.initial_learning_rate = _util.check_number(
            owner, "initial_learning_rate", initial_learning_rate, minimum=0.0
        )
        self.first_decay_steps = _util.check_steps(owner, "first_decay_steps", first_decay_steps)
        self.warmup_steps = _util.check_steps(owner, "warmup_steps", warmup_steps, allow_zero=True)
        self.t_mul = _util.check_number(owner, "t_mul", t_mul)
        if self.t_mul < 1.0:
            raise ValueError(
                f"{owner} does not support t_mul < 1 (the periods would shrink to "
                f"nothing). Received t_mul={t_mul}"
            )
        self.m_mul = _util.check_number(owner, "m_mul", m_mul, minimum=0.0)
        self.alpha = _util.check_number(owner, "alpha", alpha, minimum=0.0, maximum=1.0)
        self.warmup_start = _util.check_number(owner, "warmup_start", warmup_start, minimum=0.0)
        self.name = name
        self._table = None if self.t_mul == 1.0 else self._period_table()

    def _period_table(self):
        # Periods of the geometric case, computed once on the host in float64:
        # start and length of period i, and m_mul ** i. The compiled step
        # looks the period up in this table, so every backend finds the same
        # period at every step (a float32 log or power on the device would
        # put some restart steps one period early).
        starts, lengths, m_factors = [0.0], [], []
        while len(lengths) < _MAX_PERIODS:
            i = len(lengths)
            lengths.append(self.first_decay_steps * self.t_mul**i)
            m_factors.append(self.m_mul**i)
            end = starts[-1] + lengths[-1]
            nearest = round(end)
            if abs(end - nearest) <= 1e-9 * max(1.0, end):
                end = float(nearest)  # an integer boundary stays an integer
            if end >= _LAST_STEP:
                break
            starts.append(end)
        else:
            raise ValueError(
                f"{type(self).__name__} does not support t_mul this close to 1 with "
                f"first_decay_steps={self.first_decay_steps}: more than {_MAX_PERIODS} "
                f"periods before step 2**31. Received t_mul={self.t_mul}. Use "
                "t_mul=1.0 for periods of equal length."
            )
        return np.array(starts), np.array(lengths), np.array(m_factors)

    def __call__(self, step):
        with keras.name_scope(self.name):
            peak = ops.convert_to_tensor(self.initial_learning_rate)
            dtype = peak.dtype
            one = ops.cast(1.0, dtype)
            step = ops.cast(step, dtype)
            s = ops.maximum(step - ops.cast(self.warmup_steps, dtype), 0.0)
            if self._table is None:
                period = ops.cast(self.first_decay_steps, dtype)
                restart = ops.floor(s / period)
                fraction = (s - restart * period) / period
                m_factor = ops.power(ops.cast(self.m_mul, dtype), restart)
            else:
                starts, lengths, m_factors = (ops.cast(t, dtype) for t in self._table)
                restart = ops.sum(
                    ops.cast(ops.expand_dims(s, -1) >= starts[1:], "int32"), axis=-1
                )
                fraction = (s - ops.take(starts, restart)) / ops.take(lengths, restart)
                m_factor = ops.take(m_factors, restart)
            cosine = ops.multiply(
                0.5 * m_factor, one + ops.cos(ops.multiply(ops.cast(math.pi, dtype), fraction))
            )
            alpha = ops.cast(self.alpha, dtype)
            decayed = ops.multiply(peak, (one - alpha) * cosine + alpha)
            if self.warmup_steps == 0:
                return decayed
            warmup_start = ops.cast(self.warmup_start, dtype)
            warm = warmup_start + (peak - warmup_start) * (
                step / ops.cast(self.warmup_steps, dtype)
            )
            return ops.where(step < ops.cast(self.warmup_steps, dtype), warm, decayed)

    def _values(self, steps):
        dtype = _util.python_float_dtype()
        peak = dtype.type(self.initial_learning_rate)
        one = dtype.type(1)
        step = _util.as_float_steps(steps, dtype)
        s = np.maximum(step - dtype.type(self.warmup_steps), dtype.type(0))
        if self._table is None:
            period = dtype.type(self.first_decay_steps)
            restart = np.floor(s / period)
            fraction = (s - restart * period) / period
            m_factor = _util.power(dtype.type(self.m_mul), restart)
        else:
            starts, lengths, m_factors = (t.astype(dtype) for t in self._table)
            restart = np.searchsorted(starts[1:], s, side="right")
            fraction = (s - starts[restart]) / lengths[restart]
            m_factor = m_factors[restart]
        cosine = (dtype.type(0.5) * m_factor) * (one + _util.cos(dtype.type(math.pi) * fraction))
        alpha = dtype.type(self.alpha)
        decayed = peak * ((one - alpha) * cosine + alpha)
        if self.warmup_steps == 0:
            return decayed
        warmup_start = dtype.type(self.warmup_start)
        warm = warmup_start + (peak - warmup_start) * (step / dtype.type(self.warmup_steps))
        return np.where(step < dtype.type(self.warmup_steps), warm, decayed)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "warmup_steps": self.warmup_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "warmup_start": self.warmup_start,
            "name": self.name,
        }
