"""Helpers for the TensorBoard plugin tests: event files, an in-process app, a server.

Everything here is TF-free: lr_timeline runs are written with lr_plugin.format.writer,
Keras-like companion runs with ``tensorboard.summary.Writer``.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
from tensorboard import summary as tb_summary
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_ingester
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins import base_plugin
from tensorboard.summary.writer import event_file_writer
from tensorboard.util import tensor_util
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from lr_plugin.format import metadata
from lr_plugin.serve import tb_plugin
from lr_plugin.format import writer

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def make_app(logdir, path_prefix=""):
    """TensorBoard's WSGI app with only our plugin, loaded as production loads it.

    The multiplexer gets TensorBoard's production size guidance (10 tensors per
    tag of an unknown plugin) plus what LrTimelineLoader.fix_flags asks for, so a
    test fails where production would drop data.
    """
    tensor_size_guidance = dict(
        data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE, **{metadata.PLUGIN_NAME: 0}
    )
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE,
        tensor_size_guidance=tensor_size_guidance,
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    context = base_plugin.TBContext(
        data_provider=provider,
        logdir=str(logdir),
        sampling_hints={metadata.PLUGIN_NAME: 0},
    )
    plugin = tb_plugin.LrTimelinePlugin(context)
    return application.TensorBoardWSGI(
        [plugin], path_prefix=path_prefix, data_provider=provider
    )


def make_client(logdir, path_prefix=""):
    """A werkzeug test client of make_app(logdir)."""
    return werkzeug_test.Client(make_app(logdir, path_prefix), wrappers.Response)


def write_lr_run(run_dir, optimizer, epochs, steps_per_epoch, rate_of_epoch,
                 metrics_of_epoch=None, plateau_of_epoch=None, events_of_epoch=None,
                 flushes_per_epoch=1, planned=False):
    """Writes an lr_timeline run as the callbacks do, flushing per epoch.

    Args:
        rate_of_epoch: ``epoch -> rate`` applied at every step of that epoch.
        metrics_of_epoch: ``epoch -> {metric: value}`` for the epoch records,
            or None to write no epoch records.
        plateau_of_epoch: ``epoch -> dict`` plateau record fields, or None.
        events_of_epoch: ``epoch -> [event dicts]``, or None.
        flushes_per_epoch: how many rate chunks each epoch is written in.
        planned: also write the same rates as the planned series.
    """
    run_writer = writer.open_run_writer(run_dir)
    for epoch in range(epochs):
        first = epoch * steps_per_epoch
        steps = np.arange(first, first + steps_per_epoch)
        rates = np.full(steps_per_epoch, rate_of_epoch(epoch), dtype=np.float64)
        for chunk_steps, chunk_rates in zip(
            np.array_split(steps, flushes_per_epoch), np.array_split(rates, flushes_per_epoch)
        ):
            run_writer.add_rates(optimizer, chunk_steps, chunk_rates)
            if planned:
                run_writer.add_rates(optimizer, chunk_steps, chunk_rates, planned=True)
            run_writer.flush(step=int(chunk_steps[-1]))
        last = first + steps_per_epoch - 1
        if metrics_of_epoch is not None:
            run_writer.add_record(
                metadata.EPOCHS_TAG,
                {
                    "epoch": epoch,
                    "first_step": first,
                    "last_step": last,
                    "learning_rate": rate_of_epoch(epoch),
                    "metrics": metrics_of_epoch(epoch),
                },
            )
        if plateau_of_epoch is not None:
            record = {"epoch": epoch, "step": last}
            record.update(plateau_of_epoch(epoch))
            run_writer.add_record(metadata.PLATEAU_TAG, record)
        for event in events_of_epoch(epoch) if events_of_epoch else ():
            run_writer.add_record(metadata.EVENTS_TAG, dict({"epoch": epoch, "step": last}, **event))
        run_writer.flush(step=last)
    run_writer.close()


def write_scalars(run_dir, series):
    """Writes ``{tag: [(step, value), ...]}`` as Keras' TensorBoard callback would (float32)."""
    scalar_writer = tb_summary.Writer(str(run_dir))
    for tag, points in series.items():
        for step, value in points:
            scalar_writer.add_scalar(tag, value, step=step)
    scalar_writer.flush()
    scalar_writer.close()


def write_future_version_run(run_dir):
    """Writes a rate series whose metadata claims a payload version newer than ours."""
    os.makedirs(run_dir, exist_ok=True)
    events = event_file_writer.EventFileWriter(str(run_dir))
    content = metadata.LrTimelinePluginData(
        version=metadata.PAYLOAD_VERSION + 1, kind=metadata.KIND_RATES
    )
    event = event_pb2.Event(wall_time=time.time(), step=0)
    event.summary.value.add(
        tag=metadata.rates_tag("SGD"),
        tensor=tensor_util.make_tensor_proto(metadata.encode_rates([0, 1], [0.1, 0.1])),
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=content.SerializeToString()
            ),
            data_class=summary_pb2.DATA_CLASS_TENSOR,
        ),
    )
    events.add_event(event)
    events.close()


def step_function_at(kept_steps, kept_rates, steps):
    """The rate a step line through the kept points shows at each of ``steps``."""
    index = np.searchsorted(np.asarray(kept_steps), np.asarray(steps), side="right") - 1
    return np.asarray(kept_rates, dtype=np.float64)[index]


# A real TensorBoard process.


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plugin_installed():
    """Whether the lr_timeline entry point is installed (pip install -e .)."""
    from importlib import metadata as importlib_metadata

    return any(
        entry.value == "lr_plugin.serve.tb_loader:LrTimelineLoader"
        for entry in importlib_metadata.entry_points(group="tensorboard_plugins")
    )


def tensorboard_env(scratch_dir):
    """Environment in which a TensorBoard subprocess finds this checkout's plugin.

    When lr_plugin is not pip-installed, a minimal dist-info with the same
    ``tensorboard_plugins`` entry point as setup.py goes on PYTHONPATH, so
    TensorBoard still discovers the plugin the way it does in production.
    """
    paths = [str(REPO_ROOT)]
    if not plugin_installed():
        dist_info = pathlib.Path(scratch_dir) / "lr_plugin_test-0.0.dist-info"
        dist_info.mkdir(parents=True, exist_ok=True)
        (dist_info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: lr_plugin_test\nVersion: 0.0\n"
        )
        (dist_info / "entry_points.txt").write_text(
            "[tensorboard_plugins]\nlr_timeline = lr_plugin.serve.tb_loader:LrTimelineLoader\n"
        )
        paths.insert(0, str(scratch_dir))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# TensorBoard's own main, with the plugin's cache builds appended to a file as
# JSON lines: what a test of the real process can observe of its cache (and of
# builds in a child process: {"child": run, "built": whether it answered}).
_RECORDING_MAIN = r"""
import json, sys
from lr_plugin.serve import cache
builds_path = sys.argv.pop(1)
store = cache.RunCache._store
def recording_store(self, key, current, summary):
    store(self, key, current, summary)
    with open(builds_path, "a") as builds:
        builds.write(json.dumps({"run": key[1], "last_step": summary.last_step}) + "\n")
cache.RunCache._store = recording_store
from lr_plugin.serve import build_worker
in_child = build_worker.build_in_child
def recording_in_child(request, *args, **kwargs):
    built = in_child(request, *args, **kwargs)
    with open(builds_path, "a") as builds:
        builds.write(json.dumps({"child": request["run"], "built": built is not None}) + "\n")
    return built
build_worker.build_in_child = recording_in_child
from tensorboard import main
sys.argv[0] = "tensorboard"
main.run_main()
"""


def read_builds(builds_path):
    """``[{"run", "last_step"}, ...]``: the cache builds a TensorBoard started with builds_path
    made (and ``{"child", "built"}`` for each build tried in a child process)."""
    if not os.path.exists(builds_path):
        return []
    with open(builds_path) as builds:
        return [json.loads(line) for line in builds if line.endswith("\n")]


def start_tensorboard(logdir, port, extra_args, env, log_path, builds_path=None):
    """Starts ``python -m tensorboard.main`` on 127.0.0.1:port; stop it with stop_process.

    With ``builds_path``, the same main records each cache build there (see read_builds).
    """
    log = open(log_path, "wb")
    main = ["-m", "tensorboard.main"] if builds_path is None else [
        "-c", _RECORDING_MAIN, str(builds_path)]
    try:
        return subprocess.Popen(
            [
                sys.executable, *main,
                "--logdir", str(logdir),
                "--host", "127.0.0.1",
                "--port", str(port),
                "--reload_interval", "1",
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    finally:
        log.close()  # the child holds its own descriptor


def fast_loader_available():
    try:
        from tensorboard.data import server_ingester

        return server_ingester.get_server_binary() is not None
    except Exception:
        return False


def fetch(port, path):
    """From a TensorBoard on 127.0.0.1:port: ``(status, content type, body text)``, for error statuses too."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode(errors="replace")


def start_tensorboard_with_loader(logdir, scratch_dir, load_fast):
    """``(process, port, log path)``: TensorBoard on logdir with ``--load_fast=load_fast``
    (stop it with stop_process); skips the test for "true" where the data server has no binary."""
    import pytest

    if load_fast == "true" and not fast_loader_available():
        pytest.skip("tensorboard_data_server has no binary here")
    port = free_port()
    log_path = pathlib.Path(scratch_dir) / "tensorboard.log"
    process = start_tensorboard(logdir, port, [f"--load_fast={load_fast}"],
                                tensorboard_env(pathlib.Path(scratch_dir) / "site"), log_path)
    return process, port, log_path


def stop_process(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
