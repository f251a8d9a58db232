"""Demo-like logs, a TensorBoard process and headless Chromium for the browser tests.

The logs are written with ``lr_plugin.format.writer`` exactly as the callbacks write
them. ReduceLROnPlateau's decisions and events are the real callback's, from a
short real fit whose monitored value the helper chooses (real_plateau_decisions);
the logs around them get fixed steps and wall times, so tests can predict them. ``python tests/browser_helpers.py screenshot OUT.png``
writes a screenshot from the same logs; ``demo-screenshots DEMO_LOGDIR DOCS_DIR`` writes the
README's screenshots from the real demo's runs.
"""

import contextlib
import math
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import tb_helpers  # noqa: E402

from lr_plugin.format import metadata  # noqa: E402
from lr_plugin.format import writer  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
STARTUP_TIMEOUT_S = 120
STEPS_PER_EPOCH = 24
XSS_RUN = "<img src=x onerror=alert(1)>"
START_TIME = 1795250000.0  # Unix seconds: when the runs' first epoch starts


def epoch_times(epochs):
    """[(start_time, end_time)] of each epoch, as the callbacks record them.

    Epochs take 10, 12.5 or 15 s in turn (the time axis is not the epoch axis
    scaled), with 0.5 s between them (validation, callbacks).
    """
    times, start = [], START_TIME
    for epoch in range(epochs):
        end = start + 10.0 + 2.5 * (epoch % 3)
        times.append((start, end))
        start = end + 0.5
    return times


def browser_missing_reason():
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    return None


# Logs.


def real_plateau_decisions(initial_lr, monitored, epochs, **settings):
    """What ``lr_plugin.callbacks.ReduceLROnPlateau`` decides in a real fit.

    A one-weight model trains for ``epochs`` epochs of STEPS_PER_EPOCH steps with
    Adam at ``initial_lr``; the monitored ``val_loss`` of each epoch is
    ``monitored(epoch, rate)``, ``rate`` being the rate that epoch trained with, so
    each reduction changes what follows. ``settings`` go to the callback.

    Returns ``(records, events, rates)``: the plateau records and events the
    callback wrote (read back from its log directory) and each epoch's rate.
    """
    import tempfile

    import keras

    from lr_plugin.callbacks import ReduceLROnPlateau
    from lr_plugin.format import reader

    class Monitored(keras.callbacks.Callback):
        # Listed before the plateau callback: its logs carry the value it decides on.
        def on_epoch_end(self, epoch, logs=None):
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["val_loss"] = float(monitored(epoch, rate))

    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.Adam(initial_lr),
                  loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    x, y = np.ones((STEPS_PER_EPOCH, 1), "float32"), np.zeros((STEPS_PER_EPOCH, 1), "float32")
    with tempfile.TemporaryDirectory() as log_dir:
        callback = ReduceLROnPlateau(monitor="val_loss", log_dir=log_dir, **settings)
        model.fit(x, y, batch_size=1, epochs=epochs, verbose=0, callbacks=[Monitored(), callback])
        run = next(iter(reader.read_timelines(log_dir).values()))
    records = [dict(record) for record in run["plateau"]]
    events = [dict(event) for event in run["events"]]
    return records, events, [record["lr_before"] for record in records]


def write_run(run_dir, optimizer, rates_by_step, epochs, metrics, plateau=None, events=None,
              planned_by_step=None, times=True):
    """Writes one lr_timeline run as the callbacks do, one flush per epoch.

    Events without a ``step`` get their epoch's last step (epoch-end events).
    ``times=False`` leaves out the epochs' start_time and end_time, as older
    lr_plugin versions did.
    """
    run_writer = writer.open_run_writer(run_dir)
    by_epoch_events = {}
    for event in events or ():
        by_epoch_events.setdefault(event["epoch"], []).append(event)
    wall_times = epoch_times(epochs)
    for epoch in range(epochs):
        first = epoch * STEPS_PER_EPOCH
        last = first + STEPS_PER_EPOCH - 1
        steps = np.arange(first, last + 1)
        run_writer.add_rates(optimizer, steps, rates_by_step[first:last + 1])
        if planned_by_step is not None:
            run_writer.add_rates(optimizer, steps, planned_by_step[first:last + 1], planned=True)
        record = {
            "epoch": epoch, "first_step": first, "last_step": last,
            "learning_rate": float(rates_by_step[last]),
            "learning_rates": {optimizer: float(rates_by_step[last])},
            "metrics": metrics[epoch],
        }
        if times:
            record["start_time"], record["end_time"] = wall_times[epoch]
        run_writer.add_record(metadata.EPOCHS_TAG, record)
        if plateau is not None:
            run_writer.add_record(metadata.PLATEAU_TAG, dict(plateau[epoch], step=int(last)))
        for event in by_epoch_events.get(epoch, ()):
            run_writer.add_record(metadata.EVENTS_TAG, dict({"step": int(last)}, **event))
        run_writer.flush(step=int(last))
    run_writer.close()


def write_plateau_run(logdir, name="plateau", epochs=40):
    """Adam with ReduceLROnPlateau(factor=0.5, patience=3, cooldown=2): several reductions.

    The loss floor falls with the rate, so each reduction buys an improvement.
    Returns {"records": [...], "events": [...], "rates": [rate of each epoch]}.
    """
    rng = np.random.default_rng(7)
    noise = rng.normal(scale=0.004, size=epochs)
    vals = []

    def val_loss(epoch, rate):
        # The loss floor falls with the rate: each reduction buys an improvement.
        val = vals[-1] if vals else 1.1
        vals.append(val - 0.5 * (val - (0.22 + 6.0 * rate)) + noise[epoch])
        return vals[-1]

    records, events, rates = real_plateau_decisions(
        0.02, val_loss, epochs, factor=0.5, patience=3, cooldown=2, min_delta=1e-3, min_lr=1e-4)
    metrics = [{"loss": round(val - 0.04 - 0.0015 * epoch, 6), "val_loss": val,
                "mae": round(0.8 * val, 6)} for epoch, val in enumerate(vals)]
    rates_by_step = np.repeat(np.asarray(rates, dtype=np.float64), STEPS_PER_EPOCH)
    run_dir = pathlib.Path(logdir) / name
    write_run(run_dir / metadata.RUN_SUBDIR, "Adam", rates_by_step, epochs, metrics,
              plateau=records, events=events)
    # Keras' TensorBoard callback beside it: a per-batch loss (Keras counts batches from 1).
    batch = []
    for step in range(epochs * STEPS_PER_EPOCH):
        loss = metrics[step // STEPS_PER_EPOCH]["loss"]
        batch.append((step + 1, float(loss + 0.05 + rng.normal(scale=0.03))))
    tb_helpers.write_scalars(run_dir / "train", {"batch_loss": batch})
    return {"records": records, "events": events, "rates": rates}


def cosine_warmup(steps, base=1e-4, peak=0.01, warmup=120, alpha=0.01):
    """Linear warmup to peak, then cosine decay to alpha * peak."""
    rates = np.empty(steps)
    for step in range(steps):
        if step < warmup:
            rates[step] = base + (peak - base) * step / warmup
        else:
            progress = (step - warmup) / max(1, steps - warmup)
            rates[step] = peak * (alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * progress)))
    return rates


def write_cosine_run(logdir, name="cosine_warmup", epochs=30):
    """A per-step schedule, with the planned series: no plateau data."""
    steps = epochs * STEPS_PER_EPOCH
    rates = cosine_warmup(steps)
    metrics = [{"loss": 0.3 + 0.7 * math.exp(-e / 5), "val_loss": 0.33 + 0.7 * math.exp(-e / 5)}
               for e in range(epochs)]
    write_run(pathlib.Path(logdir) / name / metadata.RUN_SUBDIR, "Adam", rates, epochs, metrics,
              planned_by_step=rates)


def step_decay(epoch):
    """The scheduler run's schedule: 0.1, halved every 5 epochs."""
    return 0.1 * 0.5 ** (epoch // 5)


def write_scheduler_run(logdir, name="scheduler", epochs=20):
    """lr_plugin.callbacks.LearningRateScheduler(step_decay): an lr_set event every epoch.

    Returns the events, each at the first step of the epoch it applies to.
    """
    rates = [step_decay(epoch) for epoch in range(epochs)]
    rates_by_step = np.repeat(np.asarray(rates), STEPS_PER_EPOCH)
    events = [{"kind": "lr_set", "epoch": epoch, "step": epoch * STEPS_PER_EPOCH, "lr": rate,
               "optimizer": "SGD", "source": "LearningRateScheduler"}
              for epoch, rate in enumerate(rates)]
    metrics = [{"loss": 0.2 + 0.8 * math.exp(-e / 6)} for e in range(epochs)]
    write_run(pathlib.Path(logdir) / name / metadata.RUN_SUBDIR, "SGD", rates_by_step, epochs,
              metrics, events=events)
    return events


def write_min_lr_run(logdir, name="to_min_lr", epochs=16):
    """ReduceLROnPlateau reaching its min_lr, logged as an older lr_plugin did: no wall times.

    Returns the events (reduce, min_lr_reached) with their steps.
    """
    def val_loss(epoch, rate):
        return 0.5 + 0.3 * math.exp(-epoch)  # improves twice, then stalls

    records, events, rates = real_plateau_decisions(
        0.001, val_loss, epochs, factor=0.5, patience=2, cooldown=0, min_delta=1e-3, min_lr=3e-4)
    metrics = [{"loss": val_loss(epoch, None) - 0.05, "val_loss": val_loss(epoch, None)}
               for epoch in range(epochs)]
    rates_by_step = np.repeat(np.asarray(rates), STEPS_PER_EPOCH)
    write_run(pathlib.Path(logdir) / name / metadata.RUN_SUBDIR, "Adam", rates_by_step, epochs,
              metrics, plateau=records, events=events, times=False)
    return events


def write_values_run(logdir, name, values, **settings):
    """A ReduceLROnPlateau run whose val_loss is `values`, one per epoch (Adam from 0.01).

    Returns the plateau records the real callback wrote.
    """
    records, events, rates = real_plateau_decisions(0.01, lambda epoch, rate: values[epoch],
                                                    len(values), **settings)
    metrics = [{"loss": value, "val_loss": value} for value in values]
    rates_by_step = np.repeat(np.asarray(rates), STEPS_PER_EPOCH)
    write_run(pathlib.Path(logdir) / name / metadata.RUN_SUBDIR, "Adam", rates_by_step, len(values),
              metrics, plateau=records, events=events)
    return records


def write_diverged_run(logdir, name="diverged", epochs=10):
    """SGD with too high a rate: the loss becomes infinite, then NaN."""
    rates = np.full(epochs * STEPS_PER_EPOCH, 0.5)
    metrics = []
    for epoch in range(epochs):
        if epoch < 5:
            metrics.append({"loss": 1.0 + epoch * 3.0, "val_loss": 1.2 + epoch * 4.0})
        elif epoch == 5:
            metrics.append({"loss": math.inf, "val_loss": math.nan})
        else:
            metrics.append({"loss": math.nan, "val_loss": math.nan})
    write_run(pathlib.Path(logdir) / name / metadata.RUN_SUBDIR, "SGD", rates, epochs, metrics)


DEMO_RUNS = 5  # runs in the demo logs, XSS_RUN aside


def write_demo_logs(logdir, xss=False):
    """The browser tests' log directory; returns what the plateau run decided.

    The returned dict also holds the scheduler run's and the min_lr run's events,
    under "scheduler_events" and "min_lr_events".
    """
    plateau = write_plateau_run(logdir)
    write_cosine_run(logdir)
    write_diverged_run(logdir)
    plateau["scheduler_events"] = write_scheduler_run(logdir)
    plateau["min_lr_events"] = write_min_lr_run(logdir)
    if xss:
        write_cosine_run(logdir, name=XSS_RUN, epochs=3)
    return plateau


def _classifier(learning_rate):
    """Dense(1, sigmoid) on two features, compiled with metrics=["accuracy"] and SGD.

    learning_rate: a float or a schedule.
    """
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:] > 0).astype("float32")
    return model, x, y


def write_debugging_logs(logdir, epochs=6):
    """Real fits for the plateau-debugging features of the tab; returns their log dirs.

    - ``trap``: Keras' and lr_plugin's ReduceLROnPlateau both in callbacks (the
      ``double_plateau`` trap), with Keras' TensorBoard callback (``epoch_accuracy``)
      and a scalar the user logged at optimizer steps (``grad_norm``);
    - ``no_monitor``: lr_plugin's ReduceLROnPlateau monitoring ``val_loss`` in a fit
      without validation data (``monitor_missing``);
    - ``unlogged_monitor``: the same without its ``log_dir`` (no plateau records; the
      ``setup`` record lists it);
    - ``keras_only``: only Keras' TensorBoard callback, with Keras' ReduceLROnPlateau;
    - ``scheduled``: lr_plugin's ReduceLROnPlateau on a OneCycle schedule.
    """
    import keras

    from lr_plugin.callbacks import LearningRateMonitor, ReduceLROnPlateau

    logdir = pathlib.Path(logdir)
    dirs = {name: logdir / name
            for name in ("trap", "no_monitor", "unlogged_monitor", "keras_only", "scheduled")}
    # min_delta=100: no epoch improves, so patience 0 reduces at every epoch end.
    never = {"monitor": "loss", "patience": 0, "min_delta": 100.0}
    model, x, y = _classifier(0.5)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, validation_data=(x, y), callbacks=[
        LearningRateMonitor(dirs["trap"]),
        keras.callbacks.ReduceLROnPlateau(**never),
        ReduceLROnPlateau(log_dir=dirs["trap"], **never),
        keras.callbacks.TensorBoard(dirs["trap"])])
    steps = epochs * len(x) // 16
    tb_helpers.write_scalars(dirs["trap"] / "grad_norm",
                             {"grad_norm": [(s, 1.0 / (s + 1)) for s in range(steps)]})
    model, x, y = _classifier(0.5)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[
        LearningRateMonitor(dirs["no_monitor"]),
        ReduceLROnPlateau(monitor="val_loss", log_dir=dirs["no_monitor"])])
    model, x, y = _classifier(0.5)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[
        LearningRateMonitor(dirs["unlogged_monitor"]), ReduceLROnPlateau(monitor="val_loss")])
    model, x, y = _classifier(0.5)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, validation_data=(x, y), callbacks=[
        keras.callbacks.ReduceLROnPlateau(patience=0, min_delta=100.0, factor=0.5),
        keras.callbacks.TensorBoard(dirs["keras_only"])])
    from lr_plugin.schedules import OneCycle

    model, x, y = _classifier(OneCycle(max_lr=0.5, total_steps=epochs * 64 // 16))
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[
        LearningRateMonitor(dirs["scheduled"]),
        ReduceLROnPlateau(log_dir=dirs["scheduled"], **dict(never, patience=1))])
    return dirs


# TensorBoard.


def _get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


@contextlib.contextmanager
def running_tensorboard(logdir, scratch_dir, wait_for_runs=0):
    """A ``tensorboard`` subprocess on a free port; yields its base URL.

    Waits until the plugin lists ``wait_for_runs`` runs (0: until it answers).
    """
    import json

    scratch_dir = pathlib.Path(scratch_dir)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    port = tb_helpers.free_port()
    log_path = scratch_dir / f"tensorboard-{port}.log"
    process = tb_helpers.start_tensorboard(
        logdir, port, ["--load_fast=false"], tb_helpers.tensorboard_env(scratch_dir / "site"), log_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"tensorboard exited with {process.returncode}:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            try:
                runs = json.loads(_get(f"{base}/data/plugin/lr_timeline/runs"))["runs"]
                if len(runs) >= wait_for_runs:
                    break
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "tensorboard did not serve the runs in time:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            time.sleep(0.5)
        yield base
    finally:
        tb_helpers.stop_process(process)


# Chromium.


@contextlib.contextmanager
def chromium():
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def plugin_url(base):
    """The iframe page TensorBoard loads for the tab."""
    return f"{base}/data/plugin_entry.html?name=lr_timeline"


def browser_test_marks():
    """``pytestmark`` of a browser test module: browser, slow, skipped (saying why) without Chromium."""
    missing = browser_missing_reason()
    return [
        pytest.mark.browser,
        pytest.mark.slow,
        pytest.mark.skipif(missing is not None, reason=f"browser tests need Chromium: {missing}"),
    ]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (import this fixture into the module)."""
    with chromium() as launched:
        yield launched


@contextlib.contextmanager
def plugin_page(browser, base, viewport=None):
    """A page on the tab TensorBoard at ``base`` serves, once the rate track is drawn.

    At exit the page is closed, and the test fails if the page raised an error.
    """
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 1200})
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(plugin_url(base))
        page.locator('[data-testid="track-lr"] canvas').first.wait_for()
        yield page
    finally:
        context.close()
    assert errors == []


def select_only(page, *runs):
    """Checks exactly these runs in the tab's run selector and waits until they are drawn."""
    for option in page.locator('[data-testid="run-option"]').all():
        box = option.locator("input")
        wanted = option.get_attribute("data-run") in runs
        if box.is_checked() != wanted:
            box.set_checked(wanted)
    # Drawn: the view shows exactly these runs and no load is in flight.
    page.wait_for_function(
        "runs => { const app = window.__lrTimelineApp; const sorted = (a) => JSON.stringify([...a].sort());"
        " return !app.refreshing && sorted(app.selected) === JSON.stringify(runs)"
        " && sorted(app.view.entries.map((e) => e.run)) === JSON.stringify(runs); }",
        arg=sorted(runs),
    )
    page.wait_for_timeout(200)


# Canvas checks, run in the page.

COUNT_INK_JS = """
([selector, background]) => {
  const canvas = document.querySelector(selector);
  if (!canvas) return -1;
  const ctx = canvas.getContext('2d');
  const {width, height} = canvas;
  const data = ctx.getImageData(0, 0, width, height).data;
  const [br, bg, bb] = background;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3];
    if (a < 40) continue;
    const dr = Math.abs(data[i] - br), dg = Math.abs(data[i + 1] - bg), db = Math.abs(data[i + 2] - bb);
    // Saturated ink: a series colour, not the grey of grid lines and labels.
    const max = Math.max(data[i], data[i + 1], data[i + 2]);
    const min = Math.min(data[i], data[i + 1], data[i + 2]);
    if (dr + dg + db > 60 && max - min > 40) count++;
  }
  return count;
}
"""

COUNT_COLOR_JS = """
([selector, rgb, tolerance]) => {
  const canvas = document.querySelector(selector);
  if (!canvas) return -1;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] < 200) continue;
    if (Math.abs(data[i] - rgb[0]) <= tolerance && Math.abs(data[i + 1] - rgb[1]) <= tolerance
        && Math.abs(data[i + 2] - rgb[2]) <= tolerance) count++;
  }
  return count;
}
"""


def hex_rgb(color):
    color = color.lstrip("#")
    return [int(color[i:i + 2], 16) for i in (0, 2, 4)]


def take_screenshots(out_path, dark_out_path=None, width=1280):
    """Writes a screenshot of the demo logs in the LR Timeline tab."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        logdir = pathlib.Path(scratch) / "logs"
        write_demo_logs(logdir)
        with running_tensorboard(logdir, pathlib.Path(scratch) / "tb", wait_for_runs=DEMO_RUNS) as base:
            with chromium() as browser:
                for path, scheme in ((out_path, "light"), (dark_out_path, "dark")):
                    if not path:
                        continue
                    page = browser.new_page(viewport={"width": width, "height": 900},
                                            color_scheme=scheme, device_scale_factor=1)
                    page.goto(plugin_url(base))
                    page.locator('[data-testid="track-plateau"] canvas').first.wait_for()
                    page.wait_for_timeout(300)
                    page.locator('[data-testid="reduction-marker"]').nth(1).hover()
                    page.wait_for_timeout(200)
                    page.screenshot(path=str(path), full_page=False)
                    page.close()


def _select_only(page, run):
    for option in page.locator('[data-testid="run-option"]').all():
        box = option.locator("input")
        if box.is_checked() != (option.get_attribute("data-run") == run):
            box.set_checked(option.get_attribute("data-run") == run)
    page.wait_for_function("run => JSON.stringify(window.__lrTimelineApp.selected) === JSON.stringify([run])",
                           arg=run)
    page.wait_for_function("() => !window.__lrTimelineApp.refreshing")


def take_demo_screenshots(logdir, docs_dir, width=1280):
    """The README's screenshots from the real demo's runs (``lr-plugin demo --no-serve``).

    Writes ``screenshot.png`` (the plateau run, a reduction's tooltip),
    ``screenshot-schedule.png`` (ReduceLROnPlateau on a OneCycle schedule) and
    ``screenshot-whatif.png`` (the plateau run replayed with patience 5).
    """
    import tempfile

    docs_dir = pathlib.Path(docs_dir)
    with tempfile.TemporaryDirectory() as scratch:
        with running_tensorboard(logdir, pathlib.Path(scratch) / "tb", wait_for_runs=4) as base:
            with chromium() as browser:
                def open_run(run, height):
                    page = browser.new_page(viewport={"width": width, "height": height},
                                            color_scheme="light", device_scale_factor=1)
                    page.goto(plugin_url(base))
                    page.locator('[data-testid="track-lr"] canvas').first.wait_for()
                    _select_only(page, run)
                    page.locator('[data-testid="track-plateau"] canvas').first.wait_for()
                    page.wait_for_timeout(500)
                    return page

                page = open_run("plateau/lr_timeline", 900)
                page.locator('[data-testid="track-lr"] [data-testid="reduction-marker"]').nth(1).hover()
                page.wait_for_timeout(200)
                page.screenshot(path=str(docs_dir / "screenshot.png"))
                page.close()

                page = open_run("one_cycle_plateau/lr_timeline", 900)
                page.locator('[data-testid="track-lr"] [data-testid="reduction-marker"]').first.hover()
                page.wait_for_timeout(200)
                page.screenshot(path=str(docs_dir / "screenshot-schedule.png"))
                page.close()

                page = open_run("plateau/lr_timeline", 1040)
                page.fill('[data-testid="whatif-patience"]', "5")
                page.wait_for_selector('[data-testid="whatif-panel"][data-state="parted"]:not([aria-busy])')
                page.evaluate("document.activeElement.blur()")  # no focus ring in the picture
                page.wait_for_timeout(400)
                page.screenshot(path=str(docs_dir / "screenshot-whatif.png"))
                page.close()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "screenshot":
        take_screenshots(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif len(sys.argv) == 4 and sys.argv[1] == "demo-screenshots":
        take_demo_screenshots(sys.argv[2], sys.argv[3])
    else:
        print("usage: python tests/browser_helpers.py screenshot OUT.png [DARK_OUT.png]\n"
              "       python tests/browser_helpers.py demo-screenshots DEMO_LOGDIR DOCS_DIR"
              "  (DEMO_LOGDIR from: lr-plugin demo --no-serve --logdir DEMO_LOGDIR)")
        sys.exit(2)
