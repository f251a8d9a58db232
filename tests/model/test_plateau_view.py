"""The plateau facts the server derives agree with what the real callback decided."""

import keras
import numpy as np

from conftest import linear_probe, probe_data, read_run
from lr_plugin.callbacks import ReduceLROnPlateau
from lr_plugin.model import plateau_view


class _Monitored(keras.callbacks.Callback):
    """Puts the given value of `val_loss` into each epoch's logs, before the plateau callback."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def fit_and_read(tmp_path, values, **settings):
    """A real fit whose val_loss is `values`; returns the recorded run (export schema)."""
    model = linear_probe(0.1)
    x, y = probe_data(steps_per_epoch=1)
    callback = ReduceLROnPlateau(monitor="val_loss", log_dir=str(tmp_path), **settings)
    model.fit(x, y, epochs=len(values), verbose=0, callbacks=[_Monitored(values), callback])
    return read_run(tmp_path)


def blocked_between_events(events):
    """Epochs strictly between each cooldown_start and the next cooldown_end (the callback's view)."""
    blocked = []
    starts = [e["epoch"] for e in events if e["kind"] == "cooldown_start"]
    ends = [e["epoch"] for e in events if e["kind"] == "cooldown_end"]
    for start in starts:
        end = min([e for e in ends if e > start], default=None)
        if end is not None:
            blocked.append(list(range(start + 1, end)))
    return blocked


def test_cooldown_windows_hold_exactly_the_epochs_keras_blocked(tmp_path):
    run = fit_and_read(tmp_path, [1.0] * 12, patience=2, cooldown=3, factor=0.5)
    view = plateau_view.derive(run["plateau"])

    reductions = [r["epoch"] for r in run["plateau"] if r["action"] == "reduce"]
    assert reductions == [2, 6, 10]
    assert view["cooldown_windows"] == [
        {"reduce_epoch": 2, "first_epoch": 3, "last_epoch": 4, "blocked_epochs": 2, "complete": True},
        {"reduce_epoch": 6, "first_epoch": 7, "last_epoch": 8, "blocked_epochs": 2, "complete": True},
        # Training ended inside the third cooldown: epoch 12 would have been blocked too.
        {"reduce_epoch": 10, "first_epoch": 11, "last_epoch": 11, "blocked_epochs": 1, "complete": False},
    ]
    complete = [w for w in view["cooldown_windows"] if w["complete"]]
    assert [list(range(w["first_epoch"], w["last_epoch"] + 1)) for w in complete] == (
        blocked_between_events(run["events"])
    )


def test_cooldown_of_one_blocks_no_epoch(tmp_path):
    run = fit_and_read(tmp_path, [1.0] * 7, patience=2, cooldown=1, factor=0.5)

    assert [r["epoch"] for r in run["plateau"] if r["action"] == "reduce"] == [2, 4, 6]
    assert plateau_view.derive(run["plateau"])["cooldown_windows"] == []


def test_decision_wait_is_the_wait_compared_with_patience(tmp_path):
    run = fit_and_read(tmp_path, [1.0] * 9, patience=3, cooldown=2, factor=0.5)
    decisions = plateau_view.derive(run["plateau"])["decisions"]

    assert [d["epoch"] for d in decisions] == list(range(9))
    # Epoch 0 improves on inf; reductions at 3 and 7 reset the recorded wait to 0.
    assert [d["decision_wait"] for d in decisions] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert [r["wait"] for r in run["plateau"]] == [0, 1, 2, 0, 0, 1, 2, 0, 0]


def test_beat_threshold_follows_min_delta_not_the_sign_of_the_change(tmp_path):
    # 0.99995 is lower than 1.0 but not by min_delta; 0.9 is.
    values = [1.0, 0.99995, 0.9, 0.95]
    run = fit_and_read(tmp_path, values, patience=5, min_delta=1e-4)
    decisions = plateau_view.derive(run["plateau"])["decisions"]

    assert [d["beat_threshold"] for d in decisions] == [True, False, True, False]
    assert [d["beat_threshold"] for d in decisions] == [
        r["action"] == "improved" for r in run["plateau"]
    ]
    assert decisions[0]["delta"] is None  # nothing to compare with yet
    assert np.allclose([d["delta"] for d in decisions[1:]], [-5e-5, 0.9 - 1.0, 0.05])


def test_beat_threshold_in_max_mode_needs_a_larger_value(tmp_path):
    records = [
        {"epoch": 0, "mode": "max", "value": 0.5, "best_before": "-Infinity", "min_delta": 0.01},
        {"epoch": 1, "mode": "max", "value": 0.505, "best_before": 0.5, "min_delta": 0.01},
        {"epoch": 2, "mode": "max", "value": 0.52, "best_before": 0.5, "min_delta": 0.01},
    ]
    decisions = plateau_view.derive(records)["decisions"]

    assert [d["beat_threshold"] for d in decisions] == [True, False, True]



def test_damaged_records_give_no_facts_rather_than_an_error():
    records = ["junk", {"epoch": "x"}, {"epoch": 0, "action": "reduce", "wait": None, "cooldown": "2"},
               {"epoch": 1, "action": "wait", "wait": 1, "value": "NaN", "best_before": 1.0}]

    assert plateau_view.derive(records) == {
        "decisions": [
            {"epoch": 0, "decision_wait": None, "delta": None, "beat_threshold": False},
            {"epoch": 1, "decision_wait": 1, "delta": None, "beat_threshold": False},
        ],
        "cooldown_windows": [],
    }

def test_timeline_route_sends_the_plateau_view_of_the_recorded_run(tmp_path):
    import json

    import tb_helpers

    run = fit_and_read(tmp_path, [1.0] * 6, patience=2, cooldown=3, factor=0.5)
    client = tb_helpers.make_client(tmp_path)
    response = client.get("/data/plugin/lr_timeline/timeline", query_string={"run": "lr_timeline"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = json.loads(response.get_data(as_text=True))

    assert body["plateau_view"] == plateau_view.derive(run["plateau"])
    assert body["plateau_view"]["cooldown_windows"] == [
        {"reduce_epoch": 2, "first_epoch": 3, "last_epoch": 4, "blocked_epochs": 2, "complete": True},
    ]
    assert [d["decision_wait"] for d in body["plateau_view"]["decisions"]] == [0, 1, 2, 0, 0, 1]
