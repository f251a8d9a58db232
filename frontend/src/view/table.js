// The decision table: one row per epoch of ReduceLROnPlateau decisions,
// linked to the charts (hovering a row moves the cursor, clicking a marker
// selects its row).

import { h, replaceChildren, isolated } from "./dom.js";
import { formatCount, formatDelta, formatKerasEpoch, formatValue, DASH } from "./format.js";
import { PLATEAU_ACTIONS } from "../api/contract.js";

const ACTION_TEXT = {
  [PLATEAU_ACTIONS.IMPROVED]: "improved",
  [PLATEAU_ACTIONS.WAIT]: "wait",
  [PLATEAU_ACTIONS.COOLDOWN]: "cooldown",
  [PLATEAU_ACTIONS.REDUCE]: "reduce",
  [PLATEAU_ACTIONS.AT_MIN_LR]: "at min_lr",
  [PLATEAU_ACTIONS.MISSING_METRIC]: "metric missing",
};

const COLUMNS_AFTER_MONITOR = [
  ["Best", "Best value so far, after this epoch's decision"],
  ["\u0394 vs best", "Value minus the best it was compared against; green when it beat that best by more than min_delta (an improvement)"],
  ["Wait", "Epochs without improvement, as compared with patience (a reduction then resets it to 0)"],
  ["Cooldown", "Epochs of cooldown left"],
  ["Action", "What ReduceLROnPlateau did"],
  ["Learning rate", "Rate before \u2192 after the decision"],
];

/** A <td> (class, data-field and text; no listeners: the body listens for all rows). */
function cell(className, field, text) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (field) td.setAttribute("data-field", field);
  td.textContent = text;
  return td;
}

export class DecisionTable {
  /**
   * handlers: {onHover(row | null), onSelect(row)}
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.rows = [];
    this.rowElements = new Map(); // epoch -> <tr>
    this.rowOf = new WeakMap(); // <tr> -> row
    this.highlighted = null;
    this.selected = null;
    this.scrollToSelected = false; // a selection asked to scroll before its row was built
    this.stale = false; // new rows are on their way (the view builds them after a paint)
    this.hoveredEl = null;
    this.signature = null;
    this.captionEl = h("div", { class: "lrt-table-caption" });
    // One set of listeners for every row.
    this.bodyEl = h("tbody", {
      onmouseover: (event) => this.hover(event.target.closest("tr")),
      onmouseout: (event) => {
        const to = event.relatedTarget;
        if (this.hoveredEl && !(to && this.hoveredEl.contains(to))) this.hover(null);
      },
      onclick: (event) => {
        const row = this.rowOf.get(event.target.closest("tr"));
        if (row) this.handlers.onSelect(row);
      },
    });
    this.headRow = h("tr");
    this.tableEl = h("table", { class: "lrt-table" }, h("thead", {}, this.headRow), this.bodyEl);
    this.scrollEl = h("div", { class: "lrt-table-scroll" }, this.tableEl);
    this.el = h(
      "section",
      { class: "lrt-decisions", testid: "decision-table" },
      this.captionEl,
      this.scrollEl,
    );
  }

  /** The pointer entered a row (tr) or left the rows (null). */
  hover(tr) {
    const row = tr ? this.rowOf.get(tr) : undefined;
    const element = row ? tr : null;
    if (element === this.hoveredEl) return;
    if (this.hoveredEl) this.handlers.onHover(null);
    this.hoveredEl = element;
    if (row) this.handlers.onHover(row);
  }

  /**
   * rows: plateauRecords() of the run.
   * runName: shown in the caption. monitor: the monitored metric's name.
   */
  render(rows, runName, monitor) {
    this.stale = false;
    replaceChildren(
      this.captionEl,
      h("span", { class: "lrt-table-title", text: "Plateau decisions" }),
      h("span", { class: "lrt-table-run" }, isolated(runName)),
      h("span", {
        class: "lrt-table-hint",
        text: "hover a row to find it on the chart \u00b7 click a reduction marker to jump here",
      }),
    );
    const signature = JSON.stringify([runName, monitor, rows]);
    if (signature === this.signature) {
      this.applySelection();
      return;
    }
    this.signature = signature;
    // Reading scrollTop forces a layout: only a table that had rows can be scrolled.
    const scrollTop = this.rows.length ? this.scrollEl.scrollTop : 0;
    this.rows = rows;
    const columns = [
      ["Epoch", "Epoch N as Keras prints it (fit()'s progress bar, verbose messages)"],
      ["Step", "Last optimizer step of the epoch"],
      [monitor ? isolated(monitor) : "Monitored", "Value of the monitored metric at the end of the epoch"],
      ...COLUMNS_AFTER_MONITOR,
    ];
    replaceChildren(
      this.headRow,
      columns.map(([text, title]) => h("th", { scope: "col", title }, text)),
    );
    this.rowElements.clear();
    this.hoveredEl = null;
    const body = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement("tr");
      tr.className = `lrt-row lrt-action-${cssName(row.action)}`;
      tr.setAttribute("data-testid", "decision-row");
      tr.setAttribute("data-epoch", String(row.epoch));
      tr.setAttribute("data-action", row.action || "");
      tr.setAttribute("tabindex", "-1");
      const badge = document.createElement("span");
      badge.className = "lrt-badge";
      badge.textContent = ACTION_TEXT[row.action] || row.action || DASH;
      const action = cell(null, "action", "");
      action.append(badge);
      tr.append(
        cell("lrt-num", "epoch", formatKerasEpoch(row.epoch)),
        cell("lrt-num", null, formatCount(row.step)),
        cell("lrt-num", "value", formatValue(row.value)),
        cell("lrt-num", "best", formatValue(row.best)),
        deltaCell(row),
        cell("lrt-num", "wait", waitText(row)),
        cell("lrt-num", "cooldown", cooldownText(row)),
        action,
        cell("lrt-num", "lr", rateText(row)),
      );
      this.rowElements.set(row.epoch, tr);
      this.rowOf.set(tr, row);
      body.append(tr);
    }
    this.bodyEl.textContent = "";
    this.bodyEl.append(body);
    if (scrollTop) this.scrollEl.scrollTop = scrollTop;
    if (this.highlighted !== null) this.highlight(this.highlighted);
    this.applySelection();
  }

  /** Marks the selected row again, scrolling to it if a selection asked to before it existed. */
  applySelection() {
    const scroll = this.scrollToSelected;
    this.scrollToSelected = false;
    if (this.selected !== null) this.select(this.selected, scroll);
  }

  /** Marks the row under the chart cursor (null: none). */
  highlight(epoch) {
    if (this.highlightedEl) this.highlightedEl.classList.remove("lrt-hover");
    this.highlighted = epoch;
    this.highlightedEl = epoch === null ? null : this.rowElements.get(epoch) || null;
    if (this.highlightedEl) this.highlightedEl.classList.add("lrt-hover");
  }

  /** Selects a row and, when asked, scrolls it into view. */
  select(epoch, scroll = true) {
    for (const element of this.bodyEl.querySelectorAll(".lrt-selected")) {
      element.classList.remove("lrt-selected");
      element.removeAttribute("aria-selected");
    }
    this.selected = epoch;
    if (this.stale) {
      // The rows shown are about to be replaced: select (and scroll) in the new ones.
      this.scrollToSelected = this.scrollToSelected || scroll;
      return;
    }
    const element = this.rowElements.get(epoch);
    if (!element) return;
    element.classList.add("lrt-selected");
    element.setAttribute("aria-selected", "true");
    if (scroll) {
      const top = element.offsetTop - this.scrollEl.clientHeight / 2 + element.offsetHeight / 2;
      this.scrollEl.scrollTop = Math.max(0, top);
      element.scrollIntoView({ block: "nearest" });
    }
  }
}

function deltaCell(row) {
  const td = cell(`lrt-num ${deltaClass(row)}`, "delta", formatDelta(row.delta));
  const title = deltaTitle(row);
  if (title) td.title = title;
  td.setAttribute("data-beat-threshold", row.beatThreshold === null ? "" : String(row.beatThreshold));
  return td;
}

function cssName(action) {
  return String(action || "none").replace(/[^a-z_]/gi, "");
}

function waitText(row) {
  const wait = row.decisionWait;
  if (wait === null || wait === undefined || !Number.isFinite(wait)) return DASH;
  return row.patience === null || row.patience === undefined
    ? String(wait)
    : `${wait} / ${row.patience}`;
}

function cooldownText(row) {
  const left = row.cooldown_counter;
  if (left === null || left === undefined || !(left > 0)) return DASH;
  return `${left} left`;
}

function rateText(row) {
  const before = row.lr_before;
  const after = row.lr_after;
  if (before === null || before === undefined) return formatValue(after);
  if (after === null || after === undefined || after === before) return formatValue(before);
  return `${formatValue(before)} \u2192 ${formatValue(after)}`;
}

/** Green when the value beat the best by more than min_delta (the server's verdict). */
function deltaClass(row) {
  if (row.beatThreshold === true) return "lrt-better";
  if (row.beatThreshold !== false || row.delta === null || !Number.isFinite(row.delta)) return "";
  const direction = row.mode === "max" ? row.delta > 0 : row.delta < 0;
  return direction ? "lrt-short" : "lrt-worse";
}

function deltaTitle(row) {
  const minDelta = formatValue(row.min_delta);
  if (row.beatThreshold === true) return `Beat the best by more than min_delta (${minDelta}): an improvement`;
  if (row.beatThreshold === false) return `Did not beat the best by more than min_delta (${minDelta}): no improvement`;
  return "";
}
