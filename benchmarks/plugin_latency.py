"""Section ``plugin``: a real ``tensorboard`` process serving runs of 10k, 1M and 10M steps.

Two log directories hold the same learning-rate series:

- ``lr/steps_N/lr_timeline``: written with ``lr_plugin.format.writer`` as the callbacks
  write it: one chunk of rates, one epoch record and one plateau record per
  1000-step epoch, a flush per epoch (one bundle, one TensorBoard point),
  ``reduce``/``cooldown_*`` events every 20 epochs. The rate changes at every step (cosine decay with warmup, halved
  at each reduction): the hardest case for downsampling. Rates are float32
  values, as Keras applies them: this slow cosine then has runs of equal
  rates, 1.29M change points at 10M steps, far more than the budget, so
  ``/timeline`` sends each range's extremes (the budget rule of
  ``lr_plugin.model.summary``), and the size of its answer is reported. (No
  float64 variant: another 10M-step run would double the section's time.)
- ``scalars/steps_N/scalars``: the same series as standard scalars
  (``tensorboard.summary.Writer.add_scalar("lr", value, step)``).

For each loader (``--load_fast=false``, and ``true`` where TensorBoard's data
server binary is installed) and each directory, a fresh TensorBoard is started
on a free loopback port and polled until everything is loaded; then it reports
the load time, the resident memory of TensorBoard and its children, and the
latency of ``/data/plugin/lr_timeline/timeline?run=...&downsample=2000``
(resp. ``/data/plugin/scalars/scalars?run=...&tag=lr``) for every size,
sizes alternated in each round. ``/timeline`` is measured four ways: the whole
run (default), zoomed on 1% of the run in its middle (``start``/``end``), the
same zoom moved by a few steps at every request (so no answer is reused), the
incremental tail of the last 1000 steps (``since``), and the whole run in the
columnar encoding; and its first request after loading (the cache's build).
"""

import json
import math
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from benchmarks import common

SIZES = (10_000, 1_000_000, 10_000_000)
QUICK_SIZES = (2_000, 5_000)
STEPS_PER_EPOCH = 1000
OPTIMIZER = "Adam"
DOWNSAMPLE = 2000
REDUCE_EVERY = 20  # epochs
TARGET_RATIO_TO_SCALARS = 1.5  # /timeline median over /scalars median, at 1M and 10M
TARGET_WINDOW_MS = 50  # zoomed and incremental /timeline at the biggest size
TARGET_RSS_RATIO = 1.10  # TensorBoard's RSS with the lr_timeline runs over the scalars runs
TAIL_STEPS = 1000
SCALARS_LOAD_TIMEOUT_S = 1200
MAX_SCALAR_WRITE_S = 900  # above this (estimated), a scalars run is left out
LOAD_TIMEOUT_S = 1800  # the Python loader reads 10M scalar events in minutes on 2 shared cores


def run_name(steps):
    return f"steps_{steps}"


def lr_run(steps):
    return f"{run_name(steps)}/lr_timeline"


def scalars_run(steps):
    return f"{run_name(steps)}/scalars"


# Logs.


def rate_schedule(steps, peak=0.01, warmup=2000):
    """Base rate of every step: linear warmup, then cosine decay to 1% of peak."""
    import numpy as np

    index = np.arange(steps, dtype=np.float64)
    warm = min(warmup, max(1, steps // 10))
    progress = np.clip((index - warm) / max(1, steps - warm), 0.0, 1.0)
    cosine = peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * progress)))
    return np.where(index < warm, peak * (index + 1) / warm, cosine)


def write_lr_run(run_dir, steps):
    """Writes one run as the callbacks would; returns the rate of every step."""
    import numpy as np

    from lr_plugin.format import metadata
    from lr_plugin.format import writer

    base = rate_schedule(steps)
    applied = np.empty(steps)
    run_writer = writer.open_run_writer(run_dir)
    scale, best = 1.0, math.inf
    epochs = math.ceil(steps / STEPS_PER_EPOCH)
    for epoch in range(epochs):
        first = epoch * STEPS_PER_EPOCH
        last = min(steps, first + STEPS_PER_EPOCH) - 1
        # The rate Keras applies is a float32 variable.
        rates = (base[first:last + 1] * scale).astype(np.float32).astype(np.float64)
        applied[first:last + 1] = rates
        run_writer.add_rates(OPTIMIZER, np.arange(first, last + 1), rates)
        val_loss = 0.3 + 0.7 / (1 + 0.05 * epoch) + 0.01 * math.sin(epoch)
        run_writer.add_record(metadata.EPOCHS_TAG, {
            "epoch": epoch, "first_step": first, "last_step": last,
            "learning_rate": float(rates[-1]), "learning_rates": {OPTIMIZER: float(rates[-1])},
            "metrics": {"loss": val_loss - 0.05, "val_loss": val_loss},
        })
        reduce = epoch % REDUCE_EVERY == REDUCE_EVERY - 1
        improved = val_loss < best - 1e-4
        best_before, best = best, min(best, val_loss)
        lr_before, lr_after = float(rates[-1]), float(rates[-1]) * (0.5 if reduce else 1.0)
        run_writer.add_record(metadata.PLATEAU_TAG, {
            "epoch": epoch, "step": last, "monitor": "val_loss", "mode": "min",
            "value": val_loss, "best": best,
            "best_before": None if best_before == math.inf else best_before,
            "threshold": best - 1e-4, "min_delta": 1e-4, "wait": 0 if improved else 1,
            "wait_before": 0, "patience": 5, "cooldown": 2, "cooldown_counter": 2 if reduce else 0,
            "factor": 0.5, "min_lr": 0.0,
            "action": "reduce" if reduce else ("improved" if improved else "wait"),
            "lr_before": lr_before, "lr_after": lr_after,
        })
        if reduce:
            scale *= 0.5
            run_writer.add_record(metadata.EVENTS_TAG, {
                "epoch": epoch, "step": last, "kind": "reduce", "optimizer": OPTIMIZER,
                "lr_before": lr_before, "lr_after": lr_after, "value": val_loss, "best": best,
                "wait": 5, "patience": 5, "monitor": "val_loss"})
            run_writer.add_record(metadata.EVENTS_TAG, {
                "epoch": epoch, "step": last, "kind": "cooldown_start", "cooldown": 2,
                "blocked_epochs": 1, "until_epoch": epoch + 1})
        elif epoch % REDUCE_EVERY == 1 and epoch > REDUCE_EVERY:
            run_writer.add_record(metadata.EVENTS_TAG, {
                "epoch": epoch, "step": last, "kind": "cooldown_end"})
        run_writer.flush(step=last)
    run_writer.close()
    return applied


def write_scalars_run(run_dir, rates):
    """The rates as the scalar ``lr``, the events ``tensorboard.summary.Writer.add_scalar`` writes.

    The first event is written by TensorBoard's own writer (file header and the
    scalar's metadata); the rest reuse its event with the step, wall time and
    value replaced, framed as TFRecords: ``add_scalar`` itself would take
    about 7 minutes for 10M steps on the shared machine.
    """
    import struct

    import google_crc32c
    from tensorboard import summary as tb_summary
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.scalar import summary_v2

    rates = [float(r) for r in rates]
    scalar_writer = tb_summary.Writer(str(run_dir))
    scalar_writer.add_scalar("lr", rates[0], step=0)
    scalar_writer.flush()
    scalar_writer.close()
    event = event_pb2.Event(summary=summary_v2.scalar_pb("lr", rates[0]))
    event.summary.value[0].ClearField("metadata")  # only the first event of a tag needs it
    value = event.summary.value[0].tensor
    crc = google_crc32c.value
    pack_length, pack_crc = struct.Struct("<Q").pack, struct.Struct("<I").pack

    def masked(data):
        checksum = crc(data)
        return ((((checksum >> 15) | (checksum << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

    start = time.time()
    path = sorted(pathlib.Path(run_dir).glob("events.out.tfevents.*"))[-1]
    with open(path, "ab") as handle:
        for step in range(1, len(rates)):
            event.step = step
            event.wall_time = start + step * 1e-6
            value.float_val[0] = rates[step]
            data = event.SerializeToString()
            length = pack_length(len(data))
            handle.write(length + pack_crc(masked(length)) + data + pack_crc(masked(data)))


# TensorBoard.


def _plugin_installed():
    from importlib import metadata as importlib_metadata

    return any(
        entry.value == "lr_plugin.serve.tb_loader:LrTimelineLoader"
        for entry in importlib_metadata.entry_points(group="tensorboard_plugins")
    )


def tensorboard_env(scratch):
    """An environment where TensorBoard finds this checkout's plugin (as in tests/tb_helpers.py)."""
    paths = [common.REPO_ROOT]
    if not _plugin_installed():
        dist_info = pathlib.Path(scratch) / "site" / "lr_plugin_bench-0.0.dist-info"
        dist_info.mkdir(parents=True, exist_ok=True)
        (dist_info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: lr_plugin_bench\nVersion: 0.0\n")
        (dist_info / "entry_points.txt").write_text(
            "[tensorboard_plugins]\nlr_timeline = lr_plugin.serve.tb_loader:LrTimelineLoader\n")
        paths.insert(0, str(dist_info.parent))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def fast_loader_available():
    try:
        from tensorboard.data import server_ingester

        return server_ingester.get_server_binary() is not None
    except Exception:
        return False


class TensorBoard:
    """``python -m tensorboard.main --logdir LOGDIR --host 127.0.0.1 --port FREE``."""

    def __init__(self, logdir, load_fast, scratch):
        self.port = common.free_port()
        self.log_path = pathlib.Path(scratch) / f"tensorboard-{self.port}.log"
        with open(self.log_path, "wb") as log:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
                 "--host", "127.0.0.1", "--port", str(self.port), f"--load_fast={load_fast}"],
                stdout=log, stderr=subprocess.STDOUT, env=tensorboard_env(scratch),
            )

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, timeout=120):
        with urllib.request.urlopen(self.url(path), timeout=timeout) as response:
            return response.read()

    def get_json(self, path):
        return json.loads(self.get(path).decode("utf-8"))

    def elapsed(self):
        return time.perf_counter() - self.started

    def wait_until(self, condition, what, timeout=LOAD_TIMEOUT_S, interval=0.25):
        """Polls ``condition()`` until it returns a truthy value; returns it."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tensorboard exited with {self.process.returncode} before {what}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:])
            try:
                result = condition()
                if result:
                    return result
            except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as error:
                last_error = error
            time.sleep(interval)
        raise RuntimeError(f"timed out waiting for {what} (last error: {last_error!r}):\n"
                           + self.log_path.read_text(errors="replace")[-3000:])

    def memory(self):
        return common.resident_memory(self.process.pid)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def _timeline_path(steps, query=""):
    run = urllib.parse.quote(lr_run(steps), safe="")
    return f"/data/plugin/lr_timeline/timeline?run={run}&downsample={DOWNSAMPLE}{query}"


def _zoomed_path(steps, shift=0):
    width = max(steps // 100, 1)
    start = steps // 2 - width // 2 + shift
    return _timeline_path(steps, f"&start={start}&end={start + width - 1}")


def _moving_zoom_paths():
    """A new zoom window at every request (a pan): never an answer the plugin already encoded."""
    shifts = iter(range(1, 10**9))
    return lambda steps: _zoomed_path(steps, next(shifts) * 7)


def _incremental_path(steps):
    return _timeline_path(steps, f"&since={max(steps - 1 - TAIL_STEPS, 0)}")


def _columnar_path(steps):
    return _timeline_path(steps, "&format=columnar")


def _scalars_path(steps):
    run = urllib.parse.quote(scalars_run(steps), safe="")
    return f"/data/plugin/scalars/scalars?run={run}&tag=lr"


def measure_latency(server, path_of, sizes, rounds):
    """Median of ``rounds`` GETs per size, sizes alternated; one warm-up GET each."""
    for steps in sizes:
        server.get(path_of(steps))
    samples = {steps: [] for steps in sizes}
    response_bytes = {}
    for index in range(rounds):
        for steps in common.rotated(sizes, index):
            start = time.perf_counter()
            body = server.get(path_of(steps))
            samples[steps].append(time.perf_counter() - start)
            response_bytes[steps] = len(body)
    return {str(steps): dict(common.summarize(s), response_bytes=response_bytes[steps])
            for steps, s in samples.items()}


def serve_lr_timeline(logdir, sizes, load_fast, rounds, scratch):
    biggest = max(sizes)
    epochs = math.ceil(biggest / STEPS_PER_EPOCH)
    server = TensorBoard(logdir, load_fast, scratch)
    try:
        wanted = {lr_run(s) for s in sizes}
        server.wait_until(lambda: server.get_json("/data/plugins_listing"), "TensorBoard to answer")
        up_s = server.elapsed()

        def complete():
            body = server.get_json(_timeline_path(biggest))
            return (body["points"].get(OPTIMIZER) == biggest
                    and body["record_counts"]["epochs"]["total"] == epochs)

        def loaded():
            listing = server.get_json("/data/plugin/lr_timeline/runs")
            return wanted <= {r["run"] for r in listing["runs"]}

        server.wait_until(loaded, "every lr_timeline run")
        server.wait_until(complete, f"all {biggest:,} points of {lr_run(biggest)}", interval=2.0)
        load_s = server.elapsed()
        memory_loaded = server.memory()
        # The first request of each other run builds its cache entry.
        first_request = {}
        for steps in sizes:
            if steps != biggest:
                start = time.perf_counter()
                server.get(_timeline_path(steps))
                first_request[str(steps)] = time.perf_counter() - start
        latency = measure_latency(server, _timeline_path, sizes, rounds)
        zoomed = measure_latency(server, _zoomed_path, sizes, rounds)
        panned = measure_latency(server, _moving_zoom_paths(), sizes, rounds)
        incremental = measure_latency(server, _incremental_path, sizes, rounds)
        columnar = measure_latency(server, _columnar_path, sizes, rounds)
        check = {}
        for steps in sizes:
            body = server.get_json(_timeline_path(steps))
            zoom = server.get_json(_zoomed_path(steps))
            tail = server.get_json(_incremental_path(steps))
            check[str(steps)] = {"points": body["points"][OPTIMIZER],
                                 "points_sent": len(body["learning_rate"][OPTIMIZER]),
                                 "epochs": body["record_counts"]["epochs"]["total"],
                                 "plateau": body["record_counts"]["plateau"]["total"],
                                 "events": len(body["events"]),
                                 "epochs_sent": len(body["epochs"]),
                                 "plateau_sent": len(body["plateau"]),
                                 "zoomed_points_sent": len(zoom["learning_rate"][OPTIMIZER]),
                                 "incremental_points_sent": len(tail["learning_rate"][OPTIMIZER])}
        return {"up_s": up_s, "load_s": load_s, "memory_after_load": memory_loaded,
                "memory_after_requests": server.memory(), "latency_s": latency,
                "zoomed_latency_s": zoomed, "panned_latency_s": panned,
                "incremental_latency_s": incremental,
                "columnar_latency_s": columnar, "first_request_s": first_request,
                "responses": check}
    finally:
        server.stop()


def serve_scalars(logdir, sizes, load_fast, rounds, scratch):
    biggest = max(sizes)
    server = TensorBoard(logdir, load_fast, scratch)
    try:
        server.wait_until(lambda: server.get_json("/data/plugins_listing"), "TensorBoard to answer")
        up_s = server.elapsed()

        def complete(steps):
            # Reservoir sampling always keeps the latest point.
            tags = server.get_json("/data/plugin/scalars/tags")
            if "lr" not in tags.get(scalars_run(steps), {}):
                return False
            points = server.get_json(_scalars_path(steps))
            return points and points[-1][1] == steps - 1

        for steps in sorted(sizes)[:-1]:
            server.wait_until(lambda: complete(steps), f"the last step of {scalars_run(steps)}")
        note = None
        try:
            server.wait_until(lambda: complete(biggest), f"the last step of {scalars_run(biggest)}",
                              timeout=SCALARS_LOAD_TIMEOUT_S, interval=2.0)
        except RuntimeError:
            # The Python loader reads every scalar event; leave the size out rather than the loader.
            note = (f"{scalars_run(biggest)} not loaded after {server.elapsed():.0f} s "
                    f"(--load_fast={load_fast}): left out of the latency comparison")
            common.log(f"plugin: {note}")
            sizes = sorted(sizes)[:-1]
        load_s = server.elapsed()
        memory_loaded = server.memory()
        latency = measure_latency(server, _scalars_path, sizes, rounds)
        points = {str(s): len(server.get_json(_scalars_path(s))) for s in sizes}
        return {"up_s": up_s, "load_s": load_s, "memory_after_load": memory_loaded,
                "not_loaded_note": note,
                "memory_after_requests": server.memory(), "latency_s": latency,
                "points_sent": points}
    finally:
        server.stop()


def run(quick=False, scratch=None, sizes=None, rounds=None, loaders=None):
    sizes = tuple(sizes or (QUICK_SIZES if quick else SIZES))
    rounds = rounds or (3 if quick else 15)
    if loaders is None:
        # The fast loader first: the Python loader may not finish the 10M scalars in time.
        loaders = (["true"] if fast_loader_available() and not quick else []) + ["false"]
    lr_dir = os.path.join(scratch, "plugin", "lr")
    scalars_dir = os.path.join(scratch, "plugin", "scalars")

    written = {}
    rates_of = {}
    for steps in sizes:
        start = time.perf_counter()
        rates_of[steps] = write_lr_run(os.path.join(lr_dir, lr_run(steps)), steps)
        written[str(steps)] = {"lr_timeline_write_s": time.perf_counter() - start,
                               "lr_timeline_bytes": common.directory_bytes(
                                   os.path.join(lr_dir, run_name(steps)))}
        common.log(f"plugin: wrote {lr_run(steps)} in "
                   f"{written[str(steps)]['lr_timeline_write_s']:.1f} s")

    scalar_sizes, scalar_note = [], None
    rate_per_s = None
    # Imports and TensorBoard's writer warm up on a throwaway run, not in the
    # write rate the larger sizes are judged by (a cold start took 14 s for 10k).
    write_scalars_run(os.path.join(scratch, "plugin", "warmup", "scalars"), [0.1, 0.1])
    for steps in sorted(sizes):
        if rate_per_s is not None and steps / rate_per_s > MAX_SCALAR_WRITE_S:
            scalar_note = (f"scalars comparison left out at {steps:,} steps: writing them "
                           f"would take "
                           f"about {steps / rate_per_s:.0f} s (limit {MAX_SCALAR_WRITE_S} s)")
            common.log(f"plugin: {scalar_note}")
            continue
        start = time.perf_counter()
        write_scalars_run(os.path.join(scalars_dir, scalars_run(steps)), rates_of[steps])
        elapsed = time.perf_counter() - start
        rate_per_s = steps / elapsed
        written[str(steps)]["scalars_write_s"] = elapsed
        written[str(steps)]["scalars_bytes"] = common.directory_bytes(
            os.path.join(scalars_dir, run_name(steps)))
        scalar_sizes.append(steps)
        common.log(f"plugin: wrote {scalars_run(steps)} in {elapsed:.1f} s")

    results = {}
    for load_fast in loaders:
        common.log(f"plugin: TensorBoard --load_fast={load_fast} on the lr_timeline runs")
        timeline = serve_lr_timeline(lr_dir, sizes, load_fast, rounds, scratch)
        common.log(f"plugin: loaded in {timeline['load_s']:.1f} s; "
                   + ", ".join(f"{s}: {1e3 * v['median']:.1f} ms"
                               for s, v in timeline["latency_s"].items()))
        common.log(f"plugin: TensorBoard --load_fast={load_fast} on the scalars runs")
        scalars = serve_scalars(scalars_dir, scalar_sizes, load_fast, rounds, scratch)
        common.log(f"plugin: loaded in {scalars['load_s']:.1f} s; "
                   + ", ".join(f"{s}: {1e3 * v['median']:.1f} ms"
                               for s, v in scalars["latency_s"].items()))
        results[f"load_fast={load_fast}"] = {"lr_timeline": timeline, "scalars": scalars}

    biggest = max(sizes)
    rows = []
    for key, result in results.items():
        timeline, scalars = result["lr_timeline"], result["scalars"]
        total_steps = sum(sizes)
        rows.append(common.row(
            "plugin", f"{key}: load time (start \u2192 all served), lr_timeline runs, "
                      f"{total_steps:,} steps (TensorBoard answered at {timeline['up_s']:.1f} s)",
            value=timeline["load_s"], unit="s", digits=3))
        rows.append(common.row(
            "plugin", f"{key}: load time (start \u2192 all served), same series as scalars, "
                      f"{sum(scalar_sizes):,} steps "
                      f"(TensorBoard answered at {scalars['up_s']:.1f} s)",
            value=scalars["load_s"], unit="s", digits=3))
        timeline_rss = timeline["memory_after_requests"]["rss_bytes"]
        scalars_rss = scalars["memory_after_requests"]["rss_bytes"]
        same_runs = set(scalar_sizes) == set(sizes) and not scalars.get("not_loaded_note")
        rows.append(common.row(
            "plugin", f"{key}: resident memory of TensorBoard (+ data server), lr_timeline runs",
            value=timeline_rss, unit="MB", scale=1e-6))
        rows.append(common.row(
            "plugin", f"{key}: resident memory of TensorBoard (+ data server), scalars runs",
            value=scalars_rss, unit="MB", scale=1e-6))
        for name, measured in (("lr_timeline", timeline), ("scalars", scalars)):
            by_process = measured["memory_after_requests"]["rss_bytes_by_process"]
            if len(by_process) > 1:  # where the difference lives
                rows.append(common.row(
                    "plugin", f"{key}: of which the data server, {name} runs",
                    value=sum(by_process[1:]), unit="MB", scale=1e-6))
        rows.append(common.row(
            "plugin", f"{key}: resident memory, lr_timeline runs / scalars runs",
            value=timeline_rss / scalars_rss, unit="x",
            target=f"<= {TARGET_RSS_RATIO}x" if same_runs else None,
            met=(timeline_rss / scalars_rss <= TARGET_RSS_RATIO) if same_runs else None))
        for steps in sizes:
            stats = timeline["latency_s"][str(steps)]
            scalar_stats = scalars["latency_s"].get(str(steps))
            rows.append(common.row(
                "plugin", f"{key}: /timeline, {steps:,} steps (downsample={DOWNSAMPLE})", stats,
                "ms", scale=1e3))
            sent = timeline["responses"][str(steps)]["points_sent"]
            rows.append(common.row(
                "plugin", f"{key}: /timeline answer size, {steps:,} steps "
                          f"({sent:,} rate points sent, at most {DOWNSAMPLE:,})",
                value=stats["response_bytes"], unit="KB", scale=1e-3,
                target=f"<= {DOWNSAMPLE:,} points", met=sent <= DOWNSAMPLE))
            if scalar_stats is not None:
                rows.append(common.row(
                    "plugin", f"{key}: /scalars, {steps:,} steps "
                              f"({scalars['points_sent'][str(steps)]} points sent)",
                    scalar_stats, "ms", scale=1e3))
                ratio = stats["median"] / scalar_stats["median"]
                judged = steps >= 1_000_000
                rows.append(common.row(
                    "plugin", f"{key}: /timeline / /scalars medians, {steps:,} steps",
                    value=ratio, unit="x",
                    target=f"<= {TARGET_RATIO_TO_SCALARS}x" if judged else None,
                    met=(ratio <= TARGET_RATIO_TO_SCALARS) if judged else None))
            rows.append(common.row(
                "plugin", f"{key}: /timeline columnar, {steps:,} steps",
                timeline["columnar_latency_s"][str(steps)], "ms", scale=1e3))
            for label, latency_key in (("zoomed on 1%", "zoomed_latency_s"),
                                       ("zoomed on 1%, a new window each request",
                                        "panned_latency_s"),
                                       (f"incremental (since, last {TAIL_STEPS} steps)",
                                        "incremental_latency_s")):
                window_stats = timeline[latency_key][str(steps)]
                judged = steps == biggest and steps >= 10_000_000
                rows.append(common.row(
                    "plugin", f"{key}: /timeline {label}, {steps:,} steps", window_stats,
                    "ms", scale=1e3,
                    target=f"< {TARGET_WINDOW_MS} ms" if judged else None,
                    met=(window_stats["median"] * 1e3 < TARGET_WINDOW_MS) if judged else None))
            if str(steps) in timeline["first_request_s"]:
                rows.append(common.row(
                    "plugin", f"{key}: first /timeline after load (cache build), {steps:,} steps",
                    value=timeline["first_request_s"][str(steps)], unit="ms", scale=1e3))
    return {
        "config": {"sizes": list(sizes), "scalar_sizes": scalar_sizes, "rounds": rounds,
                   "loaders": [f"load_fast={v}" for v in loaders], "downsample": DOWNSAMPLE,
                   "steps_per_epoch": STEPS_PER_EPOCH, "optimizer": OPTIMIZER,
                   "tensorboard_flags": "defaults except --logdir --host --port --load_fast",
                   "note": scalar_note},
        "written": written,
        "results": results,
        "rows": rows,
    }
