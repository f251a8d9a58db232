"""Drives a ReduceLROnPlateau without training: monitored values in, its trace out.

Shared by the plateau, replay and lint suites.
"""

import io
import warnings
from contextlib import redirect_stdout

import keras
import numpy as np
from conftest import linear_probe, probe_data, read_run


def drive(callback, values, learning_rate=1.0):
    """Feeds monitored values to a callback as fit() would; returns its observable trace.

    One real update per epoch, so epoch k is step k.
    """
    model = linear_probe(learning_rate)
    x, y = probe_data(1)
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": 1, "verbose": 0})
    callback.on_train_begin()
    trace = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.train_on_batch(x, y)
        callback.on_train_batch_end(0)
        logs = {"loss": 0.5} if value == "missing" else {"val_loss": value}
        output = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, redirect_stdout(output):
            warnings.simplefilter("always")
            callback.on_epoch_end(epoch, logs)
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        trace.append((lr, callback.wait, callback.cooldown_counter, dict(logs),
                      output.getvalue(), [str(w.message) for w in caught if w.category is not DeprecationWarning]))
    callback.on_train_end()
    return trace


def random_values(rng, epochs):
    """A monitored series with descents, plateaus, NaN, inf and missing epochs."""
    values, level = [], 1.0
    for _ in range(epochs):
        roll = rng.random()
        if roll < 0.05:
            values.append(float("nan"))
        elif roll < 0.07:
            values.append(float("inf"))
        elif roll < 0.10:
            values.append("missing")
        else:
            level += rng.choice([-0.05, -1e-5, 0.0, 0.0, 0.01])
            values.append(float(level))
    return values


def train_on_cosine(log_dir, epochs=8, steps=5, **settings):
    """A real fit() on a CosineDecay schedule whose monitored loss never improves by
    min_delta after the first epoch, so the decisions do not depend on the values and
    a training with other settings is the ground truth of their replay."""
    from lr_plugin.callbacks import ReduceLROnPlateau as Callback

    model = linear_probe(keras.optimizers.schedules.CosineDecay(0.1, decay_steps=epochs * steps, alpha=0.05))
    x, y = probe_data(steps)
    settings = dict(dict(monitor="loss", min_delta=1e3, factor=0.5, patience=2, cooldown=0, min_lr=0.0), **settings)
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[Callback(log_dir=log_dir, **settings)])
    return read_run(log_dir)


def columns(pairs):
    """(steps, rates) arrays of an export series' [[step, rate], ...]."""
    steps, rates = np.asarray(pairs, dtype=np.float64).T
    return steps.astype(np.int64), rates
