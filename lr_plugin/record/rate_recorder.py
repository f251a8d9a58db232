"""RateRecorder: the engine behind every lr_plugin callback.

(Over 400 lines: the step convention and the reconciliation with
``optimizer.iterations`` are one set of rules that the batch hook's fast path
must see together. The rate sources and their readers live in
``rate_sources``, the argument checks in ``arguments``.)

It records, for each optimizer update, the learning rate that update applied,
and one record per epoch, into the run's shared RunWriter. The callbacks own
one each and forward their hooks to it.

Step convention (the one rule, used everywhere, implemented by `read_step`):
the step of an update is the value of ``optimizer.iterations`` before that
update, 0-based. Only updates that ran get a step: a batch whose update a
``LossScaleOptimizer`` skipped, or that only accumulated gradients
(``gradient_accumulation_steps``), records nothing.

How updates are counted without reading the device at every batch: the
recorder reads ``iterations`` once at epoch begin and once at epoch end, and
in between counts updates on the host from the batch index Keras passes to
``on_train_batch_end`` (with ``steps_per_execution = k`` one call covers up to
k updates, all recorded), capped by the epoch's known number of batches. With
gradient accumulation over A batches, the update count is the batch counter
divided by A. Under a ``LossScaleOptimizer``, which may skip any update,
``iterations`` is read at every batch end. At epoch end the count is
reconciled with ``iterations``: what is recorded is exactly the updates that
ran (when the epoch's length is unknown, the last execution's steps wait for
that reconciliation).

Where the rate comes from:
- a float (a Keras variable, changed by callbacks or by your code): read at
  every ``on_train_batch_end``, after the update and before any later change,
  so a change made in ``on_epoch_begin``, ``on_train_batch_begin`` or
  ``on_epoch_end`` by a callback before or after this one is attributed to the
  right steps. A change made in ``on_train_batch_end`` by a callback placed
  before this one is attributed one step early: put such callbacks after it.
- a LearningRateSchedule: evaluated on the host at epoch end for the epoch's
  steps, at the counter the optimizer called it with
  (``lr_plugin.schedules.schedule_values``; docs/SCHEDULES.md states how
  close to the device's value), no device read at all.
- a zero-argument callable: called at every ``on_train_batch_end``.
"""

import json
import os
import time

import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import writer as writer_lib
from lr_plugin.record import training_setup
from lr_plugin.record.arguments import validate_update_freq
from lr_plugin.record.rate_sources import AssignmentWatch
from lr_plugin.record.rate_sources import learning_rate_source
from lr_plugin.record.rate_sources import read_number
from lr_plugin.record.rate_sources import read_variable
from lr_plugin.record.rate_sources import unwrap_optimizers
from lr_plugin.record.rate_sources import variable_reader


def planned_steps(params):
    """The number of steps a fit() will run, when Keras knows it."""
    params = params or {}
    epochs, steps = params.get("epochs"), params.get("steps")
    if epochs and steps:
        return int(epochs) * int(steps)
    return None


def begin_training(recorder, model, params, write_planned=True):
    """``on_train_begin`` of every lr_plugin callback.

    With a recorder (the callback has a log_dir), begins recording, with the
    planned rate of every step when ``write_planned`` and the optimizer has a
    schedule; without one, still warns about the traps visible now.
    """
    if recorder is None:
        training_setup.inspect_training(model, params)
        return
    total_steps = planned_steps(params) if write_planned else None
    recorder.on_train_begin(model, params, total_steps=total_steps)


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


def read_step(optimizer):
    """``optimizer.iterations`` as a Python int (a device read: once per epoch).

    The step convention: the step of an update is this value before it.
    """
    return int(read_number(optimizer.iterations))


def accumulation_steps(optimizer):
    """The batches per update of an optimizer accumulating gradients, else 1."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    return int(getattr(optimizer, "gradient_accumulation_steps", None) or 1)


def batch_counter(optimizer):
    """The optimizer's raw batch counter: the step a schedule is called with.

    Equal to ``read_step`` unless the optimizer accumulates gradients, where
    Keras evaluates the schedule at the number of batches seen.
    """
    base = getattr(optimizer, "inner_optimizer", optimizer)
    return int(read_number(getattr(base, "_iterations", base.iterations)))


def schedule_step_of(steps, accumulation):
    """The counter a schedule was called with for update ``steps`` (an array).

    Under accumulation over A batches, update k runs at batch counter k*A + A - 1.
    """
    return steps * accumulation + (accumulation - 1) if accumulation > 1 else steps


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
        self._model = None
        self._session_id = None
        self._records_epochs = False
        self._optimizers = []
        self._watched = []

    # Training hooks.

    def on_train_begin(self, model, params=None, total_steps=None):
        """Opens the run's writer, begins the training session and resolves the
        optimizers' rate sources.

        A previous fit() of this recorder that raised (Keras then calls no
        ``on_train_end``) is let go first: its writer reference, its rate
        watchers and its session, which stays without an end mark, as a crash.
        What it recorded up to the error is kept.

        Raises:
            writer.LogDirError: when the log directory cannot be written, before
                any training step runs.
        """
        if self.writer is not None or self._watched:
            self._let_go(ended=False)
        if not is_chief():
            return
        self.writer = writer_lib.open_run_writer(run_dir_of(self.log_dir))
        optimizer = model.optimizer
        iterations = read_step(optimizer)
        # One fit() is one session: every lr_plugin callback of it has this key.
        self._session = (id(optimizer), iterations)
        self._session_id = self.writer.begin_session(self._session, iterations)
        self._model = model
        self._accumulation = accumulation_steps(optimizer)
        # A LossScaleOptimizer skips updates whose gradients overflow: only
        # the device knows which, so its iterations are read at every batch.
        self._read_every_batch = hasattr(optimizer, "inner_optimizer")
        self._counter_variable = optimizer.inner_optimizer._iterations if (
            self._read_every_batch) else None
        self._counter_index = []
        params = params or {}
        self._batches_per_epoch = params.get("steps") or None
        steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        self._counts_are_certain = (self._read_every_batch or bool(self._batches_per_epoch)
                                    or steps_per_execution == 1)
        self._total_steps = total_steps
        self._optimizers = []
        self._records_epochs = self.writer.claim(metadata.EPOCHS_TAG, self, self._session)
        setup = training_setup.inspect_training(model, params)
        if self._records_epochs:
            self.writer.add_record(metadata.SETUP_TAG, dict(setup, step=iterations))
        self._start_epoch(iterations)
        self._resolved = self._resolve_optimizers()

    def _start_epoch(self, first):
        self._first_of_epoch = first
        self._batch_counter_first = (
            batch_counter(self._model.optimizer) if self._accumulation > 1 else first)
        self._done = 0  # updates of this epoch recorded so far
        self._pending = None  # (steps, {name: rate}) of an execution that may not all have run
        self._reconciled = None
        self._epoch_start_time = time.time()

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
            entry = {"name": name, "optimizer": optimizer}
            self._refresh_source(entry)
            self._optimizers.append(entry)
        if self._total_steps and self._optimizers:
            self._write_planned(self._total_steps)
        return True

    def _refresh_source(self, entry):
        # Looked up again every epoch: another callback may have replaced the
        # rate source since (ReduceLROnPlateau wraps a schedule at its first reduction).
        kind, source = learning_rate_source(entry["optimizer"])
        if entry.get("source") is source:
            return
        reader = None
        if kind == "variable":
            watch = AssignmentWatch.attach(source)
            if watch is not None:
                self._watched.append(source)
            reader = variable_reader(source, self._model, entry["name"], watch)
        elif kind == "callable":
            reader = lambda: float(np.asarray(source()))  # noqa: E731
        entry.update(kind=kind, source=source, read=reader)

    def _schedule_values(self, schedule, steps):
        from lr_plugin.schedules.evaluate import schedule_values

        return schedule_values(schedule, schedule_step_of(steps, self._accumulation))

    def _write_planned(self, total_batches):
        scheduled = [e for e in self._optimizers if e["kind"] == "schedule"]
        if not scheduled:
            return
        # The plan of the whole training from step 0, so a resumed fit() writes
        # the same plan again rather than one shifted by the steps already done.
        steps = np.arange(total_batches // self._accumulation, dtype=np.int64)
        for entry in scheduled:
            values = self._schedule_values(entry["source"], steps)
            self.writer.add_rates(entry["name"], steps, values, planned=True)

    def on_epoch_begin(self, epoch, model):
        if self.writer is None:
            return
        self._start_epoch(read_step(model.optimizer))
        for entry in self._optimizers:
            self._refresh_source(entry)

    def _updates_done(self, batch):
        """Updates of this epoch after the batch with 0-based index ``batch``."""
        if self._read_every_batch:
            counter = int(read_variable(self._counter_variable, self._model, self._counter_index))
            return counter // self._accumulation - self._first_of_epoch
        batches = batch + 1
        if self._batches_per_epoch and batches > self._batches_per_epoch:
            batches = self._batches_per_epoch
        if self._accumulation > 1:
            counter = self._batch_counter_first + batches
            return counter // self._accumulation - self._first_of_epoch
        return batches

    def on_train_batch_end(self, batch):
        """Records the rates of the updates done since the last call (memory only)."""
        if self.writer is None:
            return
        if not self._resolved:
            self._resolved = self._resolve_optimizers()
        done = self._updates_done(batch)
        if self._pending is not None:
            self._commit_pending()
        previous = self._done
        if done <= previous:
            return
        self._done = done
        first = self._first_of_epoch + previous
        # Certain unless the data may end inside an execution of unknown length.
        certain = self._counts_are_certain
        if done == previous + 1 and self._interval == 1 and certain:
            # The usual batch: one update, recorded at once (this hook is hot).
            for entry in self._optimizers:
                if entry["read"] is not None:
                    rate = entry["last_rate"] = entry["read"]()
                    self.writer.add_rate(entry["name"], first, rate)
            return
        steps = self._steps_in(first, self._first_of_epoch + done - 1, previous == 0)
        if not steps:
            return
        rates = {}
        for entry in self._optimizers:
            if entry["read"] is not None:
                rates[entry["name"]] = entry["last_rate"] = entry["read"]()
        if certain:
            self._add_rates(steps, rates)
        else:
            self._pending = (steps, rates)

    def _steps_in(self, first, last, epoch_start):
        """The steps in [first, last] that update_freq records, as a range."""
        interval = self._interval
        if interval == 0:
            return range(first, first + 1 if epoch_start else first)
        if interval == 1:
            return range(first, last + 1)
        return range(first + (-first) % interval, last + 1, interval)

    def _add_rates(self, steps, rates):
        for name, rate in rates.items():
            if len(steps) == 1:
                self.writer.add_rate(name, steps[0], rate)
            else:
                self.writer.add_rates(name, steps, [rate] * len(steps))

    def _commit_pending(self, limit=None):
        if self._pending is None:
            return
        steps, rates = self._pending
        self._pending = None
        if limit is not None:
            steps = range(steps.start, min(steps.stop, limit + 1), steps.step)
        if steps:
            self._add_rates(steps, rates)

    def _reconcile(self):
        """The epoch's real number of updates, from ``iterations`` (read once)."""
        if self._reconciled is None:
            real = read_step(self._model.optimizer) - self._first_of_epoch
            self._commit_pending(limit=self._first_of_epoch + real - 1)
            self._reconciled = self._done = max(real, 0)
        return self._reconciled

    def on_epoch_end(self, epoch, logs, flush=True):
        """Evaluates schedules for the epoch's steps, writes the epoch record, flushes."""
        if self.writer is None:
            return
        done = self._reconcile()
        first = self._first_of_epoch
        steps = self._recorded_steps(first, done)
        rates = {}
        for entry in self._optimizers:
            self._refresh_source(entry)
            if entry["kind"] == "schedule":
                if steps.size:
                    values = self._schedule_values(entry["source"], steps)
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
        return np.asarray(self._steps_in(first, first + done - 1, True), dtype=np.int64)

    def first_step(self):
        """The first step of the current epoch."""
        return self._first_of_epoch

    def last_step(self):
        """The last step that ran in the current epoch (at epoch end: reconciled
        with ``iterations``), or None before its first update."""
        done = self._reconcile()
        return self._first_of_epoch + done - 1 if done else None

    def flush(self):
        if self.writer is not None:
            self.writer.flush(step=self._first_of_epoch + self._done)

    def on_train_end(self):
        if self.writer is not None:
            self._commit_pending()
            # The session's last step: iterations after it, minus one.
            self.writer.end_session(self._session, read_step(self._model.optimizer) - 1)
            self.flush()
        self._let_go(ended=True)

    def _let_go(self, ended):
        """Gives back what a fit() held: rate watchers, the session, the writer."""
        for variable in self._watched:
            AssignmentWatch.detach(variable)
        self._watched = []
        if self.writer is not None:
            if not ended:
                # Rates of an execution that may not have run are dropped with it.
                self._pending = None
                self.writer.abandon_session(self._session_id)
            self.writer.release(self)
        self.writer = self._model = self._session_id = None
