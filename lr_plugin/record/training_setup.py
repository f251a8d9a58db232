"""What a training was set up with, as far as the learning rate is concerned.

At train begin lr_plugin's callbacks describe the running ``fit()``: the
callbacks that change or watch the rate (their class, origin, order and
arguments), the optimizer's class, its rate source and the legacy arguments
Keras dropped. The description is written once per training session as a
``setup`` record, which ``lr-plugin lint`` reads, and the traps that can be
seen before the first step are warned about here, once per ``fit()``.

Keras does not hand a callback its siblings, so they are found on the call
stack: the ``CallbackList`` whose ``on_train_begin`` is calling us.
"""

import inspect
import sys
import warnings
import weakref

import keras

from lr_plugin.model import traps

# Legacy optimizer arguments Keras 3 drops with a one-line warning.
_LEGACY_ARGUMENTS = ("decay",)
_ignored_arguments = weakref.WeakKeyDictionary()  # optimizer -> {argument: value}
_warned_fits = weakref.WeakSet()  # CallbackLists already warned about


class TrainingSetupWarning(UserWarning):
    """A training is set up so that the learning rate will not do what it says."""


def _remember_ignored_arguments():
    # Keras pops `decay` in BaseOptimizer.__init__ and keeps no trace of it; a
    # thin wrapper keeps the value so lint can say the rate stayed constant.
    from keras.src.optimizers import base_optimizer

    init = base_optimizer.BaseOptimizer.__init__
    if getattr(init, "_lr_plugin_wrapper", False):
        return

    def __init__(self, *args, **kwargs):
        ignored = {k: kwargs[k] for k in _LEGACY_ARGUMENTS if kwargs.get(k) is not None}
        init(self, *args, **kwargs)
        if ignored:
            _ignored_arguments[self] = ignored

    __init__._lr_plugin_wrapper = True
    __init__.__wrapped__ = init
    base_optimizer.BaseOptimizer.__init__ = __init__


try:
    _remember_ignored_arguments()
except Exception:  # a Keras without that module: lint then cannot see `decay`
    pass


def running_callbacks():
    """The callbacks of the ``fit()`` that is calling us, or None when unknown."""
    frame = sys._getframe(1)
    for _ in range(12):
        frame = frame.f_back
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.callbacks.CallbackList):
            return owner
    return None


def _origin(callback):
    module = type(callback).__module__
    for package in ("lr_plugin", "keras"):
        if module == package or module.startswith(package + "."):
            return package
    return "user"


def _role(callback):
    from lr_plugin.record.learning_rate_monitor import LearningRateMonitor

    if isinstance(callback, keras.callbacks.ReduceLROnPlateau):
        return "plateau"
    if isinstance(callback, keras.callbacks.LearningRateScheduler):
        return "scheduler"
    if isinstance(callback, keras.callbacks.EarlyStopping):
        return "early_stopping"
    if isinstance(callback, LearningRateMonitor):
        return "monitor"
    if isinstance(callback, keras.callbacks.TensorBoard):
        return "tensorboard"
    return None


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _settings(callback, role):
    if role == "plateau":
        return {
            "monitor": callback.monitor,
            "factor": _number(callback.factor),
            "patience": int(callback.patience),
            "cooldown": int(callback.cooldown),
            # Keras stores min_delta with a sign once the mode is known.
            "min_delta": abs(_number(callback.min_delta) or 0.0),
            "min_lr": _number(callback.min_lr),
            "mode": callback.mode,
        }
    if role == "early_stopping":
        return {
            "monitor": callback.monitor,
            "patience": int(callback.patience),
            "min_delta": abs(_number(callback.min_delta) or 0.0),
            "mode": getattr(callback, "mode", "auto"),
        }
    if role == "scheduler":
        schedule = callback.schedule
        return {
            "schedule": getattr(schedule, "__qualname__", type(schedule).__name__),
            "uses_lr": _takes_current_rate(schedule),
        }
    return {}


def _takes_current_rate(schedule):
    """Whether ``schedule(epoch, lr)`` can see the current rate (None: unknown).

    Keras calls ``schedule(epoch, lr)`` and falls back to ``schedule(epoch)``;
    a function of the epoch alone sets the same rate whatever happened before.
    """
    try:
        parameters = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return True
    return len(positional) >= 2


def _describe_optimizer(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    rate = getattr(inner, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        source = {"kind": "schedule", "class": type(rate).__name__}
    elif callable(rate) and not hasattr(rate, "numpy"):
        source = {"kind": "callable", "class": type(rate).__name__}
    else:
        source = {"kind": "float"}
    return {
        "class": type(inner).__name__,
        "name": getattr(inner, "name", None),
        "learning_rate": source,
        "ignored_arguments": dict(_ignored_arguments.get(inner, {})),
    }


def describe(model, params=None, callbacks=None):
    """The ``setup`` record of a training (see README's export format).

    Args:
        model: the model being trained.
        params: the callbacks' ``params`` (epochs, steps), if known.
        callbacks: the fit's ``CallbackList`` or list; found on the stack when None.
    """
    if callbacks is None:
        callbacks = running_callbacks()
    members = list(getattr(callbacks, "callbacks", callbacks) or [])
    described = []
    for position, callback in enumerate(members):
        role = _role(callback)
        if role is None:
            continue
        described.append({
            "class": type(callback).__name__,
            "origin": _origin(callback),
            "role": role,
            "position": position,
            "settings": _settings(callback, role),
        })
    params = params or getattr(callbacks, "params", None) or {}
    return {
        "callbacks": described,
        "callbacks_known": bool(members),
        "optimizer": _describe_optimizer(model.optimizer),
        "epochs": params.get("epochs"),
        "steps_per_epoch": params.get("steps"),
    }


def inspect_training(model, params=None):
    """Describes the running fit() and warns once about traps seen before training.

    Returns the ``setup`` record.
    """
    callbacks = running_callbacks()
    setup = describe(model, params, callbacks)
    if callbacks is not None and callbacks not in _warned_fits:
        _warned_fits.add(callbacks)
        for finding in traps.before_training(setup):
            warnings.warn(f"lr_plugin: {finding.message} {finding.fix}",
                          TrainingSetupWarning, stacklevel=3)
    return setup
