"""Data received -> painted for renderTimeline, in headless Chromium: a quick local measure.

Serves one or more bundles on 127.0.0.1 with the same page and the same synthetic timeline as
``benchmarks/browser_paint.py`` (4 series of 100,000 points, 100 epochs of loss,
plateau records and reductions), opens a new page per repetition and reports the
medians of the first draw of a page and of a redraw in the same page (the bundle's
own ``paintMs``).

    python frontend/bench/paint.py                    # the committed bundle
    python frontend/bench/paint.py --build            # a fresh build of src/ (not written
                                                      # to lr_plugin/static)
    python frontend/bench/paint.py --bundle old.js --build   # both, taking turns
    python frontend/bench/paint.py --build --profile 20 --interval 50
                                                      # + CPU profiles of 20 first draws, summed
    python frontend/bench/paint.py --columnar --before 79750e3 --build
                                                      # REV's bundle with REV's encoder's body,
                                                      # and a fresh build with today's, taking turns
    python frontend/bench/paint.py --screenshot a.png # + screenshot of one first draw
    python frontend/bench/paint.py --columnar --build --trace t.json
                                                      # + Chromium trace of one first draw:
                                                      # self time per event and per phase

Needs /usr/bin/chromium and the playwright Python package (never `playwright install`).
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FRONTEND = os.path.dirname(HERE)
COMMITTED = os.path.join(os.path.dirname(FRONTEND), "lr_plugin", "static", "index.js")
# The page, the synthetic timeline and the server are the benchmark's own, so the two
# measure the same thing.
sys.path.insert(0, os.path.dirname(FRONTEND))
from benchmarks.browser_paint import CHROMIUM  # noqa: E402
from benchmarks.browser_paint import CHROMIUM_ARGS  # noqa: E402
from benchmarks.browser_paint import PAGE  # noqa: E402
from benchmarks.browser_paint import POINTS  # noqa: E402
from benchmarks.browser_paint import VIEWPORT  # noqa: E402
from benchmarks.browser_paint import columnar_body  # noqa: E402
from benchmarks.browser_paint import make_timeline  # noqa: E402
from benchmarks.browser_paint import serve  # noqa: E402


def build(outfile, debug=False):
    env = dict(os.environ, LRT_OUTFILE=outfile)
    if debug:
        env["LRT_DEBUG"] = "1"
    subprocess.run(["node", "build.mjs"], cwd=FRONTEND, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def git_show(rev, path):
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=FRONTEND, check=True,
                          capture_output=True).stdout


def encoder_at(rev, scratch):
    """REV's lr_plugin/serve/columnar.py as a module (its other imports are today's)."""
    import importlib.util

    path = os.path.join(scratch, "columnar_before.py")
    with open(path, "wb") as handle:
        handle.write(git_show(rev, "lr_plugin/serve/columnar.py"))
    spec = importlib.util.spec_from_file_location("columnar_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def top_functions(profiles, limit=25):
    """Self and total time per (function, url:line) of CDP Profiler profiles, summed over
    them, largest first (a function's total counts once per sample however deep it recurses)."""
    self_us = collections.Counter()
    total_us = collections.Counter()
    for profile in profiles:
        nodes = {node["id"]: node for node in profile["nodes"]}
        parent = {}
        for node in profile["nodes"]:
            for child in node.get("children", []):
                parent[child] = node["id"]

        def key(node_id):
            frame = nodes[node_id]["callFrame"]
            name = frame["functionName"] or "(anonymous)"
            where = f"{os.path.basename(frame['url'])}:{frame['lineNumber'] + 1}:{frame['columnNumber'] + 1}" \
                if frame["url"] else ""
            return name, where

        times = profile.get("timeDeltas", [])
        for sample, delta in zip(profile.get("samples", []), times[1:] + [0]):
            self_us[key(sample)] += delta
            seen = set()
            node_id = sample
            while node_id is not None:
                seen.add(key(node_id))
                node_id = parent.get(node_id)
            for k in seen:
                total_us[k] += delta
    count = max(1, len(profiles))
    lines = [f"  sampled {sum(self_us.values()) / 1e3 / count:.1f} ms per draw, mean of {len(profiles)}",
             "  self time per draw:"]
    for (name, where), us in self_us.most_common(limit):
        lines.append(f"  {us / 1e3 / count:8.2f} ms  {name}  {where}")
    lines.append("  total time per draw:")
    for (name, where), us in total_us.most_common(limit + 15):
        lines.append(f"  {us / 1e3 / count:8.2f} ms  {name}  {where}")
    return "\n".join(lines)


# Trace events of the renderer, by what the time went to (self time, see trace_phases).
PHASES = (
    ("GC", ("GC", "Scavenge", "MarkCompact", "Sweep", "BlinkGC", "Oilpan")),
    ("style/layout", ("UpdateLayoutTree", "Layout", "RecalculateStyles", "ScheduleStyleRecalculation",
                      "InvalidateLayout", "ParseAuthorStyleSheet", "HitTest", "PrePaint",
                      "UpdateLayerTree", "IntersectionObserver", "ResizeObserver")),
    ("paint/commit", ("Paint", "Layerize", "Commit", "Raster", "Composite", "Draw", "Image",
                      "Canvas", "Decode", "BeginMainFrame", "Frame", "Tile", "Gpu", "Viz")),
    ("task", ("RunTask", "Task", "Epoll", "mojo", "Watcher")),  # the scheduler's wrappers
    ("script", ("Script", "Function", "V8", "v8", "Compile", "Timer", "Microtask", "Animation",
                "Event", "Parse", "Evaluate")),
)
TRACE_CATEGORIES = [
    "devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute",
    "blink.user_timing", "disabled-by-default-devtools.timeline.frame", "toplevel", "cc", "blink",
    "disabled-by-default-v8.gc", "disabled-by-default-v8.compile", "v8.compile",
]


def phase_of(name):
    for phase, words in PHASES:
        if any(word in name for word in words):
            return phase
    return "other"


def trace_phases(trace, paint_ms, limit=25):
    """Self time per event name and per phase, per thread, over the last ``paint_ms`` before
    the "lrt-drawn" mark: what the browser did between the call and the paint."""
    events = trace["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    mark = [e for e in events if e.get("name") == "lrt-drawn"][-1]
    end = mark["ts"]
    start = end - paint_ms * 1e3
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[e["pid"], e["tid"]].append((e["ts"], e["ts"] + e["dur"], e["name"]))
    lines = [f"  window {paint_ms:.1f} ms (paintMs) before the lrt-drawn mark"]
    for thread, spans in by_thread.items():
        spans.sort(key=lambda span: (span[0], -span[1]))
        self_us = collections.Counter()
        stack = []  # [end, name, own]: own = clipped length minus children's
        def close(until):
            while stack and stack[-1][0] <= until:
                _, name, own = stack.pop()
                self_us[name] += own
        for begin, finish, name in spans:
            close(begin)
            clipped = max(0.0, min(finish, end) - max(begin, start))
            if stack:
                stack[-1][2] -= clipped
            stack.append([finish, name, clipped])
        close(float("inf"))
        busy = sum(self_us.values())
        if busy < 1000:  # under 1 ms in the window
            continue
        phases = collections.Counter()
        for name, us in self_us.items():
            phases[phase_of(name)] += us
        lines.append(f"  thread {names.get(thread, thread)}: busy {busy / 1e3:.1f} ms: " + ", ".join(
            f"{phase} {us / 1e3:.1f}" for phase, us in phases.most_common()))
        for name, us in self_us.most_common(limit if names.get(thread) == "CrRendererMain" else 6):
            if us >= 200:
                lines.append(f"      {us / 1e3:7.1f} ms  {name}  ({phase_of(name)})")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", action="append", default=[],
                        help="a bundle to serve (repeatable: the bundles take turns)")
    parser.add_argument("--build", action="store_true", help="also serve a fresh build of src/")
    parser.add_argument("--before", metavar="REV", default=None,
                        help="also serve (first) the bundle committed at REV, with a columnar body "
                             "encoded by REV's lr_plugin/serve/columnar.py")
    parser.add_argument("--debug", action="store_true", help="with --build: unminified")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--points", type=int, default=POINTS)
    parser.add_argument("--profile", type=int, nargs="?", const=1, default=0, metavar="N",
                        help="CPU profiles of N first draws (new pages), summed per function")
    parser.add_argument("--interval", type=int, default=100, help="--profile's sampling interval, us")
    parser.add_argument("--trace", default=None,
                        help="write a Chromium trace of one first draw here and summarize it")
    parser.add_argument("--columnar", action="store_true",
                        help="serve the columnar body (decoded inside renderTimeline) instead of JSON")
    parser.add_argument("--screenshot", default=None,
                        help="PNG of one first draw (of each bundle: NAME-0.png, NAME-1.png...)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    bundles = list(args.bundle)
    encoders = [None] * len(bundles)
    if args.before:
        scratch = tempfile.mkdtemp(prefix="lrt-before-")
        bundles.insert(0, os.path.join(scratch, "index.js"))
        encoders.insert(0, encoder_at(args.before, scratch))
        with open(bundles[0], "wb") as handle:
            handle.write(git_show(args.before, "lr_plugin/static/index.js"))
    if args.build:
        fresh = os.path.join(tempfile.mkdtemp(prefix="lrt-bench-"), "index.js")
        build(fresh, debug=args.debug)
        bundles.append(fresh)
        encoders.append(None)
    if not bundles:
        bundles, encoders = [COMMITTED], [None]
    files = {}
    timeline = make_timeline(args.points)
    json_body = None if args.columnar else json.dumps(timeline, separators=(",", ":")).encode()
    # Each bundle's page fetches its own body (a relative url): an older bundle reads
    # only its own version of the columnar layout.
    url = "timeline.bin" if args.columnar else "timeline.json"
    paint = "window.__paintColumnar" if args.columnar else "window.__paintOnce"
    for index, bundle in enumerate(bundles):
        with open(bundle, "rb") as handle:
            files[f"/b{index}/index.js"] = (handle.read(), "text/javascript")
        files[f"/b{index}/bench.html"] = (PAGE.encode(), "text/html; charset=utf-8")
        if args.columnar:
            body = columnar_body(timeline, encoders[index])
            files[f"/b{index}/{url}"] = (body, "application/x-lr-timeline-columnar")
            print(f"[{index}] columnar body {len(body) / 1e6:.2f} MB", file=sys.stderr)
        else:
            files[f"/b{index}/{url}"] = (json_body, "application/json")
    server = serve(files)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    first = [[] for _ in bundles]
    second = [[] for _ in bundles]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)

        def new_page(index):
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/b{index}/bench.html")
            page.wait_for_function("window.__benchReady === true")
            return page, errors

        try:
            for repeat in range(args.repeats + 1):  # the first round is a warm-up
                order = list(range(len(bundles)))
                if repeat % 2:
                    order.reverse()  # alternate who goes first
                for index in order:
                    page, errors = new_page(index)
                    a = page.evaluate(f"url => {paint}(url)", url)
                    b = page.evaluate(f"url => {paint}(url)", url)
                    page.close()
                    if errors:
                        raise RuntimeError(f"{bundles[index]}: the page raised: {errors[0]}")
                    if repeat:
                        first[index].append(a["paint_ms"])
                        second[index].append(b["paint_ms"])
                        print(f"repeat {repeat}, bundle {index}: first draw {a['paint_ms']:.1f} ms, "
                              f"redraw {b['paint_ms']:.1f} ms, JSON.parse {a.get('parse_ms', 0):.1f} ms, "
                              f"{a['canvases']} canvases", file=sys.stderr)
            if args.profile:
                profiles, times = [], []
                for _ in range(args.profile):
                    page, _ = new_page(len(bundles) - 1)
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.setSamplingInterval", {"interval": args.interval})
                    cdp.send("Profiler.start")
                    result = page.evaluate(f"url => {paint}(url)", url)
                    profiles.append(cdp.send("Profiler.stop")["profile"])
                    times.append(result["paint_ms"])
                    page.close()
                print(f"profiled {len(times)} first draws of {bundles[-1]}: median "
                      f"{statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
                print(top_functions(profiles))
            if args.trace:
                page, _ = new_page(len(bundles) - 1)
                browser.start_tracing(page=page, path=args.trace, categories=TRACE_CATEGORIES)
                result = page.evaluate(
                    f"url => {paint}(url).then((r) => (performance.mark('lrt-drawn'), r))", url)
                browser.stop_tracing()
                page.close()
                with open(args.trace) as handle:
                    trace = json.load(handle)
                print(f"traced first draw of {bundles[-1]}: {result['paint_ms']:.1f} ms")
                print(trace_phases(trace, result["paint_ms"]))
            if args.screenshot:
                stem = args.screenshot[:-4] if args.screenshot.endswith(".png") else args.screenshot
                for index in range(len(bundles)):
                    page, _ = new_page(index)
                    page.evaluate(f"url => {paint}(url)", url)
                    page.wait_for_timeout(300)
                    path = args.screenshot if len(bundles) == 1 else f"{stem}-{index}.png"
                    page.screenshot(path=path, full_page=True)
                    page.close()
        finally:
            browser.close()
            server.shutdown()
    print(f"4 series x {args.points:,} points, {args.repeats} pages per bundle, "
          f"data received -> painted (paintMs)")
    for index, bundle in enumerate(bundles):
        print(f"[{index}] {os.path.relpath(bundle)}")
        print(f"    first draw median {statistics.median(first[index]):6.1f} ms "
              f"(min {min(first[index]):.1f}, max {max(first[index]):.1f})")
        print(f"    redraw     median {statistics.median(second[index]):6.1f} ms "
              f"(min {min(second[index]):.1f}, max {max(second[index]):.1f})")
        if index:
            # Per round, against bundle 0 drawn in the same round: less of the machine's load in it.
            for name, samples in (("first draw", first), ("redraw", second)):
                ratios = [after / before for after, before in zip(samples[index], samples[0])]
                print(f"    {name} / [0]'s, per round: median {statistics.median(ratios):.2f} "
                      f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
