"""lr_plugin.find_lr: an LR range test whose physics, restoration and logging are checked."""

import importlib.util
import json
import os

import keras
import numpy as np
import pytest

import lr_plugin
from lr_plugin.format import reader
from lr_plugin.tools import lr_finder
from conftest import linear_probe, probe_data
from tb_helpers import make_client


def quadratic_problem(n=64, moments=(5.0, 4.0, 3.0)):
    """Full-batch least squares with realizable targets: the loss is an exact quadratic.

    The inputs' second-moment matrix is diag(moments), so the Hessian of the
    mean squared error is 2 * diag(moments) and its largest eigenvalue is
    lambda = 2 * max(moments): plain SGD converges below 2 / lambda and
    diverges above it.
    """
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(n, len(moments))))
    x = np.sqrt(n) * q * np.sqrt(moments)
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    hessian = 2.0 / n * x.T @ x
    return x, y, float(np.linalg.eigvalsh(hessian).max())


def linear_model(optimizer=None):
    # float64, so that rounding does not set a loss floor the sweep could see as divergence.
    model = keras.Sequential([
        keras.Input((3,), dtype="float64"),
        keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype="float64"),
    ])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01), loss="mse")
    return model


def state_of(model):
    """Every variable the finder may touch, as bytes."""
    variables = model.variables + model.optimizer.variables + model.metrics_variables
    return [(v.path, np.asarray(keras.ops.convert_to_numpy(v)).tobytes()) for v in variables]


def test_divergence_is_found_between_2_over_lambda_and_4_times_that():
    x, y, lam = quadratic_problem()
    result = lr_plugin.find_lr(linear_model(), x, y, batch_size=len(x), smoothing=0, verbose=0)

    assert result.stopped == "diverged"
    assert 2 / lam < result.diverged_at <= 4 * (2 / lam)
    assert result.losses[-1] > 4 * result.losses.min()
    for method, rate in result.suggestions.items():
        assert rate is not None and rate < 2 / lam, method
    assert result.suggestion == result.suggestions["valley"]
    # Below 2/lambda every update shrinks every component of the error: no increase.
    below = result.learning_rates < 2 / lam
    assert np.all(np.diff(result.losses[below]) <= 0)


def test_default_smoothing_reports_divergence_a_few_steps_later_than_the_raw_loss():
    x, y, lam = quadratic_problem()
    raw = lr_plugin.find_lr(linear_model(), x, y, batch_size=len(x), smoothing=0, verbose=0)
    smoothed = lr_plugin.find_lr(linear_model(), x, y, batch_size=len(x), verbose=0)
    step = lambda result: int(np.searchsorted(result.learning_rates, result.diverged_at))
    # The measurement the docstring states: the 4th rate above 2/lambda raw, 6 steps later with 0.8.
    assert step(raw) - int(np.searchsorted(raw.learning_rates, 2 / lam)) == 3
    assert step(smoothed) - step(raw) == 6
    assert smoothed.smoothed_losses[0] == smoothed.losses[0]  # debiased from the start
    assert all(rate < 2 / lam for rate in smoothed.suggestions.values())


def test_each_loss_is_measured_after_the_update_at_its_rate():
    # The probe's loss is its weight, and every update lowers it by exactly the rate.
    model = linear_probe(0.5)
    x, y = probe_data(8)
    result = lr_plugin.find_lr(model, x, y, batch_size=4, min_lr=1e-3, max_lr=1.0,
                               steps=20, verbose=0)

    table = np.geomspace(1e-3, 1.0, 20).astype(np.float32)
    np.testing.assert_array_equal(result.learning_rates, table.astype(np.float64))
    np.testing.assert_array_equal(result.losses, probe_weights(table))
    assert result.stopped == "max_lr" and result.diverged_at is None


def probe_weights(rates):
    """The probe's weight after each update, in float32 as SGD computes it."""
    weight, weights = np.float32(0), []
    for rate in rates:
        weight = np.float32(weight - np.float32(rate))
        weights.append(float(weight))
    return weights


def test_linear_mode_ramps_the_rate_evenly():
    result = lr_plugin.find_lr(linear_probe(0.5), *probe_data(8), batch_size=4, min_lr=0.01,
                               max_lr=0.1, steps=10, mode="linear", verbose=0)
    np.testing.assert_array_equal(result.learning_rates,
                                  np.linspace(0.01, 0.1, 10).astype(np.float32).astype(np.float64))


@pytest.mark.slow
def test_weights_optimizer_variables_and_iterations_are_restored_bit_for_bit():
    def make():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1),
        ])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
        return model

    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) + 0.1 * rng.normal(size=(256, 1))).astype("float32")

    def train(with_finder):
        model = make()
        keras.utils.set_random_seed(4)  # the same shuffles and dropout masks in both trainings
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        if with_finder:
            before = state_of(model)
            result = lr_plugin.find_lr(model, x, y, batch_size=32, steps=40, verbose=0)
            assert result.learning_rates.size > 10  # it did train
            assert state_of(model) == before
            assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 8
        history = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history
        return history, [value for _, value in state_of(model)]

    assert train(with_finder=True) == train(with_finder=False)


def test_a_schedule_is_bypassed_during_the_sweep_and_training_follows_it_after(weight_trace):
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([4], [0.5, 0.25])
    model = linear_probe(schedule)
    x, y = probe_data(8)
    result = lr_plugin.find_lr(model, x, y, batch_size=4, min_lr=1e-3, max_lr=1.0,
                               steps=20, verbose=0)

    np.testing.assert_array_equal(result.learning_rates,
                                  np.geomspace(1e-3, 1.0, 20).astype(np.float32))
    assert np.all(np.diff(result.losses) < 0)  # each update applied its sweep rate
    assert model.optimizer._learning_rate is schedule
    assert int(model.optimizer.iterations.numpy()) == 0
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[weight_trace.callback])
    np.testing.assert_array_equal(weight_trace.applied_rates(), [0.5] * 5 + [0.25] * 3)


def test_tf_data_python_generators_and_py_datasets_are_read_like_fit():
    import tensorflow as tf

    x, y = probe_data(8)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)  # 8 batches, restarted
    assert lr_plugin.find_lr(linear_probe(0.1), dataset, steps=12, max_lr=0.1,
                             verbose=0).learning_rates.size == 12

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return x[:4], y[:4]

    assert lr_plugin.find_lr(linear_probe(0.1), Batches(), steps=12, max_lr=0.1,
                             verbose=0).learning_rates.size == 12

    model = linear_probe(0.1)
    before = state_of(model)
    generator = ((x[:4], y[:4]) for _ in range(6))  # one-shot: 6 passes, 5 updates measured
    result = lr_plugin.find_lr(model, generator, steps=12, max_lr=0.1, verbose=0)
    assert result.stopped == "out_of_data" and result.learning_rates.size == 5
    assert state_of(model) == before


@pytest.mark.parametrize("kwargs, message", [
    ({"min_lr": 0}, "min_lr must be a positive finite number. Received min_lr=0"),
    ({"max_lr": 1e-8}, "max_lr must be greater than min_lr. Received min_lr=1e-07, max_lr=1e-08"),
    ({"steps": 1}, "steps must be an integer >= 2. Received steps=1"),
    ({"mode": "cosine"}, "mode must be one of ('exponential', 'linear'). Received mode='cosine'"),
    ({"smoothing": 1.0}, "smoothing must be a number in [0, 1). Received smoothing=1.0"),
    ({"diverge_factor": 1}, "diverge_factor must be a number > 1. Received diverge_factor=1"),
    ({"verbose": 3}, "verbose must be 'auto', 0, 1 or 2. Received verbose=3"),
    ({"batch_size": 0}, "batch_size must be a positive integer. Received batch_size=0"),
])
def test_bad_arguments_get_keras_style_messages(kwargs, message):
    with pytest.raises(ValueError) as error:
        lr_plugin.find_lr(linear_probe(0.1), *probe_data(2), **kwargs)
    assert message in str(error.value)


def test_inputs_it_cannot_read_are_refused_with_what_was_received():
    model = linear_probe(0.1)
    with pytest.raises(ValueError, match="needs a compiled model"):
        lr_plugin.find_lr(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]),
                          *probe_data(2))
    with pytest.raises(ValueError, match="Pass y only with array inputs"):
        lr_plugin.find_lr(model, iter([]), np.zeros(3))
    with pytest.raises(TypeError, match="Received x of type int"):
        lr_plugin.find_lr(model, 3)
    with pytest.raises(ValueError, match=r"same number of samples. Received sample counts \[4, 8\]"):
        lr_plugin.find_lr(model, np.ones((8, 1)), np.ones((4, 1)))


def test_progress_is_shown_like_fit(capsys):
    lr_plugin.find_lr(linear_probe(0.1), *probe_data(4), batch_size=4, steps=5, max_lr=0.1)
    shown = capsys.readouterr().out
    assert "5/5" in shown and "loss:" in shown and "lr:" in shown


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is not None,
                    reason="matplotlib is installed")
def test_plot_explains_how_to_get_matplotlib():
    result = lr_plugin.find_lr(linear_probe(0.1), *probe_data(4), batch_size=4, steps=5,
                               max_lr=0.1, verbose=0)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        result.plot()


def test_valley_is_halfway_along_the_longest_falling_stretch():
    rates = np.geomspace(1e-4, 1.0, 11)
    losses = [3.0, 2.0, 2.5, 1.9, 1.5, 1.4, 1.0, 0.8, 0.9, 0.5, 9.0]
    suggestions = lr_finder.suggest(rates, losses, diverged=True)
    # Longest strictly falling subsequence: 3.0 2.0 1.9 1.5 1.4 1.0 0.8 0.5 (steps 0..9).
    assert suggestions["valley"] == rates[4]
    assert suggestions["min_loss_div_10"] == rates[9] / 10
    assert lr_finder.suggest(rates[:3], [1.0, 2.0, float("nan")], diverged=True) == {
        "valley": None, "steepest": None, "min_loss_div_10": None}


def test_with_log_dir_the_sweep_is_written_and_served_with_the_rate_training_started_at(tmp_path):
    x, y, lam = quadratic_problem()
    model = linear_model()
    result = lr_plugin.find_lr(model, x, y, batch_size=len(x), smoothing=0, verbose=0,
                               log_dir=tmp_path)
    model.optimizer.learning_rate = result.suggestion
    model.fit(x, y, batch_size=len(x), epochs=2, verbose=0,
              callbacks=[lr_plugin.LearningRateMonitor(tmp_path)])

    run = reader.read_timelines(str(tmp_path))["lr_timeline"]
    (record,) = run["lr_finder"]
    assert record["learning_rates"] == result.learning_rates.tolist()
    assert record["diverged_at"] == result.diverged_at and record["step"] == 0

    response = make_client(tmp_path).get("/data/plugin/lr_timeline/finder?run=lr_timeline")
    assert response.status_code == 200
    (sweep,) = json.loads(response.get_data())["sweeps"]
    assert [p[0] for p in sweep["points"]] == result.learning_rates.tolist()
    assert {s["method"]: s["lr"] for s in sweep["suggestions"]} == result.suggestions
    assert sweep["diverged"] == {"lr": result.diverged_at, "loss": result.smoothed_losses[-1]}
    assert sweep["started"] == {"step": 0, "lr": float(np.float32(result.suggestion)),
                                "optimizer": "SGD"}


def test_the_finder_route_needs_a_run_and_answers_no_sweeps_for_a_run_without_them(tmp_path):
    model = linear_probe(0.1)
    model.fit(*probe_data(2), batch_size=4, verbose=0,
              callbacks=[lr_plugin.LearningRateMonitor(tmp_path)])
    client = make_client(tmp_path)
    missing = client.get("/data/plugin/lr_timeline/finder")
    assert missing.status_code == 400 and "Missing query parameter 'run'" in json.loads(
        missing.get_data())["error"]
    body = json.loads(client.get("/data/plugin/lr_timeline/finder?run=lr_timeline").get_data())
    assert body["sweeps"] == []


@pytest.mark.slow
def test_the_demo_starts_its_plateau_run_at_the_finders_suggestion(tmp_path):
    import io

    from lr_plugin.tools import demo

    out = io.StringIO()
    demo.train_all(str(tmp_path), epochs=1, out=out)

    run = reader.read_timelines(str(tmp_path))["plateau/lr_timeline"]
    (sweep,) = run["lr_finder"]
    assert sweep["stopped"] == "diverged" and sweep["step"] == 0
    suggestion = sweep["suggestions"][sweep["suggestion"]]
    steps, rates = run["learning_rate"]["Adam"]
    assert steps[0] == 0 and rates[0] == float(np.float32(suggestion))
    assert f"find_lr suggests {suggestion:.2e}" in out.getvalue()
    # One writer per directory: the sweep and the training share one event file.
    assert len([f for f in os.listdir(tmp_path / "plateau" / "lr_timeline") if "tfevents" in f]) == 1


def test_a_log_dir_that_cannot_be_written_is_refused_before_any_training(tmp_path):
    from lr_plugin.format.writer import LogDirError

    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    model = linear_probe(0.1)
    before = state_of(model)
    with pytest.raises(LogDirError, match="Pass a log_dir you can write to"):
        lr_plugin.find_lr(model, *probe_data(2), batch_size=4, steps=5, verbose=0,
                          log_dir=blocker)
    assert state_of(model) == before


def test_a_run_with_only_a_sweep_is_listed_and_served_before_any_training(tmp_path):
    lr_plugin.find_lr(linear_probe(0.1), *probe_data(4), batch_size=4, steps=6, max_lr=0.1,
                      verbose=0, log_dir=tmp_path)
    client = make_client(tmp_path)
    runs = json.loads(client.get("/data/plugin/lr_timeline/runs").get_data())["runs"]
    assert [r["run"] for r in runs] == ["lr_timeline"]
    timeline = client.get("/data/plugin/lr_timeline/timeline?run=lr_timeline")
    assert timeline.status_code == 200 and json.loads(timeline.get_data())["learning_rate"] == {}
    (sweep,) = json.loads(client.get("/data/plugin/lr_timeline/finder?run=lr_timeline")
                          .get_data())["sweeps"]
    assert sweep["started"] is None and len(sweep["points"]) == 6


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="Keras allows steps_per_execution > 1 only on TensorFlow and JAX")
def test_steps_per_execution_still_applies_one_rate_per_batch():
    model = linear_probe(0.5, steps_per_execution=4)
    result = lr_plugin.find_lr(model, *probe_data(8), batch_size=4, min_lr=1e-3, max_lr=1.0,
                               steps=10, verbose=0)
    np.testing.assert_array_equal(result.losses, probe_weights(result.learning_rates))
