// One stacked track: a uPlot chart, its legend, and the canvas drawings uPlot
// has no option for (reduction lines, cooldown bands, non-finite markers).
// (Over 400 lines: the drawing hooks share the chart's scales and paint pass.)

import uPlot from "uplot";
import { h, replaceChildren, labelNodes, labelText } from "./dom.js";
import { alignSeries, valueAt } from "../model/align.js";
import { formatCompact, formatDuration, formatEpoch, formatKerasEpoch, formatValue } from "./format.js";
import { numericRange, rangeFromOwnPoints, seriesPaths, shownSeriesMeasures, windowMinMax } from "./paths.js";
import { lossAxisRange, sampleWindow } from "../model/loss-axis.js";
import { EVENT_KINDS } from "../api/contract.js";

export const FONT_FAMILY =
  'Roboto, system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif';
const AXIS_LEFT = 62;
const AXIS_RIGHT = 58;
// The epoch axis counts epochs done: tick N sits where Keras' "Epoch N" ends.
const X_LABELS = { step: "step", epoch: "epochs done (N: end of Epoch N)", time: "time since start" };
// Tick spacings of the time axis, in seconds: fractions, then whole seconds, minutes,
// hours and days people count in.
const TIME_INCRS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30,
  60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600,
];

// Log scale: a little room around the data rather than whole decades, and
// ticks at 1, 2 and 5 (every mantissa when the range is under a decade).
function logRange(u, min, max) {
  if (min === null || max === null || !(min > 0)) return [1e-4, 1];
  if (max <= min) return [min / 2, max * 2];
  return [min / 1.4, max * 1.4];
}

function logSplits(u, axisIdx, min, max) {
  if (!(min > 0) || !(max > min) || !Number.isFinite(max)) return [];
  const decades = Math.log10(max / min);
  const mantissas = decades > 2.5 ? [1] : decades > 1 ? [1, 2, 5] : [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9];
  const splits = [];
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent++) {
    for (const mantissa of mantissas) {
      const value = Number((mantissa * 10 ** exponent).toPrecision(6));
      if (value >= min && value <= max) splits.push(value);
    }
  }
  return splits;
}

/** Which series styles and layout a chart was built with; a change needs a rebuild. */
function signatureOf(spec, context) {
  return JSON.stringify([
    context.theme.name,
    context.axisName,
    context.scale,
    context.last,
    context.height,
    Boolean(context.fitAll),
    Boolean(spec.monitorScale),
    Boolean(context.ghost),
    spec.series.map((s) => [s.key, s.label, s.color, s.width, s.dash, s.step, s.scale, s.fill, s.points]),
    spec.legendExtras || [],
  ]);
}

export class Track {
  /**
   * Args:
   *   id: "lr" | "loss" | "plateau", or an extra scalar track's key
   *   title: the track's heading (a label: strings and {name} parts)
   *   handlers: how the track talks to whoever holds the tracks together:
   *     xRange() -> [min, max]: the x range every track shows
   *     onScale(track, u): the chart's x scale changed (a drag zoom)
   *     onCursor(track, u): the chart's cursor moved
   *     onResetZoom(): a double-click asked for the whole range
   *     onToggleSeries(key) -> hidden: a legend click showed or hid a series
   *     onDrawn(track, u, width): the chart was drawn (width: the plot's, in CSS pixels)
   */
  constructor(id, title, handlers, kind = id) {
    this.id = id;
    this.kind = kind; // "lr" | "loss" | "plateau": which y axis (extra scalar tracks are "loss")
    this.handlers = handlers;
    this.chart = null;
    this.spec = null;
    this.signature = null;
    this.legendValues = [];
    this.cutNotes = {}; // scale key -> notes of the series above the loss axis
    this.titleEl = h("h3", { class: "lrt-track-title" }, labelNodes(Array.isArray(title) ? title : [title]));
    this.legendEl = h("div", { class: "lrt-legend", testid: `legend-${id}` });
    this.notesEl = h("div", { class: "lrt-notes" });
    this.plotEl = h("div", { class: "lrt-plot", testid: `plot-${id}` });
    this.emptyEl = h("div", { class: "lrt-empty lrt-track-empty", hidden: true });
    this.headEl = h("header", { class: "lrt-track-head" }, this.titleEl, this.legendEl);
    this.el = h(
      "section",
      { class: `lrt-track lrt-track-${kind}`, testid: kind === id ? `track-${id}` : "track-scalar" },
      this.headEl,
      this.notesEl,
      this.plotEl,
      this.emptyEl,
    );
  }

  /** Shows a message instead of the chart. */
  showEmpty(testid, ...content) {
    this.destroyChart();
    this.emptyEl.hidden = false;
    this.emptyEl.setAttribute("data-testid", testid);
    replaceChildren(this.emptyEl, ...content);
    this.plotEl.hidden = true;
    this.legendEl.textContent = "";
    this.notesEl.textContent = "";
    this.el.classList.add("lrt-is-empty");
  }

  /** Keeps the chart's place (height in CSS pixels) until show() draws it. */
  showPending(height) {
    this.emptyEl.hidden = true;
    this.plotEl.hidden = false;
    this.el.classList.remove("lrt-is-empty");
    this.plotEl.style.minHeight = `${height}px`;
  }

  get isEmpty() {
    return this.chart === null;
  }

  /**
   * Draws spec (one track of buildModel), keeping the chart when only the data changed.
   *
   * context: {theme, axisName, scale, last, width, height, syncKey, hidden, markers,
   *   eventMarkers} (markers: reductions, drawn on every track; eventMarkers: rate events,
   *   drawn on the rate track)
   */
  show(spec, context) {
    this.emptyEl.hidden = true;
    this.plotEl.hidden = false;
    this.el.classList.remove("lrt-is-empty");
    this.plotEl.style.minHeight = "";
    this.spec = spec;
    this.context = context;
    const data = alignSeries(spec.series);
    const signature = signatureOf(spec, context);
    if (this.chart && signature === this.signature) {
      this.chart.setData(data, false);
    } else {
      this.destroyChart();
      this.signature = signature;
      this.buildLegend(spec, context);
      this.chart = new uPlot(this.options(spec, context), data, this.plotEl);
    }
    const [min, max] = this.handlers.xRange();
    this.chart.setScale("x", { min, max });
    this.renderNotes(spec);
    this.updateLegend();
  }

  destroyChart() {
    if (this.chart) {
      this.chart.destroy();
      this.chart = null;
      this.signature = null;
    }
  }

  destroy() {
    this.destroyChart();
    this.el.remove();
  }

  setWidth(width) {
    if (this.chart && this.chart.width !== width) {
      this.chart.setSize({ width, height: this.context.height });
    }
  }

  options(spec, context) {
    const { theme } = context;
    const font = `11px ${FONT_FAMILY}`;
    const handlers = this.handlers;
    const axisStyle = {
      stroke: theme.axis,
      font,
      grid: { stroke: theme.grid, width: 1 },
      ticks: { stroke: theme.ticks, width: 1, size: 4 },
    };
    const format =
      context.axisName === "epoch" ? formatEpoch : context.axisName === "time" ? formatDuration : formatCompact;
    // (The labels drawn are kept in xTicks, for tests.)
    const xValues = (u, splits, axisIdx, space, incr) =>
      (this.xTicks = splits.map((v) => (v == null ? "" : format(v, incr))));
    const blank = (u, splits) => splits.map(() => "");
    const xAxis = {
      ...axisStyle,
      scale: "x",
      values: context.last ? xValues : blank,
      size: context.last ? 40 : 6,
      ticks: { ...axisStyle.ticks, show: context.last },
      label: context.last ? X_LABELS[context.axisName] : undefined,
      labelSize: 14,
      labelFont: `12px ${FONT_FAMILY}`,
      labelGap: 0,
    };
    if (context.axisName === "epoch") xAxis.incrs = [0.25, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
    if (context.axisName === "time") {
      xAxis.incrs = TIME_INCRS;
      xAxis.space = 64; // room for "1h 30m"
    }
    const scales = {
      x: {
        time: false,
        // Every track shows the view's range: before the chart is ready uPlot
        // asks with its own data's extent, later with a zoom it was synced to.
        range: (u, min, max) =>
          u.status === 1 && min !== null && max !== null && max > min ? [min, max] : handlers.xRange(),
      },
    };
    const axes = [xAxis];
    // The series are ranged from their own points (see paths.js): auto: false below.
    const seriesOf = () => (this.spec ? this.spec.series : []);
    if (this.kind === "lr") {
      const log = context.scale !== "linear";
      scales.y = log
        ? { distr: 3, log: 10, range: rangeFromOwnPoints(seriesOf, logRange, true) }
        : {
            range: rangeFromOwnPoints(seriesOf, (u, min, max) => {
              if (min === null || max === null) return [0, 1];
              const top = max > 0 ? max * 1.08 : 1;
              return [Math.min(0, min), top];
            }, false),
          };
      axes.push({
        ...axisStyle,
        scale: "y",
        size: AXIS_LEFT,
        splits: log ? logSplits : undefined,
        values: (u, splits) => splits.map((v) => (v == null ? "" : formatValue(v))),
      });
    } else if (this.kind === "loss") {
      scales.y = { auto: true, range: this.lossRange(seriesOf, context) };
      axes.push({ ...axisStyle, scale: "y", size: AXIS_LEFT, values: (u, s) => s.map(fmtSplit) });
    } else {
      scales.y = { range: () => [0, Math.ceil(this.spec.maxY) + 0.6] };
      axes.push({
        ...axisStyle,
        scale: "y",
        size: AXIS_LEFT,
        incrs: [1, 2, 5, 10, 20, 50, 100],
        values: (u, s) => s.map((v) => (v == null ? "" : String(v))),
      });
    }
    if (spec.monitorScale) {
      scales.y2 = { auto: true, range: this.lossRange(seriesOf, context) };
      axes.push({
        ...axisStyle,
        scale: "y2",
        side: 1,
        size: AXIS_RIGHT,
        grid: { show: false },
        values: (u, s) => s.map(fmtSplit),
      });
    } else {
      // An empty right axis keeps every track's plot area at the same x.
      axes.push({
        scale: "y",
        side: 1,
        size: AXIS_RIGHT,
        grid: { show: false },
        ticks: { show: false },
        stroke: "transparent",
        splits: () => [],
        values: blank,
      });
    }
    const series = [{}];
    const ownSeries = (k) => (this.spec ? this.spec.series[k] : null);
    spec.series.forEach((s, k) => {
      series.push({
        label: labelText(s.label),
        scale: s.scale || "y",
        stroke: s.color,
        width: s.width,
        dash: s.dash || undefined,
        fill: s.fill || undefined,
        spanGaps: false,
        show: !context.hidden.has(s.key),
        auto: false,
        paths: seriesPaths(ownSeries, k, s.step),
        points: s.points
          ? { show: (u, si, i0, i1) => i1 - i0 < u.bbox.width / 12, size: 5, width: 1, fill: s.color }
          : { show: false },
      });
    });
    return {
      width: context.width,
      height: context.height,
      pxAlign: 0,
      legend: { show: false },
      padding: [8, 0, 0, 0],
      scales,
      axes,
      series,
      cursor: {
        sync: { key: context.syncKey, scales: ["x", null] },
        y: false,
        points: { show: false },
        // The legend reads each series' value from its own points (updateLegend): uPlot
        // need not search a sparse column for the point nearest the cursor.
        dataIdx: (u, seriesIdx, closestIdx) => closestIdx,
        drag: { x: true, y: false, setScale: true },
        bind: {
          // Reduction markers sit inside the plot: let the cursor follow over them too.
          mousemove: (u, target, handler) => (event) => handler(event),
          // Double-click resets the zoom of every track to the whole run.
          dblclick: () => (event) => {
            if (event.button === 0) handlers.onResetZoom();
            return null;
          },
        },
      },
      hooks: {
        drawClear: [(u) => this.drawBands(u)],
        draw: [(u) => this.drawOverlays(u)],
        setScale: [(u, key) => key === "x" && handlers.onScale(this, u)],
        setCursor: [() => this.onCursor()],
      },
    };
  }

  /**
   * A loss scale's range: the shown points in the x window without outliers
   * (model/loss-axis.js), the series left above it named in the notes; every point
   * when the "fit every point" setting is on.
   */
  lossRange(seriesOf, context) {
    this.cutNotes = {};
    if (context.fitAll) return rangeFromOwnPoints(seriesOf, numericRange, false);
    const windows = shownSeriesMeasures(seriesOf, (s, x0, x1) => {
      const [min, max] = windowMinMax(s, x0, x1, false);
      const values = min === null ? [] : sampleWindow(s.xs, s.ys, x0, x1);
      return { series: s, run: s.run, min, max, values };
    });
    return (u, _dataMin, _dataMax, key) => {
      const shown = windows(u, key);
      const { min, max, cut } = lossAxisRange(shown);
      const notes = cut.map(({ index, max: top }) => [...shown[index].series.label, ` goes up to ${formatValue(top)}, above the axis`]);
      if (JSON.stringify(notes) !== JSON.stringify(this.cutNotes[key] || [])) {
        this.cutNotes[key] = notes;
        if (this.spec) this.renderNotes(this.spec);
      }
      return numericRange(u, min, max);
    };
  }

  buildLegend(spec, context) {
    this.legendValues = [];
    const items = spec.series.map((s, index) => {
      const swatch = h("span", { class: "lrt-swatch" });
      swatch.style.borderTop = `${Math.max(2, s.width)}px ${s.dash ? "dashed" : "solid"} ${s.color}`;
      const value = h("span", { class: "lrt-legend-value" });
      this.legendValues.push(value);
      const item = h(
        "button",
        {
          type: "button",
          class: "lrt-legend-item",
          title: "Show or hide this series",
          "aria-pressed": String(!context.hidden.has(s.key)),
          onclick: () => {
            const hidden = this.handlers.onToggleSeries(s.key);
            item.setAttribute("aria-pressed", String(!hidden));
            item.classList.toggle("lrt-off", hidden);
            if (this.chart) this.chart.setSeries(index + 1, { show: !hidden });
          },
        },
        swatch,
        h("span", { class: "lrt-legend-label" }, labelNodes(s.label)),
        value,
      );
      if (context.hidden.has(s.key)) item.classList.add("lrt-off");
      return item;
    });
    // Cooldown bands and the markers' kinds: a swatch shaped like what is drawn.
    const extras = (spec.legendExtras || []).map((extra) => {
      const swatch = h("span", { class: `lrt-swatch lrt-swatch-${extra.shape || "band"}` });
      swatch.style.setProperty("--lrt-swatch-color", extra.color);
      return h(
        "span",
        {
          class: "lrt-legend-item lrt-legend-static",
          testid: extra.testid || (extra.shape ? "legend-marker" : undefined),
          "data-kind": extra.shape,
        },
        swatch,
        h("span", { class: "lrt-legend-label" }, labelNodes(extra.label)),
      );
    });
    replaceChildren(this.legendEl, items, extras);
  }

  renderNotes(spec) {
    const notes = [...spec.notes];
    const seen = new Set();
    for (const point of spec.flagged) {
      const key = JSON.stringify(point.label);
      if (seen.has(key)) continue;
      seen.add(key);
      const where =
        point.epoch !== undefined && point.epoch !== null
          ? `Epoch ${formatKerasEpoch(point.epoch)}`
          : `step ${point.step}`;
      notes.push([...point.label, ` is ${formatValue(point.value)} at ${where}: drawn as a gap`]);
    }
    const cutNotes = Object.values(this.cutNotes).flat();
    replaceChildren(
      this.notesEl,
      notes.map((note) => h("span", { class: "lrt-note", testid: "nonfinite-note" }, labelNodes(note))),
      cutNotes.map((note) => h("span", { class: "lrt-note", testid: "outlier-note" }, labelNodes(note))),
    );
  }

  /** Updates the legend values for the cursor position (or the last values when away). */
  onCursor() {
    this.updateLegend();
    if (this.chart) this.handlers.onCursor(this, this.chart);
  }

  updateLegend() {
    if (!this.chart || !this.spec) return;
    const u = this.chart;
    const left = u.cursor.left;
    const x = left !== undefined && left !== null && left >= 0 ? u.posToVal(left, "x") : Infinity;
    this.spec.series.forEach((s, index) => {
      const element = this.legendValues[index];
      if (!element) return;
      const value = valueAt(s.xs, s.ys, x);
      element.textContent = value === undefined ? "" : formatValue(value);
    });
  }

  /** Cooldown windows, under the grid and the series. */
  drawBands(u) {
    const bands = this.spec ? this.spec.bands : [];
    if (!bands.length) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    for (const band of bands) {
      const x0 = Math.max(left, u.valToPos(band.x0, "x", true));
      const x1 = Math.min(left + width, u.valToPos(band.x1, "x", true));
      if (x1 <= x0) continue;
      ctx.fillStyle = band.color;
      ctx.fillRect(x0, top, x1 - x0, height);
      ctx.fillStyle = band.edge;
      ctx.fillRect(x0, top, x1 - x0, Math.max(2, 3 * uPlot.pxRatio));
    }
    ctx.restore();
  }

  /** Reduction lines and non-finite markers, over the series. */
  drawOverlays(u) {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const ratio = uPlot.pxRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    // An even width at a whole pixel: crisp, full-colour lines.
    ctx.lineWidth = 2 * Math.max(1, Math.round(ratio));
    ctx.setLineDash([5 * ratio, 3 * ratio]);
    for (const marker of this.context.markers) {
      const x = Math.round(u.valToPos(marker.x, "x", true));
      if (x < left - 1 || x > left + width + 1) continue;
      ctx.strokeStyle = marker.color;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      if (this.id === "lr") {
        const size = 5 * ratio;
        ctx.fillStyle = marker.color;
        ctx.beginPath();
        ctx.moveTo(x - size, top);
        ctx.lineTo(x + size, top);
        ctx.lineTo(x, top + size * 1.4);
        ctx.closePath();
        ctx.fill();
      }
    }
    this.drawGhost(u, ratio);
    ctx.setLineDash([]);
    if (this.id === "lr") this.drawEventMarkers(u, ratio);
    const flagged = this.spec ? this.spec.flagged : [];
    if (flagged.length) {
      ctx.font = `${Math.round(10 * ratio)}px ${FONT_FAMILY}`;
      ctx.textBaseline = "top";
      const lastText = new Map(); // text -> x where it was last written, to keep labels apart
      for (const point of flagged) {
        const x = Math.round(u.valToPos(point.x, "x", true));
        if (x < left - 1 || x > left + width + 1) continue;
        ctx.fillStyle = point.color;
        ctx.strokeStyle = point.color;
        ctx.lineWidth = 1 * ratio;
        ctx.setLineDash([2 * ratio, 2 * ratio]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        ctx.setLineDash([]);
        const r = 4 * ratio;
        ctx.beginPath();
        ctx.moveTo(x, top + 1);
        ctx.lineTo(x + r, top + 1 + r);
        ctx.lineTo(x, top + 1 + 2 * r);
        ctx.lineTo(x - r, top + 1 + r);
        ctx.closePath();
        ctx.fill();
        const text = formatValue(point.value);
        const previous = lastText.get(text);
        if (previous === undefined || x - previous > 48 * ratio) {
          ctx.fillText(text, x + r + 2 * ratio, top + 2);
          lastText.set(text, x);
        }
      }
    }
    ctx.restore();
    this.handlers.onDrawn(this, u, width / ratio);
  }

  /**
   * The what-if replay's reductions (thin dashed lines in the ghost's colour) and where
   * the replay parts from the recording (a solid line, its words on the rate track).
   */
  drawGhost(u, ratio) {
    const ghost = this.context.ghost;
    if (!ghost) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const inside = (x) => x >= left - 1 && x <= left + width + 1;
    ctx.strokeStyle = ghost.color;
    ctx.lineWidth = Math.max(1, Math.round(ratio));
    ctx.setLineDash([2 * ratio, 3 * ratio]);
    for (const reduction of ghost.reductions) {
      const x = Math.round(u.valToPos(reduction.x, "x", true)) + 0.5;
      if (!inside(x)) continue;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    if (!ghost.divergence) return;
    const x = Math.round(u.valToPos(ghost.divergence.x, "x", true));
    if (!inside(x)) return;
    ctx.lineWidth = 2 * Math.max(1, Math.round(ratio));
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    if (this.id === "lr") {
      ctx.fillStyle = ghost.color;
      ctx.font = `${Math.round(11 * ratio)}px ${FONT_FAMILY}`;
      ctx.textBaseline = "bottom";
      const text = ghost.divergenceText;
      const textWidth = ctx.measureText(text).width;
      const room = left + width - x - 6 * ratio;
      ctx.textAlign = room >= textWidth ? "left" : "right";
      ctx.fillText(text, room >= textWidth ? x + 5 * ratio : x - 5 * ratio, top + height - 4 * ratio);
      ctx.textAlign = "left";
    }
  }

  /**
   * The rate events (rate track only, clipped to the plot): lr_set as a small dot hanging
   * from the top edge (a ring where the scheduler set the rate it already had), and
   * min_lr_reached as a triangle on a bar, at the bottom edge.
   */
  drawEventMarkers(u, ratio) {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const bottom = top + height;
    let lastX = -Infinity; // lr_set dots closer than this are drawn once
    for (const marker of this.context.eventMarkers) {
      const x = Math.round(u.valToPos(marker.x, "x", true));
      if (x < left - 1 || x > left + width + 1) continue;
      ctx.fillStyle = ctx.strokeStyle = marker.color;
      if (marker.kind === EVENT_KINDS.LR_SET) {
        if (x - lastX < 3 * ratio && !marker.event.changed) continue;
        lastX = x;
        const r = 2.5 * ratio;
        const y = top + 7 * ratio;
        ctx.lineWidth = Math.max(1, Math.round(ratio));
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, y - r);
        ctx.stroke();
        ctx.beginPath();
        ctx.arc(x, y, marker.event.changed ? r : r - ctx.lineWidth / 2, 0, 2 * Math.PI);
        if (marker.event.changed) ctx.fill();
        else ctx.stroke();
      } else {
        const size = 5 * ratio;
        const bar = 2 * ratio;
        ctx.fillRect(x - size, bottom - bar, 2 * size, bar);
        ctx.beginPath();
        ctx.moveTo(x - size * 0.8, bottom - bar);
        ctx.lineTo(x + size * 0.8, bottom - bar);
        ctx.lineTo(x, bottom - bar - size * 1.4);
        ctx.closePath();
        ctx.fill();
      }
    }
  }
}

function fmtSplit(value) {
  return value == null ? "" : formatValue(value);
}
