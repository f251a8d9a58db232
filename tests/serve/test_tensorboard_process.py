"""A real ``tensorboard`` process finds the plugin and serves complete timelines.

Runs once with the Python loader (``--load_fast=false``) and once with the Rust
data server (``--load_fast=true``): each samples custom-plugin data its own way
(10 and 100 points per tag) unless the loader's fix_flags keeps them all.
"""

import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import tb_helpers

pytestmark = pytest.mark.slow

EPOCHS = 60
STEPS_PER_EPOCH = 50
PATIENCE = 1
STARTUP_TIMEOUT_S = 120  # TensorBoard imports TensorFlow at start when it is installed
RUN = "exp/lr_timeline"


def reduced_at(epoch):
    """Epochs 1, 3, ..., 57 end with a reduction: 29 in all."""
    return epoch % 2 == 1 and epoch < 58


def rate_of_epoch(epoch):
    return 0.1 * 0.9 ** sum(reduced_at(e) for e in range(epoch))


def write_plateau_run(logdir):
    def plateau(epoch):
        return {"action": "reduce" if reduced_at(epoch) else "wait", "patience": PATIENCE}

    def events(epoch):
        if not reduced_at(epoch):
            return []
        before = rate_of_epoch(epoch)
        return [{"kind": "reduce", "lr_before": before, "lr_after": before * 0.9}]

    tb_helpers.write_lr_run(
        logdir / "exp" / "lr_timeline",
        "SGD",
        EPOCHS,
        STEPS_PER_EPOCH,
        rate_of_epoch,
        metrics_of_epoch=lambda e: {"loss": 1.0 / (e + 1)},
        plateau_of_epoch=plateau,
        events_of_epoch=events,
        flushes_per_epoch=2,  # 120 rate chunks: above the fast loader's 100 too
    )
    tb_helpers.write_scalars(
        logdir / "exp" / "train", {"epoch_accuracy": [(e, e / 100) for e in range(EPOCHS)]}
    )


def fetch_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


def wait_for(condition, process, log_path, what):
    """Polls ``condition()`` until it returns a truthy value; fails after the timeout."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"tensorboard exited with {process.returncode} before {what}:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        try:
            result = condition()
            if result:
                return result
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            last_error = error
        time.sleep(0.5)
    pytest.fail(
        f"Timed out waiting for {what} (last error: {last_error!r}):\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


def complete_timeline(port):
    body = fetch_json(port, f"/data/plugin/lr_timeline/timeline?run={RUN}&downsample=5000")
    if len(body["plateau"]) == EPOCHS and body["points"].get("SGD") == EPOCHS * STEPS_PER_EPOCH:
        return body
    return None


def fast_loader_available():
    try:
        from tensorboard.data import server_ingester

        return server_ingester.get_server_binary() is not None
    except Exception:
        return False


NO_DATA_SERVER = pytest.mark.skipif(
    not fast_loader_available(), reason="tensorboard_data_server has no binary here")


@pytest.mark.parametrize(
    "load_fast",
    [
        "false",
        pytest.param("true", marks=NO_DATA_SERVER),
        # The fast loader, every run built in a child process (serve/build_worker).
        pytest.param("true, built in a child", marks=NO_DATA_SERVER),
    ],
)
def test_real_tensorboard_serves_every_plateau_reduction(tmp_path, load_fast):
    logdir = tmp_path / "logs"
    write_plateau_run(logdir)
    port = tb_helpers.free_port()
    log_path = tmp_path / "tensorboard.log"
    in_child = load_fast.endswith("child")
    env = tb_helpers.tensorboard_env(tmp_path / "site")
    env["LR_TIMELINE_WORKER_FROM_STEPS"] = "0" if in_child else "-1"
    builds_path = tmp_path / "builds.jsonl"
    process = tb_helpers.start_tensorboard(
        logdir,
        port,
        [f"--load_fast={load_fast.split(',')[0]}"],
        env,
        log_path,
        builds_path,
    )
    try:
        listing = wait_for(
            lambda: fetch_json(port, "/data/plugins_listing"), process, log_path, "plugins_listing"
        )
        assert "lr_timeline" in listing, sorted(listing)
        runs = wait_for(
            lambda: fetch_json(port, "/data/plugin/lr_timeline/runs")["runs"],
            process, log_path, "the run to load",
        )
        listing = fetch_json(port, "/data/plugins_listing")
        assert listing["lr_timeline"]["enabled"] is True
        assert listing["lr_timeline"]["tab_name"] == "LR Timeline"
        assert runs == [
            {
                "run": RUN,
                "name": "exp",
                "optimizers": ["SGD"],
                "has_plateau": True,
                "has_planned": False,
                "train_run": "exp/train",
                "validation_run": None,
            }
        ]

        body = wait_for(lambda: complete_timeline(port), process, log_path, "every sample")
        assert [r["epoch"] for r in body["plateau"]] == list(range(EPOCHS))
        reductions = [e for e in body["events"] if e["kind"] == "reduce"]
        assert len(reductions) == 29
        assert [e["epoch"] for e in reductions] == [e for e in range(EPOCHS) if reduced_at(e)]
        assert [e["step"] for e in reductions] == [
            (e + 1) * STEPS_PER_EPOCH - 1 for e in range(EPOCHS) if reduced_at(e)
        ]
        steps = np.arange(EPOCHS * STEPS_PER_EPOCH)
        assert body["learning_rate"]["SGD"] == [
            [int(s), rate_of_epoch(s // STEPS_PER_EPOCH)] for s in steps
        ]
        assert body["metrics"]["accuracy"][3] == [3, 4 * STEPS_PER_EPOCH - 1, float(np.float32(0.03))]

        # 29 changes need 60 points, so a budget of 100 still draws the exact step line.
        small = fetch_json(port, f"/data/plugin/lr_timeline/timeline?run={RUN}&downsample=100")
        kept = np.array(small["learning_rate"]["SGD"], dtype=np.float64)
        assert len(kept) <= 100
        rates = np.array([rate_of_epoch(s // STEPS_PER_EPOCH) for s in steps])
        np.testing.assert_array_equal(
            tb_helpers.step_function_at(kept[:, 0], kept[:, 1], steps), rates
        )
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/data/plugin/lr_timeline/index.js", timeout=10
        ) as response:
            assert response.headers["Content-Type"].startswith("text/javascript")
            assert b"render" in response.read()
        children = [b for b in tb_helpers.read_builds(builds_path) if "child" in b]
        if in_child:
            assert children and all(b == {"child": RUN, "built": True} for b in children)
        else:
            assert children == []
        assert "in a child process failed" not in log_path.read_text(errors="replace")
    finally:
        tb_helpers.stop_process(process)
