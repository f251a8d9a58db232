// The chart area: three stacked tracks on one x axis with one cursor and one
// zoom, reduction markers with their tooltip, and the decision table.
// (Over 400 lines: cursor, zoom and markers are synchronised across the tracks
// here; what is drawn is built in model/.)

import { h, replaceChildren, isolated, isolatedText, labelText } from "./dom.js";
import { reductionTooltip, eventTooltip, eventSentence } from "./tooltip.js";
import { buildModel } from "../model/build.js";
import { afterPaintTask } from "./paint.js";
import { Track } from "./track.js";
import { DecisionTable } from "./table.js";
import { EpochMap, makeAxis, stepAt } from "../model/axis.js";
import { plateauRecords } from "../model/records.js";
import { formatCount, formatDuration, formatEpochPosition, formatKerasEpoch, formatValue } from "./format.js";
import { LintBanner } from "./banner.js";
import { WhatIfPanel } from "./whatif.js";
import { replayGhost } from "../model/whatif.js";
import { plateauAbsence } from "../model/findings.js";
import { scalarTrack } from "../model/scalar-track.js";
import { label, named } from "../model/label.js";
import { PLATEAU_ACTIONS } from "../api/contract.js";

const HEIGHTS = { lr: 210, loss: 190, plateau: 120, scalar: 130 };
const BASE_TRACKS = ["lr", "loss", "plateau"];
const PARTED_TEXT = "from here on training would have gone another way";
const X_AXIS_HEIGHT = 40;
let viewCount = 0;

export class TimelineView {
  /**
   * handlers: {onFocusRun(run)}: a click on another run's marker makes it the run the
   * app downloads as JSON; {replay(run, params)}: the /replay answer (without it, no
   * what-if panel); {onRemoveScalar(key)}: an extra scalar track's close button.
   */
  constructor(handlers = {}) {
    this.handlers = handlers;
    this.syncKey = `lr-timeline-${++viewCount}`;
    this.zoom = null;
    this.fullRange = [0, 1];
    this.markers = [];
    this.eventMarkers = [];
    this.lrMarkers = []; // the rate track's: reductions, then rate events
    this.markersVersion = 0;
    this.markerLayers = new Map(); // track id -> {layer, version}: the markers' buttons over its plot
    this.hidden = new Set();
    this.entries = [];
    this.settings = { axis: "step", scale: "log" };
    this.tables = new Map(); // run -> {table, rowX (epoch -> x)}: a section per plateau run
    this.tableToken = 0; // the latest table render asked for
    this.drawToken = 0; // the latest update: a deferred chart of an earlier one is not built
    this.applyingScale = false;
    const trackHandlers = {
      xRange: () => this.xRange(),
      onScale: (track, u) => this.onScale(track, u),
      onCursor: (track, u) => this.onCursor(track, u),
      onResetZoom: () => this.resetZoom(),
      onToggleSeries: (key) => this.toggleSeries(key),
      onDrawn: (track, u, width) => this.placeMarkers(track, u, width),
    };
    this.tracks = {
      lr: new Track("lr", "Learning rate", trackHandlers),
      loss: new Track("loss", "Loss", trackHandlers),
      plateau: new Track("plateau", "Plateau: wait / patience, cooldown", trackHandlers),
    };
    this.readoutEl = h("span", { class: "lrt-readout", testid: "cursor-readout" });
    this.zoomButton = h("button", {
      type: "button",
      class: "lrt-button lrt-reset-zoom",
      testid: "reset-zoom",
      hidden: true,
      text: "Reset zoom",
      onclick: () => this.resetZoom(),
    });
    this.ghost = null; // {run, body}: the what-if replay drawn over the recording
    this.banner = new LintBanner();
    this.whatif = handlers.replay
      ? new WhatIfPanel({
          replay: handlers.replay,
          onGhost: (run, body) => this.setGhost(run, body),
        })
      : null;
    this.kerasNoteEl = h("div", { class: "lrt-keras-note", testid: "keras-only-note", hidden: true });
    this.extrasEl = h("div", { class: "lrt-extra-tracks" });
    this.trackHandlers = trackHandlers;
    this.tracksEl = h(
      "div",
      { class: "lrt-tracks" },
      h(
        "div",
        { class: "lrt-tracks-bar" },
        h("span", { class: "lrt-hint", text: "Drag to zoom \u00b7 double-click to reset" }),
        this.zoomButton,
        this.readoutEl,
      ),
      this.tracks.lr.el,
      this.tracks.loss.el,
      this.tracks.plateau.el,
      this.whatif ? this.whatif.el : [],
      this.extrasEl,
    );
    this.tooltip = h("div", {
      class: "lrt-tooltip",
      testid: "tooltip",
      role: "tooltip",
      hidden: true,
    });
    this.tablesEl = h("div", { class: "lrt-tables" });
    this.tablesEmptyEl = h("div", { class: "lrt-empty lrt-decisions", hidden: true });
    this.el = h("div", { class: "lrt-view" }, this.banner.el, this.kerasNoteEl, this.tracksEl, this.tablesEl, this.tablesEmptyEl, this.tooltip);
    if (typeof ResizeObserver === "function") {
      this.resizeObserver = new ResizeObserver(() => this.resize());
      this.resizeObserver.observe(this.tracksEl);
    }
  }

  destroy() {
    this.tableToken++; // a table render still to come draws nothing
    this.drawToken++; // nor a deferred chart
    if (this.resizeObserver) this.resizeObserver.disconnect();
    for (const track of Object.values(this.tracks)) track.destroy();
    this.el.remove();
  }

  plotWidth() {
    return Math.max(320, Math.floor(this.tracksEl.clientWidth || 800));
  }

  resize() {
    const width = this.plotWidth();
    for (const track of Object.values(this.tracks)) track.setWidth(width);
  }

  /**
   * Draws the selected runs.
   *
   * entries: [{run, name, timeline (normalized), colorIndex}]
   * settings: {axis, scale, focusRun}
   */
  update(entries, settings, theme) {
    this.entries = entries;
    this.settings = settings;
    this.theme = theme;
    const focus = entries.find((entry) => entry.run === settings.focusRun) || entries[0];
    // First, so that a ghost of a run no longer in the panel is dropped before drawing.
    this.showWhatIf(focus);
    const model = buildModel(entries, settings, theme);
    this.model = model;
    const previousAxis = this.axisName;
    this.axisName = model.axisName;
    this.markers = model.markers;
    this.eventMarkers = model.eventMarkers;
    this.lrMarkers = model.markers.concat(model.eventMarkers);
    this.markersVersion++;
    this.fullRange = fullRangeOf(model);
    if (this.zoom && previousAxis !== model.axisName) {
      this.zoom = this.zoomOnAxis(this.zoom, previousAxis, model.axisName, focus);
    }
    if (this.zoom && !(this.zoom[1] > this.zoom[0])) this.zoom = null;

    this.addGhost(model, entries, theme);
    const extras = this.extraSpecs(settings.scalars || [], entries, model, theme);
    this.syncExtraTracks(extras);
    const order = BASE_TRACKS.concat(extras.map((extra) => extra.spec.id));
    const shown = {};
    for (const id of order) shown[id] = (model.tracks[id] || extras.find((e) => e.spec.id === id).spec).series.length > 0;
    const last = [...order].reverse().find((id) => shown[id]) || "lr";
    const width = this.plotWidth();
    const ghost = this.ghostMarks;
    const token = ++this.drawToken;
    for (const id of order) {
      const track = this.tracks[id];
      const spec = model.tracks[id] || extras.find((e) => e.spec.id === id).spec;
      if (!shown[id]) continue;
      const context = {
        theme,
        axisName: model.axisName,
        scale: settings.scale,
        fitAll: settings.lossAxis === "all",
        last: id === last,
        width,
        height: HEIGHTS[track.kind === id ? id : "scalar"] + (id === last ? X_AXIS_HEIGHT : 0),
        syncKey: this.syncKey,
        hidden: this.hidden,
        markers: this.markers,
        eventMarkers: id === "lr" ? this.eventMarkers : [],
        ghost,
      };
      if (id === "plateau" && track.isEmpty) {
        // A new plateau chart (no rates on it) is built in the task after the first paint,
        // as the decision table is: the rate and loss tracks are on screen a chart sooner.
        // Its place is kept meanwhile, so nothing moves when it comes.
        track.showPending(context.height);
        afterPaintTask(() => {
          if (token === this.drawToken) track.show(spec, { ...context, width: this.plotWidth() });
        });
        continue;
      }
      track.show(spec, context);
    }
    for (const extra of extras) {
      if (!shown[extra.spec.id]) {
        this.tracks[extra.spec.id].showEmpty("empty-scalar", "No points to place on this axis.");
      }
    }
    if (!shown.lr) {
      this.tracks.lr.showEmpty("empty-no-rates", "No learning-rate points in the selected runs yet.");
    }
    if (!shown.loss) {
      this.tracks.loss.showEmpty(
        "empty-no-loss",
        "No loss values in the selected runs yet: they appear when an epoch ends.",
      );
    }
    if (!shown.plateau) {
      this.tracks.plateau.showEmpty("empty-no-plateau", ...noPlateauMessage(entries));
    }
    this.banner.render(entries);
    this.renderKerasNote(entries);
    this.zoomButton.hidden = this.zoom === null;
    this.renderTables(entries);
  }

  /** The what-if panel for the focus run, when it has plateau decisions. */
  showWhatIf(focus) {
    if (!this.whatif) return;
    const decisions = focus ? plateauRecords(focus.timeline).filter((r) => r.action !== PLATEAU_ACTIONS.MISSING_METRIC) : [];
    const last = decisions[decisions.length - 1];
    this.showingWhatIf = true; // a ghost it drops now is not drawn: no redraw needed
    try {
      this.whatif.show(
        decisions.length ? focus.run : null,
        decisions.length ? focus.name : null,
        Boolean(decisions.length && Object.keys(focus.timeline.planned).length),
        last ? recordedSettings(last) : null,
      );
    } finally {
      this.showingWhatIf = false;
    }
  }

  /** The what-if answer for a run (null: no ghost); redraws with the ghost over the recording. */
  setGhost(run, body) {
    const previous = this.ghost;
    this.ghost = body ? { run, body } : null;
    if ((!previous && !this.ghost) || this.showingWhatIf) return;
    if (this.entries.length) this.update(this.entries, this.settings, this.theme);
  }

  /**
   * The ghost of the what-if replay, for the run it was asked for: a rate series on the
   * rate track, a wait series on the plateau track, and (in this.ghostMarks) the
   * replayed reductions and where the replay parts from the recording, on every track.
   */
  addGhost(model, entries, theme) {
    this.ghostMarks = null;
    const entry = this.ghost && entries.find((candidate) => candidate.run === this.ghost.run);
    if (!entry || entry.timeline.keras_only) return;
    const axis = makeAxis(model.axisName, new EpochMap(entry.timeline.epochs));
    const ghost = replayGhost(this.ghost.body, axis);
    const prefix = entries.length > 1 ? [named(entry.name), " \u00b7 "] : [];
    const what = this.ghost.body.semantics === "pytorch" ? "PyTorch replay" : "replay";
    // On a scheduled run, a replay that did not follow the schedule (PyTorch's rules, an
    // older server) has no rate to draw: its constant rate is not what training would do.
    const followed = ghost.rates.length > 0;
    const scheduled = Object.keys(entry.timeline.planned).length > 0 && !followed;
    if (scheduled) ghost.divergence = null;
    const lines = followed ? ghost.rates : ghost.rate.xs.length && !scheduled ? [{ optimizer: null, ...ghost.rate }] : [];
    for (const line of lines) {
      const name = line.optimizer && lines.length > 1 ? `${line.optimizer} ` : "";
      model.tracks.lr.series.push({
        key: `${entry.run}\u0000ghost\u0000lr${line.optimizer ? `\u0000${line.optimizer}` : ""}`,
        run: entry.run,
        label: label(prefix, `${name}rate (what-if ${what})`),
        color: theme.ghost,
        width: 2,
        dash: [7, 4],
        step: "after",
        xs: line.xs,
        ys: line.ys,
      });
    }
    if (ghost.wait.xs.length && model.tracks.plateau.series.length) {
      model.tracks.plateau.series.push({
        key: `${entry.run}\u0000ghost\u0000wait`,
        run: entry.run,
        label: label(prefix, `wait (what-if ${what})`),
        color: theme.ghost,
        width: 1.5,
        dash: [7, 4],
        step: "before",
        xs: ghost.wait.xs,
        ys: ghost.wait.ys,
      });
      for (const y of ghost.wait.ys) if (Number.isFinite(y)) model.tracks.plateau.maxY = Math.max(model.tracks.plateau.maxY, y);
    }
    this.ghostMarks = {
      color: theme.ghost,
      reductions: ghost.reductions,
      divergence: ghost.divergence,
      divergenceText: ghost.divergence ? `Epoch ${formatKerasEpoch(ghost.divergence.epoch)}: ${PARTED_TEXT}` : "",
    };
    model.tracks.lr.legendExtras.push({ label: ["what-if reduction"], color: theme.ghost, shape: "ghost", testid: "legend-ghost" });
  }

  /** The extra scalar tracks' specs, each on its run's axis. */
  extraSpecs(scalars, entries, model, theme) {
    const specs = [];
    scalars.forEach((pick, index) => {
      const entry = entries.find((candidate) => candidate.run === pick.run);
      if (!entry) return;
      const axis = makeAxis(model.axisName, new EpochMap(entry.timeline.epochs));
      const color = theme.palette[(3 + index) % theme.palette.length];
      specs.push({ pick, spec: scalarTrack(pick, axis, color) });
    });
    return specs;
  }

  /** Adds a Track for each new pick and drops those no longer picked, in the picks' order. */
  syncExtraTracks(extras) {
    const wanted = new Set(extras.map((extra) => extra.spec.id));
    for (const id of Object.keys(this.tracks)) {
      if (BASE_TRACKS.includes(id) || wanted.has(id)) continue;
      this.tracks[id].destroy();
      delete this.tracks[id];
      this.markerLayers.delete(id);
    }
    for (const { pick, spec } of extras) {
      let track = this.tracks[spec.id];
      if (!track) {
        track = new Track(spec.id, [named(pick.tag), " (", named(pick.scalarRun), ")"], this.trackHandlers, "loss");
        track.el.setAttribute("data-tag", pick.tag);
        track.el.setAttribute("data-scalar-run", pick.scalarRun);
        const close = h("button", {
          type: "button",
          class: "lrt-button lrt-track-close",
          testid: "remove-scalar",
          title: "Remove this track",
          "aria-label": "Remove this track",
          text: "\u00d7",
          onclick: () => this.handlers.onRemoveScalar && this.handlers.onRemoveScalar(pick.key),
        });
        track.headEl.append(close);
        this.tracks[spec.id] = track;
      }
    }
    const elements = extras.map((extra) => this.tracks[extra.spec.id].el);
    const children = [...this.extrasEl.children];
    if (children.length !== elements.length || children.some((child, index) => child !== elements[index])) {
      replaceChildren(this.extrasEl, elements);
    }
  }

  /** What a Keras-only log_dir's rate is (the server's words) and what lr_plugin would add. */
  renderKerasNote(entries) {
    const kerasOnly = entries.filter((entry) => entry.timeline.keras_only);
    this.kerasNoteEl.hidden = kerasOnly.length === 0;
    if (!kerasOnly.length) return;
    const note = kerasOnly[0].timeline.keras_only;
    replaceChildren(
      this.kerasNoteEl,
      h(
        "div",
        { testid: "keras-only-text" },
        h("strong", {}, kerasOnly.map((entry, index) => [index ? ", " : "", isolated(entry.name)]), ": "),
        typeof note.text === "string" ? note.text : "written by Keras' TensorBoard callback alone.",
      ),
      h(
        "div",
        { class: "lrt-muted", testid: "keras-only-hint" },
        "lr_plugin adds the rate of every update (",
        h("code", { text: "LearningRateMonitor(log_dir)" }),
        ") and every plateau decision (",
        h("code", { text: "ReduceLROnPlateau(log_dir=...)" }),
        ").",
      ),
    );
  }

  /**
   * The decision tables: one section per selected run that has plateau decisions, in
   * the order of the runs. Where each row sits on the x axis (the cursor's link to the
   * rows) is known at once; the rows themselves are built in a task after the tracks
   * are painted, so the first paint of the tracks waits for no table (selections and
   * highlights made meanwhile apply to the new rows).
   */
  renderTables(entries) {
    const token = ++this.tableToken;
    const sections = [];
    for (const entry of entries) {
      const rows = plateauRecords(entry.timeline);
      if (!rows.length) continue;
      const axis = makeAxis(this.axisName, new EpochMap(entry.timeline.epochs));
      const rowX = new Map();
      for (const row of rows) {
        const x = axis.epochEnd(row.epoch, row.step);
        if (x !== null) rowX.set(row.epoch, x);
      }
      sections.push({ entry, rows, rowX });
    }
    const tables = new Map();
    for (const { entry, rowX } of sections) {
      const table = (this.tables.get(entry.run) || {}).table || this.newTable(entry.run);
      table.stale = true;
      tables.set(entry.run, { table, rowX });
    }
    this.tables = tables;
    const elements = [...tables.values()].map(({ table }) => table.el);
    const children = [...this.tablesEl.children];
    // Moving a section would reset its scroll: only rearrange when the sections changed.
    if (children.length !== elements.length || children.some((child, index) => child !== elements[index])) {
      replaceChildren(this.tablesEl, elements);
    }
    this.tablesEmptyEl.hidden = true;
    afterPaintTask(() => {
      if (token !== this.tableToken) return;
      if (!sections.length) {
        this.showNoTables(entries);
        return;
      }
      for (const { entry, rows } of sections) {
        const monitor = rows.find((row) => typeof row.monitor === "string")?.monitor || null;
        this.tables.get(entry.run).table.render(rows, entry.name, monitor);
      }
    });
  }

  newTable(run) {
    const table = new DecisionTable({
      onHover: (row) => this.moveCursorTo(run, row),
      onSelect: (row) => table.select(row.epoch, false),
    });
    table.el.setAttribute("data-run", run);
    return table;
  }

  showNoTables(entries) {
    this.tablesEmptyEl.hidden = false;
    if (!entries.length) {
      this.tablesEmptyEl.setAttribute("data-testid", "empty-no-table");
      replaceChildren(this.tablesEmptyEl, "Select a run to see its plateau decisions.");
      return;
    }
    this.tablesEmptyEl.setAttribute("data-testid", "empty-no-plateau-table");
    const which = entries.length === 1 ? [h("strong", {}, isolated(entries[0].name))] : ["the selected runs"];
    replaceChildren(
      this.tablesEmptyEl,
      "No plateau decisions for ",
      ...which,
      ": the table fills in when ReduceLROnPlateau logs through lr_plugin.",
    );
  }

  // The shared x range.

  xRange() {
    const range = this.zoom || this.fullRange;
    return [range[0], range[1]];
  }

  xRangeObject() {
    const [min, max] = this.xRange();
    return { min, max };
  }

  /** A track's x scale changed (a drag zoom, synced to every track by uPlot). */
  onScale(track, u) {
    if (this.applyingScale) return;
    const { min, max } = u.scales.x;
    if (min === null || max === null || !(max > min)) return;
    const [fullMin, fullMax] = this.fullRange;
    const whole = Math.abs(min - fullMin) < 1e-9 && Math.abs(max - fullMax) < 1e-9;
    this.zoom = whole ? null : [min, max];
    this.zoomButton.hidden = this.zoom === null;
    // Tracks that missed the sync (e.g. built later) follow.
    this.applyingScale = true;
    try {
      for (const other of Object.values(this.tracks)) {
        const chart = other.chart;
        if (other === track || !chart) continue;
        if (chart.scales.x.min !== min || chart.scales.x.max !== max) chart.setScale("x", { min, max });
      }
    } finally {
      this.applyingScale = false;
    }
  }

  /**
   * A zoom carried to another axis: its ends mapped through the steps of the table's
   * run (null when that run cannot be placed on both axes, or the zoom shows it all).
   */
  zoomOnAxis([x0, x1], from, to, entry) {
    const map = entry ? new EpochMap(entry.timeline.epochs) : null;
    const placeable = (name) => name === "step" || (name === "epoch" ? map.available : map.timeAvailable);
    if (!map || !placeable(from) || !placeable(to)) return null;
    const before = makeAxis(from, map);
    const after = makeAxis(to, map);
    const [fullMin, fullMax] = this.fullRange;
    const min = Math.max(fullMin, after.point(stepAt(before, x0)));
    const max = Math.min(fullMax, after.point(stepAt(before, x1)));
    const whole = min - fullMin < 1e-9 && fullMax - max < 1e-9;
    return max > min && !whole ? [min, max] : null;
  }

  resetZoom() {
    this.zoom = null;
    this.zoomButton.hidden = true;
    this.applyingScale = true;
    try {
      for (const track of Object.values(this.tracks)) {
        if (track.chart) track.chart.setScale("x", this.xRangeObject());
      }
    } finally {
      this.applyingScale = false;
    }
  }

  toggleSeries(key) {
    if (this.hidden.has(key)) this.hidden.delete(key);
    else this.hidden.add(key);
    return this.hidden.has(key);
  }

  // Cursor, table and markers.

  onCursor(track, u) {
    const left = u.cursor.left;
    if (left === undefined || left === null || left < 0) {
      this.readoutEl.textContent = "";
      for (const { table } of this.tables.values()) table.highlight(null);
      return;
    }
    const x = u.posToVal(left, "x");
    this.readoutEl.textContent = this.formatX(x, u.scales.x.max - u.scales.x.min);
    // In each table, the row of the epoch the cursor is in: the first decision at or after x.
    for (const { table, rowX } of this.tables.values()) {
      let epoch = null;
      let best = Infinity;
      for (const [rowEpoch, x1] of rowX) {
        if (x1 >= x && x1 < best) {
          best = x1;
          epoch = rowEpoch;
        }
      }
      table.highlight(epoch);
    }
  }

  /** An x position as the cursor readout shows it; span: the width of the range shown. */
  formatX(x, span) {
    if (this.axisName === "epoch") return formatEpochPosition(x);
    if (this.axisName === "time") return `time ${formatDuration(x, span < 100 ? 0.1 : 1)}`;
    return `step ${formatCount(x)}`;
  }

  /** Puts the cursor of every track at a run's table row (null: hides it). */
  moveCursorTo(run, row) {
    const chart = Object.values(this.tracks).find((track) => track.chart)?.chart;
    if (!chart) return;
    if (row === null) {
      chart.setCursor({ left: -10, top: -10 }, true, true);
      return;
    }
    const section = this.tables.get(run);
    const x = section ? section.rowX.get(row.epoch) : undefined;
    if (x === undefined) return;
    const left = chart.valToPos(x, "x");
    if (left < 0 || left > chart.over.clientWidth) return;
    chart.setCursor({ left, top: chart.over.clientHeight / 2 }, true, true);
    section.table.highlight(row.epoch);
  }

  /**
   * Positions a track's marker buttons over its plot (called after each draw).
   *
   * width: the plot's width in CSS pixels, from uPlot's own layout (reading the
   * element's would force a layout in the middle of drawing).
   */
  placeMarkers(track, u, width) {
    let placed = this.markerLayers.get(track.id);
    if (!placed) {
      placed = { layer: h("div", { class: "lrt-marker-layer" }), version: -1 };
      this.markerLayers.set(track.id, placed);
    }
    const layer = placed.layer;
    if (layer.parentNode !== u.over) {
      u.over.append(layer);
      placed.version = -1;
    }
    const markers = track.id === "lr" ? this.lrMarkers : this.markers;
    if (placed.version !== this.markersVersion) {
      placed.version = this.markersVersion;
      replaceChildren(
        layer,
        markers.map((marker) => (marker.reduction ? this.markerButton(marker) : this.eventButton(marker))),
      );
    }
    markers.forEach((marker, index) => {
      const button = layer.children[index];
      if (!button) return;
      const left = u.valToPos(marker.x, "x");
      const visible = left >= -1 && left <= width + 1;
      button.hidden = !visible;
      if (visible) button.style.left = `${left}px`;
    });
  }

  markerButton(marker) {
    const { reduction } = marker;
    const rate = reduction.rates[0] || {};
    const ariaLabel = `Reduction at Epoch ${formatKerasEpoch(reduction.epoch)}, step ${formatCount(
      reduction.step,
    )}: ${formatValue(rate.before)} to ${formatValue(rate.after)} (${isolatedText(marker.runName)})`;
    const button = h("button", {
      type: "button",
      class: "lrt-marker",
      testid: "reduction-marker",
      "aria-label": ariaLabel,
      "data-epoch": reduction.epoch ?? "",
      "data-step": reduction.step ?? "",
      "data-run": marker.run,
      onmouseenter: () => this.showTooltip(marker, button),
      onmouseleave: () => this.hideTooltip(),
      onfocus: () => this.showTooltip(marker, button),
      onblur: () => this.hideTooltip(),
      onclick: (event) => {
        event.stopPropagation();
        this.selectMarker(marker);
      },
    });
    button.style.setProperty("--lrt-marker-color", marker.color);
    return button;
  }

  /** The hit area of a rate event (lr_set, min_lr_reached): a tooltip, a click selects its row. */
  eventButton(marker) {
    const { event } = marker;
    const button = h("button", {
      type: "button",
      class: "lrt-marker lrt-event-marker",
      testid: "event-marker",
      "aria-label": `${labelText(eventSentence(event))} (${isolatedText(marker.runName)})`,
      "data-kind": event.kind,
      "data-epoch": event.epoch ?? "",
      "data-step": event.step ?? "",
      "data-run": marker.run,
      onmouseenter: () => this.showEventTooltip(marker, button),
      onmouseleave: () => this.hideTooltip(),
      onfocus: () => this.showEventTooltip(marker, button),
      onblur: () => this.hideTooltip(),
      onclick: (clickEvent) => {
        clickEvent.stopPropagation();
        this.selectMarker(marker);
      },
    });
    button.style.setProperty("--lrt-marker-color", marker.color);
    return button;
  }

  selectMarker(marker) {
    const epoch = (marker.reduction || marker.event).epoch;
    if (marker.run !== this.settings.focusRun && this.handlers.onFocusRun) this.handlers.onFocusRun(marker.run);
    const section = this.tables.get(marker.run);
    if (section && epoch !== null && epoch !== undefined) section.table.select(epoch, true);
  }

  showTooltip(marker, anchor) {
    replaceChildren(this.tooltip, reductionTooltip(marker, this.axisName));
    this.placeTooltip(anchor);
  }

  showEventTooltip(marker, anchor) {
    replaceChildren(this.tooltip, eventTooltip(marker, this.axisName));
    this.placeTooltip(anchor);
  }

  /** Shows the tooltip beside an anchor, inside the window. */
  placeTooltip(anchor) {
    this.tooltip.hidden = false;
    const rect = anchor.getBoundingClientRect();
    const tip = this.tooltip.getBoundingClientRect();
    let left = rect.right + 10;
    if (left + tip.width > window.innerWidth - 8) left = rect.left - tip.width - 10;
    let top = rect.top + 12;
    if (top + tip.height > window.innerHeight - 8) top = Math.max(8, window.innerHeight - tip.height - 8);
    this.tooltip.style.left = `${Math.max(8, left)}px`;
    this.tooltip.style.top = `${top}px`;
  }

  hideTooltip() {
    this.tooltip.hidden = true;
  }
}

/** The settings a plateau record was decided with, as the what-if panel edits them. */
function recordedSettings(record) {
  const settings = {};
  for (const name of ["patience", "factor", "cooldown", "min_delta", "min_lr", "mode"]) settings[name] = record[name] ?? null;
  return settings;
}

function fullRangeOf(model) {
  let min = Infinity;
  let max = -Infinity;
  for (const track of Object.values(model.tracks)) {
    for (const series of track.series) {
      if (!series.xs.length) continue;
      min = Math.min(min, series.xs[0]);
      max = Math.max(max, series.xs[series.xs.length - 1]);
    }
    for (const band of track.bands) {
      min = Math.min(min, band.x0);
      max = Math.max(max, band.x1);
    }
  }
  for (const marker of model.markers.concat(model.eventMarkers)) {
    min = Math.min(min, marker.x);
    max = Math.max(max, marker.x);
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max - min < 1e-9) return [min - 1, max + 1];
  return [min, max];
}

function noPlateauMessage(entries) {
  const names = entries.map((entry) => entry.name);
  const which = names.length === 1 ? [h("strong", {}, isolated(names[0]))] : ["the selected runs"];
  const absences = entries.map((entry) => plateauAbsence(entry.timeline));
  // A ReduceLROnPlateau ran but decided nothing drawable: say why, not "train with it".
  const missing = absences.find((absence) => absence.reason === "monitor-missing");
  if (missing) {
    return [
      "No ReduceLROnPlateau decisions in ",
      ...which,
      ": ",
      missing.message || "its monitored metric was never logged.",
    ];
  }
  if (absences.some((absence) => absence.reason === "no-log-dir")) {
    return [
      "No ReduceLROnPlateau decisions in ",
      ...which,
      ": lr_plugin's ReduceLROnPlateau ran without ",
      h("code", { text: "log_dir=..." }),
      ", so it recorded none.",
    ];
  }
  if (absences.every((absence) => absence.reason === "keras-only")) {
    return [
      "Keras' TensorBoard callback logs no plateau decisions. Train with ",
      h("code", { text: "lr_plugin.callbacks.ReduceLROnPlateau(log_dir=...)" }),
      " to see wait, patience and cooldown windows here.",
    ];
  }
  return [
    "No ReduceLROnPlateau decisions in ",
    ...which,
    ". Train with ",
    h("code", { text: "lr_plugin.callbacks.ReduceLROnPlateau" }),
    " to see wait, patience and cooldown windows here.",
  ];
}
