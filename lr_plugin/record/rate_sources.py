"""Where an optimizer's learning rate comes from, and reading it cheaply.

An optimizer's rate is a Keras variable (changed by callbacks or your code), a
``LearningRateSchedule`` or a zero-argument callable (``learning_rate_source``).
A variable is read only after an assignment (``AssignmentWatch`` counts them)
and every ``_CHECK_EVERY`` steps; ``RateRecorder`` uses these readers at every
batch. Optimizers are named here as their ``learning_rate/<name>`` series.
"""

import math
import re
import warnings

import numpy as np


def unwrap_optimizers(optimizer):
    """``[(series name, optimizer)]``: LossScaleOptimizer unwrapped, one entry per
    sub-optimizer of a MultiOptimizer.

    Keras names optimizers ``sgd``, ``sgd_1``, ... in creation order, so a lone
    optimizer with such a name is called by its class (``SGD``): the same in
    every run, which lets the plugin overlay runs. A name you chose is kept.
    """
    if hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    if not hasattr(optimizer, "optimizers"):
        return [(_series_name(optimizer), optimizer)]
    named, seen = [], set()
    for opt in optimizer.optimizers:
        opt = getattr(opt, "inner_optimizer", opt)
        name = getattr(opt, "name", None) or type(opt).__name__
        while name in seen:  # two optimizers of one name still get a series each
            name += "_"
        seen.add(name)
        named.append((name, opt))
    return named


def series_name_of(model_optimizer, optimizer):
    """The name one of a model's optimizers has in ``learning_rate/<name>``: events
    name optimizers the same way."""
    target = getattr(optimizer, "inner_optimizer", optimizer)
    for name, candidate in unwrap_optimizers(model_optimizer):
        if candidate is target:
            return name
    return _series_name(target)


def _series_name(optimizer):
    name = getattr(optimizer, "name", None)
    auto = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type(optimizer).__name__).lower()
    if not name or re.fullmatch(re.escape(auto) + r"(_\d+)?", name):
        return type(optimizer).__name__
    return name


def learning_rate_source(optimizer):
    """What sets an optimizer's rate: ("schedule", s), ("variable", v) or ("callable", f)."""
    from keras.optimizers.schedules import LearningRateSchedule

    source = getattr(optimizer, "_learning_rate", None)
    if isinstance(source, LearningRateSchedule):
        return "schedule", source
    if source is not None and hasattr(source, "assign"):
        return "variable", source
    if callable(source):
        return "callable", source
    return "value", source


def read_number(value):
    """A backend scalar, Keras variable or tf.distribute value as a Python float.

    ``float()`` of a MirroredVariable raises TypeError: that one is read as
    Keras reads it, through its own ``numpy()`` (which reads the primary
    replica) or ``keras.ops.convert_to_numpy``.
    """
    inner = getattr(value, "value", None)  # a Keras variable's backend value
    if inner is not None and not callable(inner):  # tf.Variable.value is a method
        value = inner
    try:
        return float(value)  # one device read, the cheapest way
    except TypeError:
        pass
    if hasattr(value, "numpy"):
        return float(np.asarray(value.numpy()).item())
    import keras

    return float(np.asarray(keras.ops.convert_to_numpy(value)).item())


def current_rate(optimizer):
    """The rate the optimizer's next update would apply, as a Python float."""
    return read_number(optimizer.learning_rate)


_CHECK_EVERY = 64
"""Steps between two reads of a rate variable that reported no assignment."""

_WATCHED = ("assign", "assign_add", "assign_sub")


class AssignmentWatch:
    """Counts the assignments to a Keras variable while recorders use it.

    Keras changes a float rate through ``Variable.assign`` (the optimizer's
    ``learning_rate`` setter, LearningRateScheduler, ReduceLROnPlateau, your
    ``optimizer.learning_rate.assign(x)``). Counting those calls lets the
    recorder skip the device read, about 20-40 us, on the steps where nothing
    assigned the variable. The counting wrappers are instance attributes of
    the variable; the last recorder to `detach` (at train end) removes them,
    so the variable copies and pickles as before.
    """

    def __init__(self, variable):
        self.count = 0
        self.users = 0
        for method in _WATCHED:
            original = getattr(variable, method)

            def counted(*args, _original=original, **kwargs):
                self.count += 1
                return _original(*args, **kwargs)

            setattr(variable, method, counted)
        variable._lr_plugin_watch = self

    @classmethod
    def attach(cls, variable):
        """The variable's watch with one more user, or None if it refuses one."""
        watch = getattr(variable, "_lr_plugin_watch", None)
        if watch is None:
            try:
                watch = cls(variable)
            except (AttributeError, TypeError):
                cls.detach(variable, force=True)
                return None  # a variable class that refuses attributes: read every step
        watch.users += 1
        return watch

    @staticmethod
    def detach(variable, force=False):
        """One user less; the last one restores the variable's own methods."""
        watch = getattr(variable, "_lr_plugin_watch", None)
        if watch is not None and not force:
            watch.users -= 1
            if watch.users > 0:
                return
        attributes = getattr(variable, "__dict__", {})
        for name in _WATCHED + ("_lr_plugin_watch",):
            attributes.pop(name, None)


def read_variable(variable, model, jax_index):
    """An optimizer variable's value as a float, also in the middle of a JAX epoch."""
    if getattr(variable, "_value", 0) is None:
        # JAX detaches optimizer variables during an epoch and keeps their
        # values in the trainer's state; read it there rather than through
        # Callback.model, which would sync the whole model every step.
        if not jax_index:
            jax_index.append(next(i for i, v in enumerate(model.optimizer.variables)
                                  if v is variable))
        return float(model._jax_state["optimizer_variables"][jax_index[0]])
    return read_number(variable)


def variable_reader(variable, model, name, watch):
    """A function returning the variable's current rate, reading the device only
    after an assignment, and every _CHECK_EVERY steps to catch a change made
    around ``assign`` (inside a compiled step, say)."""
    jax_index = []
    state = {"seen": None, "rate": None, "skip": 0, "exact": watch is None}

    def read():
        if not state["exact"] and watch.count == state["seen"] and state["skip"] > 0:
            state["skip"] -= 1
            return state["rate"]
        rate = read_variable(variable, model, jax_index)
        if not state["exact"]:
            previous = state["rate"]
            if watch.count == state["seen"] and rate != previous and not (
                    math.isnan(rate) and math.isnan(previous)):
                warnings.warn(
                    f"lr_plugin: the learning rate of {name} changed without "
                    "Variable.assign (inside a compiled train step?). Up to "
                    f"{_CHECK_EVERY} steps before this one may show the previous "
                    "rate; from now on it is read at every step.", stacklevel=2)
                state["exact"] = True
            state.update(seen=watch.count, skip=_CHECK_EVERY)
        state["rate"] = rate
        return rate

    return read
