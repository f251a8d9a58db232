"""The callbacks record the applied rate on every Keras 3 backend that is installed.

Runs the applied-rate, plateau and behaviour suites in a subprocess with
KERAS_BACKEND set; skipped for a backend whose package is not installed (CI
installs TensorFlow only; `pip install jax` or `torch` to run them).
"""

import importlib.util
import os
import subprocess
import sys

import pytest

SUITES = ["test_callbacks_applied_rate.py", "test_reduce_lr_on_plateau.py",
          "test_callbacks_behaviour.py", "test_training_setups.py", "test_schedule_fidelity.py",
          "test_arguments.py", "../tools/test_lr_finder.py",
          # The demo trains with Keras' TensorBoard callback, which needs TensorFlow.
          "--deselect",
          "../tools/test_lr_finder.py::test_the_demo_starts_its_plateau_run_at_the_finders_suggestion"]


@pytest.mark.slow
@pytest.mark.parametrize("backend, package", [("jax", "jax"), ("torch", "torch")])
def test_callback_suites_pass_on_backend(backend, package):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed: `pip install {package}` to check the {backend} backend")
    here = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
        cwd=here, env=dict(os.environ, KERAS_BACKEND=backend),
        capture_output=True, text=True, timeout=900)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, f"{backend}: {summary}\n{result.stdout[-4000:]}"
    assert " passed" in summary and "failed" not in summary
