"""The frontend's pure JavaScript (data shaping, axes, kernels, formatting) under Node's test runner.

Runs ``node --test test/`` in frontend/ so that pytest, README's test command and CI
run the JavaScript unit tests too. ``test/paths.test.mjs`` compares drawing with
uPlot's own, so it needs ``npm ci``: on a clone without ``frontend/node_modules``
the tests run in a copy where ``npm ci`` installed it. Skipped, with the reason,
only where ``node`` is absent.
"""

import pathlib
import shutil
import subprocess

import pytest

FRONTEND = pathlib.Path(__file__).resolve().parents[2] / "frontend"


def installed_frontend(tmp_path):
    """frontend/ itself when uPlot is installed there, else a copy after `npm ci` (if it works)."""
    npm = shutil.which("npm")
    if (FRONTEND / "node_modules" / "uplot").is_dir() or npm is None:
        return FRONTEND
    work = tmp_path / "frontend"
    shutil.copytree(FRONTEND, work, ignore=shutil.ignore_patterns("node_modules"))
    install = subprocess.run(
        [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=work, capture_output=True, text=True, timeout=600,
    )
    # Without the registry, run in place: paths.test.mjs then skips and says why.
    return work if install.returncode == 0 else FRONTEND


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the JavaScript unit tests need Node.js 18+")
def test_node_unit_tests_pass(tmp_path):
    frontend = installed_frontend(tmp_path)
    result = subprocess.run(
        ["node", "--test", "test/"],
        cwd=frontend,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith(("# tests", "# pass", "# fail"))]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in summary, result.stdout[-2000:]
    if (frontend / "node_modules" / "uplot").is_dir():
        assert "# skipped 0" in result.stdout, result.stdout[-2000:]
