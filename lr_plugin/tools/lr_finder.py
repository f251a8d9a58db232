"""find_lr: an LR range test for Keras 3 models, drawn by the LR Timeline tab.

(Over 400 lines: the sweep, the exact restore of model and optimizer state and
the suggestion rules are one feature with one public function.)
"""

import inspect
import math
import os
import random
import time
import uuid
import warnings

import keras
import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import writer as writer_lib

MODES = ("exponential", "linear")
SUGGESTION_METHODS = ("valley", "steepest", "min_loss_div_10")
DEFAULT_SUGGESTION = "valley"
DEFAULT_BATCH_SIZE = 32
"""Batch size for array inputs when none is given, as in ``fit()``."""

_MIN_POINTS = 3  # fewer points before the divergence than this: no suggestion
_SHUFFLE_SEED = 0  # array inputs are shuffled each pass, reproducibly


class LRFinderResult:
    """What `find_lr` measured: the rates it applied and the losses they gave.

    Attributes:
        learning_rates: float64 numpy array, the rate of each update of the
            sweep, exactly as applied (float32 values, as the optimizer holds them).
        losses: float64 numpy array; ``losses[i]`` is the loss measured on the
            next batch *after* update ``i``, so it shows that rate's effect.
        smoothed_losses: the debiased exponential moving average of ``losses``
            that the stop rule watched (equal to ``losses`` with ``smoothing=0``).
        diverged_at: the rate at which the smoothed loss exceeded
            ``diverge_factor`` times its minimum or became NaN, or None when the
            sweep reached ``max_lr`` (or ran out of data) first.
        stopped: why the sweep ended: ``"diverged"``, ``"max_lr"`` or ``"out_of_data"``.
        suggestions: ``{"valley": rate, "steepest": rate, "min_loss_div_10": rate}``
            computed on the losses before the divergence, averaged without lag
            (see `suggest`); values are None when too few points came before it.
        suggestion: the default suggestion (``suggestions["valley"]``).
        step: the optimizer's iteration count when the sweep started; the
            sweep restored it, so the next ``fit()`` starts at this step.
    """

    def __init__(self, learning_rates, losses, smoothed_losses, diverged_at, stopped,
                 step=0, config=None):
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.smoothed_losses = np.asarray(smoothed_losses, dtype=np.float64)
        self.diverged_at = None if diverged_at is None else float(diverged_at)
        self.stopped = stopped
        self.step = int(step)
        self.config = dict(config or {})
        self.suggestions = suggest(self.learning_rates, self.losses,
                                   diverged=diverged_at is not None,
                                   window=memory(self.config.get("smoothing", 0.0)))
        self.suggestion = self.suggestions[DEFAULT_SUGGESTION]

    def __repr__(self):
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in self.suggestions.items())
        return (f"<LRFinderResult {self.learning_rates.size} steps, "
                f"diverged_at={_fmt(self.diverged_at)}, {shown}>")

    def to_record(self):
        """The sweep as one JSON-able record of the ``lr_finder`` tag."""
        return {
            metadata.SESSION_KEY: self.config.get("id") or _new_id(),
            "step": self.step,
            **{k: v for k, v in self.config.items() if k != "id"},
            "learning_rates": self.learning_rates.tolist(),
            "losses": self.losses.tolist(),
            "smoothed_losses": self.smoothed_losses.tolist(),
            "diverged_at": self.diverged_at,
            "stopped": self.stopped,
            "suggestions": dict(self.suggestions),
            "suggestion": DEFAULT_SUGGESTION,
        }

    def plot(self, ax=None, smoothed=True):
        """Draws loss against learning rate (log x axis) with matplotlib.

        Args:
            ax: a matplotlib Axes to draw into; a new figure's when None.
            smoothed: also draw the smoothed loss.

        Returns:
            The Axes.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(
                "LRFinderResult.plot() needs matplotlib, which is not installed. "
                "Install it with `pip install matplotlib`, or draw the sweep in "
                "TensorBoard: pass log_dir= to find_lr and open the LR Timeline tab."
            ) from error
        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.learning_rates, self.losses, alpha=0.4, label="loss")
        if smoothed:
            ax.plot(self.learning_rates, self.smoothed_losses, label="smoothed loss")
        for name, rate in self.suggestions.items():
            if rate is not None:
                ax.axvline(rate, linestyle="--", linewidth=1, label=f"{name}: {rate:.3g}")
        if self.diverged_at is not None:
            ax.axvline(self.diverged_at, color="red", linewidth=1,
                       label=f"diverged at {self.diverged_at:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


def find_lr(model, x, y=None, *, min_lr=1e-7, max_lr=10.0, steps=100, batch_size=None,
            mode="exponential", smoothing=0.8, diverge_factor=4.0, log_dir=None,
            verbose="auto"):
    """Runs an LR range test: trains while the rate grows, then undoes the training.

    Example:

    ```python
    result = lr_plugin.find_lr(model, x_train, y_train, log_dir="logs/run1")
    result.suggestion                # the valley rule's rate, e.g. 0.0031
    model.optimizer.learning_rate = result.suggestion
    model.fit(x_train, y_train, epochs=10, callbacks=[
        lr_plugin.LearningRateMonitor(log_dir="logs/run1")])
    ```

    Update ``i`` of the sweep applies rate ``min_lr * (max_lr / min_lr) ** (i /
    (steps - 1))`` (``mode="exponential"``) or the linear ramp between them;
    ``losses[i]`` is measured on the next batch, after that update (one more
    forward and backward pass than updates). The sweep stops early once the
    smoothed loss exceeds ``diverge_factor`` times its lowest value or becomes
    NaN. Afterwards every variable of the model (weights, random-seed state),
    of the optimizer (slots, iteration count, learning rate) and of the
    metrics is restored bit for bit, and a schedule on the optimizer is put
    back: a ``fit()`` after `find_lr` is the ``fit()`` you would have run
    without it. An optimizer that was not built yet is built first (zero
    slots, as ``fit()`` would build it).

    Smoothing. The debiased exponential moving average with factor ``smoothing``
    remembers about ``1 / (1 - smoothing)`` steps and lags a steadily changing
    loss by about ``smoothing / (1 - smoothing)`` steps: fastai's 0.98 lags 49
    steps, half of a 100-step sweep (a factor ~7000 in rate). Measured on a
    quadratic whose divergence rate 2/lambda is known (docs/LR_FINDER.md, 100
    steps from 1e-7 to 10): without smoothing the divergence is reported at
    the 4th rate above 2/lambda (1.8 x 2/lambda); 0.8 reports it 6 steps
    later (5.4 x), 0.98 8 steps later (7.8 x); the steepest point moves 2
    (0.8) or 5 (0.98) steps late. The default 0.8 (memory ~5 steps, lag ~4,
    a factor ~2 in rate) cuts batch noise by 3x and keeps the curve near the
    raw one; the suggestions use a centered average of the same memory, which
    does not lag (see `suggest`). Use 0 for full-batch, noise-free data. A minimum at or below zero (a loss that can
    go negative) is never "exceeded": then only NaN or infinity stops the sweep.

    Args:
        model: a compiled Keras model.
        x: input data as for ``fit()``: NumPy arrays (or a list or dict of
            them), a ``tf.data.Dataset``, a ``keras.utils.PyDataset``, a Python
            generator or another iterable yielding ``(x, y)`` or
            ``(x, y, sample_weight)`` batches. Arrays are shuffled (with a fixed
            seed) and cycled; datasets and re-iterable inputs are restarted
            when exhausted; a one-shot generator that runs out ends the sweep.
        y: targets, only with array inputs.
        min_lr: rate of the first update. Defaults to 1e-7.
        max_lr: rate of the last update. Defaults to 10.
        steps: number of updates (and rates) of a full sweep. Defaults to 100.
        batch_size: batch size for array inputs (default 32, as ``fit()``);
            must be None for datasets and generators, which batch themselves.
        mode: ``"exponential"`` (rates evenly spaced on a log scale, the
            default) or ``"linear"``.
        smoothing: factor in [0, 1) of the loss's moving average. Defaults to 0.8.
        diverge_factor: the sweep stops when the smoothed loss exceeds this
            multiple of its minimum. Must be > 1. Defaults to 4.
        log_dir: the run's log directory (the one given to
            ``LearningRateMonitor``): the sweep is written there and the LR
            Timeline tab draws it. None writes nothing. A directory that
            cannot be written raises ``LogDirError`` before any training.
        verbose: ``"auto"`` or 1 (a progress bar, as ``fit()``), 2 (one line
            at the end) or 0 (silent).

    Returns:
        An `LRFinderResult`.
    """
    _validate(model, min_lr, max_lr, steps, mode, smoothing, diverge_factor, verbose)
    batches = _batch_source(x, y, batch_size)
    table = _sweep_rates(min_lr, max_lr, steps, mode)
    optimizer = model.optimizer
    started = time.time()
    first = next(batches, None)
    if first is None:
        raise ValueError("find_lr received no data: the input yielded no batch. "
                         "Pass the training data you would pass to fit().")
    # An unwritable log_dir raises LogDirError here, before any training.
    run_writer = None if log_dir is None else writer_lib.open_run_writer(
        os.path.join(os.fspath(log_dir), metadata.RUN_SUBDIR))
    _build(model, first)
    step = int(keras.ops.convert_to_numpy(optimizer.iterations))
    with _Restored(model) as restored:
        restored.sweep_with(table, step)
        rates, losses, smoothed, diverged_at, stopped = _sweep(
            model, restored, first, batches, table, smoothing, diverge_factor,
            _progbar(steps, verbose))
    result = LRFinderResult(rates, losses, smoothed, diverged_at, stopped, step, config={
        "id": _new_id(),
        "optimizer": _optimizer_name(optimizer),
        "mode": mode, "min_lr": float(min_lr), "max_lr": float(max_lr), "steps": int(steps),
        "smoothing": float(smoothing), "diverge_factor": float(diverge_factor),
        "start_time": started, "end_time": time.time(),
    })
    if result.suggestion is None:
        warnings.warn(
            f"find_lr: only {_points_before(result)} points came before the loss "
            "diverged, too few for a suggestion. Lower min_lr or raise steps.",
            stacklevel=2)
    if run_writer is not None:
        write_sweep(run_writer, result)
    return result


def write_sweep(run_writer, result):
    """Writes a sweep to a run's writer, where the tab finds it, and lets the writer go.

    A failure to write is a warning: the sweep's result is still returned.
    """
    try:
        run_writer.add_record(metadata.LR_FINDER_TAG, result.to_record())
        run_writer.flush(step=result.step)
    except Exception as error:  # the sweep is done; do not lose its result to logging
        warnings.warn(f"find_lr could not write the sweep to {run_writer.run_dir!r}: {error}. "
                      "The result is returned but not drawn in TensorBoard.", stacklevel=3)
    finally:
        _let_go(run_writer)


def _let_go(run_writer):
    # A reference-counted writer takes release(). One without counts (whose
    # release(owner) drops callback claims) stays open, flushed: the fit()
    # that follows shares it, one event file per directory, and closing it
    # would cut off a callback of this process still writing there.
    release = getattr(run_writer, "release", None)
    if release is not None and not inspect.signature(release).parameters:
        release()


def memory(smoothing):
    """Half-width of the centered average the suggestions use: the moving
    average's memory less one (4 for 0.8, 0 without smoothing)."""
    return max(0, int(round(1.0 / (1.0 - float(smoothing)))) - 1)


def suggest(learning_rates, losses, diverged=False, window=0):
    """The suggested rates of a sweep, ``{method: rate or None}``.

    Only the points before the divergence count (with ``diverged``, the last
    point is the one that diverged). The losses are first averaged over
    ``2 * window + 1`` points centered on each point (fewer at the ends):
    as much noise removed as the stop rule's moving average with the same
    memory, without its lag (a centered average cannot stop a sweep, it
    needs later points; the suggestions come after the sweep). Rules:

    - ``valley`` (fastai's rule, as described there): the longest run of
      points over which the loss keeps falling, not necessarily contiguous
      (the longest strictly decreasing subsequence, in the order of the
      sweep); the rate halfway through it, by step.
    - ``steepest``: where the loss falls fastest per unit of log(rate), at
      or before its minimum (and not among the first ``window`` points).
    - ``min_loss_div_10``: the rate of the lowest loss, divided by 10.
    """
    rates = np.asarray(learning_rates, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    end = rates.size - 1 if diverged else rates.size
    finite = np.isfinite(losses[:end])
    end = int(np.argmin(finite)) if not finite.all() else end
    rates, losses = rates[:end], _centered_average(losses[:end], int(window))
    if rates.size < _MIN_POINTS:
        return {name: None for name in SUGGESTION_METHODS}
    lowest = int(np.argmin(losses))
    slopes = np.gradient(losses, np.log(rates))
    # Not within `window` of the start, where the average is cut short and noisier.
    first = min(int(window), lowest)
    steepest = first + int(np.argmin(slopes[first: lowest + 1]))
    first, last = _longest_valley(losses)
    return {
        "valley": float(rates[(first + last) // 2]),
        "steepest": float(rates[steepest]),
        "min_loss_div_10": float(rates[lowest] / 10.0),
    }


def _centered_average(values, window):
    if window <= 0 or values.size == 0:
        return values
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(values.size)
    low = np.maximum(index - window, 0)
    high = np.minimum(index + window + 1, values.size)
    return (sums[high] - sums[low]) / (high - low)


def _longest_valley(losses):
    """``(first, last)`` index of the longest strictly decreasing subsequence."""
    n = losses.size
    length = np.ones(n, dtype=np.int64)
    origin = np.arange(n)
    for i in range(1, n):
        earlier = np.nonzero(losses[:i] > losses[i])[0]
        if earlier.size:
            best = earlier[np.argmax(length[earlier])]
            length[i] = length[best] + 1
            origin[i] = origin[best]
    last = int(np.argmax(length))
    return int(origin[last]), last


# The sweep.


def _sweep(model, restored, first, batches, table, smoothing, diverge_factor, progbar):
    """Trains one batch per rate; returns (rates, losses, smoothed, diverged_at, stopped)."""
    rates, losses, smoothed = [], [], []
    average, lowest = 0.0, math.inf
    diverged_at, stopped = None, "max_lr"
    batch = first
    # Update i at table[i]; the loss of the pass that follows it is its loss.
    # The pass after the last update only measures (its update is undone).
    for i in range(table.size + 1):
        if i:
            batch = next(batches, None)
            if batch is None:
                stopped = "out_of_data"
                break
        restored.set_rate(i)
        loss = _train_on(model, batch)
        if i == 0:
            continue
        rate = float(table[i - 1])
        average = smoothing * average + (1.0 - smoothing) * loss
        value = average / (1.0 - smoothing**i) if smoothing else loss
        rates.append(rate)
        losses.append(loss)
        smoothed.append(value)
        if progbar is not None:
            progbar.update(i, values=[("lr", rate), ("loss", loss), ("smoothed_loss", value)])
        # A ratio to a minimum at or below zero means nothing: only NaN stops then.
        if not math.isfinite(value) or 0 < lowest < value / diverge_factor:
            diverged_at, stopped = rate, "diverged"
            break
        lowest = min(lowest, value)
    if progbar is not None and stopped != "max_lr":
        progbar.update(len(rates), values=[], finalize=True)
    return rates, losses, smoothed, diverged_at, stopped


def _train_on(model, batch):
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
    logs = model.train_on_batch(x, y, sample_weight=sample_weight, return_dict=True)
    if "loss" not in logs:
        raise ValueError(
            "find_lr needs the loss of each training step, but the model's train "
            f"step returned no 'loss'. Received logs with keys {sorted(logs)}. "
            "Compile the model with a loss, or return {'loss': ...} from train_step.")
    return float(np.asarray(logs["loss"]))


class _SweepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Stands in for the optimizer's own schedule during a sweep: the rate
    table, indexed by the iterations since the sweep began."""

    def __init__(self, table, start):
        self.table = np.asarray(table, dtype=np.float32)
        self.start = int(start)

    def __call__(self, step):
        index = keras.ops.cast(step, "int32") - self.start
        index = keras.ops.clip(index, 0, self.table.size - 1)
        return keras.ops.take(keras.ops.convert_to_tensor(self.table), index)

    def get_config(self):
        return {"table": self.table.tolist(), "start": self.start}


class _Restored:
    """Snapshots the model's, optimizer's and metrics' variables and the global
    random generators on entry, and puts them, the optimizer's learning rate
    and the train function back on exit."""

    def __init__(self, model):
        self.model = model
        self.optimizer = model.optimizer

    def __enter__(self):
        model, optimizer = self.model, self.optimizer
        self.variables = (list(model.variables) + list(optimizer.variables)
                          + list(model.metrics_variables))
        self.values = [np.array(keras.ops.convert_to_numpy(v), copy=True)
                       for v in self.variables]
        self.random_state = _global_random_state()
        self.rate_variable = isinstance(optimizer.learning_rate, keras.Variable)
        self.learning_rate = _learning_rate_object(optimizer)
        self.train_function = model.train_function
        return self

    def sweep_with(self, table, start):
        self.table = table
        if not self.rate_variable:
            # A schedule is traced into the train function: trace one for the sweep.
            self.optimizer.learning_rate = _SweepSchedule(table, start)
            self.model.train_function = None

    def set_rate(self, index):
        if self.rate_variable:
            self.optimizer.learning_rate = self.table[min(index, self.table.size - 1)]

    def __exit__(self, *exc_info):
        if not self.rate_variable:
            self.optimizer.learning_rate = self.learning_rate
        self.model.train_function = self.train_function
        for variable, value in zip(self.variables, self.values):
            variable.assign(value)
        _set_global_random_state(self.random_state)
        return False


def _global_random_state():
    """The process-wide generators a training step may draw from: Python's,
    NumPy's and, on PyTorch, torch's (its unseeded Dropout draws there; the
    other backends keep layer seeds in variables)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state()}
    if keras.backend.backend() == "torch":
        import torch

        state["torch"] = torch.random.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_global_random_state(state):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "torch" in state:
        import torch

        torch.random.set_rng_state(state["torch"])
        if "cuda" in state:
            torch.cuda.set_rng_state_all(state["cuda"])


def _learning_rate_object(optimizer):
    # The schedule or callable itself, not its value (optimizer.learning_rate
    # evaluates a schedule); LossScaleOptimizer keeps it on the inner optimizer.
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return inner._learning_rate


def _build(model, batch):
    # Build before the snapshot, so everything the sweep touches is restored;
    # fit() builds the same way (zero slots), so later training is unchanged.
    if not model.built or not model.optimizer.built:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        model._symbolic_build(data_batch=(x, y, sample_weight))


def _sweep_rates(min_lr, max_lr, steps, mode):
    """The float32 rates of the sweep's updates."""
    if steps == 1:
        return np.array([min_lr], dtype=np.float32)
    if mode == "exponential":
        rates = np.geomspace(min_lr, max_lr, steps)
    else:
        rates = np.linspace(min_lr, max_lr, steps)
    return rates.astype(np.float32)


# Inputs.


def _batch_source(x, y, batch_size):
    """An iterator of batches, as fit() would read them."""
    if x is None:
        raise ValueError("find_lr needs training data. Received x=None.")
    leaves = keras.tree.flatten(x) if _is_nested(x) else [x]
    if leaves and all(hasattr(leaf, "shape") and hasattr(leaf, "__len__") for leaf in leaves):
        return _array_batches(x, y, batch_size)
    kind = "a tf.data.Dataset" if _is_tf_dataset(x) else f"a {type(x).__name__}"
    if y is not None:
        raise ValueError(
            f"find_lr received x as {kind}, which yields its own targets, and y. "
            "Pass y only with array inputs; let the dataset yield (x, y) batches.")
    if batch_size is not None:
        raise ValueError(
            f"find_lr received x as {kind}, which batches itself, and "
            f"batch_size={batch_size!r}. Leave batch_size=None for datasets and generators.")
    if isinstance(x, keras.utils.PyDataset):
        return _cycle(lambda: (x[i] for i in range(len(x))), type(x).__name__)
    if _is_tf_dataset(x):
        return _cycle(x.as_numpy_iterator, "tf.data.Dataset")
    if hasattr(x, "__next__"):
        return iter(x)  # a one-shot generator: running out ends the sweep
    if hasattr(x, "__iter__"):
        return _cycle(lambda: iter(x), type(x).__name__)
    raise TypeError(
        "find_lr accepts NumPy arrays, a tf.data.Dataset, a keras.utils.PyDataset "
        f"or a generator of (x, y) batches, as fit() does. Received x of type {type(x).__name__}.")


def _is_nested(x):
    return isinstance(x, (list, tuple, dict))


def _is_tf_dataset(x):
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "as_numpy_iterator")


def _array_batches(x, y, batch_size):
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received batch_size={batch_size!r}")
    arrays = keras.tree.map_structure(np.asarray, (x, y))
    sizes = {len(a) for a in keras.tree.flatten(arrays)}
    if len(sizes) != 1:
        raise ValueError(
            "find_lr needs x and y with the same number of samples. Received "
            f"sample counts {sorted(sizes)}.")
    samples = sizes.pop()
    if samples == 0:
        raise ValueError("find_lr received empty arrays (0 samples). Pass your training data.")
    size = min(int(batch_size), samples)
    rng = np.random.default_rng(_SHUFFLE_SEED)

    def passes():
        while True:
            order = rng.permutation(samples)
            # Full batches only, so every loss is a mean over the same number of samples.
            for begin in range(0, samples - size + 1, size):
                index = order[begin:begin + size]
                yield keras.tree.map_structure(lambda a: a[index], arrays)

    return passes()


def _cycle(start, what):
    """Restarts an input that can be iterated again whenever it runs out."""
    while True:
        empty = True
        for batch in start():
            empty = False
            yield batch
        if empty:
            raise ValueError(f"find_lr received an empty {what}: it yielded no batch.")


# Checks and small helpers.


def _validate(model, min_lr, max_lr, steps, mode, smoothing, diverge_factor, verbose):
    if not isinstance(model, keras.Model):
        raise TypeError(f"find_lr needs a Keras model. Received: {type(model).__name__}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("find_lr needs a compiled model: call model.compile(optimizer=..., "
                         "loss=...) first.")
    if getattr(model.optimizer, "gradient_accumulation_steps", None):
        raise ValueError(
            "find_lr does not support optimizers that accumulate gradients: a batch "
            "would not be an update. Received gradient_accumulation_steps="
            f"{model.optimizer.gradient_accumulation_steps}.")
    for name, value in (("min_lr", min_lr), ("max_lr", max_lr)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive finite number. Received {name}={value!r}")
    if not max_lr > min_lr:
        raise ValueError(f"max_lr must be greater than min_lr. Received min_lr={min_lr!r}, "
                         f"max_lr={max_lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2. Received steps={steps!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}. Received mode={mode!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) \
            or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1). Received smoothing={smoothing!r}")
    if isinstance(diverge_factor, bool) or not isinstance(diverge_factor, (int, float)) \
            or not diverge_factor > 1:
        raise ValueError("diverge_factor must be a number > 1. Received "
                         f"diverge_factor={diverge_factor!r}")
    if verbose not in ("auto", 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received verbose={verbose!r}")


def _progbar(steps, verbose):
    if verbose == 0:
        return None
    return keras.utils.Progbar(steps, verbose=1 if verbose == "auto" else verbose,
                               stateful_metrics=("lr", "loss", "smoothed_loss"))


def _optimizer_name(optimizer):
    from lr_plugin.record.rate_recorder import unwrap_optimizers

    return unwrap_optimizers(optimizer)[0][0]


def _points_before(result):
    return result.learning_rates.size - (1 if result.diverged_at is not None else 0)


def _new_id():
    return "lr_finder-" + uuid.uuid4().hex[:12]


def _fmt(value):
    return "None" if value is None else f"{value:.3g}"
