// The LR Timeline plugin's ES module. TensorBoard's plugin_entry.html imports
// it (with <base href="plugin/lr_timeline/">) and calls render().

import uplotCss from "uplot/dist/uPlot.min.css";
import pluginCss from "./style.css";
import { App } from "./view/app.js";
import { TimelineView } from "./view/view.js";
import { normalizeTimeline } from "./api/timeline.js";
import { decodeColumnar } from "./api/columnar.js";
import { isDark, themeFor } from "./view/theme.js";
import { afterPaint } from "./view/paint.js";

const STYLE_ID = "lr-timeline-style";

function injectStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = `${uplotCss}\n${pluginCss}`;
  document.head.append(style);
}

/** Entry point called by TensorBoard: draws the tab into the iframe's body. */
export async function render() {
  injectStyle();
  const root = document.createElement("div");
  root.className = "lrt-root";
  root.setAttribute("data-testid", "lr-timeline");
  document.body.append(root);
  const app = new App(root);
  window.__lrTimelineApp = app;
  await app.start();
  return app;
}

/**
 * Draws one timeline into container, without fetching: for benchmarks and embedding.
 * timeline: the parsed JSON of ./timeline, or its columnar answer as an ArrayBuffer
 * (decoded here, as the tab decodes it).
 *
 * options: {axis: "step"|"epoch"|"time", scale: "log"|"linear", dark: boolean}
 * Resolves after the first paint with {paintMs, view}: paintMs is the time from
 * the call (data received) to painted, decoding included, also left in
 * window.__lrTimelinePaintMs.
 */
export async function renderTimeline(container, timeline, options = {}) {
  const start = performance.now();
  injectStyle();
  const dark = options.dark === undefined ? isDark() : Boolean(options.dark);
  container.classList.add("lrt-root");
  container.classList.toggle("lrt-dark", dark);
  const view = new TimelineView();
  container.append(view.el);
  const normalized = normalizeTimeline(timeline instanceof ArrayBuffer ? decodeColumnar(timeline) : timeline);
  const run = normalized.run || "run";
  view.update(
    [{ run, name: normalized.name || run, timeline: normalized, colorIndex: 0 }],
    { axis: options.axis || "step", scale: options.scale || "log", focusRun: run },
    themeFor(dark),
  );
  await afterPaint();
  const paintMs = performance.now() - start;
  window.__lrTimelinePaintMs = paintMs;
  return { paintMs, view };
}
