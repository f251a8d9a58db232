"""The frontend's pure JavaScript (data shaping, axes, kernels, formatting) under Node's test runner.

Runs ``node --test frontend/test/`` so that pytest, README's test command and CI run
the JavaScript unit tests too. Skipped, with the reason, only where ``node`` is absent.
"""

import pathlib
import shutil
import subprocess

import pytest

FRONTEND = pathlib.Path(__file__).resolve().parents[2] / "frontend"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the JavaScript unit tests need Node.js 18+")
def test_node_unit_tests_pass():
    result = subprocess.run(
        ["node", "--test", "test/"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith(("# tests", "# pass", "# fail"))]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert summary and "# fail 0" in summary, result.stdout[-2000:]
