"""A full or failing disk never stops training: what cannot be written waits in
memory (bounded), is retried at every flush and lands when space returns. A run
directory deleted during training is recreated."""

import shutil

import pytest

from lr_plugin.format import writer as writer_lib
from writer_processes import read_payloads
from writer_processes import recorded_steps
from writer_processes import start

STEPS, EPOCHS = 20, 5


def test_training_outlives_a_file_size_limit_and_the_data_lands_when_it_is_lifted(tmp_path):
    # RLIMIT_FSIZE makes every write past 1500 bytes fail with EFBIG, as a full disk would.
    child = start({"log_dir": str(tmp_path), "steps": STEPS, "epochs": EPOCHS,
                   "fsize_limit": 1500, "lift_at_epoch": 3})
    out, err = child.communicate(timeout=300)

    assert child.returncode == 0 and "done" in out, err[-3000:]
    run_dir = tmp_path / "lr_timeline"
    assert f"could not write to {run_dir}: [Errno 27] File too large" in err
    assert err.count("could not write to") == 1  # warned once, not at every retry
    assert f"writes {run_dir} again" in err
    assert recorded_steps(run_dir) == list(range(STEPS * EPOCHS))
    assert [r["epoch"] for r in read_payloads(run_dir)["epochs"]] == list(range(EPOCHS))


def test_past_the_memory_bound_the_oldest_data_goes_and_is_counted(tmp_path):
    child = start({"log_dir": str(tmp_path), "steps": STEPS, "epochs": EPOCHS,
                   "fsize_limit": 1500, "max_pending_bytes": 1500, "hold_writer": True})
    out, err = child.communicate(timeout=300)

    assert child.returncode == 0 and "done" in out, err[-3000:]
    dropped = int(out.split("dropped ")[1].split()[0])
    assert "dropped its oldest unwritten data" in err
    steps = recorded_steps(tmp_path / "lr_timeline")
    assert steps == sorted(set(steps)) and steps[-1] == STEPS * EPOCHS - 1  # the newest stayed
    assert 0 < STEPS * EPOCHS - len(steps) <= dropped


def test_a_run_directory_deleted_during_training_is_recreated(tmp_path):
    import keras

    from conftest import linear_probe, probe_data
    from lr_plugin.callbacks import LearningRateMonitor

    run_dir = tmp_path / "lr_timeline"

    class DeleteRunDirectory(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                shutil.rmtree(run_dir)

    model = linear_probe(0.1)
    with pytest.warns(writer_lib.LogWriteWarning, match=f"{run_dir} was deleted during training"):
        model.fit(*probe_data(4), batch_size=4, epochs=4, verbose=0,
                  callbacks=[LearningRateMonitor(tmp_path), DeleteRunDirectory()])

    assert recorded_steps(run_dir) == list(range(8, 16))
    assert [r["epoch"] for r in read_payloads(run_dir)["epochs"]] == [2, 3]


def test_an_event_file_deleted_during_training_is_replaced_with_a_warning(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    run.begin_session("fit", start_step=0)
    run.add_rates("SGD", range(5), [0.1] * 5)
    run.flush(step=5)
    for name in (tmp_path / "lr_timeline").iterdir():
        if "tfevents" in name.name:
            name.unlink()
    run.add_rates("SGD", range(5, 10), [0.1] * 5)
    with pytest.warns(writer_lib.LogWriteWarning, match="event file .* was deleted or changed"):
        run.flush(step=10)
    run.release()

    assert recorded_steps(tmp_path / "lr_timeline") == list(range(5, 10))
    (begin,) = read_payloads(tmp_path / "lr_timeline")["sessions"]  # written again
    assert begin["state"] == "begin" and begin["start_step"] == 0
