"""The LR range test in the LR Timeline tab: a real find_lr sweep and a real fit() at its
suggestion, served by a real ``tensorboard`` process, drawn in headless Chromium.

``python tests/frontend/test_finder_browser.py screenshot docs/screenshot-lr-finder.png``
writes the docs' screenshot from the same logs.
"""

import contextlib
import os
import pathlib
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import browser_helpers as helpers  # noqa: E402
from browser_helpers import browser  # noqa: E402,F401 (a fixture)

pytestmark = helpers.browser_test_marks()

RUN = "finder_demo/lr_timeline"


def train_with_finder(logdir):
    """find_lr on the demo's model and data, then fit() from the suggested rate."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    import lr_plugin
    from lr_plugin.tools import demo

    (x, y), (x_val, y_val) = demo.make_data()
    log_dir = pathlib.Path(logdir) / "finder_demo"
    model = demo._model(keras.optimizers.Adam(0.001), seed=5)
    result = lr_plugin.find_lr(model, x, y, batch_size=64, min_lr=1e-5, max_lr=10.0,
                               steps=80, verbose=0, log_dir=log_dir)
    model.optimizer.learning_rate = result.suggestion
    model.fit(x, y, batch_size=64, epochs=4, validation_data=(x_val, y_val), verbose=0,
              callbacks=[lr_plugin.LearningRateMonitor(log_dir),
                         keras.callbacks.TensorBoard(log_dir=log_dir)])
    return result


@contextlib.contextmanager
def finder_tab(browser, scratch, result_holder, color_scheme="light"):
    logdir = pathlib.Path(scratch) / "logs"
    result_holder.append(train_with_finder(logdir))
    with helpers.running_tensorboard(logdir, pathlib.Path(scratch) / "tb", wait_for_runs=1) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme,
                                device_scale_factor=1)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and
                "favicon" not in (m.location or {}).get("url", "") else None)
        page.goto(helpers.plugin_url(base))
        page.locator('[data-testid="finder-chart"] canvas').first.wait_for()
        page.wait_for_timeout(300)
        try:
            yield page, errors
        finally:
            page.close()


def test_the_tab_draws_the_sweep_its_suggestions_divergence_and_the_rate_training_started_at(
        browser, tmp_path):
    results = []
    with finder_tab(browser, tmp_path, results) as (page, errors):
        result = results[0]
        panel = page.locator('[data-testid="lr-finder"]')
        assert panel.is_visible()
        shown = {item.get_attribute("data-method"): float(item.get_attribute("data-lr"))
                 for item in panel.locator('[data-testid="finder-suggestion"]').all()}
        assert shown == result.suggestions
        assert "(suggested)" in panel.locator('[data-method="valley"]').inner_text()
        if result.diverged_at is not None:
            diverged = panel.locator('[data-testid="finder-diverged"]')
            assert float(diverged.get_attribute("data-lr")) == result.diverged_at
        started = panel.locator('[data-testid="finder-started"]')
        assert float(started.get_attribute("data-lr")) == float(np.float32(result.suggestion))
        assert "training started (step 0)" in started.inner_text()

        # The chart's x axis is the sweep's log rate axis, over its own rates.
        scale = page.evaluate(
            "(() => { const c = document.querySelector('[data-testid=lr-finder]').__lrtFinderChart;"
            " return [c.scales.x.distr, c.data[0].length, c.data[0][0]]; })()")
        assert scale == [3, result.learning_rates.size, result.learning_rates[0]]
        ink = page.evaluate(helpers.COUNT_COLOR_JS,
                            ['[data-testid="finder-chart"] canvas', helpers.hex_rgb("#1a73e8"), 30])
        assert ink > 500  # the loss curves are drawn in the series colour
        assert errors == []


def take_screenshot(out_path):
    with tempfile.TemporaryDirectory() as scratch, helpers.chromium() as browser:
        with finder_tab(browser, scratch, []) as (page, _):
            page.locator('[data-testid="lr-finder"]').scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            page.screenshot(path=str(out_path), full_page=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "screenshot":
        take_screenshot(sys.argv[2])
    else:
        print("usage: python tests/frontend/test_finder_browser.py screenshot OUT.png")
        sys.exit(2)
