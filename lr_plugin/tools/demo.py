"""``lr-plugin demo``: small Keras models trained on data made in the process,
one run per way of setting the learning rate, then TensorBoard on them. The
plateau run begins with ``find_lr`` and trains from its suggested rate.

No downloads: ``keras.datasets`` fetches from the internet, which many
machines cannot reach.
"""

import os
import shutil
import sys
import time

import numpy as np


def make_data(seed=0, samples=2048, features=8):
    """A noisy nonlinear regression task: the validation loss plateaus at the noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features)).astype("float32")
    weights = rng.normal(size=(features,))
    signal = np.sin(x @ weights) + 0.5 * x[:, 0] * x[:, 1]
    y = (signal + rng.normal(scale=0.3, size=samples)).astype("float32")[:, None]
    split = samples * 3 // 4
    return (x[:split], y[:split]), (x[split:], y[split:])


def _model(optimizer, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def _progress(title, index, total):
    import keras

    interactive = sys.stdout.isatty()

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            line = (f"[{index}/{total}] {title:<34} epoch {epoch + 1:>3}/{self.params['epochs']}"
                    f"  loss {logs.get('loss', float('nan')):.4f}"
                    f"  val_loss {logs.get('val_loss', float('nan')):.4f}  lr {rate:.2e}")
            # One line redrawn on a terminal; a line per epoch in a log file or pipe.
            sys.stdout.write(f"\r{line}" if interactive else f"{line}\n")
            sys.stdout.flush()

        def on_train_end(self, logs=None):
            if interactive:
                sys.stdout.write("\n")

    return Progress()


def runs():
    """The demo's runs: (name, title, epochs, build) where build(log_dir) -> (optimizer, callbacks)."""
    import keras

    from lr_plugin import callbacks as lr_callbacks

    def plateau(log_dir):
        callbacks = [
            lr_callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=3, cooldown=2,
                min_delta=1e-3, min_lr=1e-4, verbose=0, log_dir=log_dir),
            keras.callbacks.TensorBoard(log_dir=log_dir),
        ]
        return keras.optimizers.Adam(0.02), callbacks

    def cosine_warmup(log_dir):
        schedule = keras.optimizers.schedules.CosineDecay(
            1e-4, decay_steps=24 * 30, warmup_target=0.01, warmup_steps=24 * 5, alpha=0.01)
        callbacks = [lr_callbacks.LearningRateMonitor(log_dir),
                     keras.callbacks.TensorBoard(log_dir=log_dir)]
        return keras.optimizers.Adam(schedule), callbacks

    def step_decay(log_dir):
        def schedule(epoch, lr):
            return 0.02 * 0.5 ** (epoch // 8)

        callbacks = [lr_callbacks.LearningRateScheduler(schedule, log_dir=log_dir),
                     keras.callbacks.TensorBoard(log_dir=log_dir)]
        return keras.optimizers.SGD(0.02, momentum=0.9), callbacks

    def one_cycle(log_dir):
        from lr_plugin.schedules import OneCycle

        schedule = OneCycle(max_lr=0.01, total_steps=24 * 30)
        callbacks = [
            lr_callbacks.LearningRateMonitor(log_dir),
            lr_callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4,
                                           min_delta=1e-3, log_dir=log_dir),
            keras.callbacks.TensorBoard(log_dir=log_dir),
        ]
        return keras.optimizers.Adam(schedule), callbacks

    return [
        ("plateau", "ReduceLROnPlateau with cooldown", 40, plateau),
        ("cosine_warmup", "CosineDecay with warmup", 30, cosine_warmup),
        ("step_decay", "LearningRateScheduler step decay", 30, step_decay),
        ("one_cycle_plateau", "OneCycle + plateau on a schedule", 30, one_cycle),
    ]


FINDER_RUNS = ("plateau",)
"""Runs that begin with an LR range test and train from its suggested rate."""


def _start_at_suggested_rate(model, x, y, run_dir, title, out):
    """Runs find_lr (logged to the run, so the tab draws the sweep) and sets the rate."""
    from lr_plugin.tools.lr_finder import find_lr

    result = find_lr(model, x, y, batch_size=64, min_lr=1e-5, max_lr=10.0, steps=100,
                     log_dir=run_dir, verbose=0)
    model.optimizer.learning_rate = result.suggestion
    print(f"{title}: find_lr suggests {result.suggestion:.2e} (valley rule; diverged at "
          f"{result.diverged_at or float('nan'):.2e}); training starts there", file=out)
    return result


def train_all(logdir, epochs=None, out=sys.stdout):
    """Trains every demo run into ``logdir/<run>``; returns the run directories."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    (x, y), (x_val, y_val) = make_data()
    os.makedirs(logdir, exist_ok=True)
    plan = runs()
    directories = []
    started = time.monotonic()
    for index, (name, title, run_epochs, build) in enumerate(plan, start=1):
        run_dir = os.path.join(logdir, name)
        shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run, not a resumed one
        optimizer, callbacks = build(run_dir)
        model = _model(optimizer, seed=index)
        if name in FINDER_RUNS:
            _start_at_suggested_rate(model, x, y, run_dir, f"[{index}/{len(plan)}] {title}", out)
        model.fit(x, y, batch_size=64, epochs=epochs or run_epochs,
                  validation_data=(x_val, y_val), verbose=0,
                  callbacks=callbacks + [_progress(title, index, len(plan))])
        directories.append(run_dir)
    print(f"Trained {len(plan)} runs in {time.monotonic() - started:.0f} s.", file=out)
    return directories


def port_problem(host, port):
    """Why TensorBoard could not listen on ``host:port``, or None (checked before training)."""
    import socket

    if port == 0:
        return None
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as error:
        return (f"cannot listen on {host}:{port} ({error.strerror or error}). Pass another "
                "--port (0 picks a free one), or --no-serve.")
    return None


def serve(logdir, host="127.0.0.1", port=6006):
    """Serves TensorBoard with the LR Timeline tab until interrupted."""
    from tensorboard import default
    from tensorboard import program

    from lr_plugin.serve.tb_loader import LrTimelineLoader

    plugins = default.get_plugins()
    if not any(p is LrTimelineLoader or isinstance(p, LrTimelineLoader) for p in plugins):
        plugins.append(LrTimelineLoader)  # running from a source tree, not installed
    board = program.TensorBoard(plugins=plugins)
    board.configure(argv=[None, "--logdir", logdir, "--host", host, "--port", str(port)])
    try:
        url = board.launch()
    except program.TensorBoardServerException as error:
        print(f"lr-plugin demo: error: could not start TensorBoard: {error} "
              "Pass another --port, or --no-serve.", file=sys.stderr)
        return 2
    print(f"TensorBoard with the LR Timeline tab: {url}#lr_timeline  (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopped.")
    return 0
