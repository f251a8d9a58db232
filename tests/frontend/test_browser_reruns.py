"""A script rerun into the same log_dir: the tab shows the second training, nothing of the first.

Two real fit() calls write one log_dir: the first reduces the rate twice, the rerun (a
fresh model from step 0, more patient) never does. Served by a real ``tensorboard``,
the tab must draw no reduction marker and list only the rerun's decisions, and export
must hold exactly the rerun's epochs, plateau records and events.
"""

import json

import keras
import numpy as np
import pytest
from conftest import linear_probe, probe_data

import browser_helpers as helpers
from browser_helpers import browser  # noqa: F401 (a fixture)
from lr_plugin.callbacks import ReduceLROnPlateau
from lr_plugin.tools import cli

pytestmark = helpers.browser_test_marks()

RUN = "rerun/lr_timeline"
EPOCHS = 4


def train(log_dir, patience):
    x, y = probe_data(3)
    # min_delta=100: every epoch after the first is a non-improvement.
    linear_probe(0.1).fit(x, y, batch_size=4, epochs=EPOCHS, verbose=0, callbacks=[
        ReduceLROnPlateau(monitor="loss", patience=patience, min_delta=100.0, log_dir=log_dir)])
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("reruns")
    train(root / "rerun", patience=0)   # reduces at the end of epochs 1, 2 and 3
    train(root / "rerun", patience=10)  # the rerun: never reduces
    return root


@pytest.fixture(scope="module")
def tensorboard(logdir, tmp_path_factory):
    with helpers.running_tensorboard(logdir, tmp_path_factory.mktemp("tb"), wait_for_runs=1) as base:
        yield base


def test_export_holds_exactly_the_reruns_records(logdir, capsys):
    assert cli.main(["export", str(logdir)]) == 0
    run = json.loads(capsys.readouterr().out)["runs"][RUN]
    assert [e["epoch"] for e in run["epochs"]] == list(range(EPOCHS))
    assert [p["action"] for p in run["plateau"]] == ["improved"] + ["wait"] * (EPOCHS - 1)
    assert [p["patience"] for p in run["plateau"]] == [10] * EPOCHS
    assert run["events"] == []
    first, second = run["sessions"]
    assert first["superseded_from"] == 0 and second["superseded_from"] is None
    # The rerun's rate never moved: 0.1 at every one of its steps.
    steps, rates = zip(*run["learning_rate"]["SGD"])
    assert list(steps) == list(range(EPOCHS * 3))
    assert np.all(np.float32(rates) == np.float32(0.1))


def test_the_tab_draws_no_reduction_of_the_first_run(browser_page):
    page = browser_page
    for track in ("lr", "loss", "plateau"):
        markers = page.locator(f'[data-testid="track-{track}"] [data-testid="reduction-marker"]')
        assert markers.count() == 0
    rows = page.locator('[data-testid="decision-row"]')
    rows.nth(EPOCHS - 1).wait_for(state="attached")
    assert rows.count() == EPOCHS
    assert "10" in rows.nth(EPOCHS - 1).inner_text()  # the rerun's patience: wait 3/10


@pytest.fixture
def browser_page(browser, tensorboard):  # noqa: F811 (browser: the imported fixture)
    with helpers.plugin_page(browser, tensorboard) as page:
        page.wait_for_function("() => !window.__lrTimelineApp.refreshing")
        yield page
