"""Shared fixtures: quiet TensorFlow, a one-weight model whose weight changes
recover the applied learning rate, and reading back what the callbacks wrote."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


class WeightTrace:
    """Records the single weight of a LinearProbe model after every update."""

    def __init__(self):
        import keras

        trace = self

        class _Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                trace.values = [trace.read(self.model)]

            def on_train_batch_end(self, batch, logs=None):
                trace.values.append(trace.read(self.model))

        self.callback = _Callback()
        self.values = []

    @staticmethod
    def read(model):
        import keras

        return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).ravel()[0])

    def applied_rates(self):
        """Each update subtracts exactly its rate (gradient 1, SGD, no momentum)."""
        return -np.diff(np.asarray(self.values, dtype=np.float64))


def linear_probe(learning_rate, steps_per_execution=1):
    """A one-weight linear model trained by SGD on inputs of 1 with loss mean(y_pred).

    Its gradient is exactly 1, so every update lowers the weight by the rate it applied.
    """
    import keras

    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate),
        loss=lambda y_true, y_pred: keras.ops.mean(y_pred),
        steps_per_execution=steps_per_execution,
    )
    return model


def probe_data(steps_per_epoch, batch_size=4):
    n = steps_per_epoch * batch_size
    return np.ones((n, 1), "float32"), np.zeros((n, 1), "float32")


@pytest.fixture
def weight_trace():
    return WeightTrace()


def read_run(logdir, run=None):
    """The export-schema dict of the one run under logdir (or of ``run``)."""
    from lr_plugin.format import reader
    from lr_plugin.model import timeline

    timelines = reader.read_timelines(str(logdir))
    if run is None:
        assert len(timelines) == 1, sorted(timelines)
        run = next(iter(timelines))
    return timeline.to_json_run(timelines[run])


def rates_of(run, optimizer=None):
    series = run["learning_rate"]
    if optimizer is None:
        assert len(series) == 1, sorted(series)
        optimizer = next(iter(series))
    steps = [s for s, _ in series[optimizer]]
    rates = np.array([r for _, r in series[optimizer]], dtype=np.float64)
    return steps, rates
