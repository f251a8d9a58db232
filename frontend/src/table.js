// The decision table: one row per epoch of ReduceLROnPlateau decisions,
// linked to the charts (hovering a row moves the cursor, clicking a marker
// selects its row).

import { h, replaceChildren } from "./dom.js";
import { formatCount, formatDelta, formatValue, DASH } from "./format.js";

const ACTION_TEXT = {
  improved: "improved",
  wait: "wait",
  cooldown: "cooldown",
  reduce: "reduce",
  at_min_lr: "at min_lr",
  missing_metric: "metric missing",
};

export class DecisionTable {
  /**
   * handlers: {onHover(row | null), onSelect(row)}
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.rows = [];
    this.rowElements = new Map(); // epoch -> <tr>
    this.highlighted = null;
    this.selected = null;
    this.signature = null;
    this.captionEl = h("div", { class: "lrt-table-caption" });
    this.bodyEl = h("tbody");
    this.headRow = h("tr");
    this.tableEl = h("table", { class: "lrt-table" }, h("thead", {}, this.headRow), this.bodyEl);
    this.scrollEl = h("div", { class: "lrt-table-scroll" }, this.tableEl);
    this.emptyEl = h("div", { class: "lrt-empty", hidden: true });
    this.el = h(
      "section",
      { class: "lrt-decisions", testid: "decision-table" },
      this.captionEl,
      this.scrollEl,
      this.emptyEl,
    );
  }

  showEmpty(testid, ...content) {
    this.rows = [];
    this.signature = null;
    this.rowElements.clear();
    this.scrollEl.hidden = true;
    this.emptyEl.hidden = false;
    this.emptyEl.setAttribute("data-testid", testid);
    replaceChildren(this.emptyEl, ...content);
    this.captionEl.textContent = "";
  }

  /**
   * rows: decisionRows() of the run, each with its x position added.
   * runName: shown in the caption. monitor: the monitored metric's name.
   */
  render(rows, runName, monitor) {
    this.scrollEl.hidden = false;
    this.emptyEl.hidden = true;
    replaceChildren(
      this.captionEl,
      h("span", { class: "lrt-table-title", text: "Plateau decisions" }),
      h("span", { class: "lrt-table-run", text: runName }),
      h("span", {
        class: "lrt-table-hint",
        text: "hover a row to find it on the chart \u00b7 click a reduction marker to jump here",
      }),
    );
    const signature = JSON.stringify([runName, monitor, rows]);
    if (signature === this.signature) return;
    this.signature = signature;
    const scrollTop = this.scrollEl.scrollTop;
    this.rows = rows;
    const columns = [
      ["Epoch", "Epoch (0-based)"],
      ["Step", "Last optimizer step of the epoch"],
      [monitor || "Monitored", "Value of the monitored metric at the end of the epoch"],
      ["Best", "Best value so far, after this epoch's decision"],
      ["\u0394 vs best", "Value minus the best it was compared against (best after the previous epoch)"],
      ["Wait", "Epochs without improvement, as compared with patience (a reduction then resets it to 0)"],
      ["Cooldown", "Epochs of cooldown left"],
      ["Action", "What ReduceLROnPlateau did"],
      ["Learning rate", "Rate before \u2192 after the decision"],
    ];
    replaceChildren(
      this.headRow,
      columns.map(([text, title]) => h("th", { scope: "col", title, text })),
    );
    this.rowElements.clear();
    const elements = rows.map((row) => {
      const tr = h(
        "tr",
        {
          testid: "decision-row",
          "data-epoch": row.epoch,
          "data-action": row.action || "",
          class: `lrt-row lrt-action-${cssName(row.action)}`,
          tabindex: "-1",
          onmouseenter: () => this.handlers.onHover(row),
          onmouseleave: () => this.handlers.onHover(null),
          onclick: () => this.handlers.onSelect(row),
        },
        h("td", { class: "lrt-num", text: row.epoch }),
        h("td", { class: "lrt-num", text: formatCount(row.step) }),
        h("td", { class: "lrt-num", "data-field": "value", text: formatValue(row.value) }),
        h("td", { class: "lrt-num", "data-field": "best", text: formatValue(row.best) }),
        h("td", { class: `lrt-num ${deltaClass(row)}`, "data-field": "delta", text: formatDelta(row.delta) }),
        h("td", { class: "lrt-num", "data-field": "wait", text: waitText(row) }),
        h("td", { class: "lrt-num", "data-field": "cooldown", text: cooldownText(row) }),
        h(
          "td",
          { "data-field": "action" },
          h("span", { class: "lrt-badge", text: ACTION_TEXT[row.action] || row.action || DASH }),
        ),
        h("td", { class: "lrt-num", "data-field": "lr", text: rateText(row) }),
      );
      this.rowElements.set(row.epoch, tr);
      return tr;
    });
    replaceChildren(this.bodyEl, elements);
    this.scrollEl.scrollTop = scrollTop;
    if (this.highlighted !== null) this.highlight(this.highlighted);
    if (this.selected !== null) this.select(this.selected, false);
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

function deltaClass(row) {
  if (row.delta === null || !Number.isFinite(row.delta) || row.delta === 0) return "";
  const better = row.mode === "max" ? row.delta > 0 : row.delta < 0;
  return better ? "lrt-better" : "lrt-worse";
}
