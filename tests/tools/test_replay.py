"""What-if replay of a recorded run's plateau decisions."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import read_run
from plateau_helpers import columns, drive, random_values, train_on_cosine

from lr_plugin.tools import replay
from lr_plugin.callbacks import ReduceLROnPlateau


def recorded_run(tmp_path, seed, **kwargs):
    values = random_values(np.random.default_rng(seed), 25)
    settings = dict(monitor="val_loss", factor=0.5, patience=2, cooldown=2, min_delta=1e-3,
                    min_lr=0.01, mode="min")
    settings.update(kwargs)
    drive(ReduceLROnPlateau(**settings, log_dir=tmp_path), values, learning_rate=0.2)
    return values, settings, read_run(tmp_path)["plateau"]


def fields(decisions):
    return [(d["epoch"], d["action"], pytest.approx(d["lr_after"]), d["wait"], d["cooldown_counter"])
            for d in decisions]


@pytest.mark.parametrize("seed", range(5))
def test_replay_with_the_recorded_settings_reproduces_the_run(tmp_path, seed):
    _, _, recorded = recorded_run(tmp_path, seed)
    assert fields(replay.replay(recorded)) == fields(recorded)


@pytest.mark.parametrize("seed", range(5))
def test_replay_with_other_settings_equals_training_with_them(tmp_path, seed):
    values, settings, recorded = recorded_run(tmp_path / "recorded", seed)
    changes = dict(patience=4, cooldown=0, factor=0.3, min_lr=0.001)
    settings.update(changes)
    drive(ReduceLROnPlateau(**settings, log_dir=tmp_path / "direct"), values, learning_rate=0.2)
    direct = read_run(tmp_path / "direct")["plateau"]
    assert fields(replay.replay(recorded, **changes)) == fields(direct)


def test_replay_rejects_unknown_settings_and_runs_without_plateau_records():
    with pytest.raises(ValueError, match=r"replay\(\) cannot change \['verbose'\]"):
        replay.replay([{"epoch": 0}], verbose=1)
    with pytest.raises(ValueError, match="has no plateau records"):
        replay.replay([])


def test_replay_command_prints_both_columns_and_the_reductions(tmp_path):
    recorded_run(tmp_path / "a", seed=3)
    command = [sys.executable, "-m", "lr_plugin.tools.cli", "replay", str(tmp_path), "--patience", "5"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "a/lr_timeline: replayed with patience=5"
    assert len(lines) == 2 + 25 + 1
    assert lines[-1].startswith("recorded reductions at epochs [")
    result = subprocess.run(command + ["--format", "json"], capture_output=True, text=True, timeout=120)
    document = json.loads(result.stdout)
    assert document["run"] == "a/lr_timeline" and len(document["replayed"]) == 25
    assert all(d["patience"] == 5 for d in document["replayed"])


def test_replay_command_needs_a_run_with_plateau_records(tmp_path):
    recorded_run(tmp_path / "a", seed=1)
    recorded_run(tmp_path / "b", seed=2)
    result = subprocess.run([sys.executable, "-m", "lr_plugin.tools.cli", "replay", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Pass --run with one run that has plateau records" in result.stderr
    assert "a/lr_timeline, b/lr_timeline" in result.stderr


def test_replay_accepts_the_tab_name_of_a_run_and_lists_only_runs_with_data(tmp_path):
    recorded_run(tmp_path / "a", seed=1)
    recorded_run(tmp_path / "b", seed=2)
    command = [sys.executable, "-m", "lr_plugin.tools.cli", "replay", str(tmp_path)]
    result = subprocess.run(command + ["--run", "b", "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run"] == "b/lr_timeline"
    result = subprocess.run(command + ["--run", "c"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Runs with learning-rate data: a (a/lr_timeline), b (b/lr_timeline)." in result.stderr


def test_replay_reads_only_the_newest_training_of_a_rerun_log_dir(tmp_path):
    from session_helpers import write_session

    run_dir = tmp_path / "exp" / "lr_timeline"
    write_session(run_dir, "first", 0, epochs=6, steps_per_epoch=5, rate=lambda s: 0.1)
    write_session(run_dir, "second", 0, epochs=4, steps_per_epoch=5, rate=lambda s: 0.1)
    result = subprocess.run([sys.executable, "-m", "lr_plugin.tools.cli", "replay", str(tmp_path),
                             "--format", "json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [(r["epoch"], r["session"]) for r in document["recorded"]] == [
        (e, "second") for e in range(4)]
    assert len(document["replayed"]) == 4


def test_on_a_schedule_unchanged_settings_replay_the_applied_rates(tmp_path):
    run = train_on_cosine(tmp_path)
    decisions, (steps, rates) = replay.replayed_rates(run["plateau"], columns(run["planned"]["SGD"]))
    assert [d["action"] for d in decisions] == [d["action"] for d in run["plateau"]]
    assert "reduce" in [d["action"] for d in decisions]
    # The last epoch's lr_after is the rate of an update after the planned series ends.
    assert [d["lr_after"] for d in decisions[:-1]] == pytest.approx(
        [d["lr_after"] for d in run["plateau"][:-1]], rel=1e-6)
    applied_steps, applied = columns(run["learning_rate"]["SGD"])
    np.testing.assert_array_equal(steps, applied_steps)
    np.testing.assert_allclose(rates, applied, rtol=1e-6)
    assert replay.first_divergence(run["plateau"], decisions, planned_until=int(steps[-1])) is None


@pytest.mark.parametrize("changes", [dict(patience=3), dict(factor=0.2, min_lr=0.01)])
def test_on_a_schedule_a_replay_applies_the_rates_training_with_those_settings_applied(tmp_path, changes):
    recorded = train_on_cosine(tmp_path / "recorded")
    truth = train_on_cosine(tmp_path / "truth", **changes)
    decisions, (steps, rates) = replay.replayed_rates(recorded["plateau"], columns(recorded["planned"]["SGD"]), **changes)
    assert [d["action"] for d in decisions] == [d["action"] for d in truth["plateau"]]
    truth_steps, truth_rates = columns(truth["learning_rate"]["SGD"])
    np.testing.assert_array_equal(steps, truth_steps)
    np.testing.assert_allclose(rates, truth_rates, rtol=1e-6)
    assert not np.allclose(rates, columns(recorded["learning_rate"]["SGD"])[1], rtol=1e-6)


def test_replay_command_on_a_schedule_follows_it(tmp_path, capsys):
    from lr_plugin.tools import cli

    train_on_cosine(tmp_path / "recorded")
    truth = train_on_cosine(tmp_path / "truth", patience=3)
    assert cli.main(["replay", str(tmp_path / "recorded"), "--patience", "3", "--format", "json"]) == 0
    replayed = json.loads(capsys.readouterr().out)["replayed"]
    assert [d["action"] for d in replayed] == [d["action"] for d in truth["plateau"]]
    # Each epoch's rates are the reduced schedule's, read where the next update reads it
    # (after the last epoch no update follows, outside the planned series).
    for key in ("lr_before", "lr_after"):
        assert [d[key] for d in replayed[:-1]] == pytest.approx([d[key] for d in truth["plateau"][:-1]], rel=1e-6)
