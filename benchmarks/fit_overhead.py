"""Section ``fit``: what the callbacks cost in ``model.fit()``.

A small MLP (Dense 64-64 on 32 features, batch 32: about 1 ms per step on one
CPU core) is trained with ``verbose=0`` and each variant of callbacks in turn.
One model is shared by all variants (its train function is traced once, in the
warm-up), every repetition runs the variants in a rotated order, and each
variant's time is divided by the no-callback time of the same repetition.

Variants:
- ``no_callback``: the baseline.
- ``LearningRateMonitor``: ``LearningRateMonitor(log_dir, update_freq="batch")``.
- ``ReduceLROnPlateau``: ``lr_plugin.callbacks.ReduceLROnPlateau(log_dir=...)``.
- ``empty_batch_hook``: a callback whose ``on_train_batch_end`` does nothing:
  what Keras itself charges for any per-batch hook (it then calls the hooks
  synchronously and converts the logs to Python floats every step).
- ``keras_TensorBoard``: ``keras.callbacks.TensorBoard(update_freq=1)``, the anchor.

Each fit gets a fresh ``log_dir``; the lr_plugin writer of that directory is
closed after the timed fit, as a new process would start a new one. Every fit
is timed in wall time and in CPU time of the whole process (all threads).

Whole-fit ratios on a shared machine swing by tens of percent from one round to
the next, more than the few percent being measured; so the section also times
our hooks from inside real fits (``hook_time_in_fit``): the time spent in them
per step, as a share of a no-callback step, is the overhead with the noise
taken out (what it leaves out: effects on the rest of the step, such as caches).
Last, one fit with LearningRateMonitor runs under cProfile.
"""

import cProfile
import gc
import io
import os
import pstats
import time

from benchmarks import common

FEATURES = 32
UNITS = 64
BATCH = 32
VARIANTS = (
    "no_callback",
    "LearningRateMonitor",
    "ReduceLROnPlateau",
    "empty_batch_hook",
    "keras_TensorBoard",
)
OURS = ("LearningRateMonitor", "ReduceLROnPlateau")
TARGET_RATIO = 1.03


def configure_threads(threads):
    """The same TensorFlow thread pools for every variant (before TF starts)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def build_model(seed=0):
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(UNITS, activation="relu"),
        keras.layers.Dense(UNITS, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    rng = np.random.default_rng(seed)
    return model, rng


def make_callbacks(variant, log_dir):
    import keras

    from lr_plugin.callbacks import LearningRateMonitor, ReduceLROnPlateau

    if variant == "no_callback":
        return []
    if variant == "LearningRateMonitor":
        return [LearningRateMonitor(log_dir=log_dir, update_freq="batch")]
    if variant == "ReduceLROnPlateau":
        # patience longer than the benchmark: the rate stays the same for every variant.
        return [ReduceLROnPlateau(monitor="loss", patience=10_000, log_dir=log_dir)]
    if variant == "empty_batch_hook":

        class EmptyBatchHook(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                pass

        return [EmptyBatchHook()]
    if variant == "keras_TensorBoard":
        return [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq=1)]
    raise ValueError(f"unknown variant {variant!r}")


def _close_lr_writer(log_dir):
    from lr_plugin.format import metadata
    from lr_plugin.format import writer

    run_dir = os.path.join(log_dir, metadata.RUN_SUBDIR)
    if os.path.isdir(run_dir):
        writer.open_run_writer(run_dir).close()


def timed_fit(model, x, y, variant, log_dir, epochs):
    """(wall seconds, CPU seconds of the whole process, all threads) of one fit()."""
    callbacks = make_callbacks(variant, log_dir)
    gc.collect()
    cpu_start = time.process_time()
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False,
              callbacks=callbacks)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    _close_lr_writer(log_dir)
    return elapsed, cpu


HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_end", "on_epoch_end",
         "on_train_end")


def hook_time_in_fit(model, x, y, variant, log_dir, epochs):
    """Seconds spent inside each of a callback's hooks during one real fit().

    Each hook is wrapped in a timer (an instance attribute, which Keras calls
    as it would the method, still synchronously): this measures what our code
    costs in the context of training (caches, TensorFlow's thread hand-offs),
    free of the run-to-run noise of whole-fit timings.
    """
    callback = make_callbacks(variant, log_dir)[0]
    durations = {hook: [] for hook in HOOKS}

    def timed(hook):
        original = getattr(callback, hook)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                durations[hook].append(time.perf_counter() - start)

        return wrapper

    for hook in HOOKS:
        setattr(callback, hook, timed(hook))
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[callback])
    _close_lr_writer(log_dir)
    return durations


def profile_fit(model, x, y, log_dir, epochs, top=12):
    """cProfile of one LearningRateMonitor fit: where the per-step time goes."""
    callbacks = make_callbacks("LearningRateMonitor", log_dir)
    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False,
              callbacks=callbacks)
    profiler.disable()
    _close_lr_writer(log_dir)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, _) in stats.stats.items():
        interesting = "lr_plugin" in filename or name in (
            "pythonify_logs", "_on_train_batch_end", "on_train_batch_end", "convert_to_numpy")
        if interesting:
            if "lr_plugin" in filename:
                where = os.path.relpath(filename, common.REPO_ROOT)
            else:
                where = os.path.basename(filename)
            rows.append({
                "function": f"{where}:{line}({name})",
                "calls": nc,
                "own_s": tt,
                "cumulative_s": ct,
            })
    rows.sort(key=lambda r: r["cumulative_s"], reverse=True)
    return {"profiled_total_s": total, "top": rows[:top]}


def run(quick=False, scratch=None, threads=1, rounds=None, steps_per_epoch=None, epochs=2):
    """Returns this section's results: raw samples, summaries and table rows."""
    configure_threads(threads)
    import keras

    rounds = rounds or (2 if quick else 25)
    steps_per_epoch = steps_per_epoch or (20 if quick else 200)
    model, rng = build_model()
    n = steps_per_epoch * BATCH
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    y = rng.normal(size=(n, 1)).astype("float32")
    steps = epochs * steps_per_epoch

    def log_dir(tag):
        return os.path.join(scratch, "fit", tag)

    common.log(f"fit: warm-up ({len(VARIANTS)} variants)")
    for variant in VARIANTS:
        timed_fit(model, x, y, variant, log_dir(f"warmup_{variant}"), epochs)

    wall = {variant: [] for variant in VARIANTS}
    cpu = {variant: [] for variant in VARIANTS}
    wall_ratios = {variant: [] for variant in VARIANTS[1:]}
    cpu_ratios = {variant: [] for variant in VARIANTS[1:]}
    for index in range(rounds):
        this_round = {}
        for variant in common.rotated(VARIANTS, index):
            this_round[variant] = timed_fit(model, x, y, variant, log_dir(f"r{index}_{variant}"),
                                            epochs)
        base_wall, base_cpu = this_round["no_callback"]
        for variant, (elapsed, cpu_s) in this_round.items():
            wall[variant].append(elapsed)
            cpu[variant].append(cpu_s)
            if variant != "no_callback":
                wall_ratios[variant].append(elapsed / base_wall)
                cpu_ratios[variant].append(cpu_s / base_cpu)
        common.log(
            f"fit: round {index + 1}/{rounds}: "
            + ", ".join(f"{v} {1e3 * t / steps:.3f} ms/step" for v, (t, _) in this_round.items())
        )

    common.log("fit: time inside our hooks during fit()")
    hook_fits = 2 if quick else 5
    batch_hook, hooks_per_step = {}, {}
    for variant in OURS:
        per_call, per_step_total = [], []
        for index in range(hook_fits):
            durations = hook_time_in_fit(
                model, x, y, variant, log_dir(f"hooks{index}_{variant}"), epochs)
            per_call.extend(durations["on_train_batch_end"])
            per_step_total.append(sum(sum(d) for d in durations.values()) / steps)
        batch_hook[variant] = common.summarize(per_call)
        batch_hook[variant]["samples"] = []  # thousands of calls: the summary is enough
        hooks_per_step[variant] = common.summarize(per_step_total)
    profile = profile_fit(model, x, y, log_dir("profile"), epochs)

    per_step = {v: common.summarize([t / steps for t in s]) for v, s in wall.items()}
    cpu_per_step = {v: common.summarize([t / steps for t in s]) for v, s in cpu.items()}
    ratio = {v: common.summarize(r) for v, r in wall_ratios.items()}
    cpu_ratio = {v: common.summarize(r) for v, r in cpu_ratios.items()}
    base_step = per_step["no_callback"]["median"]
    hook_share = {v: h["median"] / base_step for v, h in hooks_per_step.items()}

    labels = {
        "LearningRateMonitor": 'LearningRateMonitor(update_freq="batch")',
        "ReduceLROnPlateau": "ReduceLROnPlateau(log_dir=...)",
        "empty_batch_hook": "empty on_train_batch_end (Keras' own cost of a batch hook)",
        "keras_TensorBoard": "keras TensorBoard(update_freq=1) (anchor)",
    }
    rows = [common.row("fit", "no callback: wall time per step", per_step["no_callback"], "ms",
                       scale=1e3)]
    for variant in VARIANTS[1:]:
        ours = variant in OURS
        label = labels[variant]
        rows.append(common.row("fit", f"{label}: wall time per step", per_step[variant], "ms",
                               scale=1e3))
        rows.append(common.row(
            "fit", f"{label}: wall-time ratio to no callback", ratio[variant], "\u00d7",
            target=f"\u2264 {TARGET_RATIO}" if ours else None,
            met=(ratio[variant]["median"] <= TARGET_RATIO) if ours else None, digits=4))
        rows.append(common.row(
            "fit", f"{label}: CPU-time ratio to no callback", cpu_ratio[variant], "\u00d7",
            digits=4))
    for variant in OURS:
        rows.append(common.row(
            "fit", f"{labels[variant]}: inside on_train_batch_end, per call",
            batch_hook[variant], "\u00b5s", scale=1e6))
        rows.append(common.row(
            "fit", f"{labels[variant]}: inside all its hooks, per step, as a share of a "
                   "no-callback step", value=hook_share[variant], unit="%", scale=100,
            target=f"\u2264 {100 * (TARGET_RATIO - 1):.0f}%",
            met=hook_share[variant] <= TARGET_RATIO - 1))
    return {
        "config": {
            "model": f"Dense {UNITS}-{UNITS}-1 on {FEATURES} features, SGD(0.01), mse",
            "batch_size": BATCH,
            "epochs_per_fit": epochs,
            "steps_per_epoch": steps_per_epoch,
            "rounds": rounds,
            "tf_intra_op_threads": threads,
            "tf_inter_op_threads": threads,
            "keras_backend": keras.backend.backend(),
            "variants": list(VARIANTS),
            "timed": "the whole fit() call (wall: perf_counter; CPU: process_time, all threads) "
                     "/ steps; ratios are per round, against that round's no-callback fit",
        },
        "wall_per_fit_s": {v: common.summarize(s) for v, s in wall.items()},
        "time_per_step_s": per_step,
        "cpu_time_per_step_s": cpu_per_step,
        "ratio_to_no_callback": ratio,
        # The least disturbed fit of each variant, for a machine shared with other work.
        "ratio_of_fastest_fits": {v: min(wall[v]) / min(wall["no_callback"]) for v in VARIANTS[1:]},
        "cpu_ratio_to_no_callback": cpu_ratio,
        "batch_hook_in_fit_s": batch_hook,
        "all_hooks_per_step_in_fit_s": hooks_per_step,
        "all_hooks_share_of_no_callback_step": hook_share,
        "profile_LearningRateMonitor": profile,
        "rows": rows,
    }
