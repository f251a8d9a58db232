"""Two processes training into one log_dir: the second writes its own run, named
after its host and pid; a crashed (SIGKILLed) holder's run is taken over by the rerun."""

import os
import signal
import socket

from lr_plugin.format import reader
from writer_processes import read_payloads
from writer_processes import recorded_steps
from writer_processes import start
from writer_processes import wait_for_step


def test_two_trainings_at_once_each_keep_their_whole_run(tmp_path):
    log_dir = tmp_path / "exp"
    first = start({"log_dir": str(log_dir), "steps": 30, "ready": str(tmp_path / "a"),
                   "wait_for": str(tmp_path / "b")})
    second = start({"log_dir": str(log_dir), "steps": 50, "ready": str(tmp_path / "b"),
                    "wait_for": str(tmp_path / "a")})
    results = [process.communicate(timeout=300) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]

    runs = reader.read_timelines(str(tmp_path))
    # Whichever took the lock first keeps exp/lr_timeline; the other says where it went.
    (moved,) = [(p, err) for p, (_, err) in zip((first, second), results) if "is being written" in err]
    process, err = moved
    name = f"exp/{socket.gethostname()}-{process.pid}/lr_timeline"
    assert sorted(runs) == sorted(["exp/lr_timeline", name])
    assert f"writes its run to {tmp_path / name}" in err
    steps = {run: runs[run]["learning_rate"]["SGD"][0].tolist() for run in runs}
    expected = {first.pid: list(range(30)), second.pid: list(range(50))}
    assert steps[name] == expected[process.pid]
    assert steps["exp/lr_timeline"] == expected[(set(expected) - {process.pid}).pop()]


def test_a_rerun_takes_over_the_run_of_a_killed_training(tmp_path):
    crashed = start({"log_dir": str(tmp_path), "steps": 5000, "sleep": 0.01, "flush_secs": 0.2})
    wait_for_step(crashed, 30)
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=60)
    crashed_steps = recorded_steps(tmp_path / "lr_timeline")
    assert crashed_steps == list(range(len(crashed_steps))) and crashed_steps  # readable, whole

    rerun = start({"log_dir": str(tmp_path), "steps": 10})
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    assert "is being written" not in err
    assert os.listdir(tmp_path) == ["lr_timeline"]  # no run of its own: it took the lock over

    sessions = read_payloads(tmp_path / "lr_timeline").get("sessions", [])
    if sessions:  # once RateRecorder opens sessions: the crashed one has no end mark
        begins = [s for s in sessions if s["state"] == "begin"]
        assert [b["pid"] for b in begins] == [crashed.pid, rerun.pid]
        assert [s["session"] for s in sessions if s["state"] == "end"] == [begins[1]["session"]]
    # The rerun's events come after the crashed run's for TensorBoard: steps keep growing.
    files = sorted(f for f in os.listdir(tmp_path / "lr_timeline") if "tfevents" in f)
    assert len(files) == 2
    event_steps = [event.step for f in files
                   for event in reader.read_event_file(str(tmp_path / "lr_timeline" / f))
                   for value in event.summary.value if value.tag == "learning_rate/SGD"]
    assert event_steps == sorted(set(event_steps))
    assert recorded_steps(tmp_path / "lr_timeline")[len(crashed_steps):] == list(range(10))
