"""A real training in a child process, for the writer tests that need one
(signals, size limits, concurrent writers), and the helpers that read what it wrote.

Run as ``python writer_processes.py '<json options>'``; it prints ``step N``
after every update (after LearningRateMonitor recorded it) and ``done`` at the end.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def start(options, **popen):
    """Starts a child training with ``options`` (see ``main``); stdout is a pipe."""
    root = os.path.dirname(os.path.dirname(HERE))
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", PYTHONPATH=path)
    return subprocess.Popen(
        [sys.executable, os.path.join(HERE, "writer_processes.py"), json.dumps(options)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def wait_for_step(process, step):
    """Reads the child's output until it reports ``step``; returns the last step seen."""
    for line in process.stdout:
        if line.startswith("step ") and int(line.split()[1]) >= step:
            return int(line.split()[1])
    raise AssertionError(f"the child ended before step {step}: {process.stderr.read()[-3000:]}")


def read_payloads(run_dir):
    """See raw_events.read_payloads (imported here only in the test process, not the child)."""
    from raw_events import read_payloads as read

    return read(run_dir)


def recorded_steps(run_dir, tag="learning_rate/SGD"):
    return [int(s) for steps, _ in read_payloads(run_dir).get(tag, []) for s in steps]


def main(options):
    import numpy as np
    import keras

    from lr_plugin.callbacks import LearningRateMonitor
    from lr_plugin.format import writer as writer_lib

    if "flush_secs" in options:
        writer_lib.FLUSH_SECS = options["flush_secs"]
    if "max_pending_bytes" in options:
        writer_lib.MAX_PENDING_BYTES = options["max_pending_bytes"]
    if "fsize_limit" in options:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (options["fsize_limit"], resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    def lift_limit():
        import resource

        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(options.get("learning_rate", 0.1)),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    steps = options["steps"]
    x, y = np.ones((steps * 2, 1), "float32"), np.zeros((steps * 2, 1), "float32")

    class Child(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if "ready" in options:
                open(options["ready"], "w").close()
            while "wait_for" in options and not os.path.exists(options["wait_for"]):
                time.sleep(0.05)  # both trainings hold their writers before either goes on

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == options.get("lift_at_epoch"):
                lift_limit()

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy()) - 1
            print(f"step {step}", flush=True)
            time.sleep(options.get("sleep", 0))

    if options.get("sigterm") == "stop":
        import signal

        def stop(signum, frame):  # a scheduler-aware job: stop at the next batch, save, exit
            model.stop_training = True
            print("stopping", flush=True)

        signal.signal(signal.SIGTERM, stop)

    held = None
    run_dir = os.path.join(options["log_dir"], "lr_timeline")
    if options.get("hold_writer"):
        held = writer_lib.open_run_writer(run_dir)  # keeps the writer open after fit
    model.fit(x, y, batch_size=2, epochs=options.get("epochs", 1), verbose=0, shuffle=False,
              callbacks=[LearningRateMonitor(options["log_dir"]), Child()])
    if held is not None:
        print(f"dropped {held.dropped_points}", flush=True)
        lift_limit()
        held.release()
    print(f"done {os.getpid()}", flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
