"""schedule_values: a learning-rate source evaluated at many optimizer steps at once.

The callbacks call it at every epoch end for every step of the epoch, so it
computes on the host with vectorized numpy, never one backend call per step:
a closed form for each of Keras' built-in schedules, and each lr_plugin
schedule's own ``_values`` method. The numpy code follows the operations the
schedule runs with keras.ops, rounding each to the schedule's float dtype, so
the values are the ones the optimizer applies, to the last bit or one ulp.
"""

import inspect
import math
import numbers
import warnings

import keras
import numpy as np

from lr_plugin.schedules import _util

_schedules = keras.optimizers.schedules
_warned_classes = set()  # classes already warned about the slow path


def schedule_values(schedule, steps):
    """Learning rates of a schedule at many optimizer steps, as float64 numpy.

    Example:

    ```python
    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=1000)
    rates = lr_plugin.schedules.schedule_values(schedule, np.arange(1000))
    ```

    The rate at step `k` is the one the optimizer's update number `k` applies
    (`optimizer.iterations == k` before that update). Values are computed in
    the schedule's float type (float32 by default) and returned as float64,
    so they convert back to float32 exactly.

    Fast (vectorized numpy, about 15 to 70 microseconds per 1,000 steps) for:
    Python floats, Keras' `ExponentialDecay`, `PiecewiseConstantDecay`,
    `PolynomialDecay`, `InverseTimeDecay`, `CosineDecay` and
    `CosineDecayRestarts`, every `lr_plugin.schedules` class, and any class
    with a `_values(self, steps)` method (numpy int64 array in, array of rates
    out). Any other `LearningRateSchedule` is called once per step, with a
    warning the first time, which is slow: give its class a `_values` method.

    Args:
        schedule: The learning-rate source: a `LearningRateSchedule`, a
            Python float (constant), a Keras variable (its current value), or
            a zero-argument callable (Keras' callable learning rate). A
            callable is called once: it cannot depend on the step, since the
            optimizer calls it with no argument.
        steps: An int or an array-like of ints >= 0: optimizer steps.

    Returns:
        A float64 numpy array of the shape of `steps`.

    Raises:
        ValueError: for steps that are not integers, or a source that is none
            of the above or gives something other than a number.
    """
    steps = _as_steps(steps)
    if isinstance(schedule, _schedules.LearningRateSchedule):
        closed_form = _closed_form(schedule)
        if closed_form is not None:
            return _flush_subnormals(np.asarray(closed_form(steps))).astype(np.float64)
        return _values_one_by_one(schedule, steps)
    return np.full(steps.shape, _constant_rate(schedule), dtype=np.float64)


def _flush_subnormals(rates):
    # TensorFlow flushes subnormal results to zero (0.5 ** 140 is 0.0 there).
    if rates.dtype.kind != "f":
        return rates
    return np.where(np.abs(rates) < np.finfo(rates.dtype).tiny, rates.dtype.type(0), rates)


def _as_steps(steps):
    array = np.asarray(steps)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.floor(array)):
        return array.astype(np.int64)
    if array.dtype.kind == "O" and array.ndim == 0:  # a tensor or variable of one step
        return _as_steps(np.asarray(keras.ops.convert_to_numpy(steps)))
    raise ValueError(
        "schedule_values expects steps to be integer optimizer steps. "
        f"Received steps={steps!r}"
    )


def _defining_class(cls, attribute):
    for klass in cls.__mro__:
        if attribute in vars(klass):
            return klass
    return None


def _closed_form(schedule):
    """A function of the steps array, or None when only per-step calls will do."""
    cls = type(schedule)
    call_owner = _defining_class(cls, "__call__")
    values_owner = _defining_class(cls, "_values")
    # A subclass that overrides __call__ but not _values would get its
    # parent's numbers: only trust a _values at least as derived as __call__.
    if values_owner is not None and issubclass(values_owner, call_owner):
        return schedule._values
    closed_form = _KERAS_CLOSED_FORMS.get(call_owner)
    if closed_form is None:
        return None
    dtype = _util.tensor_dtype(
        schedule.values[0]
        if call_owner is _schedules.PiecewiseConstantDecay
        else schedule.initial_learning_rate
    )
    if dtype is None:
        return None
    return lambda steps: closed_form(schedule, steps, dtype)


def _constant_rate(source):
    if isinstance(source, bool):
        raise _bad_source(source)
    if isinstance(source, (numbers.Real, np.number)):
        # The optimizer keeps a float rate in a floatx variable.
        return float(np.asarray(source, dtype=_util.variable_dtype()))
    if isinstance(source, keras.Variable):
        return float(np.asarray(keras.ops.convert_to_numpy(source.value)))
    if callable(source):
        if _required_positional(source) > 0:
            raise ValueError(
                "schedule_values expects a zero-argument callable, as Keras' "
                "optimizers call a callable learning rate with no argument. "
                f"Received {_name(source)}, which needs arguments. For a "
                "function of the epoch, use lr_plugin.schedules.preview("
                "fn, steps_per_epoch=..., epochs=...)"
            )
        return _to_float(source(), f"{_name(source)}()")
    raise _bad_source(source)


def _bad_source(source):
    return ValueError(
        "schedule_values expects a LearningRateSchedule, a float, a Keras "
        f"variable or a zero-argument callable. Received schedule={source!r}"
    )


def _required_positional(fn):
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(
        1
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )


def _name(fn):
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _to_float(value, what):
    try:
        array = np.asarray(keras.ops.convert_to_numpy(value))
    except Exception:
        array = np.asarray(value, dtype=object)
    if array.size != 1 or array.dtype.kind not in "iuf":
        raise ValueError(f"{what} should return a number. Got: {value!r}")
    return float(array.reshape(()))


def _values_one_by_one(schedule, steps):
    cls = type(schedule)
    if cls not in _warned_classes:
        _warned_classes.add(cls)
        warnings.warn(
            f"schedule_values: {cls.__module__}.{cls.__qualname__} has no "
            "vectorized form, so it is called once per optimizer step, which is "
            "slow (about 0.1 ms a step). To speed it up, give the class a "
            "`_values(self, steps)` method computing the rates of a numpy int64 "
            "array of steps with numpy.",
            stacklevel=3,
        )
    flat = steps.reshape(-1)
    rates = np.empty(flat.shape, dtype=np.float64)
    for index, step in enumerate(flat):
        value = schedule(keras.ops.convert_to_tensor(int(step)))
        rates[index] = _to_float(value, f"{cls.__name__}({int(step)})")
    return rates.reshape(steps.shape)


# Closed forms of Keras' built-in schedules. Each mirrors the keras.ops code of
# the class's __call__ (keras/src/optimizers/schedules/learning_rate_schedule.py),
# one float rounding per operation.


def _exponential_decay(schedule, steps, dtype):
    lr0 = dtype.type(schedule.initial_learning_rate)
    p = _util.as_float_steps(steps, dtype) / dtype.type(schedule.decay_steps)
    if schedule.staircase:
        p = np.floor(p)
    return lr0 * _util.power(dtype.type(schedule.decay_rate), p)


def _piecewise_constant_decay(schedule, steps, dtype):
    # Keras casts each boundary to the step's (integer) dtype, truncating.
    boundaries = [_integer_boundary(b) for b in schedule.boundaries]
    values = [np.asarray(v).astype(dtype) for v in schedule.values]
    result = np.zeros(steps.shape, dtype=dtype)
    result += (steps <= boundaries[0]).astype(dtype) * values[0]
    result += (steps > boundaries[-1]).astype(dtype) * values[-1]
    for low, high, value in zip(boundaries[:-1], boundaries[1:], values[1:-1]):
        result += ((steps > low) & (steps <= high)).astype(dtype) * value
    return result


def _integer_boundary(boundary):
    if isinstance(boundary, (int, np.integer)):
        return int(boundary)
    if isinstance(boundary, float):
        boundary = np.float32(boundary)  # ops.convert_to_tensor of a Python float
    return int(np.trunc(np.asarray(boundary)))


def _polynomial_decay(schedule, steps, dtype):
    lr0 = dtype.type(schedule.initial_learning_rate)
    end = dtype.type(schedule.end_learning_rate)
    power = dtype.type(schedule.power)
    step = _util.as_float_steps(steps, dtype)
    decay_steps = dtype.type(schedule.decay_steps)
    if schedule.cycle:
        multiplier = np.where(step == 0, dtype.type(1), np.ceil(step / decay_steps))
        decay_steps = decay_steps * multiplier.astype(dtype)
    else:
        step = np.minimum(step, decay_steps)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = step / decay_steps
    return (lr0 - end) * _util.power(dtype.type(1) - p, power) + end


def _inverse_time_decay(schedule, steps, dtype):
    lr0 = dtype.type(schedule.initial_learning_rate)
    p = _util.as_float_steps(steps, dtype) / dtype.type(schedule.decay_steps)
    if schedule.staircase:
        p = np.floor(p)
    return lr0 / (dtype.type(1) + dtype.type(schedule.decay_rate) * p)


def _cosine_decay(schedule, steps, dtype):
    lr0 = dtype.type(schedule.initial_learning_rate)
    decay_steps = dtype.type(schedule.decay_steps)
    step = _util.as_float_steps(steps, dtype)
    alpha = schedule.alpha

    def decay(step, decay_from):
        fraction = step / decay_steps
        cosine = dtype.type(0.5) * (dtype.type(1) + _util.cos(dtype.type(math.pi) * fraction))
        return decay_from * (dtype.type(1 - alpha) * cosine + dtype.type(alpha))

    if schedule.warmup_target is None:
        return decay(np.minimum(step, decay_steps), lr0)
    target = dtype.type(schedule.warmup_target)
    warmup_steps = dtype.type(schedule.warmup_steps)
    step = np.minimum(step, decay_steps + warmup_steps)
    with np.errstate(invalid="ignore", divide="ignore"):
        warm = (target - lr0) * (step / warmup_steps) + lr0
    return np.where(step < warmup_steps, warm, decay(step - warmup_steps, target))


def _cosine_decay_restarts(schedule, steps, dtype):
    lr0 = dtype.type(schedule.initial_learning_rate)
    one = dtype.type(1)
    alpha = dtype.type(schedule.alpha)
    t_mul = dtype.type(schedule._t_mul)
    m_mul = dtype.type(schedule._m_mul)
    fraction = _util.as_float_steps(steps, dtype) / dtype.type(schedule.first_decay_steps)
    if t_mul == 1:
        restart = np.floor(fraction)
        fraction = fraction - restart
    else:
        # Keras finds the period with a float log, as mirrored here: at some
        # restart boundaries that rounds into the previous period.
        restart = np.floor(_util.log(one - fraction * (one - t_mul)) / _util.log(np.asarray(t_mul)))
        completed = (one - _util.power(t_mul, restart)) / (one - t_mul)
        fraction = (fraction - completed) / _util.power(t_mul, restart)
    m_factor = _util.power(m_mul, restart)
    cosine = dtype.type(0.5) * m_factor * (one + _util.cos(dtype.type(math.pi) * fraction))
    return lr0 * ((one - alpha) * cosine + alpha)


_KERAS_CLOSED_FORMS = {
    _schedules.ExponentialDecay: _exponential_decay,
    _schedules.PiecewiseConstantDecay: _piecewise_constant_decay,
    _schedules.PolynomialDecay: _polynomial_decay,
    _schedules.InverseTimeDecay: _inverse_time_decay,
    _schedules.CosineDecay: _cosine_decay,
    _schedules.CosineDecayRestarts: _cosine_decay_restarts,
}
