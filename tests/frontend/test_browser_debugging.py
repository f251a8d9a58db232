"""Plateau debugging in the LR Timeline tab, in headless Chromium against a real ``tensorboard``.

The runs come from real fit() calls (browser_helpers): the demo's ReduceLROnPlateau run
(its decisions the real callback's), a training that falls into the double_plateau trap
with Keras' TensorBoard callback and a user scalar beside it, one whose plateau monitor
was never logged, and a log_dir only Keras' TensorBoard callback wrote. Expectations come
from the routes and from lr_plugin.tools.replay, never from the frontend.
"""

import json
import urllib.error
import urllib.request

import pytest

import browser_helpers as helpers
from browser_helpers import browser  # noqa: F401 (a fixture)
from lr_plugin.tools import replay

pytestmark = helpers.browser_test_marks()

PLATEAU_RUN = "plateau/lr_timeline"
TRAP_RUN = "trap/lr_timeline"
NO_MONITOR_RUN = "no_monitor/lr_timeline"
KERAS_ONLY_RUN = "keras_only/train"
TRAIN_WITH = "Train with lr_plugin.callbacks.ReduceLROnPlateau"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("debugging") / "logs"
    plateau = helpers.write_plateau_run(logdir)
    helpers.write_debugging_logs(logdir)
    return {"logdir": logdir, "plateau": plateau}


@pytest.fixture(scope="module")
def tensorboard(logs, tmp_path_factory):
    with helpers.running_tensorboard(logs["logdir"], tmp_path_factory.mktemp("tb"), wait_for_runs=6) as base:
        yield base


def route(base, path):
    """A route's (status, JSON body), as the tab receives it."""
    try:
        with urllib.request.urlopen(f"{base}/data/plugin/lr_timeline/{path}", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def page(browser, tensorboard):  # noqa: F811 (browser: the imported fixture)
    with helpers.plugin_page(browser, tensorboard) as opened:
        yield opened


def select_only(page, run):
    for option in page.locator('[data-testid="run-option"]').all():
        box = option.locator("input")
        if box.is_checked() != (option.get_attribute("data-run") == run):
            box.set_checked(option.get_attribute("data-run") == run)
    page.wait_for_function(
        "run => JSON.stringify(window.__lrTimelineApp.view.entries.map((e) => e.run))"
        " === JSON.stringify([run])",
        arg=run)
    page.wait_for_function("() => !window.__lrTimelineApp.refreshing")
    page.wait_for_timeout(200)


SERIES_JS = """
([track, part]) => {
  const spec = window.__lrTimelineApp.view.tracks[track].spec;
  return spec.series.filter((s) => s.key.includes(part)).map((s) => ({
    key: s.key, xs: Array.from(s.xs), ys: Array.from(s.ys, (y) => (y === null ? null : y)) }));
}
"""


def series(page, track, part):
    return page.evaluate(SERIES_JS, [track, part])


def wait_for_replay(page, semantics="keras"):
    page.wait_for_function(
        "s => { const p = document.querySelector('[data-testid=whatif-panel]');"
        " return p && p.getAttribute('data-semantics') === s && !p.hasAttribute('aria-busy')"
        " && p.hasAttribute('data-state'); }", arg=semantics, timeout=60000)


def shown_epochs(page, testid):
    return [int(e) for e in page.locator(f'[data-testid="{testid}"]').evaluate_all(
        "els => els.map((el) => el.getAttribute('data-epoch'))")]


def last_step(epoch):
    return (epoch + 1) * helpers.STEPS_PER_EPOCH - 1


def drops(ghost):
    """The xs where a ghost rate steps down."""
    return [x for x, before, after in zip(ghost["xs"][1:], ghost["ys"], ghost["ys"][1:]) if after < before]


def test_the_panel_shows_the_recorded_settings_and_no_ghost_until_asked(page):
    select_only(page, PLATEAU_RUN)
    shown = [page.input_value(f'[data-testid="whatif-{name}"]')
             for name in ("patience", "factor", "cooldown")]
    assert shown == ["3", "0.5", "2"]
    assert page.input_value('[data-testid="whatif-mode"]') == "min"  # as recorded
    assert series(page, "lr", "ghost") == [] and series(page, "plateau", "ghost") == []


def test_unchanged_settings_draw_a_ghost_identical_to_the_recording(page, logs):
    select_only(page, PLATEAU_RUN)
    page.click('[data-testid="whatif-replay"]')
    wait_for_replay(page)
    records = logs["plateau"]["records"]
    recorded = replay.reductions(records)
    assert page.get_attribute('[data-testid="whatif-panel"]', "data-state") == "same"
    assert page.input_value('[data-testid="whatif-patience"]') == "3"
    assert shown_epochs(page, "whatif-reduction") == recorded == shown_epochs(page, "whatif-recorded")
    [ghost] = series(page, "lr", "ghost")
    assert drops(ghost) == [last_step(epoch) for epoch in recorded]
    assert ghost["ys"][1:] == pytest.approx([record["lr_after"] for record in records])
    [ghost_wait] = series(page, "plateau", "ghost")
    [wait] = [s for s in series(page, "plateau", "wait") if "ghost" not in s["key"]]
    assert ghost_wait["xs"] == wait["xs"] and ghost_wait["ys"] == wait["ys"]


def test_changing_patience_moves_the_ghost_reductions_to_the_replays(page, logs):
    select_only(page, PLATEAU_RUN)
    records = logs["plateau"]["records"]
    replayed = replay.replay(records, patience=5)
    expected = replay.reductions(replayed)
    assert expected != replay.reductions(records)
    page.fill('[data-testid="whatif-patience"]', "5")
    page.wait_for_function(
        "e => JSON.stringify([...document.querySelectorAll('[data-testid=whatif-reduction]')]"
        ".map((el) => Number(el.getAttribute('data-epoch')))) === JSON.stringify(e)", arg=expected)
    [ghost] = series(page, "lr", "ghost")
    assert drops(ghost) == [last_step(epoch) for epoch in expected]
    parted = replay.first_divergence(records, replayed)
    divergence = page.locator('[data-testid="whatif-divergence"]')
    assert divergence.get_attribute("data-epoch") == str(parted)
    assert f"From Epoch {parted + 1} on, training would have gone another way" in divergence.inner_text()
    page.click('[data-testid="whatif-reset"]')
    page.wait_for_selector('[data-testid="whatif-panel"][data-state="same"]')
    page.click('[data-testid="whatif-clear"]')
    page.wait_for_function("() => !window.__lrTimelineApp.view.ghost")
    assert series(page, "lr", "ghost") == []


def test_another_run_in_the_panel_drops_the_ghost(page):
    select_only(page, PLATEAU_RUN)
    page.fill('[data-testid="whatif-patience"]', "5")
    wait_for_replay(page)
    assert series(page, "lr", "ghost") != []
    select_only(page, TRAP_RUN)
    assert page.evaluate("window.__lrTimelineApp.view.ghost") is None
    assert series(page, "lr", "ghost") == [] and series(page, "plateau", "ghost") == []
    assert page.input_value('[data-testid="whatif-patience"]') == "0"  # the trap run's own setting


def test_pytorch_semantics_replays_with_torch_or_shows_the_routes_message(page, logs, tensorboard):
    select_only(page, PLATEAU_RUN)
    page.select_option('[data-testid="whatif-semantics"]', "pytorch")
    status, body = route(tensorboard, f"replay?run={PLATEAU_RUN}&semantics=pytorch")
    if status != 200:
        page.wait_for_selector('[data-testid="whatif-error"]:visible')
        assert page.inner_text('[data-testid="whatif-error"]') == body["error"]
        return
    wait_for_replay(page, "pytorch")
    assert shown_epochs(page, "whatif-reduction") == body["reductions"]["replayed"]
    # A setting PyTorch rejects: the panel says what the route said, and draws no ghost.
    status, body = route(tensorboard,
                         f"replay?run={PLATEAU_RUN}&semantics=pytorch&threshold_mode=abs&factor=2")
    assert status == 400
    page.fill('[data-testid="whatif-factor"]', "2")
    page.wait_for_selector('[data-testid="whatif-error"]:visible', timeout=60000)
    assert page.inner_text('[data-testid="whatif-error"]') == body["error"]
    page.wait_for_function("() => !window.__lrTimelineApp.view.ghost")
    assert series(page, "lr", "ghost") == []


def test_lint_banner_shows_the_trap_with_keras_epochs_and_can_be_dismissed(page, tensorboard):
    select_only(page, TRAP_RUN)
    _, timeline = route(tensorboard, f"timeline?run={TRAP_RUN}")
    [finding] = timeline["findings"]
    assert finding["code"] == "double_plateau"
    shown = page.locator('[data-testid="lint-finding"]')
    assert shown.count() == 1
    assert shown.get_attribute("data-level") == "error"
    assert shown.locator('[data-field="level"]').inner_text() == "Error"
    assert shown.locator('[data-field="message"]').inner_text() == finding["message"]
    assert shown.locator('[data-field="fix"]').inner_text() == f"Fix: {finding['fix']}"
    epochs = ", ".join(str(epoch + 1) for epoch in finding["epochs"])
    assert shown.locator('[data-field="epochs"]').inner_text() == f"Epochs {epochs}"
    shown.locator('[data-testid="dismiss-finding"]').click()
    assert page.locator('[data-testid="lint-banner"]').is_hidden()


def test_a_clean_run_shows_no_banner(page, tensorboard):
    select_only(page, PLATEAU_RUN)
    assert route(tensorboard, f"timeline?run={PLATEAU_RUN}")[1]["findings"] == []
    assert page.locator('[data-testid="lint-banner"]').is_hidden()
    assert page.locator('[data-testid="lint-finding"]').count() == 0


def test_a_plateau_whose_monitor_was_never_logged_says_what_the_finding_says(page, tensorboard):
    select_only(page, NO_MONITOR_RUN)
    [finding] = route(tensorboard, f"timeline?run={NO_MONITOR_RUN}")[1]["findings"]
    assert finding["code"] == "monitor_missing"
    assert page.inner_text('[data-testid="lint-finding"] [data-field="message"]') == finding["message"]
    assert TRAIN_WITH not in page.inner_text("body")
    # Its records hold no decision to replay: no what-if panel.
    assert page.locator('[data-testid="whatif-panel"]').is_hidden()


def test_a_plateau_callback_that_never_saw_its_monitor_is_not_suggested_again(page, tensorboard):
    run = "unlogged_monitor/lr_timeline"
    select_only(page, run)
    timeline = route(tensorboard, f"timeline?run={run}")[1]
    assert timeline["plateau"] == []
    plateaus = [c for c in timeline["setup"][0]["callbacks"] if c["role"] == "plateau"]
    assert [(c["class"], c["origin"]) for c in plateaus] == [("ReduceLROnPlateau", "lr_plugin")]
    [finding] = timeline["findings"]
    empty = page.locator('[data-testid="empty-no-plateau"]')
    assert empty.inner_text() == f"No ReduceLROnPlateau decisions in unlogged_monitor: {finding['message']}"
    assert TRAIN_WITH not in page.inner_text("body")


def pick_scalar(page, scalar_run, tag):
    option = f'[data-testid="scalar-picker"] option[data-tag="{tag}"][data-scalar-run="{scalar_run}"]'
    value = page.locator(option).get_attribute("value")
    page.select_option('[data-testid="scalar-picker"]', value)
    track = page.locator(f'[data-testid="track-scalar"][data-tag="{tag}"]')
    track.locator("canvas").first.wait_for()
    return track


def extra_series(page, tag):
    return page.evaluate(
        """tag => { const view = window.__lrTimelineApp.view;
        const track = Object.values(view.tracks).find((t) => t.el.dataset.tag === tag);
        const s = track.spec.series[0];
        return {xs: Array.from(s.xs), ys: Array.from(s.ys),
                markers: track.el.querySelectorAll('[data-testid=reduction-marker]').length}; }""", tag)


def test_picked_scalars_are_drawn_as_tracks_on_the_step_axis_with_the_reductions(page, tensorboard):
    select_only(page, TRAP_RUN)
    _, tags = route(tensorboard, f"scalar_tags?run={TRAP_RUN}")
    listed = {(s["run"], s["tag"]) for s in tags["scalars"]}
    assert ("trap/train", "epoch_accuracy") in listed and ("trap/grad_norm", "grad_norm") in listed
    reductions = page.locator('[data-testid="track-lr"] [data-testid="reduction-marker"]').count()
    assert reductions > 0
    pick_scalar(page, "trap/train", "epoch_accuracy")
    _, accuracy = route(tensorboard, f"scalar?run={TRAP_RUN}&scalar_run=trap/train&tag=epoch_accuracy")
    drawn = extra_series(page, "epoch_accuracy")
    assert drawn["xs"] == [step for _, step, _ in accuracy["points"]]
    assert drawn["ys"] == pytest.approx([value for _, _, value in accuracy["points"]])
    assert drawn["markers"] == reductions
    track = pick_scalar(page, "trap/grad_norm", "grad_norm")
    _, grad_norm = route(tensorboard, f"scalar?run={TRAP_RUN}&scalar_run=trap/grad_norm&tag=grad_norm")
    assert extra_series(page, "grad_norm")["xs"] == [step for _, step, _ in grad_norm["points"]]
    assert page.locator('[data-testid="track-scalar"]').count() == 2
    track.locator('[data-testid="remove-scalar"]').click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=track-scalar]').length === 1")


def test_a_log_dir_only_keras_wrote_shows_its_per_epoch_rate_for_what_it_is(page, tensorboard):
    select_only(page, KERAS_ONLY_RUN)
    _, timeline = route(tensorboard, f"timeline?run={KERAS_ONLY_RUN}")
    rates = timeline["epoch_learning_rate"]
    assert len(rates) == 6 and rates[-1][1] < rates[0][1]
    [drawn] = series(page, "lr", "epoch_learning_rate")
    # Each epoch's value at the end of its epoch, on the epoch axis (x = N: Epoch N ended).
    assert drawn["xs"] == [epoch + 1 for epoch, _ in rates]
    assert drawn["ys"] == pytest.approx([value for _, value in rates])
    assert page.evaluate("window.__lrTimelineApp.view.model.axisName") == "epoch"
    assert page.inner_text('[data-testid="keras-only-text"]').endswith(timeline["keras_only"]["text"])
    assert "LearningRateMonitor(log_dir)" in page.inner_text('[data-testid="keras-only-hint"]')
    assert [s["key"].split("\u0000")[-1] for s in series(page, "loss", "metric")] == ["loss", "val_loss"]
    body = page.inner_text("body")
    assert "No learning-rate data yet" not in body and "No learning-rate points" not in body


def test_on_a_schedule_the_ghost_rate_is_the_reduced_schedule(page, tensorboard):
    run = "scheduled/lr_timeline"
    select_only(page, run)
    _, timeline = route(tensorboard, f"timeline?run={run}")
    page.fill('[data-testid="whatif-patience"]', "3")
    page.click('[data-testid="whatif-replay"]')
    page.wait_for_function("() => { const p = document.querySelector('[data-testid=whatif-panel]');"
                           " return p && !p.hasAttribute('aria-busy') && p.getAttribute('data-state') === 'parted'; }",
                           timeout=60000)
    status, body = route(tensorboard, f"replay?run={run}&patience=3")
    assert status == 200 and body["reductions"]["replayed"] != body["reductions"]["recorded"]
    assert shown_epochs(page, "whatif-reduction") == body["reductions"]["replayed"]
    assert not page.locator('[data-testid="whatif-schedule-note"]').count()
    [ghost] = series(page, "lr", "ghost")
    [[optimizer, points]] = body["rates"].items()
    assert ghost["xs"] == [step for step, _ in points]
    assert ghost["ys"] == pytest.approx([rate for _, rate in points], rel=1e-6)
    # Up to the first replayed decision that differs, the ghost is the recorded rate.
    parted_step = next(d["step"] for d in body["replayed"] if d["epoch"] == body["first_divergence"])
    recorded = dict(map(tuple, timeline["learning_rate"][optimizer]))
    same = [(step, rate) for step, rate in points if step <= parted_step and step in recorded]
    assert same and [rate for _, rate in same] == pytest.approx([recorded[step] for step, _ in same], rel=1e-6)
    # PyTorch's rules replay a constant rate: decisions only, with a note saying so.
    page.select_option('[data-testid="whatif-semantics"]', "pytorch")
    status, _ = route(tensorboard, f"replay?run={run}&semantics=pytorch")
    if status == 200:
        page.wait_for_selector('[data-testid="whatif-panel"][data-state="scheduled"]', timeout=60000)
        assert page.locator('[data-testid="whatif-schedule-note"]').is_visible()
        assert series(page, "lr", "ghost") == []
