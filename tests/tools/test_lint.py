"""`lr-plugin lint`: each trap found in a real training that falls into it.

The probe's loss falls at every step, so `min_delta=100` makes every epoch after
the first (which improves on the initial best, infinity) a non-improvement:
with `patience=0` ReduceLROnPlateau reduces at the end of every epoch from the
second on.
"""

import io
import json

import keras
import pytest

from conftest import linear_probe, probe_data
from lr_plugin.callbacks import LearningRateMonitor, LearningRateScheduler, ReduceLROnPlateau
from lr_plugin.format import reader
from lr_plugin.format import writer as writer_lib
from lr_plugin.model import traps
from lr_plugin.record.training_setup import TrainingSetupWarning
from lr_plugin.tools import cli

NEVER_IMPROVES = dict(monitor="loss", min_delta=100.0)


def train(log_dir, callbacks, epochs=4, optimizer=None, validation=False):
    model = linear_probe(0.1)
    if optimizer is not None:
        model.compile(optimizer=optimizer, loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    x, y = probe_data(3)
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=callbacks,
              validation_data=(x, y) if validation else None)


def findings_of(log_dir):
    (run,) = reader.read_timelines(str(log_dir)).values()
    return traps.lint_run(run)


def codes(findings):
    return {f.code: f for f in findings}


def test_two_plateau_callbacks_are_an_error_found_before_training(tmp_path):
    with pytest.warns(TrainingSetupWarning, match="are both in callbacks"):
        train(tmp_path, [keras.callbacks.ReduceLROnPlateau(patience=0, **NEVER_IMPROVES),
                         ReduceLROnPlateau(patience=0, log_dir=tmp_path, **NEVER_IMPROVES)],
              epochs=3)
    finding = codes(findings_of(tmp_path))["double_plateau"]
    assert finding.level == traps.ERROR
    assert finding.epochs == (1, 2)
    assert "Keras' ReduceLROnPlateau and lr_plugin's ReduceLROnPlateau" in finding.message
    assert finding.message.startswith("Epochs 2, 3: ")  # Keras' 1-based epochs


def test_the_drop_ins_warn_before_training_also_without_log_dir(tmp_path):
    with pytest.warns(TrainingSetupWarning, match="are both in callbacks"):
        train(tmp_path, [keras.callbacks.ReduceLROnPlateau(patience=0, **NEVER_IMPROVES),
                         ReduceLROnPlateau(patience=0, **NEVER_IMPROVES)], epochs=1)
    with pytest.warns(TrainingSetupWarning, match="function of the epoch alone"):
        train(tmp_path, [LearningRateScheduler(lambda epoch: 0.1),
                         ReduceLROnPlateau(patience=0, **NEVER_IMPROVES)], epochs=1)


def test_legacy_decay_is_an_error_pointing_to_time_based_decay(tmp_path):
    with pytest.warns(TrainingSetupWarning, match="TimeBasedDecay"):
        train(tmp_path, [LearningRateMonitor(tmp_path)], epochs=1,
              optimizer=keras.optimizers.SGD(0.1, decay=1e-4))
    finding = codes(findings_of(tmp_path))["decay_ignored"]
    assert finding.level == traps.ERROR
    assert "SGD(decay=0.0001)" in finding.message
    assert "TimeBasedDecay(initial_rate, decay=0.0001)" in finding.fix


def test_cooldown_one_is_a_warning(tmp_path):
    train(tmp_path, [ReduceLROnPlateau(patience=1, cooldown=1, log_dir=tmp_path, **NEVER_IMPROVES)])
    finding = codes(findings_of(tmp_path))["cooldown_one"]
    assert finding.level == traps.WARNING and "cooldown=2" in finding.fix


def test_a_scheduler_that_undoes_reductions_is_an_error_with_its_epochs(tmp_path):
    with pytest.warns(TrainingSetupWarning, match="function of the epoch alone"):
        train(tmp_path, [LearningRateScheduler(lambda epoch: 0.1, log_dir=tmp_path),
                         ReduceLROnPlateau(patience=0, log_dir=tmp_path, **NEVER_IMPROVES)])
    finding = codes(findings_of(tmp_path))["scheduler_overwrites"]
    assert finding.level == traps.ERROR
    # Reductions at the end of epochs 1 and 2 are undone at the begin of 2 and 3.
    assert finding.epochs == (2, 3)


def test_a_scheduler_building_on_lr_keeps_reductions(tmp_path):
    train(tmp_path, [LearningRateScheduler(lambda epoch, lr: lr, log_dir=tmp_path),
                     ReduceLROnPlateau(patience=0, log_dir=tmp_path, **NEVER_IMPROVES)])
    assert "scheduler_overwrites" not in codes(findings_of(tmp_path))


def test_early_stopping_no_more_patient_than_the_plateau_is_a_warning(tmp_path):
    train(tmp_path, [ReduceLROnPlateau(patience=2, log_dir=tmp_path, **NEVER_IMPROVES),
                     keras.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=100.0)],
          epochs=6)
    finding = codes(findings_of(tmp_path))["early_stopping_too_soon"]
    assert finding.level == traps.WARNING
    assert "EarlyStopping(patience=2)" in finding.message


def test_a_monitor_never_logged_is_an_error_with_the_close_name(tmp_path):
    train(tmp_path, [ReduceLROnPlateau(monitor="val_los", mode="min", log_dir=tmp_path)],
          epochs=2, validation=True)
    finding = codes(findings_of(tmp_path))["monitor_missing"]
    assert finding.level == traps.ERROR
    assert finding.epochs == (0, 1)
    assert "Did you mean 'val_loss'?" in finding.message


def test_min_lr_reached_early_is_a_warning(tmp_path):
    train(tmp_path, [ReduceLROnPlateau(patience=0, factor=0.1, min_lr=0.001, log_dir=tmp_path,
                                       **NEVER_IMPROVES)], epochs=8)
    finding = codes(findings_of(tmp_path))["min_lr_early"]
    assert finding.level == traps.WARNING
    assert finding.epochs == (2,)  # 0.1 -> 0.01 -> 0.001 at the end of epoch 2
    assert "remaining 5 of 8 epochs" in finding.message


def test_lr_set_events_that_change_nothing_are_info(tmp_path):
    # Written as lr_plugin 0.1 wrote them: an lr_set event every epoch.
    run_writer = writer_lib.open_run_writer(tmp_path / "lr_timeline")
    run_writer.add_rates("SGD", range(3), [0.1] * 3)
    for epoch in range(3):
        run_writer.add_record("events", {"kind": "lr_set", "epoch": epoch, "step": epoch,
                                         "lr": 0.1, "optimizer": "SGD"})
    run_writer.close()
    finding = codes(findings_of(tmp_path))["lr_set_unchanged"]
    assert finding.level == traps.INFO and finding.epochs == (1, 2)


def test_a_clean_training_has_no_finding(tmp_path):
    train(tmp_path, [LearningRateMonitor(tmp_path),
                     ReduceLROnPlateau(monitor="loss", patience=2, cooldown=2, log_dir=tmp_path)])
    assert findings_of(tmp_path) == []


def test_command_exits_1_on_errors_and_prints_json(tmp_path, capsys):
    train(tmp_path, [LearningRateMonitor(tmp_path)], epochs=1,
          optimizer=keras.optimizers.SGD(0.1, decay=1e-4))
    assert cli.main(["lint", str(tmp_path), "--format", "json"]) == 1
    (findings,) = json.loads(capsys.readouterr().out).values()
    assert [f["code"] for f in findings] == ["decay_ignored"]


def test_command_exits_0_with_only_warnings_and_2_without_runs(tmp_path, capsys):
    train(tmp_path, [ReduceLROnPlateau(patience=1, cooldown=1, log_dir=tmp_path, **NEVER_IMPROVES)])
    assert cli.main(["lint", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "warning: [cooldown_one]" in out and "fix: " in out
    assert cli.main(["lint", str(tmp_path / "missing")]) == 2


def test_report_text_names_the_run_when_clean():
    output = io.StringIO()
    from lr_plugin.tools import lint

    lint.write_report({"exp": []}, output)
    assert output.getvalue() == "exp: no learning-rate traps found.\n"
