"""Fault suite: damaged event files are read by export and served by a real
TensorBoard on both loaders without a traceback, a non-JSON error or a 5xx,
keeping everything before the damage.

The variants (tests/faults/damaged_runs.py, seeded) are truncations, byte flips,
inserted garbage and valid frames around malformed payloads. Each TensorBoard is
started once over a log dir that holds every variant as its own run.
"""

import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import warnings
from contextlib import redirect_stderr, redirect_stdout

import pytest
from damaged_runs import epochs_before, write_variants
from session_helpers import write_session

import tb_helpers
from lr_plugin.tools import cli

SEED = 20261201
PER_KIND = 8
STARTUP_TIMEOUT_S = 180


# TensorBoard's own Python loader dies on a frame with valid checksums that
# is not an Event (DecodeError in its Reloader thread, which then stops
# loading every run): export reads past it, TensorBoard is not given it.
NOT_FOR_TENSORBOARD = ("malformed_frame_not_an_event",)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("faults")
    return logdir, write_variants(str(logdir), seed=SEED, per_kind=PER_KIND)


@pytest.fixture(scope="module")
def served_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("faults_served")
    written = write_variants(str(logdir), seed=SEED, per_kind=PER_KIND,
                             exclude=NOT_FOR_TENSORBOARD)
    # Sessions beside the damage: TensorBoard purges a tag's later points when
    # its step goes back; the plugin must still agree with export.
    write_session(logdir / "rerun" / "lr_timeline", "a", 0, epochs=4, steps_per_epoch=10,
                  rate=lambda s: 0.1, reduce_at=(1, 2))
    write_session(logdir / "rerun" / "lr_timeline", "b", 0, epochs=2, steps_per_epoch=10,
                  rate=lambda s: 0.05)
    write_session(logdir / "resumed" / "lr_timeline", "a", 0, epochs=4, steps_per_epoch=10,
                  rate=lambda s: 0.1, reduce_at=(0, 3), crashed=True)
    write_session(logdir / "resumed" / "lr_timeline", "b", 20, epochs=3, steps_per_epoch=10,
                  first_epoch=2, rate=lambda s: 0.02)
    return logdir, written


def export_run(logdir, run):
    """``(exit code, document or None, stderr)`` of ``lr-plugin export --run run``."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        code = cli.main(["export", str(logdir), "--run", run])
    return code, (json.loads(out.getvalue()) if code == 0 else None), err.getvalue()


def test_export_reads_every_variant_and_keeps_what_came_before_the_damage(damaged):
    logdir, written = damaged
    _, healthy, _ = export_run(logdir, "healthy")
    healthy = healthy["runs"]["healthy/lr_timeline"]
    read = 0
    for run, variant in written.items():
        code, document, err = export_run(logdir, run)
        assert code == 0, (run, err)
        data = document["runs"][run]
        kept = epochs_before(variant.data, variant.intact_until)
        assert set(kept) <= {e["epoch"] for e in data["epochs"]}, run
        if variant.name.startswith("malformed_") or variant.name == "healthy":
            # A malformed payload is skipped whole; everything else is as written
            # (a series whose only payload was skipped is listed, empty).
            assert {k: data[k] for k in healthy if k != "planned"} == {
                k: v for k, v in healthy.items() if k != "planned"}, run
            assert not any(data["planned"].values()), run
            # (Damaged plugin metadata is no warning: as in TensorBoard, the tag's
            # first metadata decides.)
            assert variant.name in ("healthy", "malformed_garbage_plugin_content") or (
                "warning:" in err), run
        read += 1
    print(f"\nexport: {len(written)} variants tried, {read} read without error")
    assert read == len(written) == 1 + 3 * PER_KIND + 43


def test_export_of_every_variant_at_once_in_a_subprocess_has_no_traceback(damaged):
    logdir, written = damaged
    result = subprocess.run([sys.executable, "-m", "lr_plugin.tools.cli", "export", str(logdir)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert set(json.loads(result.stdout)["runs"]) == set(written)
    assert all(line.startswith("lr-plugin export: warning: ")
               for line in result.stderr.splitlines()), result.stderr[-3000:]


def wait_until_loaded(port, process, log_path, expected_runs):
    """Waits until /runs lists the runs expected to have data, twice the same."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    previous = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("tensorboard exited:\n" + log_path.read_text(errors="replace")[-4000:])
        try:
            status, _, text = tb_helpers.fetch(port, "/data/plugin/lr_timeline/runs")
            runs = {r["run"] for r in json.loads(text)["runs"]} if status == 200 else None
        except (urllib.error.URLError, OSError, ValueError):
            runs = None
        if runs is not None and expected_runs <= runs and runs == previous:
            return runs
        previous = runs
        time.sleep(2)
    pytest.fail(f"Timed out loading runs; missing {sorted(expected_runs - (previous or set()))}:\n"
                + log_path.read_text(errors="replace")[-4000:])


@pytest.mark.slow
@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_tensorboard_serves_every_variant_as_json_without_5xx(served_logdir, tmp_path, load_fast):
    logdir, written = served_logdir
    expected = {run for run, v in written.items() if epochs_before(v.data, v.intact_until)}
    process, port, log_path = tb_helpers.start_tensorboard_with_loader(logdir, tmp_path, load_fast)
    try:
        listed = wait_until_loaded(port, process, log_path,
                                   expected | {"rerun/lr_timeline", "resumed/lr_timeline"})
        served = 0
        for run, variant in sorted(written.items()):
            query = urllib.parse.urlencode({"run": run, "downsample": 1_000_000})
            status, content_type, text = tb_helpers.fetch(
                port, f"/data/plugin/lr_timeline/timeline?{query}")
            assert status < 500 and content_type.startswith("application/json"), (run, text[:500])
            body = json.loads(text)
            kept = epochs_before(variant.data, variant.intact_until)
            if status == 404:
                assert run not in listed and not kept, (run, body)
                served += 1
                continue
            assert status == 200, (run, body)
            assert set(kept) <= {e["epoch"] for e in body["epochs"]}, run
            # Export never shows less than TensorBoard on the same file.
            _, document, _ = export_run(logdir, run)
            exported = document["runs"][run]
            assert {e["epoch"] for e in body["epochs"]} <= {e["epoch"] for e in exported["epochs"]}
            if not variant.name.startswith("malformed_"):
                # (TensorBoard converts tensors itself: it reads a [-3, 2] shape as [-1, 2].)
                served_points = {tuple(p) for p in body["learning_rate"].get("SGD", [])}
                assert served_points <= {tuple(p) for p in exported["learning_rate"]["SGD"]}, run
            served += 1
        print(f"\ntensorboard --load_fast={load_fast}: {len(written)} variants tried, "
              f"{served} served without error")
        for run in ("rerun/lr_timeline", "resumed/lr_timeline"):
            query = urllib.parse.urlencode({"run": run, "downsample": 1_000_000})
            status, _, text = tb_helpers.fetch(port, f"/data/plugin/lr_timeline/timeline?{query}")
            body, exported = json.loads(text), export_run(logdir, run)[1]["runs"][run]
            for key in ("learning_rate", "epochs", "plateau", "events"):
                assert body[key] == exported[key], (run, key)
        assert [e["epoch"] for e in body["epochs"]] == [0, 1, 2, 3, 4]
        assert [e["step"] for e in body["events"]] == [9]
        assert served == len(written)
        log = log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-4000:]
    finally:
        tb_helpers.stop_process(process)
