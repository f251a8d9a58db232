"""Writers are reference-counted: open_run_writer takes a reference, release()
drops it, and the last release closes the writer, its file and its lock."""

import json
import os
import threading

from lr_plugin.format import run_lock
from lr_plugin.format import storage
from lr_plugin.format import writer as writer_lib
from writer_processes import read_payloads
from writer_processes import recorded_steps


def lr_plugin_threads():
    return [t for t in threading.enumerate() if t.name.startswith("lr_plugin")]


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


def test_the_last_release_closes_the_writer_and_writes_everything(tmp_path):
    first = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    second = writer_lib.open_run_writer(tmp_path / "lr_timeline")  # a second callback
    assert first is second
    first.add_rates("SGD", range(3), [0.1] * 3)
    first.release()
    assert not first.closed  # the second callback still logs there
    second.add_rates("SGD", range(3, 6), [0.1] * 3)
    second.release()

    assert first.closed
    reopened = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    assert reopened is not first
    reopened.release()
    [(steps, _)] = read_payloads(tmp_path / "lr_timeline")["learning_rate/SGD"]
    assert steps.tolist() == list(range(6))


def test_release_also_gives_up_the_owners_claims(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    writer_lib.open_run_writer(tmp_path / "lr_timeline")
    owner, other = object(), object()
    assert run.claim("epochs", owner, session=1)
    assert not run.claim("epochs", other, session=1)
    run.release(owner)
    assert run.claim("epochs", other, session=1)
    run.release(other)
    assert run.closed


def test_close_still_closes_at_once_and_releases_the_run_lock(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    writer_lib.open_run_writer(tmp_path / "lr_timeline")
    lock = json.loads((tmp_path / "lr_timeline" / run_lock.LOCK_NAME).read_text())
    assert (lock["state"], lock["pid"]) == ("held", os.getpid())
    run.close()
    run.add_rate("SGD", 0, 0.1)
    run.flush()  # after close: nothing, no error
    lock = json.loads((tmp_path / "lr_timeline" / run_lock.LOCK_NAME).read_text())
    assert lock["state"] == "released"


def test_fifty_opened_and_released_runs_leave_no_thread_and_no_open_file(tmp_path):
    writer_lib.open_run_writer(tmp_path / "warm-up").release()  # imports, the flush thread
    descriptors = open_descriptors()
    for index in range(50):
        run = writer_lib.open_run_writer(tmp_path / f"run{index}" / "lr_timeline")
        run.add_rates("SGD", range(10), [0.1] * 10)
        run.flush(step=10)
        run.release()
    assert open_descriptors() == descriptors
    assert len(lr_plugin_threads()) <= 1  # one flush thread for the process, ending when idle
    for index in (0, 49):
        [(steps, _)] = read_payloads(tmp_path / f"run{index}" / "lr_timeline")["learning_rate/SGD"]
        assert steps.tolist() == list(range(10))


def test_fits_close_their_writers_when_training_ends(tmp_path):
    from conftest import linear_probe, probe_data
    from lr_plugin.callbacks import LearningRateMonitor
    from lr_plugin.callbacks import ReduceLROnPlateau

    descriptors = None
    for index in range(4):
        model = linear_probe(0.1)
        model.fit(*probe_data(3), batch_size=4, epochs=2, verbose=0, callbacks=[
            LearningRateMonitor(tmp_path / f"fit{index}"),
            ReduceLROnPlateau(monitor="loss", log_dir=tmp_path / f"fit{index}")])
        run_dir = storage.normalize(tmp_path / f"fit{index}" / "lr_timeline")
        assert run_dir not in writer_lib._writers  # both callbacks released the shared writer
        if descriptors is None:
            descriptors = open_descriptors()
        assert open_descriptors() == descriptors
        assert recorded_steps(tmp_path / f"fit{index}" / "lr_timeline") == list(range(6))
