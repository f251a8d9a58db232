"""Any scalar beside the rate (`/scalar_tags`, `/scalar`) and lint findings in `/timeline`.

The runs come from real fit() calls with Keras' own TensorBoard callback beside
lr_plugin's callbacks, and a scalar a user logged at optimizer steps.
"""

import json

import keras
import pytest
from conftest import linear_probe, probe_data

import tb_helpers
from lr_plugin.callbacks import LearningRateMonitor, ReduceLROnPlateau

PLUGIN = "/data/plugin/lr_timeline"
STEPS_PER_EPOCH = 4


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scalars")
    log_dir = root / "exp"
    x, y = probe_data(STEPS_PER_EPOCH)
    model = linear_probe(0.1)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, validation_data=(x, y), callbacks=[
        LearningRateMonitor(log_dir),
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=100.0),
        ReduceLROnPlateau(monitor="loss", patience=0, min_delta=100.0, log_dir=log_dir),
        keras.callbacks.TensorBoard(log_dir, update_freq=1)])
    # A scalar the user logged with step=optimizer.iterations, in its own run.
    tb_helpers.write_scalars(log_dir / "grad_norm", {"grad_norm": [(s, 1.0 / (s + 1)) for s in range(12)]})
    return root


def get(client, path):
    response = client.get(PLUGIN + path)
    return response.status_code, json.loads(response.get_data())


def test_scalar_tags_lists_every_scalar_in_the_runs_log_dir(logdir):
    status, body = get(tb_helpers.make_client(logdir), "/scalar_tags?run=exp/lr_timeline")
    assert status == 200
    listed = {(s["run"], s["tag"]): s["alignment"] for s in body["scalars"]}
    assert listed[("exp/train", "epoch_loss")] == "epoch"
    assert listed[("exp/validation", "epoch_loss")] == "epoch"
    assert listed[("exp/train", "batch_loss")] == "batch"
    assert listed[("exp/grad_norm", "grad_norm")] == "step"


def test_epoch_scalars_land_on_the_last_step_of_their_epoch(logdir):
    status, body = get(tb_helpers.make_client(logdir),
                       "/scalar?run=exp/lr_timeline&scalar_run=exp/validation&tag=epoch_loss")
    assert status == 200 and body["alignment"] == "epoch"
    assert [(e, s) for e, s, _ in body["points"]] == [(0, 3), (1, 7), (2, 11)]


def test_a_user_scalar_logged_at_optimizer_steps_keeps_them(logdir):
    _, body = get(tb_helpers.make_client(logdir),
                  "/scalar?run=exp/lr_timeline&scalar_run=exp/grad_norm&tag=grad_norm")
    assert [s for _, s, _ in body["points"]] == list(range(12))
    assert [e for e, _, _ in body["points"]] == [0] * 4 + [1] * 4 + [2] * 4
    assert body["points"][3][2] == pytest.approx(0.25)


def test_an_unknown_scalar_is_a_404_that_points_to_the_listing(logdir):
    status, body = get(tb_helpers.make_client(logdir),
                       "/scalar?run=exp/lr_timeline&scalar_run=exp/train&tag=nope")
    assert status == 404 and "/scalar_tags lists them" in body["error"]


def test_timeline_carries_the_lint_findings_of_the_run(logdir):
    _, body = get(tb_helpers.make_client(logdir), "/timeline?run=exp/lr_timeline")
    codes = [f["code"] for f in body["findings"]]
    assert codes == ["double_plateau"]
    assert body["findings"][0]["epochs"] == [1, 2]


def test_a_log_dir_only_keras_wrote_shows_its_per_epoch_rate(tmp_path):
    x, y = probe_data(STEPS_PER_EPOCH)
    linear_probe(0.1).fit(x, y, batch_size=4, epochs=3, verbose=0, validation_data=(x, y), callbacks=[
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=100.0),
        keras.callbacks.TensorBoard(tmp_path / "old")])
    client = tb_helpers.make_client(tmp_path)
    _, listing = get(client, "/runs")
    (entry,) = listing["runs"]
    assert entry["run"] == "old/train" and entry["keras_only"] and entry["name"] == "old"
    status, body = get(client, "/timeline?run=old/train")
    assert status == 200
    assert "one epoch early" in body["keras_only"]["text"]
    # Keras logs the rate after the epoch's callbacks: epoch 1's point is already the
    # rate its ReduceLROnPlateau set for epoch 2.
    assert [e for e, _ in body["epoch_learning_rate"]] == [0, 1, 2]
    assert [v for _, v in body["epoch_learning_rate"]] == pytest.approx([0.1, 0.01, 0.001])
    assert [e for e, _, _ in body["metrics"]["val_loss"]] == [0, 1, 2]
