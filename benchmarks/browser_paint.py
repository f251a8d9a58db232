"""Section ``browser``: data received -> painted, in headless Chromium, with the real bundle.

A loopback HTTP server serves ``lr_plugin/static/index.js`` as it ships, a page
that imports its ``renderTimeline(container, timeline)`` and a timeline JSON
in the ``/timeline`` schema with 4 series of 100,000 points (two optimizers'
rates and a planned rate on the rate track, ``batch_loss`` on the loss track;
every point differs from its neighbours, so none is merged away), plus 100
epochs of loss, plateau records and reductions.

Each repetition opens a new page, fetches the JSON (not timed), then times:
``JSON.parse`` of the text, and ``renderTimeline`` from the call until the
browser painted (the bundle's own measure, ``paintMs``, which the plugin also
leaves in ``window.__lrTimelinePaintMs``): "cold", the first draw of the page,
and "warm", a second draw of the same data in the same page.
"""

import functools
import gzip
import hashlib
import http.server
import json
import math
import os
import threading

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
SENT_BY_DEFAULT = 2_000  # /timeline's default downsample
SERIES = 4
STEPS_PER_EPOCH = 1000
TARGET_PAINT_MS = 150
VIEWPORT = {"width": 1280, "height": 900}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>LR Timeline paint benchmark</title></head>
<body style="margin:0"><div id="host" style="width:1240px"></div>
<script type="module">
import { renderTimeline } from "./index.js";
let view = null;
window.__paintOnce = async (url) => {
  const text = await (await fetch(url)).text();
  if (view) view.destroy();
  const host = document.getElementById("host");
  host.replaceChildren();
  const container = document.createElement("div");
  host.append(container);
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
    """A /timeline response with SERIES series of ``points`` points, every point distinct."""
    epochs = math.ceil(points / STEPS_PER_EPOCH)
    adam, sgd, planned, batch_loss = [], [], [], []
    for step in range(points):
        progress = step / points
        wobble = 1 + 0.02 * math.sin(step * 0.37)
        cosine = 0.01 * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))
        adam.append([step, cosine * wobble])
        sgd.append([step, 0.1 * 0.5 ** (step // 20_000) * wobble])
        planned.append([step, cosine])
        loss = 0.3 + 0.7 / (1 + step / 5000) + 0.05 * math.sin(step * 0.11)
        batch_loss.append([None, step, loss])
    epoch_records, plateau, events = [], [], []
    loss, val_loss = [], []
    for epoch in range(epochs):
        first, last = epoch * STEPS_PER_EPOCH, min(points, (epoch + 1) * STEPS_PER_EPOCH) - 1
        value = 0.3 + 0.7 / (1 + 0.2 * epoch)
        epoch_records.append({"epoch": epoch, "first_step": first, "last_step": last,
                              "learning_rate": adam[last][1],
                              "metrics": {"loss": value - 0.05, "val_loss": value}})
        loss.append([epoch, last, value - 0.05])
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
    """(first draw, second draw) of ``url`` in a new page: the page's own measures."""
    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base}/bench.html")
        page.wait_for_function("window.__benchReady === true")
        first = page.evaluate("url => window.__paintOnce(url)", url)
        second = page.evaluate("url => window.__paintOnce(url)", url)
    finally:
        page.close()
    if errors:
        raise RuntimeError(f"the page raised: {errors[0]}")
    if first["canvases"] < 1:
        raise RuntimeError("renderTimeline drew no canvas")
    return first, second


def run(quick=False, scratch=None, sizes=None, repeats=None):
    reason = missing_reason()
    bundle = bundle_sizes() if os.path.exists(BUNDLE) else None
    if reason:
        return {"skipped": reason, "bundle": bundle, "rows": []}
    from playwright.sync_api import sync_playwright

    # 100k points per series, and what /timeline sends by default (downsample=2000).
    sizes = tuple(sizes or ((2_000, 500) if quick else (POINTS, SENT_BY_DEFAULT)))
    repeats = repeats or (2 if quick else 15)
    files = {"/bench.html": (PAGE.encode("utf-8"), "text/html; charset=utf-8")}
    with open(BUNDLE, "rb") as handle:
        files["/index.js"] = (handle.read(), "text/javascript")
    json_bytes = {}
    for points in sizes:
        body = json.dumps(make_timeline(points), separators=(",", ":")).encode("utf-8")
        files[f"/timeline-{points}.json"] = (body, "application/json")
        json_bytes[points] = len(body)
    server = serve(files)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cold = {points: [] for points in sizes}
    warm = {points: [] for points in sizes}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                version = browser.version
                for points in sizes:  # warm-up: the browser's caches, not the page's
                    paint_in_new_page(browser, base, f"timeline-{points}.json")
                for index in range(repeats):
                    for points in common.rotated(sizes, index):
                        first, second = paint_in_new_page(browser, base, f"timeline-{points}.json")
                        cold[points].append(first)
                        warm[points].append(second)
                    common.log(f"browser: repeat {index + 1}/{repeats}: " + ", ".join(
                        f"{p:,} points: first draw {cold[p][-1]['paint_ms']:.0f} ms, "
                        f"redraw {warm[p][-1]['paint_ms']:.0f} ms, "
                        f"JSON.parse {cold[p][-1]['parse_ms']:.0f} ms" for p in sizes))
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()

    def stats(samples, key):
        return common.summarize([s[key] / 1e3 for s in samples])

    by_size = {}
    rows = []
    for points in sizes:
        by_size[str(points)] = {
            "timeline_json_bytes": json_bytes[points],
            "paint_first_draw_s": stats(cold[points], "paint_ms"),
            "paint_redraw_s": stats(warm[points], "paint_ms"),
            "parse_s": stats(cold[points], "parse_ms"),
            "parse_and_paint_first_draw_s": stats(cold[points], "parse_and_paint_ms"),
            "canvases": cold[points][-1]["canvases"],
        }
        label = f"{SERIES} series \u00d7 {points:,} points"
        targeted = points == max(sizes)
        paint = by_size[str(points)]["paint_first_draw_s"]
        rows.append(common.row(
            "browser", f"data received \u2192 painted, {label}, first draw of a page", paint,
            "ms", scale=1e3, target=f"< {TARGET_PAINT_MS} ms" if targeted else None,
            met=(paint["median"] * 1e3 < TARGET_PAINT_MS) if targeted else None))
        rows.append(common.row(
            "browser", f"data received \u2192 painted, {label}, redraw in the same page",
            by_size[str(points)]["paint_redraw_s"], "ms", scale=1e3))
        rows.append(common.row(
            "browser", f"JSON.parse before it, {label} ({json_bytes[points] / 1e6:.2f} MB)",
            by_size[str(points)]["parse_s"], "ms", scale=1e3))
    rows.append(common.row("browser", "shipped JavaScript (lr_plugin/static/*.js)",
                           value=bundle["bytes"], unit="kB", scale=1e-3))
    rows.append(common.row("browser", "shipped JavaScript, gzip -9", value=bundle["gzip_bytes"],
                           unit="kB", scale=1e-3))
    return {
        "config": {"series": SERIES, "points_per_series": list(sizes), "repeats": repeats,
                   "viewport": VIEWPORT, "chromium": version,
                   "measure": "renderTimeline(container, parsed JSON) from the call until after "
                              "the next paint (its paintMs); JSON.parse timed separately"},
        "sizes": by_size,
        "bundle": bundle,
        "rows": rows,
    }
