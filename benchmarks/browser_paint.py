"""Section ``browser``: data received -> painted, in headless Chromium, with the real bundle.

A loopback HTTP server serves ``lr_plugin/static/index.js`` as it ships, a page
that imports its ``renderTimeline(container, timeline)`` and a timeline JSON
in the ``/timeline`` schema with 4 series of 100,000 points (two optimizers'
rates and a planned rate on the rate track, ``batch_loss`` on the loss track;
every point differs from its neighbours, so none is merged away), plus 100
epochs of loss, plateau records and reductions. Rates and losses are float32
values, as Keras applies and logs them.

The same timeline is also served as the tab fetches it, columnar binary
(``application/x-lr-timeline-columnar``, encoded by ``lr_plugin.serve.columnar``
itself), at 100,000 and 1,000,000 points per series.

Each repetition opens a new page, fetches the body (not timed), then times
``renderTimeline`` from the call until the browser painted (the bundle's own
measure, ``paintMs``, which the plugin also leaves in
``window.__lrTimelinePaintMs``): "cold", the first draw of the page, and
"warm", a second draw of the same data in the same page. A columnar body goes
to ``renderTimeline`` as its ArrayBuffer, so ``paintMs`` includes decoding it,
as the tab decodes it; a JSON body is parsed first, and ``JSON.parse`` is timed
apart.
"""

import functools
import gzip
import hashlib
import http.server
import json
import math
import os
import threading

import numpy as np

from benchmarks import common

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
STATIC_DIR = os.path.join(common.REPO_ROOT, "lr_plugin", "static")
BUNDLE = os.path.join(STATIC_DIR, "index.js")
POINTS = 100_000
LARGE_POINTS = 1_000_000
SENT_BY_DEFAULT = 2_000  # /timeline's default downsample
SERIES = 4
STEPS_PER_EPOCH = 1000
TARGET_PAINT_MS = 150  # JSON, first draw (parse apart)
TARGET_COLUMNAR_MS = 100  # columnar, first draw, decoding included
VIEWPORT = {"width": 1280, "height": 900}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>LR Timeline paint benchmark</title></head>
<body style="margin:0"><div id="host" style="width:1240px"></div>
<script type="module">
import { renderTimeline } from "./index.js";
let view = null;
// An empty container in place of the last draw's.
const freshContainer = () => {
  if (view) view.destroy();
  const container = document.createElement("div");
  document.getElementById("host").replaceChildren(container);
  return container;
};
window.__paintOnce = async (url) => {
  const text = await (await fetch(url)).text();
  const container = freshContainer();
  const start = performance.now();
  const timeline = JSON.parse(text);
  const parsed = performance.now();
  const options = { axis: "step", scale: "log", dark: false };
  const result = await renderTimeline(container, timeline, options);
  view = result.view;
  return {
    parse_ms: parsed - start,
    paint_ms: result.paintMs,
    hook_ms: window.__lrTimelinePaintMs,
    parse_and_paint_ms: performance.now() - start,
    canvases: container.querySelectorAll("canvas").length,
    json_bytes: text.length,
  };
};
window.__paintColumnar = async (url) => {
  const buffer = await (await fetch(url)).arrayBuffer();
  const container = freshContainer();
  const options = { axis: "step", scale: "log", dark: false };
  const result = await renderTimeline(container, buffer, options);
  view = result.view;
  return {
    paint_ms: result.paintMs,
    hook_ms: window.__lrTimelinePaintMs,
    canvases: container.querySelectorAll("canvas").length,
    body_bytes: buffer.byteLength,
  };
};
window.__benchReady = true;
</script></body></html>
"""


def missing_reason():
    """Why this section cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not os.path.exists(BUNDLE):
        return f"{BUNDLE} is missing (cd frontend && npm run build)"
    return None


def bundle_sizes():
    """Bytes of the JavaScript the plugin ships, raw and gzipped (level 9)."""
    files = {}
    for root, _, names in os.walk(STATIC_DIR):
        for name in sorted(names):
            if name.endswith((".js", ".mjs")):
                path = os.path.join(root, name)
                with open(path, "rb") as handle:
                    data = handle.read()
                files[os.path.relpath(path, common.REPO_ROOT)] = {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "bytes": len(data),
                    "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
                }
    return {
        "files": files,
        "bytes": sum(f["bytes"] for f in files.values()),
        "gzip_bytes": sum(f["gzip_bytes"] for f in files.values()),
    }


def make_timeline(points=POINTS):
    """A /timeline response with SERIES series of ``points`` points, every point distinct.

    As the plugin would answer for a Keras run: rates are float32 values (what the
    optimizer applies; the JSON holds each as its float64), ``batch_loss`` points are
    ``[null, step, value]`` with float32 values (what Keras' TensorBoard callback logs),
    epoch metrics ``[epoch, last step, value]``.
    """
    epochs = math.ceil(points / STEPS_PER_EPOCH)
    step = np.arange(points)
    progress = step / points
    wobble = 1 + 0.02 * np.sin(step * 0.37)
    cosine = 0.01 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * progress)))

    def as_float32(values):  # the float64 of each float32, as JSON and numpy read it back
        return np.asarray(values, np.float32).astype(np.float64)

    def pairs(values):
        return np.stack([step, as_float32(values)], axis=1).tolist()

    steps = step.tolist()
    adam, sgd, planned = pairs(cosine * wobble), pairs(0.1 * 0.5 ** (step // 20_000) * wobble), pairs(cosine)
    for pair in adam + sgd + planned:
        pair[0] = int(pair[0])
    losses = as_float32(0.3 + 0.7 / (1 + step / 5000) + 0.05 * np.sin(step * 0.11)).tolist()
    batch_loss = [[None, s, v] for s, v in zip(steps, losses)]
    epoch_records, plateau, events = [], [], []
    loss, val_loss = [], []
    for epoch in range(epochs):
        first, last = epoch * STEPS_PER_EPOCH, min(points, (epoch + 1) * STEPS_PER_EPOCH) - 1
        value = float(np.float32(0.3 + 0.7 / (1 + 0.2 * epoch)))
        train = float(np.float32(value - 0.05))
        epoch_records.append({"epoch": epoch, "first_step": first, "last_step": last,
                              "learning_rate": adam[last][1],
                              "metrics": {"loss": train, "val_loss": value}})
        loss.append([epoch, last, train])
        val_loss.append([epoch, last, value])
        reduce = epoch % 20 == 19
        plateau.append({"epoch": epoch, "step": last, "monitor": "val_loss", "mode": "min",
                        "value": value, "best": value, "wait": epoch % 5, "patience": 5,
                        "cooldown": 2, "cooldown_counter": 2 if reduce else 0,
                        "action": "reduce" if reduce else "wait",
                        "lr_before": sgd[last][1],
                        "lr_after": sgd[last][1] * (0.5 if reduce else 1)})
        if reduce:
            events.append({"epoch": epoch, "step": last, "kind": "reduce", "optimizer": "SGD",
                           "lr_before": sgd[last][1], "lr_after": sgd[last][1] * 0.5,
                           "value": value, "best": value, "wait": 5, "patience": 5,
                           "monitor": "val_loss"})
    return {
        "version": 1, "run": "bench/lr_timeline", "name": "bench",
        "train_run": "bench/train", "validation_run": "bench/validation",
        "learning_rate": {"Adam": adam, "SGD": sgd},
        "planned": {"Adam": planned},
        "points": {"Adam": points, "SGD": points},
        "planned_points": {"Adam": points},
        "epochs": epoch_records, "plateau": plateau, "events": events,
        "metrics": {"batch_loss": batch_loss, "loss": loss, "val_loss": val_loss},
    }


def columnar_body(timeline, encoder=None):
    """``timeline`` as /timeline answers it in columnar form, by the plugin's own encoder.

    Rate series go in as the plugin holds them (``RateSummary``: float32 when every
    rate is a float32 value), metric points and records as their JSON texts.
    ``encoder``: a module with ``columnar_body(head, view)``, by default
    ``lr_plugin.serve.columnar`` (another version's, to compare with).
    """
    from lr_plugin.model import summary
    from lr_plugin.serve import columnar

    encoder = encoder or columnar
    series_keys = ("learning_rate", "planned")
    view = summary.TimelineView(last_step=timeline["learning_rate"]["Adam"][-1][0])
    for key in series_keys:
        view.series[key] = {}
        for name, pairs in timeline[key].items():
            steps, rates = np.array(pairs, dtype=np.float64).reshape(-1, 2).T
            stored = summary.RateSummary(steps, rates).rate_dtype
            view.series[key][name] = (steps, rates, stored)
    view.records = {tag: [json.dumps(r, separators=(",", ":")) for r in timeline[tag]]
                    for tag in ("epochs", "plateau", "events")}
    view.metrics = {name: [json.dumps(p, separators=(",", ":")) for p in points]
                    for name, points in timeline["metrics"].items()}
    head = {key: value for key, value in timeline.items()
            if key not in series_keys + ("epochs", "plateau", "events", "metrics")}
    return encoder.columnar_body(head, view)


class _Handler(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args, files=None, **kwargs):
        self.files = files
        super().__init__(*args, **kwargs)

    def do_GET(self):  # noqa: N802 (BaseHTTPRequestHandler's name)
        path = self.path.split("?", 1)[0]
        if path not in self.files:
            self.send_error(404)
            return
        body, content_type = self.files[path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(files):
    """A threaded HTTP server on 127.0.0.1 serving ``{path: (bytes, content type)}``."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, files=files))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def paint_in_new_page(browser, base, url):
    """(first draw, second draw) of ``url`` in a new page: the page's own measures.

    A ``.bin`` url is a columnar body, drawn from its ArrayBuffer; any other is JSON.
    """
    paint = "__paintColumnar" if url.endswith(".bin") else "__paintOnce"
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base}/bench.html")
        page.wait_for_function("window.__benchReady === true")
        first = page.evaluate(f"url => window.{paint}(url)", url)
        second = page.evaluate(f"url => window.{paint}(url)", url)
    finally:
        page.close()
    if errors:
        raise RuntimeError(f"the page raised: {errors[0]}")
    if first["canvases"] < 1:
        raise RuntimeError("renderTimeline drew no canvas")
    return first, second


def run(quick=False, scratch=None, sizes=None, repeats=None, columnar_sizes=None):
    reason = missing_reason()
    bundle = bundle_sizes() if os.path.exists(BUNDLE) else None
    if reason:
        return {"skipped": reason, "bundle": bundle, "rows": []}
    from playwright.sync_api import sync_playwright

    # JSON: 100k points per series, and what /timeline sends by default (downsample=2000).
    sizes = tuple(sizes or ((2_000, 500) if quick else (POINTS, SENT_BY_DEFAULT)))
    # Columnar, as the tab asks: 100k and 1M points per series.
    columnar_sizes = tuple(columnar_sizes or ((2_000, 20_000) if quick else (POINTS, LARGE_POINTS)))
    repeats = repeats or (2 if quick else 15)
    files = {"/bench.html": (PAGE.encode("utf-8"), "text/html; charset=utf-8")}
    with open(BUNDLE, "rb") as handle:
        files["/index.js"] = (handle.read(), "text/javascript")
    body_bytes = {}
    cases = []  # (kind, points, url)
    for points in sorted(set(sizes) | set(columnar_sizes)):
        timeline = make_timeline(points)
        if points in sizes:
            body = json.dumps(timeline, separators=(",", ":")).encode("utf-8")
            files[f"/timeline-{points}.json"] = (body, "application/json")
            body_bytes[("json", points)] = len(body)
            cases.append(("json", points, f"timeline-{points}.json"))
        if points in columnar_sizes:
            body = columnar_body(timeline)
            files[f"/timeline-{points}.bin"] = (body, "application/x-lr-timeline-columnar")
            body_bytes[("columnar", points)] = len(body)
            cases.append(("columnar", points, f"timeline-{points}.bin"))
        del timeline
    server = serve(files)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cold = {case[:2]: [] for case in cases}
    warm = {case[:2]: [] for case in cases}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                version = browser.version
                for _, _, url in cases:  # warm-up: the browser's caches, not the page's
                    paint_in_new_page(browser, base, url)
                for index in range(repeats):
                    for kind, points, url in common.rotated(cases, index):
                        first, second = paint_in_new_page(browser, base, url)
                        cold[kind, points].append(first)
                        warm[kind, points].append(second)
                    common.log(f"browser: repeat {index + 1}/{repeats}: " + ", ".join(
                        f"{kind} {points:,}: first draw {cold[kind, points][-1]['paint_ms']:.0f} ms"
                        for kind, points, _ in cases))
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()

    def stats(samples, key):
        return common.summarize([s[key] / 1e3 for s in samples])

    by_size = {}
    rows = []
    for kind, points, _ in cases:
        label = f"{SERIES} series \u00d7 {points:,} points"
        paint = stats(cold[kind, points], "paint_ms")
        # "sizes": the JSON bodies (as before columnar existed); "columnar": the binary ones.
        result = by_size.setdefault("sizes" if kind == "json" else "columnar", {})[str(points)] = {
            ("timeline_json_bytes" if kind == "json" else "body_bytes"): body_bytes[kind, points],
            "paint_first_draw_s": paint,
            "paint_redraw_s": stats(warm[kind, points], "paint_ms"),
            "canvases": cold[kind, points][-1]["canvases"],
        }
        if kind == "columnar":
            targeted = points == POINTS
            rows.append(common.row(
                "browser", f"columnar received \u2192 decoded and painted, {label}, first draw of a page "
                f"({body_bytes[kind, points] / 1e6:.2f} MB)", paint, "ms", scale=1e3,
                target=f"< {TARGET_COLUMNAR_MS} ms" if targeted else None,
                met=(paint["median"] * 1e3 < TARGET_COLUMNAR_MS) if targeted else None))
            rows.append(common.row(
                "browser", f"columnar received \u2192 decoded and painted, {label}, redraw in the same page",
                result["paint_redraw_s"], "ms", scale=1e3))
            continue
        result["parse_s"] = stats(cold[kind, points], "parse_ms")
        result["parse_and_paint_first_draw_s"] = stats(cold[kind, points], "parse_and_paint_ms")
        targeted = points == max(sizes)
        rows.append(common.row(
            "browser", f"data received \u2192 painted, {label}, first draw of a page", paint,
            "ms", scale=1e3, target=f"< {TARGET_PAINT_MS} ms" if targeted else None,
            met=(paint["median"] * 1e3 < TARGET_PAINT_MS) if targeted else None))
        rows.append(common.row(
            "browser", f"data received \u2192 painted, {label}, redraw in the same page",
            result["paint_redraw_s"], "ms", scale=1e3))
        rows.append(common.row(
            "browser", f"JSON.parse before it, {label} ({body_bytes[kind, points] / 1e6:.2f} MB)",
            result["parse_s"], "ms", scale=1e3))
    rows.append(common.row("browser", "shipped JavaScript (lr_plugin/static/*.js)",
                           value=bundle["bytes"], unit="kB", scale=1e-3))
    rows.append(common.row("browser", "shipped JavaScript, gzip -9", value=bundle["gzip_bytes"],
                           unit="kB", scale=1e-3))
    return {
        "config": {"series": SERIES, "points_per_series": list(sizes),
                   "columnar_points_per_series": list(columnar_sizes), "repeats": repeats,
                   "viewport": VIEWPORT, "chromium": version,
                   "measure": "renderTimeline(container, body) from the call until after the next "
                              "paint (its paintMs): a columnar ArrayBuffer is decoded inside it; "
                              "JSON is parsed before it, JSON.parse timed separately"},
        "sizes": by_size.get("sizes", {}),
        "columnar": by_size.get("columnar", {}),
        "bundle": bundle,
        "rows": rows,
    }
