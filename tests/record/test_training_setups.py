"""The recorder in the setups users train in: what it records is what happened.

Each test runs a real fit(). Where a one-weight probe applies (see
conftest.linear_probe), the rates recovered from its weight deltas must equal
the recorded steps and values. tf.distribute runs in subprocesses.
"""

import copy
import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
from conftest import linear_probe, probe_data, rates_of, read_run

from lr_plugin.callbacks import LearningRateMonitor
from lr_plugin.callbacks import ReduceLROnPlateau
from raw_events import read_payloads

from lr_plugin.format import metadata
from lr_plugin.format import reader
from lr_plugin.format import writer as writer_lib

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)
tensorflow_only = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="tf.distribute needs the TensorFlow backend")


def fit(model, callbacks, epochs, steps_per_epoch, batch_size=4, **kwargs):
    x, y = probe_data(steps_per_epoch, batch_size)
    return model.fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=callbacks,
                     verbose=0, shuffle=False, **kwargs)


def raw_records(logdir, tag):
    """Every record of a tag as written, before the timeline model resolves anything."""
    (files,) = reader.find_runs(str(logdir)).values()
    return read_payloads(os.path.dirname(files[0])).get(tag, [])


def updates_of(trace):
    """(update index, applied rate) of the batches whose weight moved."""
    applied = trace.applied_rates()
    return np.flatnonzero(applied != 0), applied[applied != 0]


def run_script(script, env=None, timeout=420):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def last_json_line(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


# 1. tf.distribute.

MIRRORED_FIT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
sys.path.insert(0, {tests!r})
from conftest import WeightTrace, linear_probe, probe_data
from lr_plugin.callbacks import LearningRateMonitor, ReduceLROnPlateau

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
x, y = probe_data(4, batch_size=8)
result = {{"replicas": strategy.num_replicas_in_sync}}
# Keras' drop-in without log_dir, beside a monitor; then ours on a schedule.
for name, rate, plateau_dir, monitor in (
        ("float", 0.2, None, {logdir!r} + "/float"),
        ("schedule", keras.optimizers.schedules.ExponentialDecay(0.2, 4, 0.8), {logdir!r} + "/schedule", None)):
    with strategy.scope():
        model = linear_probe(rate)
    trace = WeightTrace()
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                log_dir=plateau_dir)
    callbacks = [plateau, trace.callback] + ([LearningRateMonitor(monitor)] if monitor else [])
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
    result[name] = {{"weights": trace.values, "action": plateau.last_decision["action"]}}
print(json.dumps(result))
"""


@tensorflow_only
def test_mirrored_strategy_on_two_devices_records_what_each_update_applied(tmp_path):
    result = run_script(MIRRORED_FIT.format(tests=TESTS, logdir=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-3000:]
    output = last_json_line(result.stdout)
    assert output["replicas"] == 2
    for name in ("float", "schedule"):
        # Keras sums the replicas' gradients, 1 each: the weight moves 2 rates a step.
        applied = -np.diff(output[name]["weights"]) / 2
        assert output[name]["action"] == "reduce"
        steps, logged = rates_of(read_run(tmp_path / name))
        assert steps == list(range(12))
        np.testing.assert_allclose(logged, applied, rtol=1e-5, atol=1e-7)
    _, float_rates = rates_of(read_run(tmp_path / "float"))
    np.testing.assert_allclose(float_rates[::4], [0.2, 0.2, 0.1], rtol=1e-6)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.2, 4, 0.8)
    _, scheduled = rates_of(read_run(tmp_path / "schedule"))
    expected = [float(schedule(s)) * (0.5 if s >= 8 else 1.0) for s in range(12)]
    np.testing.assert_allclose(scheduled, expected, rtol=1e-6)


MULTI_WORKER_FIT = """
import json, sys
import tensorflow as tf
import keras
keras.config.disable_traceback_filtering()
sys.path.insert(0, {tests!r})
from conftest import WeightTrace, linear_probe, probe_data
from lr_plugin.callbacks import LearningRateMonitor, ReduceLROnPlateau

strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = linear_probe(0.2)
trace = WeightTrace()
# mode="max" on a falling loss: never an improvement, so waits and reductions.
plateau = ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=2,
                            log_dir={logdir!r})
decisions = []
class Decisions(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        decisions.append(dict(plateau.last_decision))
x, y = probe_data(4, batch_size=8)
model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0,
          callbacks=[plateau, LearningRateMonitor({logdir!r}), trace.callback, Decisions()])
print(json.dumps({{"weights": trace.values, "decisions": decisions}}))
"""


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@tensorflow_only
@pytest.mark.slow
def test_multi_worker_mirrored_chief_writes_and_workers_decide_alike(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        script = MULTI_WORKER_FIT.format(tests=TESTS, logdir=str(tmp_path / f"worker{index}"))
        processes.append(subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, TF_CONFIG=json.dumps(config))))
    try:
        finished = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    outputs = []
    for process, (stdout, stderr) in zip(processes, finished):
        if process.returncode != 0 and "_maybe_symbolic_build" in stderr and "PerReplica" in stderr:
            pytest.skip(f"Keras {keras.__version__} cannot fit() under MultiWorkerMirroredStrategy, "
                        "with or without lr_plugin (keras-team/keras#20585)")
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(last_json_line(stdout))
    chief, other = outputs
    assert chief["decisions"] == [
        dict(d, lr_before=pytest.approx(d["lr_before"]), lr_after=pytest.approx(d["lr_after"]))
        for d in other["decisions"]]
    assert [d["action"] for d in chief["decisions"]] == [
        "improved", "wait", "reduce", "wait", "reduce"]
    assert not (tmp_path / "worker1").exists()  # only the chief writes
    run = read_run(tmp_path / "worker0")
    steps, logged = rates_of(run)
    assert steps == list(range(len(chief["weights"]) - 1))
    np.testing.assert_allclose(logged, -np.diff(chief["weights"]), rtol=1e-5, atol=1e-7)
    assert [r["action"] for r in run["plateau"]] == [d["action"] for d in chief["decisions"]]


# 2. fit() twice.


def test_second_fit_without_initial_epoch_is_a_new_session_after_the_first(tmp_path, weight_trace):
    model = linear_probe(0.2)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                log_dir=tmp_path)
    fit(model, [plateau, LearningRateMonitor(tmp_path), weight_trace.callback], 2, 5)
    first_weights = list(weight_trace.values)
    fit(model, [plateau, LearningRateMonitor(tmp_path), weight_trace.callback], 2, 5)
    # Keras restarts its epoch count at 0; the steps go on, so both fits stay visible.
    epochs = raw_records(tmp_path, metadata.EPOCHS_TAG)
    assert [(e["epoch"], e["first_step"], e["last_step"]) for e in epochs] == [
        (0, 0, 4), (1, 5, 9), (0, 10, 14), (1, 15, 19)]
    plateau_records = raw_records(tmp_path, metadata.PLATEAU_TAG)
    assert [(r["epoch"], r["step"], r["action"]) for r in plateau_records] == [
        (0, 4, "improved"), (1, 9, "reduce"), (0, 14, "improved"), (1, 19, "reduce")]
    steps, logged = rates_of(read_run(tmp_path))
    assert steps == list(range(20))
    applied = np.concatenate([-np.diff(first_weights), weight_trace.applied_rates()])
    np.testing.assert_allclose(logged, applied, rtol=1e-5, atol=1e-7)
    if hasattr(writer_lib.RunWriter, "begin_session"):
        sessions = {e["session"] for e in epochs[:2]}, {e["session"] for e in epochs[2:]}
        assert len(sessions[0]) == len(sessions[1]) == 1 and sessions[0] != sessions[1]


# 3. steps_per_execution that does not divide the epoch.


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="Keras' torch backend does not support steps_per_execution > 1")
def test_partial_last_execution_records_only_the_updates_that_ran(tmp_path, weight_trace):
    model = linear_probe(0.2, steps_per_execution=3)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                log_dir=tmp_path / "plateau")
    fit(model, [plateau, weight_trace.callback], epochs=3, steps_per_epoch=8)
    run = read_run(tmp_path / "plateau")
    steps, logged = rates_of(run)
    assert steps == list(range(24))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 24
    # The weight trace sees one batch end per execution: 3, 3 and 2 updates an epoch.
    per_execution = np.add.reduceat(logged, np.cumsum([0] + [3, 3, 2] * 3)[:-1])
    np.testing.assert_allclose(per_execution, weight_trace.applied_rates(), rtol=1e-5)
    assert [(e["epoch"], e["first_step"], e["last_step"]) for e in run["epochs"]] == [
        (0, 0, 7), (1, 8, 15), (2, 16, 23)]
    reductions = [(e["epoch"], e["step"]) for e in run["events"] if e["kind"] == "reduce"]
    assert reductions == [(1, 15), (2, 23)]

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5)
    fit(linear_probe(schedule, steps_per_execution=3),
        [LearningRateMonitor(tmp_path / "every2", update_freq=2)], epochs=2, steps_per_epoch=8)
    steps, logged = rates_of(read_run(tmp_path / "every2"))
    assert steps == list(range(0, 16, 2))
    np.testing.assert_allclose(logged, [float(schedule(s)) for s in steps], rtol=1e-6)


@tensorflow_only
def test_partial_last_execution_of_an_epoch_of_unknown_length(tmp_path, weight_trace):
    import tensorflow as tf

    x, y = probe_data(8)
    # filter() hides the cardinality: Keras learns the epoch's length only as it ends.
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).filter(lambda x, y: True)
    model = linear_probe(0.2, steps_per_execution=3)
    model.fit(data, epochs=2, verbose=0, callbacks=[LearningRateMonitor(tmp_path),
                                                   weight_trace.callback])
    run = read_run(tmp_path)
    steps, logged = rates_of(run)
    assert steps == list(range(16))
    np.testing.assert_allclose(np.add.reduceat(logged, [0, 3, 6, 8, 11, 14]),
                               weight_trace.applied_rates(), rtol=1e-5)
    assert [(e["first_step"], e["last_step"]) for e in run["epochs"]] == [(0, 7), (8, 15)]


# 4. LossScaleOptimizer skipping updates.


def test_loss_scale_optimizer_skipped_updates_are_not_recorded(tmp_path, weight_trace):
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
            1, use_bias=False, kernel_initializer="zeros")])
        # The gradient is the loss scale: 2**15 fits float16, its doubling after
        # 4 good steps overflows, that update is skipped and the scale halved.
        optimizer = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(0.05), initial_scale=2.0 ** 15, dynamic_growth_steps=4)
        model.compile(optimizer=optimizer, loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
        fit(model, [LearningRateMonitor(tmp_path), weight_trace.callback], 2, 10)
    finally:
        keras.config.set_dtype_policy(policy)
    updated, applied = updates_of(weight_trace)
    assert len(applied) == int(keras.ops.convert_to_numpy(optimizer.iterations)) == 16
    assert updated.tolist() == [b for b in range(20) if b % 5 != 4]  # every fifth skipped
    run = read_run(tmp_path)
    steps, logged = rates_of(run, optimizer="SGD")
    assert steps == list(range(16))
    np.testing.assert_allclose(logged, applied, rtol=1e-5)
    assert [(e["first_step"], e["last_step"]) for e in run["epochs"]] == [(0, 7), (8, 15)]


# 5. Gradient accumulation.


def test_gradient_accumulation_records_each_update_and_the_rate_it_applied(tmp_path, weight_trace):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(schedule, gradient_accumulation_steps=2),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "accumulates gradients" warning
        fit(model, [LearningRateMonitor(tmp_path), weight_trace.callback], 2, 8)
    updated, applied = updates_of(weight_trace)
    assert updated.tolist() == list(range(1, 16, 2))  # every second batch updates
    run = read_run(tmp_path)
    steps, logged = rates_of(run)
    assert steps == list(range(8))
    np.testing.assert_allclose(logged, applied, rtol=1e-5)
    # Keras evaluates the schedule at its batch counter: update k at batch 2k + 1.
    np.testing.assert_allclose(logged, [float(schedule(2 * k + 1)) for k in range(8)], rtol=1e-6)
    assert [(e["first_step"], e["last_step"]) for e in run["epochs"]] == [(0, 3), (4, 7)]
    planned = [s for s, _ in run["planned"]["SGD"]]
    assert planned == list(range(8))


def test_gradient_accumulation_with_a_float_rate_and_plateau(tmp_path, weight_trace):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.2, gradient_accumulation_steps=4),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                log_dir=tmp_path)
    fit(model, [plateau, weight_trace.callback], 3, 8)
    _, applied = updates_of(weight_trace)
    run = read_run(tmp_path)
    steps, logged = rates_of(run)
    assert steps == list(range(6))
    np.testing.assert_allclose(logged, applied, rtol=1e-5)
    np.testing.assert_allclose(logged, [0.2] * 4 + [0.1] * 2, rtol=1e-6)
    assert [(e["epoch"], e["step"]) for e in run["events"] if e["kind"] == "reduce"] == [
        (1, 3), (2, 5)]


# 6. MultiOptimizer with a schedule, reduced on plateau.


@pytest.mark.skipif(not hasattr(keras.optimizers, "MultiOptimizer"),
                    reason="this Keras has no MultiOptimizer")
def test_multi_optimizer_schedule_is_reduced_on_plateau(tmp_path, weight_trace):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.2, 5, 0.9)
    sub = keras.optimizers.SGD(schedule, name="body_sgd")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.MultiOptimizer(lambda variable: sub),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100,
                                log_dir=tmp_path)
    fit(model, [plateau, weight_trace.callback], 3, 5)
    steps, logged = rates_of(read_run(tmp_path), "body_sgd")
    assert steps == list(range(15))
    np.testing.assert_allclose(logged, weight_trace.applied_rates(), rtol=1e-5, atol=1e-7)
    expected = [float(schedule(s)) * (0.5 if s >= 10 else 1.0) for s in range(15)]
    np.testing.assert_allclose(logged, expected, rtol=1e-6)


# 7. Saved models and plain Keras.

SAVE_WITH_PLATEAU = """
import sys
import keras, numpy as np
from lr_plugin.callbacks import ReduceLROnPlateau
schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.9)
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
x = np.ones((20, 1), "float32")
model.fit(x, x, batch_size=4, epochs=3, verbose=0, callbacks=[
    ReduceLROnPlateau(monitor="loss", factor=0.5, patience={patience}, min_delta=100),
    keras.callbacks.ModelCheckpoint({path!r})])
print(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
"""

LOAD = """
import sys
{imports}
import keras
model = keras.models.load_model({path!r})
print(type(model.optimizer._learning_rate).__name__,
      float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
assert ("lr_plugin" in sys.modules) == {imports_lr_plugin!r}
"""


def saved_model(tmp_path, patience):
    path = str(tmp_path / "model.keras")
    result = run_script(SAVE_WITH_PLATEAU.format(path=path, patience=patience),
                        env={"PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-3000:]
    return path, float(result.stdout.split()[-1])


def load_in_subprocess(path, with_lr_plugin):
    script = LOAD.format(path=path, imports="import lr_plugin.schedules" if with_lr_plugin else "",
                         imports_lr_plugin=with_lr_plugin)
    env = {"PYTHONPATH": ROOT if with_lr_plugin else ""}
    return run_script(script, env=env)


def test_a_schedule_never_reduced_stays_the_users_and_loads_in_plain_keras(tmp_path):
    path, rate = saved_model(tmp_path, patience=100)
    result = load_in_subprocess(path, with_lr_plugin=False)
    assert result.returncode == 0, result.stderr[-3000:]
    name, loaded = result.stdout.split()[-2:]
    assert name == "ExponentialDecay" and float(loaded) == pytest.approx(rate, rel=1e-6)


def test_a_reduced_schedule_loads_with_lr_plugin_and_says_so_without(tmp_path):
    path, rate = saved_model(tmp_path, patience=1)
    plain = load_in_subprocess(path, with_lr_plugin=False)
    assert plain.returncode != 0
    assert "Could not locate class 'ScaledSchedule'" in plain.stderr
    assert "run `import lr_plugin.schedules` before keras.models.load_model()" in plain.stderr
    ours = load_in_subprocess(path, with_lr_plugin=True)
    assert ours.returncode == 0, ours.stderr[-3000:]
    name, loaded = ours.stdout.split()[-2:]
    assert name == "ScaledSchedule" and float(loaded) == pytest.approx(rate, rel=1e-6)


# 11. The assignment watcher leaves the variable as it found it.


def test_rate_variable_copies_and_pickles_after_training(tmp_path):
    model = linear_probe(0.1)
    variable = model.optimizer._learning_rate
    fit(model, [LearningRateMonitor(tmp_path / "a"), LearningRateMonitor(tmp_path / "b")], 1, 3)
    assert not {"assign", "assign_add", "assign_sub"} & set(vars(variable))
    clone = copy.deepcopy(variable)
    assert float(keras.ops.convert_to_numpy(clone)) == pytest.approx(0.1)
    restored = pickle.loads(pickle.dumps(variable))
    assert float(keras.ops.convert_to_numpy(restored)) == pytest.approx(0.1)
    variable.assign(0.05)  # the variable's own method again
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.05)
