"""`/export`: the tab's downloads are the bytes `lr-plugin export` writes, streamed.

Runs are recorded by the real ReduceLROnPlateau (driven without training, one
update per epoch) and served by TensorBoard's own WSGI app.
"""

import json

import numpy as np
import pytest
from plateau_helpers import drive, random_values

import tb_helpers
from lr_plugin.callbacks import ReduceLROnPlateau
from lr_plugin.tools import cli

PLUGIN = "/data/plugin/lr_timeline"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_route")
    for seed, name in enumerate(("first run", "second")):
        drive(ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5, log_dir=root / name),
              random_values(np.random.default_rng(seed), 12), learning_rate=0.1)
    return root


def cli_export(logdir, tmp_path, *args):
    out = tmp_path / "export.out"
    assert cli.main(["export", str(logdir), "--output", str(out), *args]) == 0
    return out.read_bytes()


@pytest.mark.parametrize("export_format", ["json", "csv"])
def test_one_run_is_the_cli_export_to_the_byte(logdir, tmp_path, export_format):
    response = tb_helpers.make_client(logdir).get(
        f"{PLUGIN}/export?run=first run/lr_timeline&format={export_format}")
    assert response.status_code == 200
    assert response.get_data() == cli_export(logdir, tmp_path, "--run", "first run/lr_timeline",
                                             "--format", export_format)
    assert f'filename="first_run.lr_timeline.{export_format}"' in response.headers["Content-Disposition"]


def test_several_runs_in_one_document_in_the_order_asked(logdir):
    response = tb_helpers.make_client(logdir).get(
        f"{PLUGIN}/export?run=second/lr_timeline&run=first run/lr_timeline")
    document = json.loads(response.get_data())
    assert list(document["runs"]) == ["second/lr_timeline", "first run/lr_timeline"]
    reductions = [r for r in document["runs"]["second/lr_timeline"]["plateau"] if r["action"] == "reduce"]
    assert reductions, "the fixture's run should reduce at least once"
    rates = dict(map(tuple, document["runs"]["second/lr_timeline"]["learning_rate"]["SGD"]))
    followed = [r for r in reductions if r["step"] + 1 in rates]
    assert followed, "the fixture's run should reduce before its last update"
    for record in followed:  # the next update runs at the reduced rate
        assert rates[record["step"] + 1] == pytest.approx(record["lr_after"], rel=1e-6)
    assert response.headers["Content-Disposition"].endswith('filename="runs.lr_timeline.json"')


@pytest.mark.parametrize("query, status, words", [
    ("format=csv", 400, "Pass ?run="),
    ("run=nope/lr_timeline", 404, "runs with learning-rate data"),
    ("run=second/lr_timeline&format=xml", 400, "must be one of json, csv"),
])
def test_bad_queries_say_what_to_pass(logdir, query, status, words):
    response = tb_helpers.make_client(logdir).get(f"{PLUGIN}/export?{query}")
    assert response.status_code == status
    assert words in json.loads(response.get_data())["error"]
