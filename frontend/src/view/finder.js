// The LR finder panel: a run's LR range test (lr_plugin.find_lr) as loss against
// learning rate on a log axis, with the suggestions, the divergence and the rate the
// training after it started with. The server computed every marker (./finder).

import uPlot from "uplot";
import { h, replaceChildren } from "./dom.js";
import { formatValue } from "./format.js";
import { isDark, themeFor } from "./theme.js";

const HEIGHT = 260;
const STYLE_ID = "lrt-finder-style";
// Kept with the panel, so the panel stays one module.
const CSS = `.lrt-finder{border-top:1px solid var(--lrt-border);margin-top:12px;padding-top:8px}
.lrt-finder-how{margin:2px 4px;font-size:12px}
.lrt-finder-list{display:flex;flex-wrap:wrap;gap:2px 14px;list-style:none;margin:4px;padding:0;font-size:12px}
.lrt-finder-item{display:flex;align-items:center;gap:5px}`;
const LABELS = {
  valley: "valley",
  steepest: "steepest descent",
  min_loss_div_10: "min loss / 10",
};

/** Finite numbers only: TensorBoard's JSON sends NaN and infinities as strings. */
function num(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * The y range that shows the descent: up to a bit above the loss the sweep began
 * with, so the divergence's blow-up does not flatten the curve.
 */
export function lossRange(points) {
  const values = points.flatMap((p) => [num(p[1]), num(p[2])]).filter((v) => v !== null);
  if (!values.length) return [0, 1];
  const start = Math.max(...points.slice(0, 3).flatMap((p) => [num(p[1]), num(p[2])]).filter((v) => v !== null));
  const low = Math.min(...values);
  const high = Math.max(Number.isFinite(start) ? start : low, low);
  const pad = (high - low) * 0.15 || Math.abs(high) * 0.1 || 1;
  return [low - pad * 0.3, high + pad];
}

/** The markers of a sweep: [{kind, method, lr, label, color, dash}], for the chart and the list. */
export function sweepMarkers(sweep, theme) {
  const markers = [];
  (sweep.suggestions || []).forEach((s, index) => {
    if (num(s.lr) === null) return;
    const chosen = s.method === sweep.suggestion;
    markers.push({
      kind: "suggestion",
      method: s.method,
      lr: s.lr,
      loss: num(s.loss),
      label: `${LABELS[s.method] || s.method}${chosen ? " (suggested)" : ""}`,
      color: theme.palette[(index + 2) % theme.palette.length],
      dash: chosen ? [] : [5, 4],
    });
  });
  if (sweep.diverged && num(sweep.diverged.lr) !== null) {
    markers.push({ kind: "diverged", lr: sweep.diverged.lr, label: "diverged", color: theme.reduction, dash: [] });
  }
  if (sweep.started && num(sweep.started.lr) !== null) {
    markers.push({
      kind: "started",
      lr: sweep.started.lr,
      label: `training started (step ${sweep.started.step})`,
      color: theme.text,
      dash: [2, 3],
    });
  }
  return markers;
}

/** Powers of ten from min to max (both > 0). */
export function decades(min, max) {
  const result = [];
  for (let e = Math.ceil(Math.log10(min) - 1e-9); e <= Math.floor(Math.log10(max) + 1e-9); e++) {
    result.push(10 ** e);
  }
  return result;
}

function chartOptions(sweep, markers, theme, width) {
  const axis = { stroke: theme.axis, grid: { stroke: theme.grid }, ticks: { stroke: theme.ticks } };
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false, distr: 3, log: 10 },
      y: { auto: false, range: () => lossRange(sweep.points) },
    },
    axes: [
      {
        ...axis,
        label: "learning rate",
        // Decades only: uPlot's log axis would draw a grid line at every 1..9 multiple.
        splits: (u, axisIdx, min, max) => decades(min, max),
        values: (u, splits) => splits.map((v) => (v == null ? "" : formatValue(v))),
      },
      { ...axis, label: "loss", size: 60, values: (u, splits) => splits.map((v) => (v == null ? "" : formatValue(v))) },
    ],
    series: [
      {},
      { label: "loss", stroke: theme.palette[0], width: 1, alpha: 0.35, points: { show: false } },
      { label: "smoothed loss", stroke: theme.palette[0], width: 2, points: { show: false } },
    ],
    hooks: { draw: [(u) => drawMarkers(u, markers)] },
  };
}

function drawMarkers(u, markers) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const ratio = window.devicePixelRatio || 1;
  ctx.save();
  ctx.font = `${11 * ratio}px sans-serif`;
  markers.forEach((marker, index) => {
    const x = Math.round(u.valToPos(marker.lr, "x", true));
    if (x < left || x > left + width) return;
    ctx.strokeStyle = ctx.fillStyle = marker.color;
    ctx.lineWidth = ratio * (marker.kind === "suggestion" && !marker.dash.length ? 2 : 1);
    ctx.setLineDash(marker.dash.map((d) => d * ratio));
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    if (marker.loss !== null && marker.loss !== undefined) {
      const y = u.valToPos(marker.loss, "y", true);
      if (y >= top && y <= top + height) {
        ctx.beginPath();
        ctx.arc(x, y, 3.5 * ratio, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    const text = `${marker.label} ${formatValue(marker.lr)}`;
    const textWidth = ctx.measureText(text).width;
    const tx = x + 4 * ratio + textWidth > left + width ? x - 4 * ratio - textWidth : x + 4 * ratio;
    ctx.fillText(text, tx, top + (14 + 13 * index) * ratio);
  });
  ctx.restore();
}

function summary(sweep, markers) {
  const items = markers.map((marker) =>
    h(
      "li",
      {
        class: "lrt-finder-item",
        testid: `finder-${marker.kind}`,
        "data-method": marker.method || null,
        "data-lr": String(marker.lr),
      },
      h("span", { class: "lrt-run-swatch", style: { background: marker.color } }),
      `${marker.label}: ${formatValue(marker.lr)}`,
    ),
  );
  const how = [
    `${sweep.points.length} steps`,
    sweep.mode || null,
    num(sweep.min_lr) !== null ? `${formatValue(sweep.min_lr)} \u2192 ${formatValue(sweep.max_lr)}` : null,
    num(sweep.smoothing) !== null ? `smoothing ${sweep.smoothing}` : null,
    sweep.optimizer ? `optimizer ${sweep.optimizer}` : null,
    sweep.stopped === "diverged" ? "stopped: loss diverged" : sweep.stopped ? `stopped: ${sweep.stopped}` : null,
  ].filter(Boolean);
  return [h("p", { class: "lrt-muted lrt-finder-how", text: how.join(" \u00b7 ") }), h("ul", { class: "lrt-finder-list" }, items)];
}

/**
 * Draws the sweeps of one run (the JSON of ./finder) into container: the latest
 * sweep, with a selector when the run has several. Returns {chart, sweep}, or
 * null when there is no sweep (the container is then emptied and hidden).
 */
export function renderFinder(container, data, options = {}) {
  const sweeps = ((data && data.sweeps) || []).filter((s) => s && Array.isArray(s.points) && s.points.length);
  if (container.__lrtFinderChart) container.__lrtFinderChart.destroy();
  container.__lrtFinderChart = null;
  container.hidden = !sweeps.length;
  if (!sweeps.length) {
    replaceChildren(container);
    return null;
  }
  if (!document.getElementById(STYLE_ID)) {
    document.head.append(h("style", { id: STYLE_ID, text: CSS }));
  }
  const theme = themeFor(options.dark === undefined ? isDark() : Boolean(options.dark));
  const index = Math.min(options.sweep ?? sweeps.length - 1, sweeps.length - 1);
  const sweep = sweeps[index];
  const markers = sweepMarkers(sweep, theme);
  const plotEl = h("div", { class: "lrt-finder-plot", testid: "finder-chart" });
  let picker = null;
  if (sweeps.length > 1) {
    picker = h("select", {
      class: "lrt-select",
      testid: "finder-sweep",
      "aria-label": "LR range test shown",
      onchange: () => renderFinder(container, data, { ...options, sweep: Number(picker.value) }),
    });
    sweeps.forEach((s, i) => {
      const option = h("option", { text: `sweep ${i + 1} (step ${s.step ?? "?"})` });
      option.value = String(i);
      picker.append(option);
    });
    picker.value = String(index);
  }
  replaceChildren(
    container,
    h("div", { class: "lrt-track-head" }, h("h3", { class: "lrt-track-title", text: "LR range test" }), picker),
    summary(sweep, markers),
    plotEl,
  );
  const width = Math.max(320, Math.floor(container.getBoundingClientRect().width || 800) - 8);
  const xs = sweep.points.map((p) => p[0]);
  const chart = new uPlot(
    chartOptions(sweep, markers, theme, width),
    [xs, sweep.points.map((p) => num(p[1])), sweep.points.map((p) => num(p[2]))],
    plotEl,
  );
  container.__lrtFinderChart = chart;
  return { chart, sweep };
}

/**
 * The tab's hook: a panel under the timeline that shows the focused run's sweeps.
 * show(mainEl, run, dark) appends the panel to mainEl if needed and (re)loads it.
 */
export function mountFinder() {
  const el = h("section", { class: "lrt-finder", testid: "lr-finder", hidden: true });
  let lastKey = null;
  return {
    el,
    async show(mainEl, run, dark) {
      if (el.parentNode !== mainEl) mainEl.append(el);
      if (!run) return renderFinder(el, null);
      try {
        const response = await fetch(`./finder?run=${encodeURIComponent(run)}`, { credentials: "same-origin", cache: "no-store" });
        const text = response.ok ? await response.text() : "{}";
        const key = `${run}\n${dark}\n${text}`;
        if (key === lastKey && el.__lrtFinderChart) return null;
        lastKey = key;
        return renderFinder(el, JSON.parse(text), { dark });
      } catch (error) {
        return renderFinder(el, null); // the timeline above still shows; a sweep is optional
      }
    },
  };
}
