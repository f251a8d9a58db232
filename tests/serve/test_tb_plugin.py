"""The LR Timeline plugin's HTTP routes, served by TensorBoard's own WSGI app.

Event files are real (written with lr_plugin.format.writer and tensorboard.summary.Writer)
and loaded with TensorBoard's production size guidance.
"""

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard import program
from tensorboard.plugins.core import core_plugin

import tb_helpers
from lr_plugin.serve import tb_loader
from lr_plugin.serve import tb_plugin

PLUGIN = "/data/plugin/lr_timeline"
EPOCHS = 30
STEPS_PER_EPOCH = 10
REDUCED_AT = (9, 19)  # epochs whose end reduced the rate


def rate_of_epoch(epoch):
    return 0.1 * 0.5 ** sum(epoch > e for e in REDUCED_AT)


def loss_of_epoch(epoch):
    return float("nan") if epoch == 5 else 1.0 / (epoch + 1)


def plateau_of_epoch(epoch):
    action = "reduce" if epoch in REDUCED_AT else "wait"
    return {"action": action, "value": loss_of_epoch(epoch), "best": 1.0, "patience": 2}


def events_of_epoch(epoch):
    if epoch not in REDUCED_AT:
        return []
    before = rate_of_epoch(epoch)
    return [{"kind": "reduce", "lr_before": before, "lr_after": before / 2}]


def keras_value(value):
    """A value as Keras' float32 summaries store it."""
    return float(np.float32(value))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """exp/: our run plus Keras' train and validation runs; other/: a planned rate only;
    future/: a payload version newer than ours."""
    root = tmp_path_factory.mktemp("logdir")
    tb_helpers.write_lr_run(
        root / "exp" / "lr_timeline",
        "SGD",
        EPOCHS,
        STEPS_PER_EPOCH,
        rate_of_epoch,
        metrics_of_epoch=lambda e: {"loss": loss_of_epoch(e), "val_loss": 2.0 / (e + 1)},
        plateau_of_epoch=plateau_of_epoch,
        events_of_epoch=events_of_epoch,
        flushes_per_epoch=2,  # 60 rate chunks: far above the 10 TensorBoard keeps by default
    )
    epochs = range(EPOCHS)
    batches = range(1, EPOCHS * STEPS_PER_EPOCH + 1)
    tb_helpers.write_scalars(
        root / "exp" / "train",
        {
            "epoch_loss": [(e, 5.0) for e in epochs],  # ours win: never served
            "epoch_accuracy": [(e, 0.5 + e / 100) for e in epochs],
            "epoch_learning_rate": [(e, rate_of_epoch(e)) for e in epochs],
            "batch_loss": [(b, 1.0 / b) for b in batches],
        },
    )
    tb_helpers.write_scalars(
        root / "exp" / "validation",
        {
            "epoch_loss": [(e, 7.0) for e in epochs],  # val_loss is ours too
            "epoch_accuracy": [(e, 0.4 + e / 100) for e in epochs],
            "evaluation_loss_vs_iterations": [
                ((e + 1) * STEPS_PER_EPOCH, 3.0 / (e + 1)) for e in epochs
            ],
        },
    )
    tb_helpers.write_lr_run(
        root / "other" / "lr_timeline", "Adam", 3, 4, lambda e: 0.001 * (e + 1), planned=True
    )
    tb_helpers.write_future_version_run(root / "future" / "lr_timeline")
    return root


@pytest.fixture(scope="module")
def client(logdir):
    return tb_helpers.make_client(logdir)


def get_json(client, path, code=200, **query):
    response = client.get(path, query_string=query)
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.get_data(as_text=True))


def timeline(client, run="exp/lr_timeline", **query):
    return get_json(client, PLUGIN + "/timeline", run=run, **query)


def test_plugins_listing_enables_the_tab(client):
    listing = get_json(client, "/data/plugins_listing")
    entry = listing["lr_timeline"]
    assert entry["enabled"] is True
    assert entry["tab_name"] == "LR Timeline"
    assert entry["loading_mechanism"]["type"] == "IFRAME"
    assert entry["loading_mechanism"]["module_path"].endswith("/index.js")


def test_plugin_identity():
    plugin = tb_plugin.LrTimelinePlugin(tb_plugin.base_plugin.TBContext())
    assert plugin.plugin_name == "lr_timeline"
    assert plugin.data_plugin_names() == ("lr_timeline", "scalars")
    assert plugin.is_active() is False
    assert plugin.frontend_metadata().es_module_path == "/index.js"
    assert set(plugin.get_plugin_apps()) == {"/index.js", "/static/*", "/runs", "/timeline",
                                             "/replay", "/export", "/scalar_tags", "/scalar", "/finder"}


def test_runs_lists_every_readable_run_with_its_keras_companions(client):
    assert get_json(client, PLUGIN + "/runs") == {
        "runs": [
            {
                "run": "exp/lr_timeline",
                "name": "exp",
                "optimizers": ["SGD"],
                "has_plateau": True,
                "has_planned": False,
                "train_run": "exp/train",
                "validation_run": "exp/validation",
            },
            {
                "run": "other/lr_timeline",
                "name": "other",
                "optimizers": ["Adam"],
                "has_plateau": False,
                "has_planned": True,
                "train_run": None,
                "validation_run": None,
            },
        ]
    }


def test_timeline_is_complete_and_exact(client):
    body = timeline(client)
    assert body["version"] == 1
    assert body["run"] == "exp/lr_timeline"
    assert body["name"] == "exp"
    assert (body["train_run"], body["validation_run"]) == ("exp/train", "exp/validation")
    assert body["points"] == {"SGD": EPOCHS * STEPS_PER_EPOCH}
    assert body["planned"] == {} and body["planned_points"] == {}
    # 300 points fit the default budget of 2000: every step, exact.
    assert body["learning_rate"]["SGD"] == [
        [step, rate_of_epoch(step // STEPS_PER_EPOCH)] for step in range(EPOCHS * STEPS_PER_EPOCH)
    ]

    assert [r["epoch"] for r in body["epochs"]] == list(range(EPOCHS))
    assert body["epochs"][5]["metrics"]["loss"] == "NaN"
    assert body["epochs"][7] == {
        "epoch": 7,
        "first_step": 70,
        "last_step": 79,
        "learning_rate": 0.1,
        "metrics": {"loss": 1.0 / 8, "val_loss": 2.0 / 8},
    }

    assert len(body["plateau"]) == EPOCHS
    assert body["plateau"][5] == {
        "epoch": 5, "step": 59, "action": "wait", "value": "NaN", "best": 1.0, "patience": 2
    }
    assert [r["epoch"] for r in body["plateau"] if r["action"] == "reduce"] == list(REDUCED_AT)

    assert body["events"] == [
        {"epoch": 9, "step": 99, "kind": "reduce", "lr_before": 0.1, "lr_after": 0.05},
        {"epoch": 19, "step": 199, "kind": "reduce", "lr_before": 0.05, "lr_after": 0.025},
    ]


def test_timeline_aligns_losses_to_optimizer_steps(client):
    metrics = timeline(client)["metrics"]
    assert sorted(metrics) == [
        "accuracy", "batch_loss", "evaluation_loss", "learning_rate", "loss",
        "val_accuracy", "val_loss",
    ]
    last_step = lambda e: (e + 1) * STEPS_PER_EPOCH - 1  # noqa: E731
    # From our epoch records; Keras' epoch_loss (5.0, 7.0) is not repeated.
    assert metrics["loss"] == [
        [e, last_step(e), "NaN" if e == 5 else 1.0 / (e + 1)] for e in range(EPOCHS)
    ]
    assert metrics["val_loss"] == [[e, last_step(e), 2.0 / (e + 1)] for e in range(EPOCHS)]
    # From Keras' train and validation runs, placed at each epoch's last step.
    assert metrics["accuracy"] == [
        [e, last_step(e), keras_value(0.5 + e / 100)] for e in range(EPOCHS)
    ]
    assert metrics["val_accuracy"] == [
        [e, last_step(e), keras_value(0.4 + e / 100)] for e in range(EPOCHS)
    ]
    assert metrics["learning_rate"] == [
        [e, last_step(e), keras_value(rate_of_epoch(e))] for e in range(EPOCHS)
    ]
    # Keras batch b is optimizer step b - 1 here (one fit, steps_per_execution=1).
    assert metrics["batch_loss"] == [
        [None, b - 1, keras_value(1.0 / b)] for b in range(1, EPOCHS * STEPS_PER_EPOCH + 1)
    ]
    # evaluation_*_vs_iterations is logged at optimizer.iterations = last step + 1.
    assert metrics["evaluation_loss"] == [
        [e, last_step(e), keras_value(3.0 / (e + 1))] for e in range(EPOCHS)
    ]


def test_run_without_companions_has_only_its_own_data(client):
    body = timeline(client, run="other/lr_timeline")
    assert body["learning_rate"]["Adam"] == body["planned"]["Adam"]
    assert body["learning_rate"]["Adam"][:5] == [[0, 0.001], [1, 0.001], [2, 0.001], [3, 0.001], [4, 0.002]]
    assert body["points"] == body["planned_points"] == {"Adam": 12}
    assert body["epochs"] == body["plateau"] == body["events"] == []
    assert body["metrics"] == {}
    assert body["train_run"] is None and body["validation_run"] is None


def test_batch_steps_stay_unplaced_when_they_do_not_match_the_epochs(tmp_path):
    # Two fit() calls: Keras restarts its batch count, our records go on.
    tb_helpers.write_lr_run(
        tmp_path / "lr_timeline", "SGD", 4, 10, lambda e: 0.1,
        metrics_of_epoch=lambda e: {"loss": 1.0},
    )
    tb_helpers.write_scalars(
        tmp_path / "train", {"batch_loss": [(b, 1.0) for b in range(1, 21)]}
    )
    body = timeline(tb_helpers.make_client(tmp_path), run="lr_timeline")
    assert body["name"] == "."
    assert body["train_run"] == "train"
    assert [point[:2] for point in body["metrics"]["batch_loss"]] == [[None, None]] * 20


def write_rates_in_chunks(run_dir, rates, chunks):
    """One optimizer's rates at steps 0..n-1, written and flushed in ``chunks`` parts."""
    run_writer = tb_helpers.writer.open_run_writer(run_dir)
    for chunk in np.array_split(np.arange(len(rates)), chunks):
        run_writer.add_rates("SGD", chunk, rates[chunk])
        run_writer.flush(step=int(chunk[-1]))
    run_writer.close()


def test_downsample_keeps_every_change_of_a_long_step_function(tmp_path):
    n = 100_000
    rng = np.random.default_rng(1)
    changes = np.sort(rng.choice(np.arange(1, n), size=29, replace=False))
    rates = (0.1 * 0.8 ** np.arange(30))[np.searchsorted(changes, np.arange(n), side="right")]
    write_rates_in_chunks(tmp_path / "long" / "lr_timeline", rates, chunks=40)

    client = tb_helpers.make_client(tmp_path)
    body = timeline(client, run="long/lr_timeline", downsample="500")
    assert body["points"] == {"SGD": n}
    kept = np.array(body["learning_rate"]["SGD"])
    assert len(kept) <= 500
    assert kept[0, 0] == 0 and kept[-1, 0] == n - 1
    np.testing.assert_array_equal(
        tb_helpers.step_function_at(kept[:, 0], kept[:, 1], np.arange(n)), rates
    )
    assert len(timeline(client, run="long/lr_timeline")["learning_rate"]["SGD"]) <= 2000


def test_slow_float32_cosine_is_served_within_the_default_budget(tmp_path):
    # As Keras applies it (float32), a slow cosine repeats each rate for a few
    # steps: 12,018 change points in 1M steps, far more than the default 2000.
    n = 1_000_000
    rates = (0.01 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * np.arange(n) / n)))).astype(np.float32)
    write_rates_in_chunks(tmp_path / "cosine" / "lr_timeline", rates, chunks=20)

    client = tb_helpers.make_client(tmp_path)
    body = timeline(client, run="cosine/lr_timeline")
    assert body["points"] == {"SGD": n} and body["points_in_window"] == {"SGD": n}
    kept = np.array(body["learning_rate"]["SGD"])
    assert 1000 < len(kept) <= 2000
    assert kept[0, 0] == 0 and kept[-1, 0] == n - 1
    np.testing.assert_array_equal(kept[:, 1], rates[kept[:, 0].astype(int)])
    assert kept[:, 1].max() == rates.max() and kept[:, 1].min() == rates.min()


def test_loader_keeps_every_sample_unless_the_user_chose(tmp_path):
    loader = tb_loader.LrTimelineLoader()
    flags = argparse.Namespace(samples_per_plugin={})
    loader.fix_flags(flags)
    assert flags.samples_per_plugin == {"lr_timeline": 0}
    flags = argparse.Namespace(samples_per_plugin={"lr_timeline": 50})
    loader.fix_flags(flags)
    assert flags.samples_per_plugin == {"lr_timeline": 50}

    # Through TensorBoard's own flag parsing, which calls every loader's fix_flags.
    board = program.TensorBoard(plugins=[core_plugin.CorePluginLoader, tb_loader.LrTimelineLoader])
    board.configure(argv=["tensorboard", "--logdir=" + str(tmp_path)])
    assert board.flags.samples_per_plugin["lr_timeline"] == 0
    board = program.TensorBoard(plugins=[core_plugin.CorePluginLoader, tb_loader.LrTimelineLoader])
    board.configure(
        argv=["tensorboard", "--logdir=" + str(tmp_path), "--samples_per_plugin=lr_timeline=7"]
    )
    assert board.flags.samples_per_plugin["lr_timeline"] == 7


def test_routes_work_under_an_experiment_id_and_a_path_prefix(logdir, client):
    runs = get_json(client, PLUGIN + "/runs")
    assert get_json(client, "/experiment/abc" + PLUGIN + "/runs") == runs
    assert timeline(client) == get_json(
        client, "/experiment/abc" + PLUGIN + "/timeline", run="exp/lr_timeline"
    )
    prefixed = tb_helpers.make_client(logdir, path_prefix="/tb")
    assert get_json(prefixed, "/tb" + PLUGIN + "/runs") == runs
    assert get_json(prefixed, "/tb/experiment/abc" + PLUGIN + "/runs") == runs
    for path in ("/index.js", "/static/index.js"):
        assert prefixed.get("/tb" + PLUGIN + path).status_code == 200
        assert client.get("/experiment/abc" + PLUGIN + path).status_code == 200


@pytest.mark.parametrize(
    "query, code, words",
    [
        ({}, 400, "Missing query parameter 'run'"),
        ({"run": ""}, 400, "Missing query parameter 'run'"),
        ({"run": "nope/lr_timeline"}, 404, "No learning-rate data for run 'nope/lr_timeline'"),
        ({"run": "exp/train"}, 404, "No learning-rate data"),
        ({"run": "future/lr_timeline"}, 404, "No learning-rate data"),
        ({"run": "exp/lr_timeline", "downsample": "abc"}, 400, "'downsample' must be a whole number"),
        ({"run": "exp/lr_timeline", "downsample": "1"}, 400, "from 2 to 1000000"),
        ({"run": "exp/lr_timeline", "downsample": "1000001"}, 400, "Received: '1000001'"),
        ({"run": "exp/lr_timeline", "downsample": "-5"}, 400, "whole number"),
        ({"run": "exp/lr_timeline", "downsample": "2.5"}, 400, "whole number"),
        ({"run": "exp/lr_timeline", "downsample": ""}, 400, "whole number"),
        ({"run": "exp/lr_timeline", "downsample": "9" * 400}, 400, "whole number"),
    ],
)
def test_bad_requests_get_a_json_error(client, query, code, words):
    body = get_json(client, PLUGIN + "/timeline", code=code, **query)
    assert set(body) == {"error"}
    assert words in body["error"]


def test_unknown_run_error_lists_the_runs_with_data(client):
    body = get_json(client, PLUGIN + "/timeline", code=404, run="exp")
    assert "exp/lr_timeline" in body["error"] and "other/lr_timeline" in body["error"]
    assert "future/lr_timeline" not in body["error"]


def test_index_js_and_static_files_are_served(client):
    index_path = os.path.join(tb_plugin.STATIC_DIR, "index.js")
    with open(index_path, "rb") as handle:
        expected = handle.read()
    for path in (PLUGIN + "/index.js", PLUGIN + "/static/index.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert response.get_data() == expected
    assert b"export" in expected and b"render" in expected


@pytest.mark.parametrize(
    "path",
    [
        "/static/../tb_plugin.py",
        "/static/%2e%2e/tb_plugin.py",
        "/static/%2E%2E%2Ftb_plugin.py",
        "/static/..%2ftb_plugin.py",
        "/static/..%5ctb_plugin.py",
        "/static/./../tb_plugin.py",
        "/static/../../lr_plugin/tb_plugin.py",
        "/static/../static/../tb_plugin.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/%252e%252e/tb_plugin.py",
        "/static/%00",
        "/static/index.js%00.png",
        "/static/",
        "/static/nope.js",
    ],
)
def test_static_route_refuses_anything_outside_the_static_dir(client, path):
    response = client.get(PLUGIN + path)
    assert response.status_code == 404
    assert b"LrTimelinePlugin" not in response.get_data()
    assert b"root:" not in response.get_data()
    if response.headers["Content-Type"].startswith("application/json"):
        assert "error" in json.loads(response.get_data(as_text=True))


def test_static_file_path_guard():
    assert tb_plugin.static_file_path("index.js") == os.path.realpath(
        os.path.join(tb_plugin.STATIC_DIR, "index.js")
    )
    for relative in ("", ".", "..", "../tb_plugin.py", "/etc/passwd", "a/../../tb_plugin.py", "\0"):
        assert tb_plugin.static_file_path(relative) is None


def test_markup_in_a_run_name_is_plain_json_text(tmp_path):
    name = "<img src=x onerror=alert(1)>"
    tb_helpers.write_lr_run(tmp_path / name / "lr_timeline", "SGD", 1, 3, lambda e: 0.1)
    client = tb_helpers.make_client(tmp_path)
    response = client.get(PLUGIN + "/runs")
    assert response.headers["Content-Type"].startswith("application/json")
    (entry,) = json.loads(response.get_data(as_text=True))["runs"]
    assert entry["run"] == name + "/lr_timeline" and entry["name"] == name
    body = timeline(client, run=name + "/lr_timeline")
    assert body["name"] == name
    assert body["learning_rate"]["SGD"] == [[0, 0.1], [1, 0.1], [2, 0.1]]
    missing = client.get(PLUGIN + "/timeline", query_string={"run": name})
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/json")
    assert name in json.loads(missing.get_data(as_text=True))["error"]


def test_infinities_use_tensorboard_json_strings(tmp_path):
    tb_helpers.write_lr_run(
        tmp_path / "lr_timeline", "SGD", 3, 2,
        lambda e: [float("inf"), float("nan"), 0.5][e],
        metrics_of_epoch=lambda e: {"loss": [float("-inf"), 1.0, float("inf")][e]},
    )
    body = timeline(tb_helpers.make_client(tmp_path), run="lr_timeline")
    assert body["learning_rate"]["SGD"] == [
        [0, "Infinity"], [1, "Infinity"], [2, "NaN"], [3, "NaN"], [4, 0.5], [5, 0.5]
    ]
    assert body["metrics"]["loss"] == [[0, 1, "-Infinity"], [1, 3, 1.0], [2, 5, "Infinity"]]


def test_empty_logdir_has_no_runs(tmp_path):
    assert get_json(tb_helpers.make_client(tmp_path), PLUGIN + "/runs") == {"runs": []}


def test_plugin_modules_import_without_tensorflow_or_keras():
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None\n"
        "sys.modules['keras'] = None\n"
        "import lr_plugin.serve.tb_plugin, lr_plugin.serve.tb_loader, lr_plugin.model.downsample\n"
        "print(lr_plugin.serve.tb_plugin.LrTimelinePlugin.plugin_name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(tb_helpers.REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lr_timeline"


def test_numbers_in_responses_are_finite_or_tensorboard_strings(client):
    def walk(value):
        if isinstance(value, float):
            assert math.isfinite(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(timeline(client))
