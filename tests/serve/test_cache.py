"""The plugin's per-run cache: read once per change, windows and tails, a live run.

In-process tests use TensorBoard's own multiplexer and WSGI app (as
tb_helpers.make_app does, keeping the multiplexer to reload it); the last test
runs a real ``fit()`` in a subprocess feeding a real ``tensorboard`` process.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_ingester
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

import tb_helpers
from lr_plugin.format import metadata
from lr_plugin.format import writer
from lr_plugin.model import summary
from lr_plugin.model import timeline
from lr_plugin.serve import build_worker
from lr_plugin.serve import cache
from lr_plugin.serve import tb_plugin

PLUGIN = "/data/plugin/lr_timeline"
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Served:
    """Our plugin in TensorBoard's WSGI app, with the multiplexer and plugin at hand."""

    def __init__(self, logdir, flags=None):
        self.multiplexer = plugin_event_multiplexer.EventMultiplexer(
            size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE,
            tensor_size_guidance=dict(
                data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE, **{metadata.PLUGIN_NAME: 0}
            ),
        )
        self.multiplexer.AddRunsFromDirectory(str(logdir))
        self.multiplexer.Reload()
        provider = data_provider.MultiplexerDataProvider(self.multiplexer, str(logdir))
        self.plugin = tb_plugin.LrTimelinePlugin(
            base_plugin.TBContext(data_provider=provider, logdir=str(logdir), flags=flags)
        )
        app = application.TensorBoardWSGI([self.plugin], data_provider=provider)
        self.client = werkzeug_test.Client(app, wrappers.Response)

    def timeline(self, code=200, **query):
        response = self.client.get(PLUGIN + "/timeline", query_string=query)
        assert response.status_code == code, response.get_data(as_text=True)
        return json.loads(response.get_data(as_text=True))


def write_epochs(run_dir, epochs, steps_per_epoch, first_epoch=0):
    """Epochs of a rate that decays at every step (so every point is distinct)."""
    run_writer = writer.open_run_writer(run_dir)
    for epoch in range(first_epoch, first_epoch + epochs):
        steps = np.arange(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch)
        run_writer.add_rates("SGD", steps, rate_at(steps))
        run_writer.add_record(metadata.EPOCHS_TAG, {
            "epoch": epoch, "first_step": int(steps[0]), "last_step": int(steps[-1]),
            "metrics": {"loss": 1.0 / (epoch + 1)}})
        run_writer.add_record(metadata.PLATEAU_TAG, {
            "epoch": epoch, "step": int(steps[-1]), "action": "wait"})
        run_writer.flush(step=int(steps[-1]))
    run_writer.close()


def rate_at(steps):
    return 0.1 * 0.9999 ** np.asarray(steps, dtype=np.float64)


@pytest.fixture
def served(tmp_path):
    write_epochs(tmp_path / "exp" / "lr_timeline", epochs=10, steps_per_epoch=500)
    return Served(tmp_path)


@pytest.fixture
def reads(monkeypatch):
    """Counts the plugin's reads of a run's payloads (the O(length) part)."""
    counted = []
    original = build_worker.read_payloads

    def counting(data_provider, ctx, experiment, run, tags):
        counted.append(run)
        return original(data_provider, ctx, experiment, run, tags)

    monkeypatch.setattr(build_worker, "read_payloads", counting)
    return counted


def test_repeated_requests_read_the_run_once(served, reads):
    first = served.timeline(run="exp/lr_timeline", downsample="100")
    for query in ({}, {"downsample": "100"}, {"start": "10", "end": "20"}, {"since": "4000"}):
        served.timeline(run="exp/lr_timeline", **query)
    assert reads == ["exp/lr_timeline"]
    assert first["points"] == {"SGD": 5000} and first["last_step"] == 4999
    assert len(first["learning_rate"]["SGD"]) <= 100


def test_new_data_rebuilds_the_run_and_shows_the_new_steps(served, reads, tmp_path):
    assert served.timeline(run="exp/lr_timeline")["last_step"] == 4999
    # A later session appends epochs 10-11 in a new event file, as a resumed fit does.
    write_epochs(tmp_path / "exp" / "lr_timeline", epochs=2, steps_per_epoch=500, first_epoch=10)
    assert served.timeline(run="exp/lr_timeline")["last_step"] == 4999  # not loaded yet
    served.multiplexer.Reload()
    body = served.timeline(run="exp/lr_timeline", since="4999")
    assert reads == ["exp/lr_timeline", "exp/lr_timeline"]
    assert body["last_step"] == 5999
    assert [s for s, _ in body["learning_rate"]["SGD"]] == list(range(5000, 6000))
    assert [r["epoch"] for r in body["epochs"]] == [10, 11]
    assert body["record_counts"]["epochs"] == {"total": 12, "in_window": 2, "sent": 2}
    assert body["window"] == {"start": None, "end": None, "since": 4999}


def test_the_what_if_replay_answers_from_the_run_the_timeline_holds(served, reads, tmp_path):
    def replay(**query):
        response = served.client.get(PLUGIN + "/replay", query_string=dict(run="exp/lr_timeline", **query))
        assert response.status_code == 200, response.get_data(as_text=True)
        return json.loads(response.get_data(as_text=True))

    served.timeline(run="exp/lr_timeline")
    # The form sends a request per change: none of them reads the run again.
    for patience in (1, 2, 3):
        body = replay(patience=patience)
    assert reads == ["exp/lr_timeline"]
    assert [d["epoch"] for d in body["replayed"]] == list(range(10))
    write_epochs(tmp_path / "exp" / "lr_timeline", epochs=2, steps_per_epoch=500, first_epoch=10)
    served.multiplexer.Reload()
    assert [d["epoch"] for d in replay()["replayed"]] == list(range(12))
    assert reads == ["exp/lr_timeline", "exp/lr_timeline"]


def test_zoomed_window_has_every_step_and_the_records_it_reaches(served):
    body = served.timeline(run="exp/lr_timeline", start="990", end="1509")
    steps = np.arange(990, 1510)
    assert body["learning_rate"]["SGD"] == [[int(s), float(rate_at(s))] for s in steps]
    assert body["points"] == {"SGD": 5000}
    assert body["points_in_window"] == {"SGD": 520}
    assert [r["epoch"] for r in body["epochs"]] == [1, 2, 3]
    assert [r["epoch"] for r in body["plateau"]] == [1, 2]  # decided at steps 999, 1499
    assert [point[:2] for point in body["metrics"]["loss"]] == [[1, 999], [2, 1499]]
    assert body["record_counts"]["metrics"]["loss"] == {"total": 10, "in_window": 2, "sent": 2}


def test_each_answer_has_the_decisions_of_its_plateau_records_and_every_cooldown_window(served):
    # A long run's decisions are most of a whole answer: a zoom or a tail sends its own only.
    whole = served.timeline(run="exp/lr_timeline")
    assert [d["epoch"] for d in whole["plateau_view"]["decisions"]] == list(range(10))
    for query in ({"start": "10", "end": "20"}, {"start": "990", "end": "1509"}, {"since": "4000"},
                  {"downsample": "7"}):
        body = served.timeline(run="exp/lr_timeline", **query)
        decisions = body["plateau_view"]["decisions"]
        assert [d["epoch"] for d in decisions] == [r["epoch"] for r in body["plateau"]], query
        by_epoch = {d["epoch"]: d for d in whole["plateau_view"]["decisions"]}
        assert decisions == [by_epoch[d["epoch"]] for d in decisions]
        assert body["plateau_view"]["cooldown_windows"] == whole["plateau_view"]["cooldown_windows"]
        assert body["findings"] == whole["findings"]


def test_records_beyond_the_budget_are_thinned_and_counted(tmp_path):
    write_epochs(tmp_path / "long" / "lr_timeline", epochs=300, steps_per_epoch=10)
    body = Served(tmp_path).timeline(run="long/lr_timeline", downsample="100")
    assert len(body["learning_rate"]["SGD"]) <= 100
    assert [r["epoch"] for r in body["epochs"]][:2] == [0, 6]
    assert body["epochs"][-1]["epoch"] == 299
    assert body["record_counts"]["epochs"] == {"total": 300, "in_window": 300, "sent": 50}
    assert body["record_counts"]["plateau"]["sent"] == 50
    assert len(body["metrics"]["loss"]) == 50


@pytest.mark.parametrize(
    "query, words",
    [
        ({"start": "-1"}, "'start' must be a step: a whole number from 0 to 9007199254740991. Received: '-1'"),
        ({"end": "1e3"}, "'end' must be a step"),
        ({"since": "x" * 100}, "Received: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"),
        ({"start": "9007199254740992"}, "'start' must be a step"),
        ({"start": "20", "end": "10"}, "'start' must not be after 'end'. Received: start=20, end=10"),
        ({"format": "csv"}, "'format' must be one of json, columnar. Received: 'csv'"),
    ],
)
def test_bad_window_parameters_get_a_clear_400(served, query, words):
    body = served.timeline(code=400, run="exp/lr_timeline", **query)
    assert words in body["error"]


class Sized:
    def __init__(self, nbytes):
        self.nbytes = nbytes


def test_a_listing_is_reused_within_tensorboards_reload_interval(tmp_path, monkeypatch):
    # The fast loader's listings are gRPC calls: a burst of requests (a pan)
    # lists once; new data shows once the listing is older than the bound.
    now = [100.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    write_epochs(tmp_path / "exp" / "lr_timeline", epochs=10, steps_per_epoch=500)
    served = Served(tmp_path, flags=argparse.Namespace(reload_interval=5.0))
    listed = []
    original = served.plugin._data_provider.list_tensors
    monkeypatch.setattr(served.plugin._data_provider, "list_tensors",
                        lambda *args, **kwargs: listed.append(1) or original(*args, **kwargs))
    for start in ("0", "100", "200"):
        assert served.timeline(run="exp/lr_timeline", start=start)["last_step"] == 4999
    assert len(listed) == 1
    write_epochs(tmp_path / "exp" / "lr_timeline", epochs=2, steps_per_epoch=500, first_epoch=10)
    served.multiplexer.Reload()
    now[0] += cache.LISTING_REUSE_S - 0.01
    assert served.timeline(run="exp/lr_timeline")["last_step"] == 4999
    now[0] += 0.01
    assert served.timeline(run="exp/lr_timeline")["last_step"] == 5999
    assert len(listed) == 2


@pytest.mark.parametrize("reload_interval, reused_s", [
    (5.0, cache.LISTING_REUSE_S),  # TensorBoard's default
    (0.25, 0.25),  # reloads faster than the bound: never older than one reload
    (0, cache.LISTING_REUSE_S),  # loads once
    (-1, cache.LISTING_REUSE_S),  # never reloads
    (None, 0.0),  # no flags (a plugin built by hand): lists at every request
])
def test_listing_reuse_follows_the_reload_interval(reload_interval, reused_s):
    flags = None if reload_interval is None else argparse.Namespace(
        reload_interval=reload_interval)
    assert cache.listing_reuse_seconds(flags) == reused_s


def test_recent_listings_list_again_once_older_than_their_age():
    now, calls = [0.0], []
    listings = cache.RecentListings(1.0, clock=lambda: now[0])

    def list_now():
        calls.append(now[0])
        return {"run": len(calls)}

    assert listings.get("a", list_now) == {"run": 1}
    now[0] = 0.99
    assert listings.get("a", list_now) == {"run": 1}
    assert listings.get("b", list_now) == {"run": 2}  # each key its own listing
    now[0] = 1.0
    assert listings.get("a", list_now) == {"run": 3}
    assert calls == [0.0, 0.99, 1.0]
    never = cache.RecentListings(0.0, clock=lambda: now[0])
    assert [never.get("a", list_now) for _ in range(2)] == [{"run": 4}, {"run": 5}]


def test_cache_evicts_the_least_recently_used_runs_beyond_its_bound():
    run_cache = cache.RunCache(max_bytes=250)
    for key in ("a", "b"):
        run_cache.get(key, 1, lambda: Sized(100))
    run_cache.get("a", 1, lambda: pytest.fail("a is cached"))  # a is now the most recent
    run_cache.get("c", 1, lambda: Sized(100))
    assert "b" not in run_cache and "a" in run_cache and "c" in run_cache
    assert run_cache.evictions == 1 and run_cache.nbytes == 200
    # A summary larger than the bound alone is kept: the next request needs it.
    big = run_cache.get("d", 1, lambda: Sized(1000))
    assert run_cache.get("d", 1, lambda: pytest.fail("d is cached")) is big
    assert len(run_cache) == 1


def test_cache_rebuilds_when_the_fingerprint_changes():
    run_cache = cache.RunCache()
    first = run_cache.get("a", (("tag", 9, 1.5),), lambda: Sized(1))
    second = run_cache.get("a", (("tag", 19, 2.5),), lambda: Sized(1))
    assert first is not second and run_cache.builds == 2 and len(run_cache) == 1


def test_concurrent_requests_for_a_changed_run_build_it_once():
    run_cache = cache.RunCache()
    started, release, builds = threading.Event(), threading.Event(), []

    def build():
        builds.append(1)
        started.set()
        release.wait(30)
        return Sized(1)

    threads = [threading.Thread(target=run_cache.get, args=("a", 1, build)) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait(30)
    release.set()
    for thread in threads:
        thread.join(30)
    assert builds == [1]


def test_cache_bound_must_be_a_byte_count():
    with pytest.raises(ValueError, match="Received: max_bytes=-1"):
        cache.RunCache(max_bytes=-1)


def test_the_plugin_imports_at_load_what_a_build_would_import_among_its_temporaries():
    # A fresh interpreter: this one has imported numpy.ma long ago.
    code = ("import sys; from lr_plugin.serve import cache; cache.prepare_for_builds(); "
            "print('numpy.ma' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(tb_helpers.REPO_ROOT)), check=True)
    assert found.stdout.strip() == "True"


def test_a_ten_million_step_summary_fits_the_default_bound():
    n = 10_000_000
    rates = rate_at(np.arange(n)).astype(np.float32).astype(np.float64)
    built = timeline.empty_run()
    built["learning_rate"]["SGD"] = (np.arange(n), rates)
    run_summary = summary.RunSummary(built)
    assert run_summary.nbytes < cache.DEFAULT_MAX_BYTES / 4


# A live fit() feeding a running tensorboard.

FIT_SCRIPT = r"""
import os, sys, time
import numpy as np
import keras
sys.path.insert(0, sys.argv[1])
from conftest import WeightTrace, linear_probe, probe_data
from lr_plugin.callbacks import LearningRateMonitor

log_dir, gate_dir, epochs, steps = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

class Gate(keras.callbacks.Callback):
    # The test lets each epoch finish only after it saw the previous one served.
    def on_epoch_end(self, epoch, logs=None):
        deadline = time.monotonic() + 300
        while not os.path.exists(os.path.join(gate_dir, f"go_{epoch}")):
            if time.monotonic() > deadline:
                sys.exit(f"no go for epoch {epoch}")
            time.sleep(0.05)

trace = WeightTrace()
schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.97)
model = linear_probe(schedule)
x, y = probe_data(steps)
model.fit(x, y, batch_size=4, epochs=epochs, shuffle=False, verbose=0,
          callbacks=[LearningRateMonitor(log_dir), Gate(), trace.callback])
np.save(os.path.join(gate_dir, "applied.npy"), trace.applied_rates())
"""

LIVE_EPOCHS = 4
LIVE_STEPS = 25
LIVE_TIMEOUT_S = 240


def poll(condition, processes, what):
    deadline = time.monotonic() + LIVE_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        for name, process, log_path in processes:
            if process.poll() is not None and process.returncode != 0:
                pytest.fail(f"{name} exited with {process.returncode} before {what}:\n"
                            + log_path.read_text(errors="replace")[-3000:])
        try:
            result = condition()
            if result is not None:
                return result
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            last = error
        time.sleep(0.25)
    logs = "\n".join(f"--- {name}:\n" + log_path.read_text(errors="replace")[-2000:]
                     for name, _, log_path in processes)
    pytest.fail(f"timed out waiting for {what} (last error: {last!r})\n{logs}")


@pytest.mark.slow
@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_live_fit_shows_new_steps_as_tensorboard_loads_them(tmp_path, load_fast):
    if load_fast == "true":
        from tensorboard.data import server_ingester

        if server_ingester.get_server_binary() is None:
            pytest.skip("tensorboard_data_server has no binary here")
    logdir, gates = tmp_path / "logs", tmp_path / "gates"
    gates.mkdir()
    logdir.mkdir()  # TensorBoard's Python loader watches only a logdir that exists
    port = tb_helpers.free_port()
    tb_log = tmp_path / "tensorboard.log"
    env = tb_helpers.tensorboard_env(tmp_path / "site")
    builds_path = tmp_path / "builds.jsonl"
    tensorboard = tb_helpers.start_tensorboard(
        logdir, port, [f"--load_fast={load_fast}"], env, tb_log, builds_path=builds_path)
    fit_log = tmp_path / "fit.log"
    with open(fit_log, "wb") as log:
        fit = subprocess.Popen(
            [sys.executable, "-c", FIT_SCRIPT, TESTS_DIR, str(logdir / "exp"), str(gates),
             str(LIVE_EPOCHS), str(LIVE_STEPS)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    processes = [("tensorboard", tensorboard, tb_log), ("fit", fit, fit_log)]
    url = f"http://127.0.0.1:{port}{PLUGIN}/timeline?run=exp/lr_timeline"

    def served(query=""):
        with urllib.request.urlopen(url + query, timeout=30) as response:
            return json.loads(response.read().decode("utf-8"))

    try:
        seen = []
        for epoch in range(LIVE_EPOCHS):
            last = (epoch + 1) * LIVE_STEPS - 1
            body = poll(lambda: (lambda b: b if b["last_step"] == last else None)(served()),
                        processes, f"step {last} on /timeline")
            assert body["points"] == {"SGD": last + 1}
            assert [r["epoch"] for r in body["epochs"]] == list(range(epoch + 1))
            builds = tb_helpers.read_builds(builds_path)
            # The answer came from a summary built on this epoch's data...
            assert builds[-1] == {"run": "exp/lr_timeline", "last_step": last}
            if seen:  # the tail since what the page already has
                tail = served(f"&since={seen[-1]}")
                assert [s for s, _ in tail["learning_rate"]["SGD"]] == list(
                    range(seen[-1] + 1, last + 1))
                assert [r["epoch"] for r in tail["epochs"]] == [epoch]
            # ...and while the run is unchanged (fit waits at the gate), other
            # windows and repeated queries are answered from that summary.
            assert served(f"&start={last - 3}&end={last}")["points_in_window"] == {"SGD": 4}
            assert served() == body
            assert tb_helpers.read_builds(builds_path) == builds
            seen.append(last)
            (gates / f"go_{epoch}").touch()
        assert fit.wait(timeout=LIVE_TIMEOUT_S) == 0, fit_log.read_text(errors="replace")
        final = served()
        applied = np.load(gates / "applied.npy")
        logged = np.array([rate for _, rate in final["learning_rate"]["SGD"]])
        # Physics: each update moved the probe's weight by exactly the rate served.
        np.testing.assert_allclose(logged, applied, rtol=1e-5, atol=1e-7)
        assert [s for s, _ in final["learning_rate"]["SGD"]] == list(range(LIVE_EPOCHS * LIVE_STEPS))
    finally:
        tb_helpers.stop_process(fit)
        tb_helpers.stop_process(tensorboard)
