"""Shared checks and numeric helpers of lr_plugin's schedules (private).

The numpy helpers mirror how a schedule computes with keras.ops in the float
dtype of its learning rate: numpy's float32 +, -, *, / are IEEE-rounded like
the backends', and transcendental functions are computed in float64 and
rounded once, which lands on the backends' float32 result or one ulp beside it.
"""

import numbers

import keras
import numpy as np

_NUMPY_FLOATS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
_tensor_dtypes = {}  # (kind of value, floatx, backend) -> numpy dtype


def python_float_dtype():
    """The numpy dtype a schedule computes in for a Python float learning rate.

    It is the dtype of ``ops.convert_to_tensor(0.1)``: float32 on TensorFlow
    and JAX whatever floatx says, floatx on PyTorch.
    """
    return tensor_dtype(0.5)


def variable_dtype():
    """The numpy dtype of an optimizer's float learning-rate variable (floatx)."""
    return np.dtype(_NUMPY_FLOATS.get(keras.config.floatx(), np.float32))


def tensor_dtype(value):
    """The numpy float dtype of ``ops.convert_to_tensor(value)``, or None if not a float.

    Asked of the backend once per kind of value (and floatx), then cached.
    bfloat16 has no numpy dtype and gives None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (np.generic, np.ndarray)):  # before float: np.float64 is one
        if value.dtype.kind != "f":
            return None
        key = value.dtype.name
        probe = np.zeros((), dtype=value.dtype)
    elif isinstance(value, float):
        key = "python float"
        probe = 0.5
    else:
        return None
    key = (key, keras.config.floatx(), keras.backend.backend())
    if key not in _tensor_dtypes:
        name = keras.backend.standardize_dtype(keras.ops.convert_to_tensor(probe).dtype)
        _tensor_dtypes[key] = np.dtype(_NUMPY_FLOATS[name]) if name in _NUMPY_FLOATS else None
    return _tensor_dtypes[key]


def check_number(owner, name, value, minimum=None, strict=False, maximum=None):
    """Returns ``value`` as a Python float after Keras-style validation.

    Raises:
        ValueError: "{owner} does not support {name} <= {minimum}. Received {name}=..."
            (or < / > as the bound asks), or when value is not a real number.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise ValueError(
            f"{owner} expects {name} to be a Python float. "
            f"Received {name}={value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{owner} does not support a non-finite {name}. Received {name}={value}")
    if minimum is not None:
        if strict and value <= minimum:
            raise ValueError(
                f"{owner} does not support {name} <= {_fmt(minimum)}. Received {name}={_fmt(value)}"
            )
        if not strict and value < minimum:
            raise ValueError(
                f"{owner} does not support {name} < {_fmt(minimum)}. Received {name}={_fmt(value)}"
            )
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{owner} does not support {name} > {_fmt(maximum)}. Received {name}={_fmt(value)}"
        )
    return value


def check_steps(owner, name, value, allow_zero=False):
    """Returns ``value`` as a Python int: a count of optimizer steps, > 0 (or >= 0).

    Raises:
        ValueError: "{owner} does not support {name} <= 0. Received {name}=...".
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (numbers.Real, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(
                f"{owner} expects {name} to be an integer number of steps. "
                f"Received {name}={value!r}"
            )
    value = int(value)
    if allow_zero and value < 0:
        raise ValueError(f"{owner} does not support {name} < 0. Received {name}={value}")
    if not allow_zero and value <= 0:
        raise ValueError(f"{owner} does not support {name} <= 0. Received {name}={value}")
    return value


def check_choice(owner, name, value, choices):
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"{owner} does not support {name}={value!r}. Use one of: {options}"
        )
    return value


def check_rate_source(owner, name, value):
    """A learning-rate source a wrapper accepts: a LearningRateSchedule or a float."""
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise ValueError(
            f"{owner} expects {name} to be a LearningRateSchedule or a Python float. "
            f"Received {name}={value!r}"
        )
    return check_number(owner, name, value, minimum=0.0)


def serialize_rate_source(value):
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return keras.saving.serialize_keras_object(value)
    return value


def deserialize_rate_source(value):
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    return value


def _fmt(value):
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else value


# Numpy mirrors of keras.ops, one rounding per op in the schedule's dtype.


def cos(x):
    return np.cos(x.astype(np.float64)).astype(x.dtype)


def log(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(x.astype(np.float64)).astype(x.dtype)


def power(base, exponent):
    """``base ** exponent`` with either a scalar or an array, in their float dtype."""
    dtype = np.result_type(base, exponent)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        result = np.power(np.float64(base) if np.ndim(base) == 0 else base.astype(np.float64),
                          np.float64(exponent) if np.ndim(exponent) == 0
                          else exponent.astype(np.float64))
    return np.asarray(result).astype(dtype)


def as_float_steps(steps, dtype):
    """Optimizer steps (ints) cast to the schedule's float dtype, as ops.cast does."""
    return steps.astype(dtype)
