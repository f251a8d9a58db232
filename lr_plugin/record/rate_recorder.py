"""RateRecorder: the engine behind every lr_plugin callback.

It records, for each optimizer update, the learning rate that update applied,
and one record per epoch, into the run's shared RunWriter. The callbacks own
one each and forward their hooks to it.

Step convention (the one rule, used everywhere): the step of an update is the
value of ``optimizer.iterations`` before that update, 0-based. The recorder
reads ``iterations`` once per epoch and counts updates on the host from the
batch index Keras passes to ``on_train_batch_end`` (with ``steps_per_execution
= k`` one call covers k updates, all recorded), so batch hooks never read the
step from the device.

Where the rate comes from:
- a float (a Keras variable, changed by callbacks or by your code): read at
  every ``on_train_batch_end``, after the update and before any later change,
  so a change made in ``on_epoch_begin``, ``on_train_batch_begin`` or
  ``on_epoch_end`` by a callback before or after this one is attributed to the
  right steps. A change made in ``on_train_batch_end`` by a callback placed
  before this one is attributed one step early: put such callbacks after it.
- a LearningRateSchedule: evaluated on the host for the epoch's steps at
  epoch end (``lr_plugin.schedules.schedule_values``), no device read at all.
- a zero-argument callable: called at every ``on_train_batch_end``.
"""

import json
import math
import os
import re
import time
import warnings

import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import writer as writer_lib
from lr_plugin.record import training_setup

UPDATE_FREQS = ("batch", "epoch")


def validate_update_freq(update_freq, owner="LearningRateMonitor"):
    """Returns the record interval in steps (0 = once per epoch)."""
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return 0
    if isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool):
        if update_freq >= 1:
            return int(update_freq)
    raise ValueError(
        f"{owner} expects update_freq to be 'batch', 'epoch' or a positive "
        f"integer number of steps. Received update_freq={update_freq!r}"
    )


def run_dir_of(log_dir):
    """The directory the callbacks write to for a user's ``log_dir``."""
    return os.path.join(os.fspath(log_dir), metadata.RUN_SUBDIR)


def is_chief():
    """Whether this process writes logs under multi-worker training.

    Follows TF_CONFIG (tf.distribute): the chief, or worker 0 when the cluster
    has no chief. Under multi-process JAX, process 0.
    """
    config = os.environ.get("TF_CONFIG")
    if config:
        try:
            parsed = json.loads(config)
        except ValueError:
            parsed = {}
        task = parsed.get("task") or {}
        cluster = parsed.get("cluster") or {}
        task_type, index = task.get("type"), int(task.get("index", 0) or 0)
        if task_type in ("chief", "master"):
            return True
        if task_type == "worker":
            return "chief" not in cluster and "master" not in cluster and index == 0
        if task_type in ("ps", "evaluator"):
            return False
    try:
        import keras

        if keras.backend.backend() == "jax":
            import jax

            return jax.process_index() == 0
    except Exception:
        pass
    return True


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


def current_rate(optimizer):
    """The rate the optimizer's next update would apply, as a Python float."""
    rate = optimizer.learning_rate
    # float() of a backend scalar avoids convert_to_numpy's NumPy 2 warning.
    return float(getattr(rate, "value", rate))


def read_step(optimizer):
    """``optimizer.iterations`` as a Python int (a device read: once per epoch)."""
    iterations = optimizer.iterations
    return int(getattr(iterations, "value", iterations))


_CHECK_EVERY = 64
"""Steps between two reads of a rate variable that reported no assignment."""


def assignment_counter(variable):
    """A one-item list counting the assignments to ``variable``, or None.

    Keras changes a float rate through ``Variable.assign`` (the optimizer's
    ``learning_rate`` setter, LearningRateScheduler, ReduceLROnPlateau, your
    ``optimizer.learning_rate.assign(x)``). Counting those calls lets the
    recorder skip the device read, about 20-40 us, on the steps where nothing
    assigned the variable.
    """
    counter = getattr(variable, "_lr_plugin_assignments", None)
    if counter is not None:
        return counter
    counter = [0]
    try:
        for method in ("assign", "assign_add", "assign_sub"):
            original = getattr(variable, method)

            def counted(*args, _original=original, **kwargs):
                counter[0] += 1
                return _original(*args, **kwargs)

            setattr(variable, method, counted)
        variable._lr_plugin_assignments = counter
    except (AttributeError, TypeError):
        return None  # a variable class that refuses attributes: read every step
    return counter


def _read_variable(variable, model, jax_index):
    if getattr(variable, "_value", 0) is None:
        # JAX detaches optimizer variables during an epoch and keeps their
        # values in the trainer's state; read it there rather than through
        # Callback.model, which would sync the whole model every step.
        if not jax_index:
            jax_index.append(next(i for i, v in enumerate(model.optimizer.variables)
                                  if v is variable))
        return float(model._jax_state["optimizer_variables"][jax_index[0]])
    return float(variable.value)


def _variable_reader(variable, model, name):
    """A function returning the variable's current rate, reading the device only
    after an assignment, and every _CHECK_EVERY steps to catch a change made
    around ``assign`` (inside a compiled step, say)."""
    counter = assignment_counter(variable)
    jax_index = []
    state = {"seen": None, "rate": None, "skip": 0, "exact": counter is None}

    def read():
        if not state["exact"] and counter[0] == state["seen"] and state["skip"] > 0:
            state["skip"] -= 1
            return state["rate"]
        rate = _read_variable(variable, model, jax_index)
        if not state["exact"]:
            previous = state["rate"]
            if counter[0] == state["seen"] and rate != previous and not (
                    math.isnan(rate) and math.isnan(previous)):
                warnings.warn(
                    f"lr_plugin: the learning rate of {name} changed without "
                    "Variable.assign (inside a compiled train step?). Up to "
                    f"{_CHECK_EVERY} steps before this one may show the previous "
                    "rate; from now on it is read at every step.", stacklevel=2)
                state["exact"] = True
            state.update(seen=counter[0], skip=_CHECK_EVERY)
        state["rate"] = rate
        return rate

    return read


class RateRecorder:
    """Records per-step rates and per-epoch records of one model into one run.

    Args:
        log_dir: the user's log directory; the run is ``<log_dir>/lr_timeline``.
        update_freq: "batch", "epoch" or an int N (every N steps).
        owner: the callback using this recorder (named in messages).
    """

    def __init__(self, log_dir, update_freq="batch", owner=None):
        self.log_dir = os.fspath(log_dir)
        self._interval = validate_update_freq(update_freq, type(owner).__name__)
        self.writer = None
        self._records_epochs = False
        self._optimizers = []

    # Training hooks.

    def on_train_begin(self, model, total_steps=None):
        """Opens the run's writer and resolves the optimizers' rate sources.

        Raises:
            writer.LogDirError: when the log directory cannot be written, before
                any training step runs.
        """
        if not is_chief():
            self.writer = None
            return
        self.writer = writer_lib.open_run_writer(run_dir_of(self.log_dir))
        iterations = read_step(model.optimizer)
        self._session = (id(model.optimizer), iterations)
        self._model = model
        self._total_steps = total_steps
        self._optimizers = []
        self._records_epochs = self.writer.claim(metadata.EPOCHS_TAG, self, self._session)
        setup = training_setup.inspect_training(model)
        if self._records_epochs:
            self.writer.add_record(metadata.SETUP_TAG, dict(setup, step=iterations))
        self._first_of_epoch = iterations
        self._done = 0
        self._epoch_start_time = time.time()
        self._resolved = self._resolve_optimizers()

    def _resolve_optimizers(self):
        """Finds each optimizer's rate source; False while they are not built yet.

        A MultiOptimizer creates its sub-optimizers at its first update, so
        they are looked up again after the first batch.
        """
        optimizer = self._model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if hasattr(optimizer, "optimizers") and not list(optimizer.optimizers):
            return False
        for name, optimizer in unwrap_optimizers(optimizer):
            if not self.writer.claim(("rates", name), self, self._session):
                continue  # another callback already records this optimizer here
            if getattr(optimizer, "gradient_accumulation_steps", None):
                warnings.warn(
                    f"lr_plugin: optimizer {name} accumulates gradients over "
                    f"{optimizer.gradient_accumulation_steps} batches; lr_plugin counts "
                    "one update per batch, so its recorded steps are batches, not "
                    "updates.", stacklevel=2)
            entry = {"name": name, "optimizer": optimizer}
            self._refresh_source(entry)
            self._optimizers.append(entry)
        if self._total_steps and self._optimizers:
            self._write_planned(self._total_steps)
        return True

    def _refresh_source(self, entry):
        # Looked up again every epoch: another callback may have replaced the
        # rate source since (ReduceLROnPlateau wraps a schedule at train begin).
        kind, source = learning_rate_source(entry["optimizer"])
        if entry.get("source") is source:
            return
        reader = None
        if kind == "variable":
            reader = _variable_reader(source, self._model, entry["name"])
        elif kind == "callable":
            reader = lambda: float(np.asarray(source()))  # noqa: E731
        entry.update(kind=kind, source=source, read=reader)

    def _write_planned(self, total_steps):
        scheduled = [e for e in self._optimizers if e["kind"] == "schedule"]
        if not scheduled:
            return
        from lr_plugin.schedules.evaluate import schedule_values

        # The plan of the whole training from step 0, so a resumed fit() writes
        # the same plan again rather than one shifted by the steps already done.
        steps = np.arange(total_steps, dtype=np.int64)
        for entry in scheduled:
            values = schedule_values(entry["source"], steps)
            self.writer.add_rates(entry["name"], steps, values, planned=True)

    def on_epoch_begin(self, epoch, model):
        if self.writer is None:
            return
        self._first_of_epoch = read_step(model.optimizer)
        self._done = 0
        self._epoch_start_time = time.time()
        for entry in self._optimizers:
            self._refresh_source(entry)

    def on_train_batch_end(self, batch):
        """Records the rates of the updates done since the last call (memory only)."""
        if self.writer is None:
            return
        if not self._resolved:
            self._resolved = self._resolve_optimizers()
        done = batch + 1
        previous = self._done
        if done <= previous:
            return
        self._done = done
        interval = self._interval
        first = self._first_of_epoch + previous
        last = self._first_of_epoch + done - 1
        for entry in self._optimizers:
            read = entry["read"]
            if read is None:
                continue  # schedules are evaluated at epoch end
            if interval == 1:
                rate = entry["last_rate"] = read()
                if first == last:
                    self.writer.add_rate(entry["name"], first, rate)
                else:
                    self.writer.add_rates(entry["name"], range(first, last + 1),
                                          [rate] * (last - first + 1))
            elif interval == 0:
                if previous == 0:
                    rate = entry["last_rate"] = read()
                    self.writer.add_rate(entry["name"], first, rate)
            else:
                start = first + (-first) % interval
                if start <= last:
                    rate = entry["last_rate"] = read()
                    steps = range(start, last + 1, interval)
                    self.writer.add_rates(entry["name"], steps, [rate] * len(steps))

    def on_epoch_end(self, epoch, logs, flush=True):
        """Evaluates schedules for the epoch's steps, writes the epoch record, flushes."""
        if self.writer is None:
            return
        first, done = self._first_of_epoch, self._done
        steps = self._recorded_steps(first, done)
        rates = {}
        for entry in self._optimizers:
            self._refresh_source(entry)
            if entry["kind"] == "schedule":
                if steps.size:
                    from lr_plugin.schedules.evaluate import schedule_values

                    values = schedule_values(entry["source"], steps)
                    self.writer.add_rates(entry["name"], steps, values)
                    rates[entry["name"]] = float(values[-1])
            elif entry.get("last_rate") is not None and done:
                rates[entry["name"]] = entry["last_rate"]
        if self._records_epochs and done:
            metrics = {
                key: float(value)
                for key, value in (logs or {}).items()
                if isinstance(value, (int, float, np.floating, np.integer))
                and not isinstance(value, bool)
            }
            record = {
                "epoch": int(epoch),
                "first_step": first,
                "last_step": first + done - 1,
                "learning_rate": next(iter(rates.values()), None),
                "learning_rates": rates,
                "metrics": metrics,
                # Unix seconds, for a wall-time axis: steps in between are spread evenly.
                "start_time": self._epoch_start_time,
                "end_time": time.time(),
            }
            self.writer.add_record(metadata.EPOCHS_TAG, record)
        if flush:
            self.flush()

    def _recorded_steps(self, first, done):
        if not done:
            return np.zeros(0, np.int64)
        steps = np.arange(first, first + done, dtype=np.int64)
        if self._interval == 0:
            return steps[:1]
        if self._interval > 1:
            return steps[steps % self._interval == 0]
        return steps

    def step_range(self):
        """(first step of the current epoch, updates done in it so far)."""
        return self._first_of_epoch, self._done

    def flush(self):
        if self.writer is not None:
            self.writer.flush(step=self._first_of_epoch + self._done)

    def on_train_end(self):
        if self.writer is None:
            return
        self.flush()
        self.writer.release(self)
