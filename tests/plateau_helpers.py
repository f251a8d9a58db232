"""Drives a ReduceLROnPlateau without training: monitored values in, its trace out.

Shared by the plateau, replay and lint suites.
"""

import io
import warnings
from contextlib import redirect_stdout

import keras
from conftest import linear_probe, probe_data


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
