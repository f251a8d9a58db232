"""Two processes training into one log_dir: the second writes its own run, named
after its host and pid; a crashed (SIGKILLed) holder's run is taken over by the rerun."""

import os
import signal
import socket
import subprocess
import sys

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
    errors = results[0][1][-2000:] + results[1][1][-2000:]
    assert [first.returncode, second.returncode] == [0, 0], errors

    runs = reader.read_timelines(str(tmp_path))
    # Whichever took the lock first keeps exp/lr_timeline; the other says where it went.
    (moved,) = [(p, err) for p, (_, err) in zip((first, second), results)
                if "is being written" in err]
    process, err = moved
    name = f"exp/{socket.gethostname()}-{process.pid}/lr_timeline"
    assert sorted(runs) == sorted(["exp/lr_timeline", name])
    assert f"writes its run to {tmp_path / name}" in err
    steps = {run: runs[run]["learning_rate"]["SGD"][0].tolist() for run in runs}
    expected = {first.pid: list(range(30)), second.pid: list(range(50))}
    assert steps[name] == expected[process.pid]
    assert steps["exp/lr_timeline"] == expected[(set(expected) - {process.pid}).pop()]

    # TensorBoard lists both, the second named after its process.
    import json

    import tb_helpers

    response = tb_helpers.make_client(tmp_path).get("/data/plugin/lr_timeline/runs")
    listed = {(r["run"], r["name"]) for r in json.loads(response.get_data(as_text=True))["runs"]}
    assert listed == {("exp/lr_timeline", "exp"), (name, name.rpartition("/")[0])}


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
                   for value in event.summary.value if value.tag == "bundles"]
    assert len(event_steps) > 2 and event_steps == sorted(set(event_steps))
    assert recorded_steps(tmp_path / "lr_timeline")[len(crashed_steps):] == list(range(10))


def write_lock(run_dir, **fields):
    import json
    import time

    from lr_plugin.format import run_lock

    os.makedirs(run_dir, exist_ok=True)
    content = {"state": "held", "host": socket.gethostname(), "pid": os.getpid(),
               "pid_start": None, "token": "someone", "start_time": time.time(),
               "heartbeat": time.time(), "event_step_bound": 41, **fields}
    with open(os.path.join(run_dir, run_lock.LOCK_NAME), "w") as handle:
        json.dump(content, handle)


def test_another_hosts_fresh_lock_sends_this_process_to_its_own_run(tmp_path):
    import pytest

    from lr_plugin.format import writer as writer_lib

    write_lock(tmp_path / "exp" / "lr_timeline", host="trainer-7", pid=12)
    with pytest.warns(writer_lib.LogWriteWarning,
                      match="is being written by process 12 on trainer-7"):
        run = writer_lib.open_run_writer(tmp_path / "exp" / "lr_timeline")
    assert run.run_dir == str(tmp_path / "exp" / f"{socket.gethostname()}-{os.getpid()}"
                              / "lr_timeline")
    run.release()


def test_a_stale_lock_of_another_host_or_a_dead_local_pid_is_taken_over(tmp_path):
    import time

    from lr_plugin.format import run_lock
    from lr_plugin.format import writer as writer_lib

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: its pid is free now
    for name, fields in [
        ("stale", {"host": "trainer-7", "heartbeat": time.time() - run_lock.STALE_SECS - 1}),
        ("dead", {"pid": finished.pid}),
    ]:
        run_dir = tmp_path / name / "lr_timeline"
        write_lock(run_dir, **fields)
        run = writer_lib.open_run_writer(run_dir)
        assert run.run_dir == str(run_dir)
        run.add_rates("SGD", [0], [0.1])
        run.release()
        # Event steps continue above the previous holder's last one (41).
        events = [event.step for f in os.listdir(run_dir) if "tfevents" in f
                  for event in reader.read_event_file(str(run_dir / f)) if event.summary.value]
        assert events == [42]
