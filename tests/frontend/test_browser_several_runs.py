"""Several runs on one tab, in headless Chromium served by a real ``tensorboard`` process.

Three ReduceLROnPlateau runs whose decisions come from the real callback in a short real
fit (browser_helpers.write_values_run): a healthy run, a steady run on the same scale,
and a run whose loss diverges to 3.2e7 after a reduction and its cooldown. The loss
axis leaves the diverged values out (a note names them, the "Every point" setting fits
them), and the plateau legend has a cooldown swatch in each run's colour.
"""

import pytest

import browser_helpers as helpers
from browser_helpers import browser  # noqa: F401 (a fixture)

pytestmark = helpers.browser_test_marks()

HEALTHY = [2.3, 1.1, 0.7, 0.55, 0.5, 0.5, 0.5, 0.42, 0.4, 0.4, 0.4, 0.35, 0.33, 0.33, 0.33, 0.3,
           0.29, 0.29, 0.29, 0.28]
STEADY = [round(1.1 * value + 0.02, 4) for value in HEALTHY]
DIVERGED = [2.3, 1.2, 0.9, 0.9, 0.9, 0.9, 0.85, 40.0, 3e3, 3.2e7, 1e6, 2e6, 5e6, 1e7, 2e7, 3e7, 1e7,
            2e7, 3e7, 2.5e7]
SETTINGS = {"factor": 0.5, "patience": 2, "cooldown": 2, "min_delta": 1e-3}
HEALTHY_RUN = "healthy/lr_timeline"
STEADY_RUN = "steady/lr_timeline"
DIVERGED_RUN = "diverged/lr_timeline"

LOSS_Y = "(() => { const s = window.__lrTimelineApp.view.tracks.loss.chart.scales.y; return [s.min, s.max]; })()"
LOSS_TICKS = (
    "(() => { const u = window.__lrTimelineApp.view.tracks.loss.chart;"
    " return u.axes[1]._splits.filter((v) => v >= u.scales.y.min && v <= u.scales.y.max); })()"
)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logs = tmp_path_factory.mktemp("several") / "logs"
    for name, values in (("healthy", HEALTHY), ("steady", STEADY), ("diverged", DIVERGED)):
        helpers.write_values_run(logs, name, values, **SETTINGS)
    return logs


@pytest.fixture(scope="module")
def tensorboard(logdir, tmp_path_factory):
    with helpers.running_tensorboard(logdir, tmp_path_factory.mktemp("tensorboard"), wait_for_runs=3) as base:
        yield base


def set_loss_axis(page, value):
    page.locator(f'[data-testid="lossaxis-{value}"]').click()
    page.wait_for_function(
        "value => window.__lrTimelineApp.lossAxis === value && !window.__lrTimelineApp.refreshing", arg=value
    )
    page.wait_for_timeout(200)


def outlier_notes(page):
    return sorted(page.locator('[data-testid="track-loss"] [data-testid="outlier-note"]').all_inner_texts())


def test_a_diverged_run_leaves_the_loss_axis_to_the_healthy_runs_decay(browser, tensorboard):
    with helpers.plugin_page(browser, tensorboard) as page:
        helpers.select_only(page, HEALTHY_RUN)
        healthy_alone = page.evaluate(LOSS_Y)
        helpers.select_only(page, HEALTHY_RUN, DIVERGED_RUN)
        # The axis the healthy run has alone: its decay from 2.3 to 0.28, padded.
        assert page.evaluate(LOSS_Y) == healthy_alone
        assert 0 <= healthy_alone[0] <= 0.28 and 2.3 <= healthy_alone[1] < 3
        ticks = page.evaluate(LOSS_TICKS)
        assert len(ticks) >= 4 and max(ticks) < 3
        assert outlier_notes(page) == [
            "diverged \u00b7 loss goes up to 3.2e7, above the axis",
            "diverged \u00b7 val_loss (monitored) goes up to 3.2e7, above the axis",
        ]


def test_every_point_fits_the_diverged_run_and_is_remembered(browser, tensorboard):
    with helpers.plugin_page(browser, tensorboard) as page:
        helpers.select_only(page, HEALTHY_RUN, DIVERGED_RUN)
        set_loss_axis(page, "all")
        low, high = page.evaluate(LOSS_Y)
        assert high >= 3.2e7 and low <= 0.28
        assert outlier_notes(page) == []
        page.reload()
        page.locator('[data-testid="track-loss"] canvas').first.wait_for()
        helpers.select_only(page, HEALTHY_RUN, DIVERGED_RUN)
        assert page.locator('[data-testid="lossaxis-all"]').get_attribute("aria-pressed") == "true"
        assert page.evaluate(LOSS_Y)[1] >= 3.2e7
        set_loss_axis(page, "robust")
        assert page.evaluate(LOSS_Y)[1] < 3
        assert len(outlier_notes(page)) == 2


@pytest.mark.parametrize("runs", [(HEALTHY_RUN,), (DIVERGED_RUN,), (HEALTHY_RUN, STEADY_RUN)])
def test_one_run_or_runs_on_the_same_scale_keep_the_axis_of_every_point(browser, tensorboard, runs):
    with helpers.plugin_page(browser, tensorboard) as page:
        helpers.select_only(page, *runs)
        robust = page.evaluate(LOSS_Y)
        set_loss_axis(page, "all")
        assert page.evaluate(LOSS_Y) == robust
        assert outlier_notes(page) == []
        set_loss_axis(page, "robust")


def test_the_plateau_legend_has_a_cooldown_swatch_in_each_runs_colour(browser, tensorboard):
    with helpers.plugin_page(browser, tensorboard) as page:
        helpers.select_only(page, HEALTHY_RUN, DIVERGED_RUN)
        swatches = page.evaluate(
            "[...document.querySelectorAll('[data-testid=\"legend-plateau\"] .lrt-legend-static')].map((item) =>"
            " [item.innerText.trim(), getComputedStyle(item.querySelector('.lrt-swatch')).backgroundColor])"
        )
        run_colors = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-testid=\"run-option\"]')].map((o) =>"
            " [o.getAttribute('data-run'), getComputedStyle(o.querySelector('.lrt-run-swatch')).backgroundColor]))"
        )
        assert {label: rgb(color) for label, color in swatches} == {
            "healthy \u00b7 cooldown": rgb(run_colors[HEALTHY_RUN]),
            "diverged \u00b7 cooldown": rgb(run_colors[DIVERGED_RUN]),
        }
        assert rgb(run_colors[HEALTHY_RUN]) != rgb(run_colors[DIVERGED_RUN])


def rgb(css):
    """The red, green and blue of a CSS rgb()/rgba() colour."""
    return tuple(int(float(part)) for part in css[css.index("(") + 1:-1].split(",")[:3])


def test_a_zoom_before_the_divergence_has_nothing_to_cut(browser, tensorboard):
    with helpers.plugin_page(browser, tensorboard) as page:
        helpers.select_only(page, HEALTHY_RUN, DIVERGED_RUN)
        assert len(outlier_notes(page)) == 2
        # Drag over the first third of the loss plot: epochs 1 to 6, before the loss of 40.
        plot = page.locator('[data-testid="plot-loss"] .u-over').bounding_box()
        y = plot["y"] + plot["height"] / 2
        page.mouse.move(plot["x"] + 2, y)
        page.mouse.down()
        page.mouse.move(plot["x"] + plot["width"] * 0.3, y, steps=5)
        page.mouse.up()
        page.wait_for_timeout(300)
        assert page.evaluate("window.__lrTimelineApp.view.tracks.loss.chart.scales.x.max") < 7 * helpers.STEPS_PER_EPOCH
        assert outlier_notes(page) == []
        low, high = page.evaluate(LOSS_Y)
        assert 2.3 <= high < 3
