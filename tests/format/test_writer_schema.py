"""The writer checks every record against the schema the readers use
(``schema.RECORD_FIELDS``). A record that does not match is lr_plugin's bug,
not the training's: it is not written, one warning per tag and problem says
what was wrong, and training goes on."""

import warnings

import numpy as np
import pytest

from conftest import linear_probe
from conftest import probe_data
from conftest import read_run
from lr_plugin.format import reader
from lr_plugin.format import schema
from lr_plugin.format import writer as writer_lib
from lr_plugin.format.event_log import LogWriteWarning
from writer_processes import read_payloads


def refusals(caught):
    return [str(w.message) for w in caught
            if issubclass(w.category, LogWriteWarning) and "did not write" in str(w.message)]


def test_a_record_that_breaks_the_schema_is_not_written_and_warned_about_once(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    session = run.begin_session(key="fit", start_step=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run.add_record("events", {"kind": "reduce", "epoch": 0, "step": 9})
        for step in ("9", "19", "29"):  # the same bug at three epochs
            assert not run.add_record("events", {"kind": "reduce", "epoch": 0, "step": step})
        assert not run.add_record("plateau", {"epoch": 1, "action": "panic"})
        assert not run.add_record("events", {"kind": "reduce", "lr_after": np.float32(0.1)})
    run.release()

    first, plateau, numpy = refusals(caught)
    assert first == (
        "lr_plugin did not write a 'events' record that does not match its format: field "
        "'step' must be a whole number; received '9' (str). Training goes on and the rest "
        "of the run is written. This is a bug in lr_plugin; please report it with this "
        f"message. Received: {{'kind': 'reduce', 'epoch': 0, 'step': '9', 'session': "
        f"{session!r}}}")
    assert "a 'plateau' record" in plateau and "field 'action' must be one of" in plateau
    assert "field 'lr_after' must be a number" in numpy
    assert run.rejected_records == 5
    payloads = read_payloads(tmp_path / "lr_timeline")
    assert [e["step"] for e in payloads["events"]] == [9]
    assert "plateau" not in payloads
    with warnings.catch_warnings():
        warnings.simplefilter("error", schema.InvalidPayloadWarning)  # nothing left to skip
        reader.read_timelines(str(tmp_path))


def test_a_record_that_is_not_json_is_not_written(tmp_path):
    run = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    with pytest.warns(LogWriteWarning, match=r"record that does not match its format: it is "
                                             r"not JSON-serializable .*convert NumPy values"):
        assert not run.add_record("events", {"kind": "reduce", "extra": np.float32(0.1)})
    run.release()
    assert "events" not in read_payloads(tmp_path / "lr_timeline")


def test_every_record_the_callbacks_write_passes_the_writers_check(tmp_path):
    import keras

    from lr_plugin.callbacks import LearningRateMonitor
    from lr_plugin.callbacks import LearningRateScheduler
    from lr_plugin.callbacks import ReduceLROnPlateau

    model = linear_probe(0.1)
    x, y = probe_data(5)
    callbacks = [
        LearningRateScheduler(lambda epoch, lr: 0.1 if epoch < 2 else 0.05, log_dir=tmp_path),
        ReduceLROnPlateau(monitor="loss", mode="max", patience=1, cooldown=2, min_lr=0.03,
                          factor=0.2, log_dir=tmp_path),
        LearningRateMonitor(log_dir=tmp_path),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=4, epochs=6, verbose=0, callbacks=callbacks)
    assert refusals(caught) == []
    payloads = read_payloads(tmp_path / "lr_timeline")
    assert {"epochs", "plateau", "events", "sessions", "setup"} <= set(payloads)
    kinds = {e["kind"] for e in payloads["events"]}
    assert {"lr_set", "reduce", "cooldown_start", "min_lr_reached"} <= kinds, kinds
    for tag in ("epochs", "plateau", "events", "sessions", "setup"):
        assert all(schema.check_record(tag, r) is None for r in payloads[tag])
    keras.backend.clear_session()


def test_a_callback_that_makes_bad_records_still_trains_and_records_the_rest(tmp_path):
    import keras

    from lr_plugin.callbacks import ReduceLROnPlateau

    class Broken(ReduceLROnPlateau):  # a bug in the plateau record, nowhere else
        def _action(self, current, best_before):
            return "panic"

    model = linear_probe(0.1)
    x, y = probe_data(5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=4, epochs=4, verbose=0,
                            callbacks=[Broken(monitor="loss", log_dir=tmp_path)])
    assert len(history.history["loss"]) == 4
    (message,) = refusals(caught)  # once, not once per epoch
    assert "a 'plateau' record" in message and "received 'panic' (str)" in message
    run = read_run(tmp_path)
    assert run["plateau"] == []
    assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2, 3]
    keras.backend.clear_session()
