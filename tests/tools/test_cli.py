"""`lr-plugin export`: JSON and CSV of every point; clear errors with exit code 2."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from sample_runs import write_full_run
from session_helpers import write_session

import tb_helpers
from lr_plugin.format import reader
from lr_plugin.format import writer as writer_lib
from lr_plugin.model import timeline
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
    assert set(run) == {"learning_rate", "planned", "epochs", "plateau", "events", "sessions",
                        "setup", "lr_finder"}


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


def test_export_of_an_unknown_run_lists_only_the_runs_with_learning_rate_data(tmp_path):
    write_full_run(tmp_path / "a" / "lr_timeline")
    write_full_run(tmp_path / "b" / "lr_timeline")
    tb_helpers.write_scalars(tmp_path / "a" / "train", {"epoch_loss": [(0, 1.0)]})
    tb_helpers.write_scalars(tmp_path / "a" / "validation", {"epoch_loss": [(0, 1.0)]})
    code, _, err = run_cli("export", str(tmp_path), "--run", "zzz")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("lr-plugin export: error: No run named 'zzz' with learning-rate data")
    assert "Runs with learning-rate data: a (a/lr_timeline), b (b/lr_timeline)." in err
    assert "train" not in err and "validation" not in err
    code, _, err = run_cli("export", str(tmp_path), "--run", "a/train")
    assert code == 2 and "No run named 'a/train' with learning-rate data" in err


@pytest.mark.parametrize("name", ["a", "a/lr_timeline"])
def test_export_accepts_a_run_as_the_tab_or_tensorboard_names_it(tmp_path, capsys, name):
    write_full_run(tmp_path / "a" / "lr_timeline")
    write_full_run(tmp_path / "b" / "lr_timeline")
    assert cli.main(["export", str(tmp_path), "--run", name]) == 0
    assert list(json.loads(capsys.readouterr().out)["runs"]) == ["a/lr_timeline"]


def test_export_of_the_logdir_itself_is_run_dot(tmp_path, capsys):
    write_full_run(tmp_path / "lr_timeline")
    assert cli.main(["export", str(tmp_path), "--run", "."]) == 0
    assert list(json.loads(capsys.readouterr().out)["runs"]) == ["lr_timeline"]


def test_streamed_json_is_the_model_of_every_run(tmp_path, capsys):
    write_full_run(tmp_path / "a,b" / "lr_timeline")
    write_session(tmp_path / "s" / "lr_timeline", "one", 0, epochs=3, steps_per_epoch=7,
                  rate=lambda s: [0.1, float("inf"), float("nan")][s % 3], planned_steps=range(30))
    write_session(tmp_path / "s" / "lr_timeline", "two", 10, epochs=2, steps_per_epoch=7,
                  rate=lambda s: 0.5 ** s)
    assert cli.main(["export", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    expected = {name: timeline.to_json_run(run)
                for name, run in reader.read_timelines(str(tmp_path)).items()}
    streamed = json.loads(out)
    # Export writes each float32 rate as its shortest text: equal once read as float32.
    for runs in (streamed["runs"], expected):
        for run in runs.values():
            for key in ("learning_rate", "planned"):
                for points in run[key].values():
                    for point in points:
                        if not isinstance(point[1], str):
                            point[1] = float(np.float32(point[1]))
    assert streamed == {"version": 1, "runs": json.loads(json.dumps(expected))}
    assert list(json.loads(out)["runs"]) == ["a,b/lr_timeline", "s/lr_timeline"]
    assert [s for s, _ in expected["s/lr_timeline"]["learning_rate"]["SGD"]] == list(range(24))


def test_csv_quotes_run_names_and_writes_special_rates_as_words(tmp_path, capsys):
    write_session(tmp_path / "a,b" / "lr_timeline", "one", 0, epochs=1, steps_per_epoch=4,
                  rate=lambda s: [0.1, float("inf"), float("nan"), float("-inf")][s])
    assert cli.main(["export", str(tmp_path), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "run,optimizer,step,learning_rate",
        '"a,b/lr_timeline",SGD,0,0.1', '"a,b/lr_timeline",SGD,1,Infinity',
        '"a,b/lr_timeline",SGD,2,NaN', '"a,b/lr_timeline",SGD,3,-Infinity']


def test_export_imports_no_tensorflow_and_prints_nothing_but_the_document(tmp_path):
    write_full_run(tmp_path / "a" / "lr_timeline")
    code = ("import sys; from lr_plugin.tools import cli; "
            f"code = cli.main(['export', {str(tmp_path)!r}, '-o', {str(tmp_path / 'o.json')!r}]); "
            "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["0", "False", "False"]
    assert result.stderr == ""


def test_warnings_are_one_plain_line_each(tmp_path):
    run_dir = tmp_path / "a" / "lr_timeline"
    w = writer_lib.open_run_writer(run_dir)
    w.add_rates("SGD", range(3), [0.1] * 3)
    w._add_unchecked("epochs", {"epoch": "warmup"})  # past the writer's own check
    w.close()
    code, out, err = run_cli("export", str(tmp_path))
    assert code == 0 and json.loads(out)["runs"]["a/lr_timeline"]["epochs"] == []
    assert err.splitlines() == [
        "lr-plugin export: warning: lr_timeline skipped data that does not match its format "
        "(run 'a/lr_timeline', tag 'epochs', step 2): skipped 1 of 1 records; record 0: field "
        "'epoch' must be a whole number; received 'warmup' (str). The rest of the run is read."]


def test_no_command_prints_usage_and_exits_2():
    code, _, err = run_cli()
    assert code == 2 and "usage: lr-plugin" in err
