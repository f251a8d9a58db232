"""SIGTERM (job schedulers, ``docker stop``) flushes what was recorded, then the
signal goes on: to the handler that was there, or to the default that ends the process."""

import signal

from writer_processes import recorded_steps
from writer_processes import start
from writer_processes import wait_for_step

NEVER = 3600  # seconds: no periodic flush, no epoch end before the signal


def test_sigterm_flushes_every_recorded_step_and_the_process_still_dies_of_it(tmp_path):
    child = start({"log_dir": str(tmp_path), "steps": 5000, "sleep": 0.01, "flush_secs": NEVER})
    last_printed = wait_for_step(child, 40)
    child.send_signal(signal.SIGTERM)
    rest = child.stdout.read()
    child.wait(timeout=120)
    last_printed = max([last_printed] + [int(l.split()[1]) for l in rest.splitlines()
                                          if l.startswith("step ")])

    assert child.returncode == -signal.SIGTERM, child.stderr.read()[-3000:]
    steps = recorded_steps(tmp_path / "lr_timeline")
    # Every step the training reported, and at most the one it was in when the signal came.
    assert steps == list(range(len(steps)))
    assert last_printed <= steps[-1] <= last_printed + 1


def test_sigterm_goes_on_to_the_handler_installed_before(tmp_path):
    child = start({"log_dir": str(tmp_path), "steps": 5000, "sleep": 0.01, "flush_secs": NEVER,
                   "sigterm": "stop"})
    seen = wait_for_step(child, 20)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=120)

    assert child.returncode == 0, err[-3000:]
    assert "stopping" in out and "done" in out  # the job's own handler ran, fit() ended cleanly
    steps = recorded_steps(tmp_path / "lr_timeline")
    last = max([seen] + [int(l.split()[1]) for l in out.splitlines() if l.startswith("step ")])
    assert steps == list(range(last + 1))
