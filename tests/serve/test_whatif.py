"""`/replay`: the what-if route replays a run's plateau decisions with other settings.

Runs are recorded by the real ReduceLROnPlateau (driven without training) and
served by TensorBoard's own WSGI app; the route answers what `lr-plugin replay`
answers.
"""

import json

import numpy as np
import pytest
from conftest import read_run
from plateau_helpers import columns, drive, random_values, train_on_cosine

import tb_helpers
from lr_plugin.callbacks import ReduceLROnPlateau
from lr_plugin.tools import replay

PLUGIN = "/data/plugin/lr_timeline"
SETTINGS = dict(monitor="val_loss", factor=0.5, patience=2, cooldown=2, min_delta=1e-3,
                min_lr=0.01, mode="min")


def record(log_dir, values, **settings):
    drive(ReduceLROnPlateau(**dict(SETTINGS, **settings), log_dir=log_dir), values,
          learning_rate=0.2)
    return read_run(log_dir)["plateau"]


def get(client, query):
    response = client.get(f"{PLUGIN}/replay?{query}")
    return response.status_code, json.loads(response.get_data())


@pytest.mark.parametrize("seed", range(3))
def test_unchanged_settings_reproduce_the_recording(tmp_path, seed):
    recorded = record(tmp_path / "exp", random_values(np.random.default_rng(seed), 25))
    status, body = get(tb_helpers.make_client(tmp_path), "run=exp/lr_timeline")
    assert status == 200
    keys = ("epoch", "action", "wait", "cooldown_counter")
    assert [[d[k] for k in keys] for d in body["replayed"]] == [[d[k] for k in keys] for d in recorded]
    assert [d["lr_after"] for d in body["replayed"]] == pytest.approx([d["lr_after"] for d in recorded])
    assert body["first_divergence"] is None
    assert body["reductions"]["replayed"] == body["reductions"]["recorded"]


def test_changed_patience_moves_reductions_where_the_cli_replay_puts_them(tmp_path):
    recorded = record(tmp_path / "exp", random_values(np.random.default_rng(7), 30))
    status, body = get(tb_helpers.make_client(tmp_path), "run=exp/lr_timeline&patience=5&cooldown=0")
    assert status == 200
    expected = replay.replay(recorded, patience=5, cooldown=0)
    assert body["reductions"]["replayed"] == replay.reductions(expected)
    assert body["settings"]["patience"] == 5 and body["recorded_settings"]["patience"] == 2
    assert body["first_divergence"] == replay.first_divergence(recorded, expected)
    assert body["first_divergence"] is not None


def test_pytorch_semantics_reduce_when_bad_epochs_exceed_patience(tmp_path):
    pytest.importorskip("torch")
    flat = [1.0] * 6
    record(tmp_path / "exp", flat, patience=1, cooldown=0, min_lr=0.0)
    client = tb_helpers.make_client(tmp_path)
    _, keras_body = get(client, "run=exp/lr_timeline")
    _, torch_body = get(client, "run=exp/lr_timeline&semantics=pytorch")
    # Keras reduces once wait reaches patience, PyTorch once bad epochs exceed it.
    assert keras_body["reductions"]["replayed"] == [1, 2, 3, 4, 5]
    assert torch_body["reductions"]["replayed"] == [2, 4]
    assert torch_body["first_divergence"] == 1
    assert [d["lr_after"] for d in torch_body["replayed"]] == pytest.approx(
        [0.2, 0.2, 0.1, 0.1, 0.05, 0.05])


@pytest.mark.parametrize("query, message", [
    ("run=exp/lr_timeline&patience=five", "patience must be an integer. Received: 'five'"),
    ("run=exp/lr_timeline&semantics=caffe", "semantics must be one of ['keras', 'pytorch']"),
    ("run=exp/lr_timeline&factor=2", "factor >= 1.0"),
    ("run=nope", "Pass ?run= with a run that has plateau records"),
])
def test_bad_queries_get_a_json_error_that_says_what_was_wrong(tmp_path, query, message):
    record(tmp_path / "exp", [1.0, 0.9, 0.9])
    status, body = get(tb_helpers.make_client(tmp_path), query)
    assert status in (400, 404)
    assert message in body["error"]


def test_mode_can_be_replayed_the_other_way(tmp_path):
    # Rising values: improvements in max mode, a plateau in min mode.
    recorded = record(tmp_path / "exp", [1.0, 1.1, 1.2, 1.3, 1.4, 1.5], patience=1, cooldown=0)
    status, body = get(tb_helpers.make_client(tmp_path), "run=exp/lr_timeline&mode=max")
    assert status == 200 and body["settings"]["mode"] == "max"
    assert body["reductions"]["replayed"] == replay.reductions(replay.replay(recorded, mode="max"))
    assert body["reductions"]["replayed"] == []
    assert body["reductions"]["recorded"] != []
    status, body = get(tb_helpers.make_client(tmp_path), "run=exp/lr_timeline&mode=sideways")
    assert status == 400 and "mode must be one of ['min', 'max', 'auto']" in body["error"]


def test_on_a_schedule_the_route_sends_the_rates_the_reduced_schedule_applies(tmp_path):
    recorded = train_on_cosine(tmp_path / "exp")
    client = tb_helpers.make_client(tmp_path)
    status, same = get(client, "run=exp/lr_timeline")
    assert status == 200 and same["first_divergence"] is None
    # Unchanged settings: the replayed rate is the rate training applied.
    assert columns(same["rates"]["SGD"])[1] == pytest.approx(columns(recorded["learning_rate"]["SGD"])[1], rel=1e-6)
    truth = train_on_cosine(tmp_path / "truth_only" / "exp", patience=3)
    status, body = get(client, "run=exp/lr_timeline&patience=3")
    assert body["reductions"]["replayed"] == replay.reductions(truth["plateau"])
    assert columns(body["rates"]["SGD"])[1] == pytest.approx(columns(truth["learning_rate"]["SGD"])[1], rel=1e-6)
    assert body["first_divergence"] is not None
