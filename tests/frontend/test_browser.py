"""The LR Timeline tab in headless Chromium, served by a real ``tensorboard`` process.

The logs are demo-like and written with lr_plugin.format.writer as the callbacks write
them (browser_helpers): a ReduceLROnPlateau run with four reductions and
cooldowns (the real callback's decisions, from a short real fit), a warmup + cosine run without plateau data, a diverged run whose loss
becomes infinite and NaN, a LearningRateScheduler run (lr_set events), a run
that reaches min_lr logged without wall times (as older versions did), and a run
whose directory is named like HTML.
"""

import contextlib
import csv
import io
import json
import re

import numpy as np
import pytest

import browser_helpers as helpers
from browser_helpers import browser  # noqa: F401 (a fixture)
from lr_plugin.tools import cli

pytestmark = helpers.browser_test_marks()

PLATEAU_RUN = "plateau/lr_timeline"
COSINE_RUN = "cosine_warmup/lr_timeline"
DIVERGED_RUN = "diverged/lr_timeline"
XSS_RUN = f"{helpers.XSS_RUN}/lr_timeline"
SCHEDULER_RUN = "scheduler/lr_timeline"
MIN_LR_RUN = "to_min_lr/lr_timeline"
LIGHT_REDUCTION = helpers.hex_rgb("#d93025")
LIGHT_RATE = helpers.hex_rgb("#1a73e8")
DARK_RATE = helpers.hex_rgb("#8ab4f8")


def g4(value):
    """A number as the tab prints it (4 significant digits)."""
    return f"{value:.4g}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("browser") / "logs"
    plateau = helpers.write_demo_logs(logdir, xss=True)
    return {"logdir": logdir, "plateau": plateau}


@pytest.fixture(scope="module")
def tensorboard(demo, tmp_path_factory):
    with helpers.running_tensorboard(
        demo["logdir"], tmp_path_factory.mktemp("tensorboard"), wait_for_runs=helpers.DEMO_RUNS + 1
    ) as base:
        yield base


class Tab:
    """A page on the plugin, recording console errors and dialogs."""

    def __init__(self, browser, url, color_scheme="light", init_script=None):
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 1000}, color_scheme=color_scheme, accept_downloads=True
        )
        if init_script:
            self.context.add_init_script(init_script)
        self.page = self.context.new_page()
        self.errors = []
        self.dialogs = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error} {error.stack}"))
        self.page.on("dialog", self._dialog)
        self.requests = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(url)

    def _console(self, message):
        if message.type != "error":
            return
        if (message.location or {}).get("url", "").endswith("/favicon.ico"):
            return  # TensorBoard has no favicon at the iframe's origin root
        self.errors.append(f"console: {message.text} at {message.location}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self):
        self.context.close()

    def select_only(self, *runs):
        """Checks exactly these runs in the run selector and waits until they are drawn."""
        helpers.select_only(self.page, *runs)

    def ink(self, track, color=None, tolerance=30):
        """Pixels of series colour (or of one colour) in a track's canvas."""
        selector = f'[data-testid="track-{track}"] canvas'
        if color is None:
            return self.page.evaluate(helpers.COUNT_INK_JS, [selector, [255, 255, 255]])
        return self.page.evaluate(helpers.COUNT_COLOR_JS, [selector, color, tolerance])

    def scale_x(self, track="lr"):
        return self.page.evaluate(
            f"(() => {{ const s = window.__lrTimelineApp.view.tracks.{track}.chart.scales.x;"
            " return [s.min, s.max]; })()"
        )


@pytest.fixture
def tab(browser, tensorboard):
    tabs = []

    def open_tab(**kwargs):
        opened = Tab(browser, helpers.plugin_url(tensorboard), **kwargs)
        opened.page.locator('[data-testid="track-lr"] canvas').first.wait_for()
        tabs.append(opened)
        return opened

    yield open_tab
    for opened in tabs:
        opened.close()


def reduce_events(demo):
    return [event for event in demo["plateau"]["events"] if event["kind"] == "reduce"]


def test_tab_draws_rate_loss_plateau_and_a_marker_per_reduction(tab, demo, tensorboard):
    page = tab()
    p = page.page
    # The first run with plateau decisions is shown first.
    assert page.page.evaluate("window.__lrTimelineApp.selected") == [PLATEAU_RUN]
    p.locator('[data-testid="track-plateau"] canvas').first.wait_for()
    assert page.ink("lr") > 500
    assert page.ink("loss") > 500
    assert page.ink("plateau") > 500
    reductions = reduce_events(demo)
    assert len(reductions) == 4
    for track in ("lr", "loss", "plateau"):
        # The dashed red reduction lines are on every track's canvas...
        assert page.ink(track, LIGHT_REDUCTION, tolerance=12) > 3 * 40, track
        # ...with a hover/click target over each.
        markers = p.locator(f'[data-testid="track-{track}"] [data-testid="reduction-marker"]')
        assert [int(m.get_attribute("data-epoch")) for m in markers.all()] == [
            event["epoch"] for event in reductions
        ]
    # The table is built right after the tracks' first paint.
    p.locator('[data-testid="decision-row"]').nth(39).wait_for(state="attached")
    assert p.locator('[data-testid="decision-row"]').count() == 40
    assert p.locator('[data-testid="legend-lr"]').inner_text().startswith("Adam")
    assert "val_loss (monitored)" in p.locator('[data-testid="legend-loss"]').inner_text()
    # Everything comes from TensorBoard's origin, through the plugin's relative routes.
    origin = helpers.plugin_url(tensorboard).split("/data/")[0] + "/"
    assert all(url.startswith(origin) for url in page.requests), page.requests
    plugin_requests = [url for url in page.requests if "/data/plugin/lr_timeline/" in url]
    assert any(url.endswith("/data/plugin/lr_timeline/index.js") for url in plugin_requests)
    assert any("/data/plugin/lr_timeline/timeline?run=plateau%2Flr_timeline" in url for url in plugin_requests)
    assert page.errors == []


def test_hovering_a_marker_shows_the_reduction_in_a_tooltip(tab, demo):
    page = tab()
    p = page.page
    event = reduce_events(demo)[1]
    tooltip = p.locator('[data-testid="tooltip"]')
    assert tooltip.is_hidden()
    p.locator(f'[data-testid="track-loss"] [data-testid="reduction-marker"][data-epoch="{event["epoch"]}"]').hover()
    tooltip.wait_for(state="visible")

    def field(name):
        return tooltip.locator(f'[data-field="{name}"]').inner_text()

    assert field("epoch") == str(event["epoch"] + 1)  # Keras' "Epoch N"
    assert field("step") == f'{event["step"]:,}'
    assert field("lr") == f'{g4(event["lr_before"])} \u2192 {g4(event["lr_after"])} (\u00d70.5)'
    assert field("value") == g4(event["value"])
    assert field("best") == g4(event["best"])
    assert field("wait") == f'{event["wait"]} / {event["patience"]}'
    record = next(r for r in demo["plateau"]["records"] if r["epoch"] == event["epoch"])
    assert field("threshold") == g4(record["threshold"])
    assert field("min_delta") == g4(record["min_delta"]) == "0.001"
    assert "val_loss" in tooltip.inner_text()
    p.mouse.move(5, 5)
    tooltip.wait_for(state="hidden")
    assert page.errors == []


def test_clicking_a_marker_selects_and_scrolls_to_its_table_row(tab, demo):
    page = tab()
    p = page.page
    event = reduce_events(demo)[2]
    p.locator(f'[data-testid="track-lr"] [data-testid="reduction-marker"][data-epoch="{event["epoch"]}"]').click()
    row = p.locator(f'[data-testid="decision-row"][data-epoch="{event["epoch"]}"]')
    assert row.get_attribute("aria-selected") == "true"
    assert row.get_attribute("data-action") == "reduce"
    assert row.locator('[data-field="wait"]').inner_text() == "3 / 3"
    assert row.locator('[data-field="lr"]').inner_text() == (
        f'{g4(event["lr_before"])} \u2192 {g4(event["lr_after"])}'
    )
    # Scrolled into the table's view.
    box = row.bounding_box()
    scroller = p.locator(".lrt-table-scroll").bounding_box()
    assert scroller["y"] <= box["y"] and box["y"] + box["height"] <= scroller["y"] + scroller["height"] + 1
    assert page.errors == []


def test_hovering_a_table_row_moves_the_cursor_of_every_track(tab, demo):
    page = tab()
    p = page.page
    record = demo["plateau"]["records"][29]
    p.locator('[data-testid="decision-row"][data-epoch="29"]').hover()
    assert p.locator('[data-testid="cursor-readout"]').inner_text() == f'step {record["step"]}'
    lefts = p.evaluate(
        "Object.values(window.__lrTimelineApp.view.tracks).map(t => Math.round(t.chart.cursor.left))"
    )
    marker_left = p.evaluate(
        "(() => { const u = window.__lrTimelineApp.view.tracks.lr.chart;"
        f" return Math.round(u.valToPos({record['step']}, 'x')); }})()"
    )
    assert all(abs(left - marker_left) <= 1 for left in lefts), (lefts, marker_left)
    # The legend shows the rate in effect there.
    legend = p.locator('[data-testid="legend-lr"] .lrt-legend-value').first.inner_text()
    assert legend == g4(record["lr_before"])
    assert "lrt-hover" in p.locator('[data-testid="decision-row"][data-epoch="29"]').get_attribute("class")
    assert page.errors == []


def test_rate_scale_switches_between_log_and_linear(tab):
    page = tab()
    p = page.page
    toggle = p.locator('[data-testid="scale-toggle"]')
    assert toggle.get_attribute("data-value") == "log"
    distr = "window.__lrTimelineApp.view.tracks.lr.chart.scales.y.distr"
    assert p.evaluate(distr) == 3
    before = p.evaluate("document.querySelector('[data-testid=\"track-lr\"] canvas').toDataURL()")
    p.locator('[data-testid="scale-linear"]').click()
    assert toggle.get_attribute("data-value") == "linear"
    assert p.locator('[data-testid="scale-linear"]').get_attribute("aria-pressed") == "true"
    assert p.evaluate(distr) == 1
    assert p.evaluate("window.__lrTimelineApp.view.tracks.lr.chart.scales.y.min") == 0
    after = p.evaluate("document.querySelector('[data-testid=\"track-lr\"] canvas').toDataURL()")
    assert after != before
    assert page.ink("lr") > 500
    p.locator('[data-testid="scale-log"]').click()
    assert p.evaluate(distr) == 3
    assert page.errors == []


def test_epoch_axis_puts_each_reduction_at_the_end_of_its_epoch(tab, demo):
    page = tab()
    p = page.page
    p.locator('[data-testid="axis-epoch"]').click()
    assert p.locator('[data-testid="axis-switch"]').get_attribute("data-value") == "epoch"
    xs = p.evaluate("window.__lrTimelineApp.view.markers.map(m => m.x)")
    assert xs == [event["epoch"] + 1 for event in reduce_events(demo)]
    assert page.scale_x() == [0, 40]  # from the start of epoch 0 to the end of epoch 39
    p.locator('[data-testid="decision-row"][data-epoch="10"]').hover()
    assert p.locator('[data-testid="cursor-readout"]').inner_text() == "Epoch 11"
    assert page.ink("lr", LIGHT_REDUCTION, tolerance=12) > 100
    assert page.errors == []


def test_run_without_plateau_data_shows_its_empty_state(tab):
    page = tab()
    p = page.page
    page.select_only(COSINE_RUN)
    empty = p.locator('[data-testid="empty-no-plateau"]')
    empty.wait_for()
    assert "No ReduceLROnPlateau decisions in cosine_warmup" in empty.inner_text()
    assert "lr_plugin.callbacks.ReduceLROnPlateau" in empty.inner_text()
    assert p.locator('[data-testid="empty-no-plateau-table"]').is_visible()
    assert p.locator('[data-testid="reduction-marker"]').count() == 0
    assert page.ink("lr") > 500
    legend = p.locator('[data-testid="legend-lr"]').inner_text()
    assert "Adam (planned)" in legend
    assert page.errors == []


def test_diverged_loss_is_drawn_as_a_gap_with_a_marker(tab):
    page = tab()
    p = page.page
    page.select_only(DIVERGED_RUN)
    notes = p.locator('[data-testid="track-loss"] [data-testid="nonfinite-note"]')
    notes.first.wait_for()
    texts = sorted(notes.all_inner_texts())
    assert texts == [
        "loss is \u221e at Epoch 6: drawn as a gap",
        "val_loss is NaN at Epoch 6: drawn as a gap",
    ]
    # Red diamonds where the values are not finite, blue/orange lines before.
    assert page.ink("loss", LIGHT_REDUCTION, tolerance=12) > 20
    assert page.ink("loss") > 200
    values = p.evaluate("window.__lrTimelineApp.view.tracks.loss.chart.data.slice(1)")
    assert any(value is None for column in values for value in column)
    assert page.errors == []


def test_overlaid_runs_share_the_axis_and_the_legend(tab):
    page = tab()
    p = page.page
    page.select_only(COSINE_RUN, PLATEAU_RUN)
    legend = p.locator('[data-testid="legend-lr"]').inner_text()
    assert "cosine_warmup \u00b7 Adam" in legend and "plateau \u00b7 Adam" in legend
    assert p.locator('[data-testid="focus-run"]').is_visible()
    assert page.scale_x() == [0, 959]
    # Both runs' colours are on the rate canvas.
    assert page.ink("lr", helpers.hex_rgb("#e8710a")) > 100
    assert page.ink("lr", helpers.hex_rgb("#9334e6")) > 100
    assert page.errors == []


def test_run_named_like_html_is_shown_as_text(tab):
    page = tab()
    p = page.page
    page.select_only(XSS_RUN)
    option = p.locator('[data-testid="run-option"]').filter(has_text="onerror")
    assert option.locator(".lrt-run-name").inner_text() == helpers.XSS_RUN
    assert p.locator('[data-testid="empty-no-plateau"] strong').inner_text() == helpers.XSS_RUN
    p.locator('[data-testid="download-json"]').hover()
    p.wait_for_timeout(300)
    assert p.evaluate("document.querySelectorAll('img').length") == 0
    assert page.dialogs == []
    assert page.errors == []


def test_downloads_are_what_lr_plugin_export_writes(tab, demo, tmp_path):
    page = tab()
    p = page.page
    with p.expect_download() as download_info:
        p.locator('[data-testid="download-csv"]').click()
    download = download_info.value
    assert download.suggested_filename == "plateau.lr_timeline.csv"
    text = open(download.path(), encoding="utf-8").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["run", "optimizer", "step", "learning_rate"]
    assert len(rows) == 1 + 40 * helpers.STEPS_PER_EPOCH
    rates = demo["plateau"]["rates"]
    # Rates are float32, written as their shortest text (0.02, not 0.019999999552965164).
    assert rows[1] == [PLATEAU_RUN, "Adam", "0", str(np.float32(rates[0]))]
    assert [np.float32(row[3]) for row in rows[1:]] == [
        np.float32(rate) for rate in rates for _ in range(helpers.STEPS_PER_EPOCH)
    ]
    out = tmp_path / "export.csv"
    assert cli.main(["export", str(demo["logdir"]), "--run", PLATEAU_RUN, "--format", "csv",
                     "--output", str(out)]) == 0
    assert text == out.read_text(encoding="utf-8")
    with p.expect_download() as download_info:
        p.locator('[data-testid="download-json"]').click()
    document = json.loads(open(download_info.value.path(), encoding="utf-8").read())
    assert list(document["runs"]) == [PLATEAU_RUN]
    run = document["runs"][PLATEAU_RUN]
    assert len(run["plateau"]) == 40
    assert len(run["learning_rate"]["Adam"]) == 40 * helpers.STEPS_PER_EPOCH
    assert page.errors == []


def test_dark_color_scheme_draws_light_series_on_dark(tab):
    page = tab(color_scheme="dark")
    p = page.page
    assert "lrt-dark" in p.locator('[data-testid="lr-timeline"]').get_attribute("class")
    background = p.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=\"lr-timeline\"]')).backgroundColor"
    )
    assert background == "rgb(32, 33, 36)"
    assert page.ink("lr", DARK_RATE) > 200
    assert page.ink("lr", LIGHT_RATE) == 0
    assert page.errors == []


def test_zoom_survives_a_refresh_of_a_run_still_training(browser, tensorboard, demo):
    from lr_plugin.format import writer

    run_dir = demo["logdir"] / "zz_live" / "lr_timeline"
    live = writer.open_run_writer(run_dir)

    def write_epochs(first, count):
        for epoch in range(first, first + count):
            start = epoch * 100
            live.add_rates("SGD", range(start, start + 100), [0.1 * 0.9 ** epoch] * 100)
            live.add_record("epochs", {
                "epoch": epoch, "first_step": start, "last_step": start + 99,
                "learning_rate": 0.1 * 0.9 ** epoch, "metrics": {"loss": 1 / (epoch + 1)},
            })
            live.flush(step=start + 99)

    write_epochs(0, 10)
    page = Tab(browser, helpers.plugin_url(tensorboard), init_script="window.__lrTimelineRefreshMs = 1000;")
    try:
        p = page.page
        p.wait_for_function("document.querySelector('[data-run=\"zz_live/lr_timeline\"]')", timeout=30000)
        page.select_only("zz_live/lr_timeline")
        p.wait_for_function(
            "window.__lrTimelineApp.loaded.get('zz_live/lr_timeline').timeline.epochs.length === 10",
            timeout=30000,
        )
        assert page.scale_x() == [0, 999]
        plot = p.locator('[data-testid="track-lr"] .u-over').bounding_box()
        y = plot["y"] + plot["height"] / 2
        p.mouse.move(plot["x"] + plot["width"] * 0.2, y)
        p.mouse.down()
        p.mouse.move(plot["x"] + plot["width"] * 0.5, y, steps=5)
        p.mouse.up()
        zoomed = page.scale_x()
        assert 150 < zoomed[0] < 250 and 450 < zoomed[1] < 550, zoomed
        assert page.scale_x("loss") == zoomed
        assert p.locator('[data-testid="reset-zoom"]').is_visible()
        # Tag the canvas: a rebuilt chart would be a new element (a flicker).
        p.evaluate("document.querySelector('[data-testid=\"track-lr\"] canvas').dataset.tagged = '1'")
        write_epochs(10, 10)
        p.wait_for_function(
            "window.__lrTimelineApp.loaded.get('zz_live/lr_timeline').timeline.epochs.length === 20",
            timeout=30000,
        )
        p.wait_for_timeout(300)
        assert page.scale_x() == zoomed
        assert p.evaluate("document.querySelector('[data-testid=\"track-lr\"] canvas').dataset.tagged") == "1"
        assert p.evaluate("window.__lrTimelineApp.view.tracks.lr.chart.data[0].at(-1)") == 1999
        p.mouse.dblclick(plot["x"] + plot["width"] * 0.7, y)
        assert page.scale_x() == [0, 1999]
        assert p.locator('[data-testid="reset-zoom"]').is_hidden()
        assert page.errors == []
    finally:
        page.close()
        live.close()


COLUMNAR = "application/x-lr-timeline-columnar"


def test_a_live_run_comes_as_columnar_and_refreshes_by_its_tail(browser, tensorboard, demo):
    """The tab asks for columnar answers, then only for steps after the last it holds
    (``since``), merges them in, and reloads the run whole when a new session supersedes
    steps it holds."""
    from lr_plugin.format import writer

    run = "zz_tail/lr_timeline"
    live = writer.open_run_writer(demo["logdir"] / "zz_tail" / "lr_timeline")

    def write_epochs(first, count, rate_of_step):
        for epoch in range(first, first + count):
            start = epoch * 100
            steps = range(start, start + 100)
            live.add_rates("SGD", steps, [rate_of_step(step) for step in steps])
            live.add_record("epochs", {"epoch": epoch, "first_step": start, "last_step": start + 99,
                                       "metrics": {"loss": 1 / (epoch + 1)}})
            live.flush(step=start + 99)

    def held(expression):
        return p.evaluate(f"(() => {{ const t = window.__lrTimelineApp.loaded.get({json.dumps(run)}).timeline;"
                          f" return {expression}; }})()")

    # Every step its own rate: no flat stretch for the drawing to merge away.
    first_rate = lambda step: 0.1 / (1 + step)  # noqa: E731
    live.begin_session("first", 0)
    write_epochs(0, 5, first_rate)
    page = Tab(browser, helpers.plugin_url(tensorboard), init_script="window.__lrTimelineRefreshMs = 1000;")
    answers = []
    page.page.on("response", lambda response: answers.append(
        (response.url, response.request.headers.get("accept", ""), response.headers.get("content-type", "")))
        if "/timeline?" in response.url and "zz_tail" in response.url else None)
    try:
        p = page.page
        p.wait_for_function(f"document.querySelector('[data-run={json.dumps(run)}]')", timeout=30000)
        page.select_only(run)
        assert page.scale_x() == [0, 499]
        full_url, accept, content_type = answers[0]
        assert "since=" not in full_url and COLUMNAR in accept and content_type == COLUMNAR
        assert held("Array.from(t.learning_rate.SGD.steps)") == list(range(500))

        write_epochs(5, 5, first_rate)
        p.wait_for_function(f"window.__lrTimelineApp.loaded.get({json.dumps(run)}).timeline.last_step === 999",
                            timeout=30000)
        p.wait_for_function("!window.__lrTimelineApp.refreshing")
        p.wait_for_timeout(300)
        # The page shows the new last step, from a tail merged into what it held.
        assert page.scale_x() == [0, 999]
        assert p.evaluate("window.__lrTimelineApp.view.tracks.lr.chart.data[0].at(-1)") == 999
        tails = [(url, kind) for url, _, kind in answers if "since=499" in url]
        assert tails and all(kind == COLUMNAR for _, kind in tails), answers
        assert p.evaluate("window.__lrTimelineApp.reloads") == []
        assert held("Array.from(t.learning_rate.SGD.steps)") == list(range(1000))
        assert held("Array.from(t.learning_rate.SGD.rates)") == pytest.approx(
            [np.float32(first_rate(step)) for step in range(1000)], rel=1e-7)
        assert held("t.epochs.map((e) => e.epoch)") == list(range(10))
        assert held("Array.from(t.metrics.loss.steps)") == [epoch * 100 + 99 for epoch in range(10)]
        assert held("Array.from(t.metrics.loss.epochs)") == list(range(10))

        # A rerun from step 300 supersedes steps the page holds: it reloads the whole run.
        second_rate = lambda step: 0.5  # noqa: E731
        live.begin_session("second", 300)
        write_epochs(3, 4, second_rate)
        p.wait_for_function(f"window.__lrTimelineApp.loaded.get({json.dumps(run)}).timeline.last_step === 699",
                            timeout=30000)
        reloads = p.evaluate("window.__lrTimelineApp.reloads")
        assert [entry["run"] for entry in reloads] == [run]
        assert "session" in reloads[0]["reason"], reloads
        assert held("Array.from(t.learning_rate.SGD.steps)") == list(range(700))
        assert held("Array.from(t.learning_rate.SGD.rates.subarray(300))") == [0.5] * 400
        p.wait_for_function("!window.__lrTimelineApp.refreshing")
        p.wait_for_timeout(300)
        assert page.scale_x() == [0, 699]
        assert page.errors == []
    finally:
        page.close()
        live.close()


def test_a_server_that_answers_json_and_ignores_since_still_refreshes(browser, tensorboard, demo):
    """An older lr_plugin answers JSON and knows no ``since``: the tab draws each answer whole."""
    from lr_plugin.format import writer

    run = "zz_json/lr_timeline"
    live = writer.open_run_writer(demo["logdir"] / "zz_json" / "lr_timeline")

    def write_epochs(first, count):
        for epoch in range(first, first + count):
            start = epoch * 100
            live.add_rates("SGD", range(start, start + 100), [0.1 / (epoch + 1)] * 100)
            live.add_record("epochs", {"epoch": epoch, "first_step": start, "last_step": start + 99})
            live.flush(step=start + 99)

    def as_older_server(route):
        # The real server, asked as the tab asks an older one: no Accept, no since.
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "accept"}
        route.continue_(url=re.sub(r"&since=\d+", "", route.request.url), headers=headers)

    write_epochs(0, 5)
    page = Tab(browser, helpers.plugin_url(tensorboard), init_script="window.__lrTimelineRefreshMs = 1000;")
    kinds = []
    page.page.on("response", lambda response: kinds.append(response.headers.get("content-type", ""))
                 if "/timeline?" in response.url and "zz_json" in response.url else None)
    page.page.route("**/data/plugin/lr_timeline/timeline?*", as_older_server)
    try:
        p = page.page
        p.wait_for_function(f"document.querySelector('[data-run={json.dumps(run)}]')", timeout=30000)
        page.select_only(run)
        assert page.scale_x() == [0, 499]
        write_epochs(5, 5)
        p.wait_for_function(f"window.__lrTimelineApp.loaded.get({json.dumps(run)}).timeline.last_step === 999",
                            timeout=30000)
        p.wait_for_function("!window.__lrTimelineApp.refreshing")
        p.wait_for_timeout(300)
        assert page.scale_x() == [0, 999]
        assert kinds and all(kind.startswith("application/json") for kind in kinds), kinds
        assert p.evaluate(f"window.__lrTimelineApp.loaded.get({json.dumps(run)}).timeline.epochs.length") == 10
        assert p.evaluate("window.__lrTimelineApp.reloads") == []
        assert page.errors == []
    finally:
        page.close()
        live.close()


def test_full_tensorboard_page_shows_the_tab_follows_its_reload_and_dark_mode(browser, tensorboard):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    try:
        page = context.new_page()
        errors = []
        page.on(
            "console",
            lambda m: m.type == "error" and "lr_timeline" in (m.location or {}).get("url", "")
            and errors.append(m.text),
        )
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{tensorboard}/#lr_timeline")
        frame = page.frame_locator("iframe")
        frame.locator('[data-testid="reduction-marker"]').first.wait_for(timeout=60000)
        frame.locator('[data-testid="decision-row"]').nth(39).wait_for(state="attached")
        assert frame.locator('[data-testid="decision-row"]').count() == 40
        root = frame.locator('[data-testid="lr-timeline"]')
        assert "lrt-dark" not in root.get_attribute("class")
        # TensorBoard's reload button reaches the tab through the plugin message port.
        with page.expect_request(lambda r: r.url.endswith("/data/plugin/lr_timeline/runs"), timeout=10000):
            page.locator("button.reload-button").click()
        page.evaluate("document.body.classList.add('dark-mode')")
        page.wait_for_function(
            "document.querySelector('iframe').contentDocument"
            ".querySelector('[data-testid=\"lr-timeline\"]').classList.contains('lrt-dark')"
        )
        assert errors == []
    finally:
        context.close()


def test_empty_logdir_says_to_add_the_learning_rate_monitor(browser, tmp_path):
    logdir = tmp_path / "empty"
    logdir.mkdir()
    with helpers.running_tensorboard(logdir, tmp_path / "tensorboard") as base:
        page = Tab(browser, helpers.plugin_url(base))
        try:
            empty = page.page.locator('[data-testid="empty-no-runs"]')
            empty.wait_for()
            assert "lr_plugin.callbacks.LearningRateMonitor(log_dir=...)" in empty.inner_text()
            assert page.page.locator('[data-testid="run-selector"]').is_hidden()
            assert page.errors == []
        finally:
            page.close()


LIGHT_LR_SET = helpers.hex_rgb("#80868b")
LIGHT_MIN_LR = helpers.hex_rgb("#b06000")

# Pixels of one colour in a strip of a track's plot area: [from, to) CSS pixels below its top
# (negative: above its bottom).
COUNT_IN_STRIP_JS = """
([track, rgb, from, to]) => {
  const u = window.__lrTimelineApp.view.tracks[track].chart;
  const r = devicePixelRatio;
  const {left, top, width, height} = u.bbox;
  const y0 = Math.round(from >= 0 ? top + from * r : top + height + from * r);
  const y1 = Math.round(to > 0 ? top + to * r : top + height + to * r);
  const data = u.ctx.getImageData(left, y0, width, y1 - y0).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - rgb[0]) <= 16 && Math.abs(data[i + 1] - rgb[1]) <= 16
        && Math.abs(data[i + 2] - rgb[2]) <= 16 && data[i + 3] > 200) count++;
  }
  return count;
}
"""


def duration(seconds):
    """A time-axis position as the tab prints it at a resolution of 1 s: "3m 25s"."""
    rest, parts = round(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    if rest or not parts:
        parts.append(f"{rest}s")
    return " ".join(parts)


def epoch_end(epoch):
    """The end of an epoch of the demo runs on the time axis (seconds since the first start)."""
    return helpers.epoch_times(epoch + 1)[epoch][1] - helpers.START_TIME


def time_of_step(step):
    """Where the time axis puts update `step` of a demo run."""
    epoch = int(step // helpers.STEPS_PER_EPOCH)
    offset = step - epoch * helpers.STEPS_PER_EPOCH
    start, end = helpers.epoch_times(epoch + 1)[epoch]
    return start - helpers.START_TIME + (offset + 1) / helpers.STEPS_PER_EPOCH * (end - start)


def test_scheduler_run_shows_lr_set_markers_on_the_rate_track(tab, demo):
    page = tab()
    p = page.page
    page.select_only(SCHEDULER_RUN)
    events = demo["plateau"]["scheduler_events"]
    markers = p.locator('[data-testid="track-lr"] [data-testid="event-marker"][data-kind="lr_set"]')
    markers.first.wait_for(state="attached")
    assert [int(m.get_attribute("data-step")) for m in markers.all()] == [e["step"] for e in events]
    assert [int(m.get_attribute("data-epoch")) for m in markers.all()] == [e["epoch"] for e in events]
    # On the rate track only, and no reduction there.
    assert p.locator('[data-testid="track-loss"] [data-testid="event-marker"]').count() == 0
    assert p.locator('[data-testid="reduction-marker"]').count() == 0
    # Each set sits where the rate it set starts: the epoch's first step.
    xs = p.evaluate("window.__lrTimelineApp.view.eventMarkers.map(m => m.x)")
    assert xs == [e["step"] for e in events]
    # A legend entry for the kind shown, none for the others.
    legend = p.locator('[data-testid="legend-lr"] [data-testid="legend-marker"]')
    assert [m.get_attribute("data-kind") for m in legend.all()] == ["lr_set"]
    # Small grey dots at the top edge of the rate track, nothing like it lower down or on the loss track.
    assert page.page.evaluate(COUNT_IN_STRIP_JS, ["lr", LIGHT_LR_SET, 0, 12]) > 4 * 8
    assert page.page.evaluate(COUNT_IN_STRIP_JS, ["lr", LIGHT_LR_SET, 30, -1]) == 0
    assert page.page.evaluate(COUNT_IN_STRIP_JS, ["loss", LIGHT_LR_SET, 0, 12]) == 0
    assert page.ink("lr", LIGHT_RATE) > 200  # the rate line is still drawn

    tooltip = p.locator('[data-testid="tooltip"]')
    changed = events[5]
    markers.nth(5).hover()
    tooltip.wait_for(state="visible")
    text = tooltip.locator('[data-field="text"]').inner_text()
    assert text == (
        f'LearningRateScheduler set the rate to {g4(changed["lr"])} at Epoch 6 (step {changed["step"]:,})'
    )
    assert tooltip.locator('[data-field="lr"]').inner_text() == g4(changed["lr"])
    assert tooltip.locator('[data-field="previous"]').inner_text() == g4(events[4]["lr"])
    assert "SGD" in tooltip.inner_text()
    markers.nth(6).hover()
    p.wait_for_function(
        "document.querySelector('[data-testid=\"tooltip\"] [data-field=\"text\"]').textContent.includes('Epoch 7')"
    )
    assert tooltip.locator('[data-field="previous"]').inner_text() == f'{g4(events[6]["lr"])} (unchanged)'
    p.mouse.move(5, 5)
    tooltip.wait_for(state="hidden")
    assert page.errors == []


def test_min_lr_reached_has_its_own_marker_beside_the_reductions(tab, demo):
    page = tab()
    p = page.page
    page.select_only(MIN_LR_RUN)
    events = demo["plateau"]["min_lr_events"]
    reached = [e for e in events if e["kind"] == "min_lr_reached"]
    assert len(reached) == 1
    event = reached[0]
    marker = p.locator('[data-testid="track-lr"] [data-testid="event-marker"][data-kind="min_lr_reached"]')
    marker.wait_for(state="attached")
    assert marker.count() == 1
    assert int(marker.get_attribute("data-epoch")) == event["epoch"]
    assert int(marker.get_attribute("data-step")) == event["step"]
    # The reductions keep their red lines on every track.
    reductions = [e["epoch"] for e in events if e["kind"] == "reduce"]
    for track in ("lr", "loss", "plateau"):
        markers = p.locator(f'[data-testid="track-{track}"] [data-testid="reduction-marker"]')
        assert [int(m.get_attribute("data-epoch")) for m in markers.all()] == reductions
        assert page.ink(track, LIGHT_REDUCTION, tolerance=12) > 2 * 40, track
    legend = p.locator('[data-testid="legend-lr"] [data-testid="legend-marker"]')
    assert [m.get_attribute("data-kind") for m in legend.all()] == ["reduction", "min_lr_reached"]
    # An amber triangle at the bottom edge of the rate track.
    assert p.evaluate(COUNT_IN_STRIP_JS, ["lr", LIGHT_MIN_LR, -12, 0]) > 20
    assert p.evaluate(COUNT_IN_STRIP_JS, ["loss", LIGHT_MIN_LR, -12, 0]) == 0
    tooltip = p.locator('[data-testid="tooltip"]')
    marker.hover()
    tooltip.wait_for(state="visible")
    assert tooltip.locator('[data-field="text"]').inner_text() == (
        f'The rate reached min_lr (3e-4) at Epoch {event["epoch"] + 1} (step {event["step"]})'
    )
    assert tooltip.locator('[data-field="min_lr"]').inner_text() == "3e-4"
    assert tooltip.locator('[data-field="lr"]').inner_text() == "3e-4"
    # A click selects the epoch's decision.
    marker.click()
    row = p.locator(f'[data-testid="decision-row"][data-epoch="{event["epoch"]}"]')
    assert row.get_attribute("aria-selected") == "true"
    assert page.errors == []


def test_time_axis_places_points_by_wall_time_since_the_start(tab, demo):
    page = tab()
    p = page.page
    time_button = p.locator('[data-testid="axis-time"]')
    assert time_button.is_enabled()
    time_button.click()
    assert p.locator('[data-testid="axis-switch"]').get_attribute("data-value") == "time"
    assert time_button.get_attribute("aria-pressed") == "true"
    # From the start of epoch 0 to the end of epoch 39; each reduction at the end of its epoch.
    assert page.scale_x() == pytest.approx([0, epoch_end(39)])
    xs = p.evaluate("window.__lrTimelineApp.view.markers.map(m => m.x)")
    assert xs == pytest.approx([epoch_end(event["epoch"]) for event in reduce_events(demo)])
    # A step is placed within its epoch's wall time.
    series_xs = p.evaluate("Array.from(window.__lrTimelineApp.view.model.tracks.lr.series[0].xs)")
    assert series_xs[0] == pytest.approx(time_of_step(0))
    # Tick labels in seconds and minutes, under the last track.
    ticks = p.evaluate("window.__lrTimelineApp.view.tracks.plateau.xTicks")
    assert ticks[0] == "0s"
    assert all(re.fullmatch(r"(\d+m)?( ?\d+s)?", tick) and tick for tick in ticks), ticks
    assert any("m" in tick for tick in ticks) and len(ticks) >= 4
    # The rate line and the reduction lines are still drawn.
    assert page.ink("lr", LIGHT_RATE) > 500
    assert page.ink("lr", LIGHT_REDUCTION, tolerance=12) > 3 * 40
    assert page.ink("loss") > 500
    # The cursor reads the time; a reduction's tooltip says when it happened.
    p.locator('[data-testid="decision-row"][data-epoch="10"]').hover()
    assert p.locator('[data-testid="cursor-readout"]').inner_text() == f"time {duration(epoch_end(10))}"
    event = reduce_events(demo)[0]
    p.locator(f'[data-testid="track-lr"] [data-testid="reduction-marker"][data-epoch="{event["epoch"]}"]').hover()
    tooltip = p.locator('[data-testid="tooltip"]')
    tooltip.wait_for(state="visible")
    assert tooltip.locator('[data-field="time"]').inner_text() == duration(epoch_end(event["epoch"]))
    assert page.errors == []


def test_time_axis_is_disabled_for_a_run_without_wall_times(tab):
    page = tab()
    p = page.page
    time_button = p.locator('[data-testid="axis-time"]')
    time_button.click()
    page.select_only(PLATEAU_RUN, MIN_LR_RUN)
    assert time_button.is_disabled()
    assert "no start and end times" in time_button.get_attribute("title")
    assert p.locator('[data-testid="axis-epoch"]').is_enabled()
    # The runs are shown by step meanwhile, and the status says why.
    assert p.evaluate("window.__lrTimelineApp.view.axisName") == "step"
    assert p.locator('[data-testid="status"]').inner_text().startswith(
        "Shown by step: a selected run has no start and end times"
    )
    assert page.ink("lr") > 500
    page.select_only(MIN_LR_RUN)
    assert time_button.is_disabled()
    # Without the older run, the time axis comes back.
    page.select_only(PLATEAU_RUN)
    assert time_button.is_enabled()
    assert p.evaluate("window.__lrTimelineApp.view.axisName") == "time"
    assert p.locator('[data-testid="status"]').inner_text() == ""
    assert page.errors == []


def test_zoom_survives_switching_between_step_epoch_and_time(tab):
    page = tab()
    p = page.page
    plot = p.locator('[data-testid="track-lr"] .u-over').bounding_box()
    y = plot["y"] + plot["height"] / 2
    p.mouse.move(plot["x"] + plot["width"] * 0.3, y)
    p.mouse.down()
    p.mouse.move(plot["x"] + plot["width"] * 0.6, y, steps=5)
    p.mouse.up()
    steps = page.scale_x()
    assert 250 < steps[0] < 330 and 540 < steps[1] < 620, steps
    reset = p.locator('[data-testid="reset-zoom"]')
    assert reset.is_visible()
    p.locator('[data-testid="axis-epoch"]').click()
    epochs = page.scale_x()
    # Update s sits at (s + 1) / 24 on the epoch axis (24 updates an epoch, from step 0).
    assert epochs == pytest.approx([(s + 1) / helpers.STEPS_PER_EPOCH for s in steps], abs=0.05)
    assert page.scale_x("plateau") == epochs
    assert reset.is_visible()
    p.locator('[data-testid="axis-time"]').click()
    times = page.scale_x()
    assert times == pytest.approx([time_of_step(s) for s in steps], abs=1.0)
    assert page.scale_x("loss") == times
    assert reset.is_visible()
    p.locator('[data-testid="axis-step"]').click()
    assert page.scale_x() == pytest.approx(steps, abs=1.5)
    # Reset still shows everything.
    reset.click()
    assert page.scale_x() == [0, 40 * helpers.STEPS_PER_EPOCH - 1]
    assert reset.is_hidden()
    assert page.errors == []


BENCHMARK_JS = """
async () => {
  const {renderTimeline} = await import('/data/plugin/lr_timeline/index.js');
  const n = 100000;
  const rates = (scale) => Array.from({length: n}, (_, s) =>
      [s, scale * (0.001 + 0.0495 * (1 + Math.cos(Math.PI * s / n)))]);
  const epochs = Array.from({length: 100}, (_, e) => ({
      epoch: e, first_step: e * 1000, last_step: e * 1000 + 999, metrics: {}}));
  const timeline = {
    version: 1, run: 'bench', name: 'bench',
    learning_rate: {generator: rates(1), discriminator: rates(0.5)},
    planned: {generator: rates(1)},
    points: {generator: n, discriminator: n},
    epochs, plateau: [], events: [],
    metrics: {batch_loss: Array.from({length: n}, (_, s) => [null, s, 1 / (1 + s / 5000) + 0.05 * Math.sin(s)])},
  };
  document.body.textContent = '';
  const container = document.createElement('div');
  container.style.width = '1200px';
  document.body.append(container);
  const {paintMs} = await renderTimeline(container, timeline);
  return {paintMs, canvases: container.querySelectorAll('canvas').length};
}
"""


@contextlib.contextmanager
def page_of_the_tab_origin(browser, tensorboard):
    """A page that may import the bundle (same origin as the tab); closed at exit."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{tensorboard}/data/plugin/lr_timeline/runs")  # any page of the same origin
        yield page
    finally:
        context.close()


def test_render_timeline_paints_four_series_of_100k_points(browser, tensorboard):
    with page_of_the_tab_origin(browser, tensorboard) as page:
        result = page.evaluate(BENCHMARK_JS)
        assert result["canvases"] == 2  # rates and loss; no plateau data
        assert page.evaluate("window.__lrTimelinePaintMs") == result["paintMs"]
        print(f"renderTimeline: 4 x 100,000 points painted in {result['paintMs']:.0f} ms")
        assert 0 < result["paintMs"] < 5000
        ink = page.evaluate(helpers.COUNT_INK_JS, ['[data-testid="track-lr"] canvas', [255, 255, 255]])
        assert ink > 500


PLATEAU_AFTER_FIRST_PAINT_JS = """
async () => {
  const {renderTimeline} = await import('/data/plugin/lr_timeline/index.js');
  const steps = 400;
  const rates = Array.from({length: steps}, (_, s) => [s, 0.01 * 0.5 ** Math.floor(s / 160)]);
  const epochs = Array.from({length: 10}, (_, e) => ({
      epoch: e, first_step: e * 40, last_step: e * 40 + 39, metrics: {loss: 1 / (1 + e)}}));
  const plateau = epochs.map(({epoch, last_step}) => ({
      epoch, step: last_step, monitor: 'loss', mode: 'min', value: 1 / (1 + epoch),
      best: 1 / (1 + epoch), wait: epoch % 4, patience: 3, cooldown: 0, cooldown_counter: 0,
      action: 'wait', lr_before: rates[last_step][1], lr_after: rates[last_step][1]}));
  const timeline = {
    version: 1, run: 'deferred', name: 'deferred',
    learning_rate: {Adam: rates}, planned: {}, points: {Adam: steps},
    epochs, plateau, events: [],
    metrics: {batch_loss: rates.map(([s]) => [null, s, 1 / (1 + s / 50)])},
  };
  document.body.textContent = '';
  const container = document.createElement('div');
  container.style.width = '1200px';
  document.body.append(container);
  const track = (id) => container.querySelector(`[data-testid="track-${id}"]`);
  const box = (id) => {
    const {top, height} = track(id).getBoundingClientRect();
    return {top, height};
  };
  const {view} = await renderTimeline(container, timeline);
  const painted = {
    lr: track('lr').querySelectorAll('canvas').length,
    loss: track('loss').querySelectorAll('canvas').length,
    plateau: track('plateau').querySelectorAll('canvas').length,
    plateauEmptyShown: !track('plateau').querySelector('.lrt-track-empty').hidden,
    box: box('plateau'),
  };
  await new Promise((resolve) => setTimeout(resolve, 0));  // the task after the paint's
  return {
    painted,
    after: {plateau: track('plateau').querySelectorAll('canvas').length, box: box('plateau'),
            xTicks: view.tracks.plateau.xTicks},
  };
}
"""


def test_plateau_chart_follows_the_first_paint_in_the_place_kept_for_it(browser, tensorboard):
    # The first paint (paintMs) has the rate and loss charts; the wait / patience chart,
    # which draws none of the rates, is built in the task after it, as the decision table.
    with page_of_the_tab_origin(browser, tensorboard) as page:
        result = page.evaluate(PLATEAU_AFTER_FIRST_PAINT_JS)
        painted, after = result["painted"], result["after"]
        assert painted["lr"] >= 1 and painted["loss"] >= 1
        assert painted["plateau"] == 0
        assert not painted["plateauEmptyShown"]  # never "no plateau decisions" meanwhile
        assert after["plateau"] >= 1
        assert after["box"] == painted["box"]  # nothing moved when the chart came
        assert after["xTicks"] and after["xTicks"][0] == "0"
        ink = page.evaluate(helpers.COUNT_INK_JS, ['[data-testid="track-plateau"] canvas', [255, 255, 255]])
        assert ink > 200


# Many runs: the run list, a table section per plateau run, names with bidi controls.

RLO_RUN_NAME = "\u202eevil"  # a run directory whose name starts with RIGHT-TO-LEFT OVERRIDE
RLO_RUN = f"{RLO_RUN_NAME}/lr_timeline"
VALUES_RUN = "a_values/lr_timeline"
SECOND_PLATEAU_RUN = "b_plateau/lr_timeline"
# val_loss per epoch: 0.9995 is lower than 1.0 by less than min_delta (1e-3), 0.9 by more.
VALUES = [1.0, 0.9995, 0.9, 0.95, 0.95, 0.95]
MANY_RUNS = 20


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("many") / "logs"
    records = helpers.write_values_run(logdir, "a_values", VALUES, patience=2, min_delta=1e-3, factor=0.5)
    helpers.write_min_lr_run(logdir, name="b_plateau")
    helpers.write_scheduler_run(logdir, name=RLO_RUN_NAME, epochs=4)
    for index in range(MANY_RUNS - 3):
        helpers.write_cosine_run(logdir, name=f"run_{index:02d}", epochs=2)
    return {"logdir": logdir, "records": records}


@pytest.fixture(scope="module")
def many_tensorboard(many, tmp_path_factory):
    with helpers.running_tensorboard(
        many["logdir"], tmp_path_factory.mktemp("tensorboard-many"), wait_for_runs=MANY_RUNS
    ) as base:
        yield base


@pytest.fixture
def many_tab(browser, many_tensorboard):
    opened = Tab(browser, helpers.plugin_url(many_tensorboard))
    opened.page.locator('[data-testid="track-lr"] canvas').first.wait_for()
    yield opened
    opened.close()


SWATCH_COLORS_JS = """
() => Array.from(document.querySelectorAll('[data-testid="run-option"]')).map(option => [
  option.getAttribute('data-run'),
  getComputedStyle(option.querySelector('.lrt-run-swatch')).backgroundColor,
])
"""


def test_run_list_scrolls_filters_by_regex_and_keeps_each_runs_colour(many_tab):
    p = many_tab.page
    options = p.locator('[data-testid="run-option"]')
    assert options.count() == MANY_RUNS
    # The list scrolls, and its last run can be scrolled into its box.
    runs_box = p.locator('[data-testid="run-selector"]')
    sizes = runs_box.evaluate("el => [el.scrollHeight, el.clientHeight, getComputedStyle(el).overflowY]")
    assert sizes[0] > sizes[1] and sizes[2] in ("auto", "scroll"), sizes
    runs_box.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = options.nth(MANY_RUNS - 1).bounding_box()
    box = runs_box.bounding_box()
    assert box["y"] <= last["y"] and last["y"] + last["height"] <= box["y"] + box["height"] + 1
    # One colour per run, 20 different ones.
    colors = dict(p.evaluate(SWATCH_COLORS_JS))
    assert len(set(colors.values())) == MANY_RUNS, colors
    # A regular expression filters by name, case-insensitively.
    p.locator('[data-testid="run-filter"]').fill("RUN_1[0-4]$")
    assert [o.get_attribute("data-run") for o in options.all() if o.is_visible()] == [
        f"run_{i}/lr_timeline" for i in range(10, 15)
    ]
    assert p.locator('[data-testid="run-count"]').inner_text() == "5 of 20 runs shown \u00b7 1 selected"
    # Selecting another run and filtering change no run's colour.
    p.locator('[data-run="run_12/lr_timeline"] input').check()
    p.wait_for_function("window.__lrTimelineApp.selected.length === 2")
    assert dict(p.evaluate(SWATCH_COLORS_JS)) == colors
    # A pattern that is not a regular expression says so and hides nothing.
    p.locator('[data-testid="run-filter"]').fill("run_(")
    assert p.locator('[data-testid="run-filter"]').get_attribute("aria-invalid") == "true"
    assert "Not a regular expression" in p.locator('[data-testid="run-filter"]').get_attribute("title")
    assert sum(o.is_visible() for o in options.all()) == MANY_RUNS
    assert many_tab.errors == []


def test_table_has_one_section_per_selected_plateau_run(many_tab):
    p = many_tab.page
    many_tab.select_only(VALUES_RUN, SECOND_PLATEAU_RUN, "run_00/lr_timeline")
    sections = p.locator('[data-testid="decision-table"]')
    p.locator(f'[data-testid="decision-table"][data-run="{SECOND_PLATEAU_RUN}"] [data-testid="decision-row"]').first.wait_for()
    # run_00 has no plateau decisions: no section for it, whichever run was clicked last.
    assert [s.get_attribute("data-run") for s in sections.all()] == [VALUES_RUN, SECOND_PLATEAU_RUN]
    assert sections.nth(0).locator(".lrt-table-run").inner_text() == "a_values"
    assert sections.nth(0).locator('[data-testid="decision-row"]').count() == len(VALUES)
    assert sections.nth(1).locator('[data-testid="decision-row"]').count() == 16
    # A reduction marker of the second run selects its row in that run's section.
    marker = p.locator(f'[data-testid="track-lr"] [data-testid="reduction-marker"][data-run="{SECOND_PLATEAU_RUN}"]').first
    epoch = marker.get_attribute("data-epoch")
    marker.click()
    row = sections.nth(1).locator(f'[data-testid="decision-row"][data-epoch="{epoch}"]')
    assert row.get_attribute("aria-selected") == "true"
    assert sections.nth(0).locator('[aria-selected="true"]').count() == 0
    assert many_tab.errors == []


def test_delta_is_green_only_when_the_value_beat_the_best_by_min_delta(many_tab, many):
    p = many_tab.page
    many_tab.select_only(VALUES_RUN)
    rows = p.locator('[data-testid="decision-row"]')
    rows.nth(len(VALUES) - 1).wait_for(state="attached")
    actions = [record["action"] for record in many["records"]]
    assert actions[:4] == ["improved", "wait", "improved", "wait"]
    for epoch, record in enumerate(many["records"]):
        delta = rows.nth(epoch).locator('[data-field="delta"]')
        green = "lrt-better" in delta.get_attribute("class")
        assert green == (record["action"] == "improved"), (epoch, record["action"])
    # 0.9995 is lower than the best, but not by min_delta: not green, and the title says why.
    smaller = rows.nth(1).locator('[data-field="delta"]')
    assert smaller.inner_text() == "\u22125e-4"
    assert smaller.get_attribute("data-beat-threshold") == "false"
    assert "min_delta (0.001)" in smaller.get_attribute("title")
    assert many_tab.errors == []


def test_epochs_read_as_keras_prints_them_in_the_table_and_tooltips(many_tab, many):
    p = many_tab.page
    many_tab.select_only(VALUES_RUN)
    rows = p.locator('[data-testid="decision-row"]')
    rows.nth(len(VALUES) - 1).wait_for(state="attached")
    assert [rows.nth(i).locator('[data-field="epoch"]').inner_text() for i in range(len(VALUES))] == [
        str(epoch + 1) for epoch in range(len(VALUES))
    ]
    reduced = [r for r in many["records"] if r["action"] == "reduce"]
    assert reduced
    marker = p.locator(f'[data-testid="track-loss"] [data-testid="reduction-marker"][data-epoch="{reduced[0]["epoch"]}"]')
    marker.hover()
    tooltip = p.locator('[data-testid="tooltip"]')
    tooltip.wait_for(state="visible")
    assert tooltip.locator('[data-field="epoch"]').inner_text() == str(reduced[0]["epoch"] + 1)
    assert tooltip.locator('[data-field="min_delta"]').inner_text() == "0.001"
    # On the epoch axis, tick N is where Epoch N ends: the last epoch's row reads Epoch 6 there.
    p.mouse.move(5, 5)
    p.locator('[data-testid="axis-epoch"]').click()
    p.wait_for_function("window.__lrTimelineApp.view.axisName === 'epoch'")
    ticks = p.evaluate("window.__lrTimelineApp.view.tracks.plateau.xTicks")
    assert ticks[0] == "0" and ticks[-1] == str(len(VALUES)), ticks
    rows.nth(len(VALUES) - 1).hover()
    assert p.locator('[data-testid="cursor-readout"]').inner_text() == f"Epoch {len(VALUES)}"
    assert many_tab.errors == []


# Where each character of a text was laid out: bidi reordering moves characters, not the DOM.
CHAR_BOXES_JS = """
([selector, needle]) => {
  const results = [];
  for (const element of document.querySelectorAll(selector)) {
    const nodes = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) nodes.push(walker.currentNode);
    const text = nodes.map(n => n.data).join('');
    const at = text.indexOf(needle);
    if (at < 0) continue;
    const boxes = [];
    for (let k = 0; k < needle.length; k++) {
      let offset = at + k;
      let node = nodes[0];
      for (node of nodes) {
        if (offset < node.data.length) break;
        offset -= node.data.length;
      }
      const range = document.createRange();
      range.setStart(node, offset);
      range.setEnd(node, offset + 1);
      const rect = range.getBoundingClientRect();
      boxes.push([rect.left, rect.right]);
    }
    results.push({text: element.innerText, boxes});
  }
  return results;
}
"""


def test_a_run_name_with_bidi_controls_does_not_reorder_the_labels_beside_it(many_tab):
    p = many_tab.page
    many_tab.select_only("run_00/lr_timeline", RLO_RUN)
    p.locator('[data-testid="legend-lr"] .lrt-legend-label').first.wait_for()
    labels = p.evaluate(CHAR_BOXES_JS, ['[data-testid="legend-lr"] .lrt-legend-label', " \u00b7 SGD"])
    assert labels, "no legend label holds the RLO run's optimizer"
    for label in labels:
        assert label["text"].startswith(RLO_RUN_NAME)
        assert label["text"].index("SGD") > label["text"].index("evil")
        lefts = [left for left, _ in label["boxes"]]
        # " · SGD" laid out left to right: each character right of the one before.
        assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts), label
    # The run list's name and the table caption keep their neighbours in order too.
    option = p.evaluate(CHAR_BOXES_JS, [f'[data-run="{RLO_RUN}"]', "evil"])
    assert option and option[0]["text"].strip() == RLO_RUN_NAME
    assert many_tab.errors == []


def test_table_scroll_and_selection_survive_a_refresh_of_a_run_still_training(browser, many_tensorboard, many):
    from lr_plugin.format import metadata
    from lr_plugin.format import writer

    records, events, rates = helpers.real_plateau_decisions(
        0.01, lambda epoch, rate: 1.0, 40, patience=3, cooldown=2, factor=0.5)
    run = "zz_live_plateau/lr_timeline"
    live = writer.open_run_writer(many["logdir"] / run)
    steps = helpers.STEPS_PER_EPOCH

    def write_epochs(first, count):
        for epoch in range(first, first + count):
            start, last = epoch * steps, epoch * steps + steps - 1
            live.add_rates("Adam", range(start, last + 1), [rates[epoch]] * steps)
            live.add_record(metadata.EPOCHS_TAG, {"epoch": epoch, "first_step": start, "last_step": last,
                                                  "learning_rate": rates[epoch], "metrics": {"val_loss": 1.0}})
            live.add_record(metadata.PLATEAU_TAG, records[epoch])
            for event in events:
                if event["epoch"] == epoch:
                    live.add_record(metadata.EVENTS_TAG, event)
            live.flush(step=last)

    write_epochs(0, 30)
    page = Tab(browser, helpers.plugin_url(many_tensorboard), init_script="window.__lrTimelineRefreshMs = 1000;")
    try:
        p = page.page
        p.wait_for_function(f"document.querySelector('[data-run=\"{run}\"]')", timeout=30000)
        page.select_only(run)
        rows = p.locator('[data-testid="decision-row"]')
        rows.nth(29).wait_for(state="attached", timeout=30000)
        rows.nth(20).click()
        scroller = p.locator(".lrt-table-scroll")
        scroller.evaluate("el => { el.scrollTop = 180; }")
        before = scroller.evaluate("el => el.scrollTop")
        assert before > 0
        write_epochs(30, 10)
        rows.nth(39).wait_for(state="attached", timeout=30000)
        p.wait_for_timeout(300)
        assert scroller.evaluate("el => el.scrollTop") == before
        assert rows.nth(20).get_attribute("aria-selected") == "true"
        assert page.errors == []
    finally:
        page.close()
        live.close()
