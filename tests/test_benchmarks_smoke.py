"""The benchmarks still run: every section of ``python -m benchmarks`` on tiny sizes.

Nothing here asserts a timing (the numbers of a test run mean nothing); it
checks that each section produces results of the documented shape, so the
benchmarks cannot rot unnoticed. The numbers: ``python -m benchmarks``.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FIT_VARIANTS = ["no_callback", "LearningRateMonitor", "ReduceLROnPlateau", "empty_batch_hook",
                "keras_TensorBoard"]


def browser_missing_reason():
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed"
    return None


def run_quick(tmp_path, *sections):
    """``python -m benchmarks --quick --only ...``: returns (the JSON report, stdout)."""
    out = tmp_path / "quick.json"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)]
    for section in sections:
        command += ["--only", section]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-6000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert sorted(report["sections"]) == sorted(sections)
    for name, section in report["sections"].items():
        assert "error" not in section, section["error"]
    return report, completed.stdout


def assert_stats(stats, n=None):
    assert set(stats) >= {"median", "min", "max", "q1", "q3", "n", "samples"}
    assert 0 < stats["min"] <= stats["median"] <= stats["max"]
    assert stats["n"] == len(stats["samples"]) >= 1
    if n is not None:
        assert stats["n"] == n


def rounds_of_hooks(fit):
    return fit["all_hooks_per_step_in_fit_s"]["LearningRateMonitor"]["n"]


def assert_table(report, stdout):
    rows = [r for s in report["sections"].values() for r in s["rows"]]
    assert rows
    for row in rows:
        assert row["median"] is not None and row["median"] > 0, row
        assert f"| {row['section']} | {row['measure']} |" in stdout
    assert report["table"] in stdout


def test_fit_writer_and_plugin_benchmarks_produce_complete_results(tmp_path):
    report, stdout = run_quick(tmp_path, "fit", "writer", "plugin")
    machine = report["machine"]
    assert machine["cpu_model"] and machine["cpu_cores"] > 0 and machine["ram_bytes"] > 0
    for key in ("python", "tensorflow", "keras", "tensorboard", "date"):
        assert machine[key], key
    assert len(report["load_average"]["before"]) == 3

    fit = report["sections"]["fit"]
    rounds = fit["config"]["rounds"]
    assert sorted(fit["time_per_step_s"]) == sorted(FIT_VARIANTS)
    for variant in FIT_VARIANTS:
        assert_stats(fit["time_per_step_s"][variant], n=rounds)
    assert sorted(fit["ratio_to_no_callback"]) == sorted(FIT_VARIANTS[1:])
    for stats in fit["ratio_to_no_callback"].values():
        assert_stats(stats, n=rounds)
    for variant in ("LearningRateMonitor", "ReduceLROnPlateau"):
        batch_hook = fit["batch_hook_in_fit_s"][variant]
        assert 0 < batch_hook["min"] <= batch_hook["median"] <= batch_hook["max"]
        assert batch_hook["n"] == rounds_of_hooks(fit) * fit["config"]["epochs_per_fit"] * (
            fit["config"]["steps_per_epoch"])
        assert_stats(fit["all_hooks_per_step_in_fit_s"][variant])
        assert fit["all_hooks_share_of_no_callback_step"][variant] > 0
    profile = fit["profile_LearningRateMonitor"]
    assert profile["profiled_total_s"] > 0
    assert any("lr_plugin" in entry["function"] for entry in profile["top"])

    writer = report["sections"]["writer"]
    assert_stats(writer["steps_per_second"], n=writer["config"]["repeats"])
    assert_stats(writer["bytes_per_step"])
    assert 0 < writer["bytes_per_step"]["median"] < 2  # compressed float32 rates (payload v3; v2: 4)

    plugin = report["sections"]["plugin"]
    sizes = plugin["config"]["sizes"]
    assert plugin["config"]["scalar_sizes"] == sizes
    served = plugin["results"]["load_fast=false"]
    timeline, scalars = served["lr_timeline"], served["scalars"]
    for result in (timeline, scalars):
        assert 0 < result["up_s"] <= result["load_s"]
        assert result["memory_after_load"]["rss_bytes"] > 0
        assert result["memory_after_requests"]["peak_rss_bytes"] > 0
        assert sorted(result["latency_s"], key=int) == [str(s) for s in sizes]
        for stats in result["latency_s"].values():
            assert_stats(stats, n=plugin["config"]["rounds"])
            assert stats["response_bytes"] > 0
    for steps in sizes:
        response = timeline["responses"][str(steps)]
        assert response["points"] == steps
        assert 2 <= response["points_sent"] <= plugin["config"]["downsample"]
        assert response["epochs"] == response["plateau"] == -(-steps // 1000)
        assert scalars["points_sent"][str(steps)] > 0
    assert_table(report, stdout)


@pytest.mark.skipif(browser_missing_reason() is not None,
                    reason=browser_missing_reason() or "browser available")
def test_browser_benchmark_paints_the_real_bundle(tmp_path):
    report, stdout = run_quick(tmp_path, "browser")
    browser = report["sections"]["browser"]
    assert "skipped" not in browser
    sizes = browser["config"]["points_per_series"]
    assert sorted(browser["sizes"]) == sorted(str(points) for points in sizes)
    for result in browser["sizes"].values():
        for key in ("paint_first_draw_s", "paint_redraw_s", "parse_s",
                    "parse_and_paint_first_draw_s"):
            assert_stats(result[key], n=browser["config"]["repeats"])
        assert result["canvases"] >= 1
        assert result["timeline_json_bytes"] > 0
    bundle = browser["bundle"]
    assert "lr_plugin/static/index.js" in bundle["files"]
    assert bundle["bytes"] > bundle["gzip_bytes"] > 0
    assert_table(report, stdout)
