// The LR Timeline tab: run selection, controls, data loading and refresh,
// downloads, empty states. Drawing is the TimelineView's.
// (Over 400 lines: the tab's controls share its state; the logic they call is in model/.)

import { h, replaceChildren, isolated, isolatedText } from "./dom.js";
import { TimelineView } from "./view.js";
import { normalizeTimeline, isDownsampled } from "../api/timeline.js";
import {
  DOWNSAMPLE,
  fetchText,
  fetchJson,
  fetchTimeline,
  sameBytes,
  runsUrl,
  timelineUrl,
  replayUrl,
  scalarTagsUrl,
  scalarUrl,
  parseRuns,
  exportUrl,
} from "../api/client.js";
import { isTailOf, mergeTail } from "../api/merge.js";
import { runColor } from "../model/colors.js";
import { formatCount } from "./format.js";
import { isDark, themeFor, watchTheme } from "./theme.js";
import { listenForReload } from "./host.js";
import { afterPaint } from "./paint.js";
import { mountFinder } from "./finder.js";

const REFRESH_MS = 30000;
const STORAGE_KEY = "lr_timeline.settings.v1";
const NO_EPOCHS = "A selected run has no epoch records yet";
const KERAS_ONLY_AXIS = "Logs written by Keras' TensorBoard callback alone have one point per epoch, no steps or times";
const NO_TIMES = "A selected run has no start and end times in its epoch records (logs of an older lr_plugin)";

function loadSettings() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "{}");
    return stored && typeof stored === "object" ? stored : {};
  } catch (error) {
    return {};
  }
}

function saveSettings(settings) {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(settings));
  } catch (error) {
    // Storage can be off (private mode, sandbox); settings then last for the page.
  }
}

function scalarKey(run, scalarRun, tag) {
  return `scalar\u0000${run}\u0000${scalarRun}\u0000${tag}`;
}

export class App {
  constructor(root) {
    this.root = root;
    const stored = loadSettings();
    this.axis = stored.axis === "epoch" || stored.axis === "time" ? stored.axis : "step";
    this.scale = stored.scale === "linear" ? "linear" : "log";
    this.lossAxis = stored.lossAxis === "all" ? "all" : "robust";
    this.storedRuns = Array.isArray(stored.runs) ? stored.runs.map(String) : null;
    this.runs = []; // [{run, name, ...}] from ./runs
    this.colorIndex = new Map(); // run -> its colour's index, given once: a run keeps its colour
    this.filter = ""; // the run list's filter, a regular expression as TensorBoard's run selector takes
    this.selected = []; // run ids, in the order of this.runs
    this.focusRun = null;
    this.loaded = new Map(); // run -> {timeline, since, bytes, receivedAt}: bytes answered to since
    this.reloads = []; // [{run, reason}]: why a refresh reloaded a whole run rather than its tail
    this.dark = isDark();
    this.refreshing = null;
    this.scalarTags = { run: null, scalars: [] }; // /scalar_tags of the focus run
    this.scalarPicks = []; // [{key, run, scalarRun, tag, alignment, points}]: extra tracks
    this.view = new TimelineView({
      onFocusRun: (run) => this.setFocus(run),
      replay: (run, params) => fetchJson(replayUrl(run, params)),
      onRemoveScalar: (key) => this.removeScalar(key),
    });
    this.finder = mountFinder(); // the focused run's LR range tests, under the timeline
    this.buildDom();
  }

  buildDom() {
    this.runsEl = h("div", { class: "lrt-runs", testid: "run-selector", role: "group", "aria-label": "Runs" });
    this.filterEl = h("input", {
      type: "search",
      class: "lrt-run-filter",
      testid: "run-filter",
      placeholder: "Filter runs (regex)",
      "aria-label": "Filter runs by a regular expression",
      spellcheck: "false",
      oninput: () => this.setFilter(this.filterEl.value),
    });
    this.runCountEl = h("span", { class: "lrt-run-count", testid: "run-count", "aria-live": "polite" });
    const segmented = (testid, label, options, current, onChange) => {
      const group = h("div", { class: "lrt-segmented", role: "group", "aria-label": label, testid });
      group.setAttribute("data-value", current);
      for (const [value, text] of options) {
        group.append(
          h("button", {
            type: "button",
            testid: `${testid.split("-")[0]}-${value}`,
            "data-value": value,
            "aria-pressed": String(value === current),
            text,
            onclick: () => onChange(value),
          }),
        );
      }
      return group;
    };
    this.axisSwitch = segmented(
      "axis-switch",
      "x axis",
      [["step", "Step"], ["epoch", "Epoch"], ["time", "Time"]],
      this.axis,
      (value) => this.setAxis(value),
    );
    this.scaleToggle = segmented(
      "scale-toggle",
      "Learning-rate scale",
      [["log", "Log"], ["linear", "Linear"]],
      this.scale,
      (value) => this.setScale(value),
    );
    this.lossAxisToggle = segmented(
      "lossaxis-toggle",
      "Loss axis: leave a diverged series' outliers above it (named in a note), or fit every point",
      [["robust", "Ignore outliers"], ["all", "Every point"]],
      this.lossAxis,
      (value) => this.setLossAxis(value),
    );
    this.focusSelect = h("select", {
      class: "lrt-select",
      testid: "focus-run",
      "aria-label": "Run the what-if panel and the LR range test show",
      onchange: () => this.setFocus(this.focusSelect.value),
    });
    this.focusField = h("label", { class: "lrt-field", hidden: true }, h("span", { text: "Focus" }), this.focusSelect);
    this.jsonButton = h("button", {
      type: "button",
      class: "lrt-button",
      testid: "download-json",
      title: "Download every point and record of the selected runs as JSON (what lr-plugin export writes)",
      text: "JSON",
      onclick: () => this.downloadExport("json"),
    });
    this.csvButton = h("button", {
      type: "button",
      class: "lrt-button",
      testid: "download-csv",
      title: "Download the learning rates of the selected runs as CSV (run,optimizer,step,learning_rate), as lr-plugin export writes it",
      text: "CSV",
      onclick: () => this.downloadExport("csv"),
    });
    this.scalarSelect = h("select", {
      class: "lrt-select",
      testid: "scalar-picker",
      "aria-label": "Add a scalar track",
      onchange: () => this.addScalar(this.scalarSelect.value),
    });
    this.scalarField = h("label", { class: "lrt-field", hidden: true }, h("span", { text: "Add track" }), this.scalarSelect);
    this.controlsEl = h(
      "div",
      { class: "lrt-controls" },
      this.scalarField,
      h("div", { class: "lrt-field" }, h("span", { text: "X axis" }), this.axisSwitch),
      h("div", { class: "lrt-field" }, h("span", { text: "Rate scale" }), this.scaleToggle),
      h("div", { class: "lrt-field" }, h("span", { text: "Loss axis" }), this.lossAxisToggle),
      this.focusField,
      h("div", { class: "lrt-field" }, h("span", { text: "Download" }), this.jsonButton, this.csvButton),
    );
    this.toolbarEl = h(
      "header",
      { class: "lrt-toolbar" },
      h(
        "div",
        { class: "lrt-field lrt-runs-field" },
        h("span", { text: "Runs" }),
        h("div", { class: "lrt-runs-box" }, h("div", { class: "lrt-runs-head" }, this.filterEl, this.runCountEl), this.runsEl),
      ),
      this.controlsEl,
    );
    this.statusEl = h("div", { class: "lrt-status", testid: "status", "aria-live": "polite" });
    this.errorEl = h("div", { class: "lrt-error", testid: "error", role: "alert", hidden: true });
    this.mainEl = h(
      "main",
      { class: "lrt-main" },
      h("div", { class: "lrt-empty lrt-loading", testid: "loading", text: "Loading runs\u2026" }),
    );
    replaceChildren(this.root, this.toolbarEl, this.errorEl, this.statusEl, this.mainEl);
    this.applyTheme();
  }

  applyTheme() {
    this.root.classList.toggle("lrt-dark", this.dark);
    document.documentElement.classList.toggle("lrt-dark", this.dark);
  }

  async start() {
    watchTheme((dark) => {
      this.dark = dark;
      this.applyTheme();
      this.draw();
    });
    listenForReload(() => this.refresh());
    await this.refresh();
    const interval = Number(window.__lrTimelineRefreshMs) || REFRESH_MS;
    this.timer = setInterval(() => this.refresh(), interval);
  }

  /** Fetches runs and the selected runs' timelines; redraws only what changed. */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.load()
        .catch((error) => this.showError(error))
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  async load() {
    const runs = parseRuns(await fetchText(runsUrl()));
    const runsChanged = JSON.stringify(runs) !== JSON.stringify(this.runs);
    if (runsChanged) this.setRuns(runs);
    let changed = await this.fetchSelected();
    changed = (await this.fetchScalars(changed)) || changed;
    this.hideError();
    if (runsChanged || changed || !this.drawn) await this.draw();
  }

  setRuns(runs) {
    const known = new Set(runs.map((run) => run.run));
    const previous = this.runs.length ? this.selected : this.storedRuns;
    this.runs = runs;
    for (const run of runs) if (!this.colorIndex.has(run.run)) this.colorIndex.set(run.run, this.colorIndex.size);
    let selected = (previous || []).filter((run) => known.has(run));
    if (!selected.length) {
      // The first run with plateau decisions shows the most; else the first run.
      const first = runs.find((run) => run.has_plateau) || runs[0];
      selected = first ? [first.run] : [];
    }
    this.selected = this.inRunOrder(selected);
    if (!this.selected.includes(this.focusRun)) this.focusRun = this.selected[0] || null;
    for (const run of [...this.loaded.keys()]) if (!known.has(run)) this.loaded.delete(run);
    this.renderRunSelector();
  }

  inRunOrder(selected) {
    const wanted = new Set(selected);
    return this.runs.map((run) => run.run).filter((run) => wanted.has(run));
  }

  renderRunSelector() {
    const theme = themeFor(this.dark);
    replaceChildren(
      this.runsEl,
      this.runs.map((run) => {
        const checkbox = h("input", {
          type: "checkbox",
          testid: "run-checkbox",
          onchange: () => this.toggleRun(run.run, checkbox.checked),
        });
        checkbox.value = run.run;
        checkbox.checked = this.selected.includes(run.run);
        const swatch = h("span", {
          class: "lrt-run-swatch",
          style: { background: runColor(theme, this.colorIndex.get(run.run)) },
        });
        const tags = [];
        if (run.has_plateau) tags.push(h("span", { class: "lrt-run-tag", text: "plateau" }));
        if (run.keras_only) {
          tags.push(h("span", { class: "lrt-run-tag", text: "Keras only" }));
        }
        return h(
          "label",
          { class: "lrt-run", title: run.run, testid: "run-option", "data-run": run.run },
          checkbox,
          swatch,
          h("span", { class: "lrt-run-name" }, isolated(run.name || run.run)),
          tags,
        );
      }),
    );
    this.applyFilter();
    this.renderFocusSelect();
  }

  setFilter(text) {
    this.filter = text;
    this.applyFilter();
  }

  /**
   * Shows the runs whose name (or run path) matches the filter, a case-insensitive
   * regular expression; selected runs stay selected while hidden.
   */
  applyFilter() {
    let pattern = null;
    let problem = null;
    try {
      pattern = this.filter ? new RegExp(this.filter, "i") : null;
    } catch (error) {
      problem = `Not a regular expression: ${error.message}. Showing every run.`;
    }
    this.filterEl.setAttribute("aria-invalid", String(problem !== null));
    this.filterEl.title = problem || "Runs whose name matches this regular expression (case-insensitive)";
    let shown = 0;
    for (const option of this.runsEl.children) {
      const run = this.runInfo(option.getAttribute("data-run"));
      const match = !pattern || pattern.test(run.name || run.run) || pattern.test(run.run);
      option.hidden = !match;
      if (match) shown++;
    }
    const selected = this.selected.length;
    this.runCountEl.textContent =
      shown === this.runs.length
        ? `${this.runs.length} runs \u00b7 ${selected} selected`
        : `${shown} of ${this.runs.length} runs shown \u00b7 ${selected} selected`;
  }

  renderFocusSelect() {
    const options = this.selected.map((run) => {
      const option = h("option", { text: isolatedText(this.runInfo(run).name || run) });
      option.value = run;
      return option;
    });
    replaceChildren(this.focusSelect, options);
    if (this.focusRun) this.focusSelect.value = this.focusRun;
    this.focusField.hidden = this.selected.length < 2;
  }

  runInfo(run) {
    return this.runs.find((candidate) => candidate.run === run) || { run, name: run };
  }

  async toggleRun(run, checked) {
    const selected = checked ? [...this.selected, run] : this.selected.filter((other) => other !== run);
    this.selected = this.inRunOrder(selected);
    if (!this.selected.includes(this.focusRun)) this.focusRun = this.selected[0] || null;
    if (checked && !this.focusRun) this.focusRun = run;
    this.persist();
    this.renderFocusSelect();
    this.applyFilter();
    try {
      await this.fetchSelected();
      await this.fetchScalars(false);
      this.hideError();
    } catch (error) {
      this.showError(error);
    }
    await this.draw();
  }

  setFocus(run) {
    if (!this.selected.includes(run)) return;
    this.focusRun = run;
    this.focusSelect.value = run;
    this.fetchScalars(false)
      .catch((error) => this.showError(error))
      .then(() => this.draw());
  }

  /**
   * The focus run's scalar tags (when the focus changed) and the picked series (when
   * a timeline changed: a run still training has new points). True when anything changed.
   */
  async fetchScalars(timelinesChanged) {
    const run = this.focusRun;
    const info = run ? this.runInfo(run) : null;
    let changed = false;
    if (!run || info.keras_only) {
      changed = this.scalarTags.run !== null || this.scalarPicks.length > 0;
      this.scalarTags = { run: null, scalars: [] };
      this.scalarPicks = [];
    } else if (this.scalarTags.run !== run) {
      // Extra tracks are optional: a server without /scalar_tags leaves the picker hidden.
      const body = await fetchJson(scalarTagsUrl(run)).catch(() => ({ scalars: [] }));
      this.scalarTags = { run, scalars: Array.isArray(body.scalars) ? body.scalars : [] };
      this.scalarPicks = this.scalarPicks.filter((pick) => pick.run === run);
      changed = true;
    } else if (timelinesChanged) {
      for (const pick of this.scalarPicks) {
        pick.points = (await fetchJson(scalarUrl(pick.run, pick.scalarRun, pick.tag))).points || [];
      }
      changed = this.scalarPicks.length > 0;
    }
    this.renderScalarPicker();
    return changed;
  }

  renderScalarPicker() {
    const picked = new Set(this.scalarPicks.map((pick) => pick.key));
    const options = [h("option", { value: "", text: "Scalar\u2026" })];
    this.scalarTags.scalars.forEach((scalar, index) => {
      const key = scalarKey(this.scalarTags.run, scalar.run, scalar.tag);
      if (picked.has(key)) return;
      const leaf = String(scalar.run).split("/").pop();
      const option = h("option", { text: `${isolatedText(scalar.tag)} (${isolatedText(leaf)})` });
      option.value = String(index);
      option.setAttribute("data-tag", scalar.tag);
      option.setAttribute("data-scalar-run", scalar.run);
      options.push(option);
    });
    replaceChildren(this.scalarSelect, options);
    this.scalarSelect.value = "";
    this.scalarField.hidden = this.scalarTags.scalars.length === 0;
  }

  /** Adds the picked scalar (its index in /scalar_tags) as a track under the others. */
  async addScalar(index) {
    const scalar = this.scalarTags.scalars[Number(index)];
    const run = this.scalarTags.run;
    if (index === "" || !scalar || !run) return;
    try {
      const body = await fetchJson(scalarUrl(run, scalar.run, scalar.tag));
      const key = scalarKey(run, scalar.run, scalar.tag);
      if (!this.scalarPicks.some((pick) => pick.key === key)) {
        this.scalarPicks.push({
          key,
          run,
          scalarRun: scalar.run,
          tag: scalar.tag,
          alignment: body.alignment || scalar.alignment,
          points: body.points || [],
        });
      }
      this.hideError();
    } catch (error) {
      this.showError(error);
    }
    this.renderScalarPicker();
    await this.draw();
  }

  removeScalar(key) {
    this.scalarPicks = this.scalarPicks.filter((pick) => pick.key !== key);
    this.renderScalarPicker();
    this.draw();
  }

  setAxis(axis) {
    this.axis = axis;
    this.markPressed(this.axisSwitch, axis);
    this.persist();
    this.draw();
  }

  setScale(scale) {
    this.scale = scale;
    this.markPressed(this.scaleToggle, scale);
    this.persist();
    this.draw();
  }

  setLossAxis(lossAxis) {
    this.lossAxis = lossAxis;
    this.markPressed(this.lossAxisToggle, lossAxis);
    this.persist();
    this.draw();
  }

  markPressed(group, value) {
    group.setAttribute("data-value", value);
    for (const button of group.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-value") === value));
    }
  }

  persist() {
    saveSettings({ axis: this.axis, scale: this.scale, lossAxis: this.lossAxis, runs: this.selected });
  }

  /**
   * Fetches the selected runs' timelines; true when any of them changed.
   *
   * A run already held is refreshed by its tail (`since` its last step), merged into
   * what is held; when the tail does not add up (a new session superseded held steps,
   * the run shrank, see api/merge.js) or the server ignores `since`, the whole run.
   */
  async fetchSelected() {
    let changed = false;
    await Promise.all(
      this.selected.map(async (run) => {
        if (await this.fetchRun(run)) changed = true;
      }),
    );
    return changed;
  }

  /** Refreshes one run; true when what it holds changed. */
  async fetchRun(run) {
    const held = this.loaded.get(run);
    const since = held ? held.timeline.last_step : null;
    const { raw, bytes } = await fetchTimeline(timelineUrl(run, DOWNSAMPLE, since));
    if (held && held.since === since && sameBytes(held.bytes, bytes)) return false;
    let timeline = normalizeTimeline(raw);
    if (since !== null && isTailOf(timeline, since)) {
      const merged = mergeTail(held.timeline, timeline, 2 * DOWNSAMPLE);
      if (merged.reload) {
        this.reloads.push({ run, reason: merged.reload });
        const whole = await fetchTimeline(timelineUrl(run));
        timeline = normalizeTimeline(whole.raw);
        this.loaded.set(run, { timeline, since: null, bytes: whole.bytes, receivedAt: performance.now() });
        return true;
      }
      timeline = merged.timeline;
    }
    this.loaded.set(run, { timeline, since, bytes, receivedAt: performance.now() });
    return true;
  }

  /** Draws the current state; resolves after the browser painted it. */
  async draw() {
    this.toolbarEl.hidden = !this.runs.length;
    if (!this.runs.length) {
      this.showNoRuns();
      return;
    }
    const theme = themeFor(this.dark);
    const entries = [];
    let receivedAt = 0;
    for (const run of this.selected) {
      const loaded = this.loaded.get(run);
      if (!loaded) continue;
      receivedAt = Math.max(receivedAt, loaded.receivedAt);
      entries.push({
        run,
        name: this.runInfo(run).name || run,
        timeline: loaded.timeline,
        colorIndex: this.colorIndex.get(run) ?? 0,
      });
    }
    if (!entries.length) {
      replaceChildren(
        this.mainEl,
        h("div", { class: "lrt-empty", testid: "empty-no-selection", text: "Select a run above to see its learning rate." }),
      );
      this.statusEl.textContent = "";
      this.drawn = true;
      return;
    }
    if (this.view.el.parentNode !== this.mainEl) replaceChildren(this.mainEl, this.view.el);
    this.renderRunSelectorColors(theme);
    const start = receivedAt || performance.now();
    this.view.update(
      entries,
      { axis: this.axis, scale: this.scale, lossAxis: this.lossAxis, focusRun: this.focusRun, scalars: this.scalarPicks },
      theme,
    );
    this.finder.show(this.mainEl, this.focusRun, this.dark);
    const model = this.view.model;
    const stepButton = this.axisSwitch.querySelector('[data-value="step"]');
    stepButton.disabled = !model.stepAxisAvailable;
    stepButton.title = model.stepAxisAvailable ? "Place every point by optimizer step" : KERAS_ONLY_AXIS;
    const epochButton = this.axisSwitch.querySelector('[data-value="epoch"]');
    epochButton.disabled = !model.epochAxisAvailable;
    epochButton.title = model.epochAxisAvailable ? "Place every point by epoch" : NO_EPOCHS;
    const timeButton = this.axisSwitch.querySelector('[data-value="time"]');
    timeButton.disabled = !model.timeAxisAvailable;
    timeButton.title = model.timeAxisAvailable
      ? "Place every point by wall time since its run's first epoch started"
      : model.timeUnavailable === "no-times"
        ? NO_TIMES
        : model.timeUnavailable === "keras-only"
          ? KERAS_ONLY_AXIS
          : NO_EPOCHS;
    this.renderStatus(entries, this.axis !== "step" && model.axisName === "step" ? this.axis : null);
    if (model.axisName !== this.axis && !model.stepAxisAvailable) {
      this.statusEl.prepend(`Shown by epoch: ${KERAS_ONLY_AXIS.charAt(0).toLowerCase()}${KERAS_ONLY_AXIS.slice(1)}. `);
    }
    this.drawn = true;
    await afterPaint();
    window.__lrTimelinePaintMs = performance.now() - start;
  }

  renderRunSelectorColors(theme) {
    for (const option of this.runsEl.children) {
      const swatch = option.querySelector(".lrt-run-swatch");
      if (swatch) swatch.style.background = runColor(theme, this.colorIndex.get(option.getAttribute("data-run")) ?? 0);
    }
  }

  /** fallback: the axis asked for ("epoch" or "time") when the runs are shown by step instead. */
  renderStatus(entries, fallback) {
    const parts = [];
    if (fallback) {
      const why = fallback === "time" && this.view.model.timeUnavailable === "no-times" ? NO_TIMES : NO_EPOCHS;
      parts.push(`Shown by step: ${why.charAt(0).toLowerCase()}${why.slice(1)}`);
    }
    for (const entry of entries) {
      const timeline = entry.timeline;
      if (!isDownsampled(timeline)) continue;
      for (const [name, total] of Object.entries(timeline.points)) {
        const shown = timeline.learning_rate[name] ? timeline.learning_rate[name].steps.length : 0;
        if (total > shown) {
          parts.push([isolated(entry.name), ` \u00b7 `, isolated(name), `: ${formatCount(shown)} of ${formatCount(total)} points shown`]);
        }
      }
    }
    const downsampled = parts.length > (fallback ? 1 : 0);
    replaceChildren(
      this.statusEl,
      parts.map((part, index) => (index ? ["; ", part] : part)),
      downsampled ? " (downloads hold every point)" : "",
    );
  }

  showNoRuns() {
    this.statusEl.textContent = "";
    replaceChildren(
      this.mainEl,
      h(
        "div",
        { class: "lrt-empty lrt-empty-main", testid: "empty-no-runs" },
        h("h2", { text: "No learning-rate data yet" }),
        h(
          "p",
          {},
          "Add ",
          h("code", { text: "lr_plugin.callbacks.LearningRateMonitor(log_dir=...)" }),
          " to the callbacks of ",
          h("code", { text: "fit()" }),
          ", with the same log directory you pass to TensorBoard:",
        ),
        h(
          "pre",
          { text: [
            "from lr_plugin.callbacks import LearningRateMonitor",
            "",
            "model.fit(x, y, epochs=20,",
            '          callbacks=[LearningRateMonitor(log_dir="logs/run1")])',
            "",
            "# then: tensorboard --logdir logs",
          ].join("\n") },
        ),
        h("p", { class: "lrt-muted", text: "This page checks for new runs every 30 seconds and when TensorBoard reloads." }),
      ),
    );
    this.drawn = true;
  }

  showError(error) {
    this.errorEl.hidden = false;
    this.errorEl.textContent = `Could not load the learning-rate data: ${error && error.message ? error.message : error}`;
  }

  hideError() {
    this.errorEl.hidden = true;
    this.errorEl.textContent = "";
  }

  /** The selected runs as `lr-plugin export` writes them, from the server's /export. */
  downloadExport(format) {
    if (!this.selected.length) return;
    const link = h("a", { href: exportUrl(this.selected, format), download: "", hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
  }
}
