"""`lr-plugin export`: JSON and CSV of every point; clear errors with exit code 2."""

import csv
import json
import subprocess
import sys

from test_format import write_full_run

from lr_plugin.tools import cli


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "lr_plugin.tools.cli", *args],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_export_json_has_every_run_and_point(tmp_path):
    write_full_run(tmp_path / "a" / "lr_timeline")
    write_full_run(tmp_path / "b" / "lr_timeline")
    code, out, err = run_cli("export", str(tmp_path))
    assert code == 0, err
    document = json.loads(out)
    assert document["version"] == 1
    assert sorted(document["runs"]) == ["a/lr_timeline", "b/lr_timeline"]
    run = document["runs"]["a/lr_timeline"]
    assert len(run["learning_rate"]["SGD"]) == 8
    assert set(run) == {"learning_rate", "planned", "epochs", "plateau", "events", "sessions"}


def test_export_one_run_as_csv(tmp_path, capsys):
    write_full_run(tmp_path / "a" / "lr_timeline")
    write_full_run(tmp_path / "b" / "lr_timeline")
    code = cli.main(["export", str(tmp_path), "--run", "b/lr_timeline", "--format", "csv",
                     "-o", str(tmp_path / "out.csv")])
    assert code == 0 and capsys.readouterr().out == ""
    rows = list(csv.reader(open(tmp_path / "out.csv")))
    assert rows[0] == ["run", "optimizer", "step", "learning_rate"]
    assert rows[1] == ["b/lr_timeline", "SGD", "0", "0.1"]
    assert len(rows) == 1 + 8 + 1  # header, SGD's 8 steps, Adam_head's one
    assert ["b/lr_timeline", "SGD", "5", "NaN"] in rows


def test_export_of_an_unknown_or_empty_directory_exits_2_without_traceback(tmp_path):
    code, out, err = run_cli("export", str(tmp_path / "missing"))
    assert code == 2 and out == ""
    assert "lr-plugin export: error: Log directory" in err and "Traceback" not in err
    code, _, err = run_cli("export", str(tmp_path))
    assert code == 2 and "No learning-rate data" in err and "Traceback" not in err


def test_export_of_an_unknown_run_lists_the_runs(tmp_path):
    write_full_run(tmp_path / "a" / "lr_timeline")
    code, _, err = run_cli("export", str(tmp_path), "--run", "zzz")
    assert code == 2
    assert "No run named 'zzz'" in err and "a/lr_timeline" in err


def test_no_command_prints_usage_and_exits_2():
    code, _, err = run_cli()
    assert code == 2 and "usage: lr-plugin" in err
