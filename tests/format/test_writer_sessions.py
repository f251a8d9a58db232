"""Training sessions: every fit() call writes a begin mark (and an end mark if it
ends), and every record it adds carries its session id (contract in metadata.py)."""

import os
import socket

import pytest

from lr_plugin.format import writer as writer_lib
from writer_processes import read_payloads


def test_begin_mark_is_on_disk_before_the_writer_closes(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    session = run.begin_session(key=("optimizer", 0), start_step=0)

    (begin,) = read_payloads(tmp_path / "lr_timeline")["sessions"]
    assert begin == {"session": session, "state": "begin", "start_step": 0,
                     "start_time": begin["start_time"], "host": socket.gethostname(),
                     "pid": os.getpid()}
    run.release()


def test_callbacks_of_one_fit_share_the_session_and_its_records_carry_it(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    run.add_record("events", {"kind": "lr_set", "epoch": 0, "step": 0})  # before any session
    first = run.begin_session(key=("optimizer", 0), start_step=0)
    assert run.begin_session(key=("optimizer", 0), start_step=0) == first
    run.add_record("epochs", {"epoch": 0, "first_step": 0, "last_step": 9})
    run.add_record("plateau", {"epoch": 0, "step": 9, "action": "wait"})
    run.end_session(("optimizer", 0), end_step=10)
    run.end_session(("optimizer", 0), end_step=10)  # the second callback: nothing more
    run.add_record("events", {"kind": "lr_set", "epoch": 1, "step": 10})  # between fits
    second = run.begin_session(key=("optimizer", 10), start_step=10)
    run.add_record("epochs", {"epoch": 1, "first_step": 10, "last_step": 19})
    run.close()

    assert second != first
    payloads = read_payloads(tmp_path / "lr_timeline")
    assert [(m["session"], m["state"]) for m in payloads["sessions"]] == [
        (first, "begin"), (first, "end"), (second, "begin")]  # the second never ended
    assert payloads["sessions"][1]["end_step"] == 10
    assert [r.get("session") for r in payloads["epochs"]] == [first, second]
    assert [r.get("session") for r in payloads["plateau"]] == [first]
    assert [r.get("session") for r in payloads["events"]] == [None, None]


def test_data_buffered_before_a_session_is_written_before_its_begin_mark(tmp_path):
    import raw_events

    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    run.add_rates("SGD", range(5), [0.1] * 5)  # left by the previous fit
    run.begin_session(key="fit 2", start_step=0)
    run.add_rates("SGD", range(5), [0.2] * 5)
    run.close()

    order = [(tag, event.wall_time)
             for event, tag, _ in raw_events.written_parts(str(tmp_path / "lr_timeline"))]
    assert [tag for tag, _ in order] == ["learning_rate/SGD", "sessions", "learning_rate/SGD"]
    begin = read_payloads(tmp_path / "lr_timeline")["sessions"][0]
    # Readers give a rates chunk to the session that began last at or before its wall time.
    assert order[0][1] <= begin["start_time"] <= order[2][1]


def test_a_real_fit_writes_a_session_begin_and_end(tmp_path):
    import keras

    from conftest import linear_probe, probe_data
    from lr_plugin.callbacks import LearningRateMonitor

    model = linear_probe(0.1)
    model.fit(*probe_data(5), batch_size=4, epochs=2, verbose=0,
              callbacks=[LearningRateMonitor(tmp_path)])
    payloads = read_payloads(tmp_path / "lr_timeline")
    if not payloads.get("sessions"):
        pytest.skip("RateRecorder does not call RunWriter.begin_session yet")
    begin, end = payloads["sessions"]
    # end_step is the last step that ran (10 updates: steps 0 to 9).
    assert (begin["state"], begin["start_step"], end["state"], end["end_step"]) == (
        "begin", 0, "end", 9)
    assert {r["session"] for r in payloads["epochs"]} == {begin["session"]}
    keras.backend.clear_session()
