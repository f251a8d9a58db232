// The what-if panel: the run's recorded ReduceLROnPlateau settings, editable, replayed
// by the server (/replay) through Keras' or PyTorch's decision code; the answer is
// drawn by the view as a ghost over the recorded rate, wait and reductions.

import { h, replaceChildren, isolated } from "./dom.js";
import { WHATIF_SETTINGS, replayParams } from "../model/whatif.js";
import { formatKerasEpoch, formatValue } from "./format.js";

const DEBOUNCE_MS = 250;

export class WhatIfPanel {
  /**
   * handlers: {replay(run, params) -> Promise of the /replay body (rejects with the
   * route's message), onGhost(run, body | null): the view draws (or clears) the ghost}
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.run = null;
    this.recorded = null;
    this.token = 0;
    this.inputs = {};
    const fields = WHATIF_SETTINGS.map(([name, kind]) => {
      const input = h("input", {
        type: "number",
        class: "lrt-whatif-input",
        testid: `whatif-${name}`,
        step: kind === "int" ? "1" : "any",
        min: "0",
        "aria-label": name,
        oninput: () => this.schedule(),
      });
      this.inputs[name] = input;
      return h("label", { class: "lrt-field" }, h("span", { text: name }), input);
    });
    this.modeEl = h(
      "select",
      { class: "lrt-select", testid: "whatif-mode", "aria-label": "mode", onchange: () => this.schedule(0) },
      ...["min", "max", "auto"].map((mode) => h("option", { value: mode, text: mode })),
    );
    this.semanticsEl = h(
      "select",
      { class: "lrt-select", testid: "whatif-semantics", "aria-label": "Decision code", onchange: () => this.schedule(0) },
      h("option", { value: "keras", text: "Keras" }),
      h("option", { value: "pytorch", text: "PyTorch (torch.optim.lr_scheduler)" }),
    );
    this.thresholdEl = h(
      "select",
      { class: "lrt-select", testid: "whatif-threshold-mode", "aria-label": "PyTorch threshold_mode", onchange: () => this.schedule(0) },
      h("option", { value: "abs", text: "abs" }),
      h("option", { value: "rel", text: "rel" }),
    );
    this.thresholdField = h("label", { class: "lrt-field", hidden: true }, h("span", { text: "threshold_mode" }), this.thresholdEl);
    this.replayButton = h("button", {
      type: "button",
      class: "lrt-button",
      testid: "whatif-replay",
      text: "Replay",
            onclick: () => this.schedule(0),
    });
    this.clearButton = h("button", {
      type: "button",
      class: "lrt-button",
      testid: "whatif-clear",
      text: "Hide replay",
      hidden: true,
      onclick: () => this.clear(),
    });
    this.resetButton = h("button", {
      type: "button",
      class: "lrt-button",
      testid: "whatif-reset",
      text: "As recorded",
      onclick: () => this.reset(),
    });
    this.summaryEl = h("div", { class: "lrt-whatif-summary", testid: "whatif-summary", "aria-live": "polite" });
    this.errorEl = h("div", { class: "lrt-error lrt-whatif-error", testid: "whatif-error", role: "alert", hidden: true });
    this.titleEl = h("h3", { class: "lrt-track-title" });
    this.el = h(
      "section",
      { class: "lrt-whatif", testid: "whatif-panel", hidden: true },
      h("header", { class: "lrt-track-head" }, this.titleEl),
      h(
        "div",
        { class: "lrt-whatif-form" },
        fields,
        h("label", { class: "lrt-field" }, h("span", { text: "mode" }), this.modeEl),
        h("label", { class: "lrt-field" }, h("span", { text: "Semantics" }), this.semanticsEl),
        this.thresholdField,
        this.replayButton,
        this.resetButton,
        this.clearButton,
      ),
      this.errorEl,
      this.summaryEl,
    );
  }

  /**
   * Shows the panel for a run with plateau decisions (null: hides it). A new run starts
   * with its recorded settings (recorded: those of its last plateau record) and no ghost:
   * the ghost is drawn once the user replays (the button, or an edit).
   */
  show(run, runName, scheduled = false, recorded = null) {
    this.scheduled = scheduled;
    if (!run) {
      this.el.hidden = true;
      this.clear();
      this.run = null;
      return;
    }
    this.el.hidden = false;
    replaceChildren(this.titleEl, "What if: replay ", h("strong", {}, isolated(runName)), "'s ReduceLROnPlateau with other settings");
    if (run === this.run) return;
    this.clear();
    this.run = run;
    this.recorded = recorded;
    this.semanticsEl.value = "keras";
    this.thresholdField.hidden = true;
    this.fill(recorded || {});
  }

  /** Drops the ghost and the answer shown (a replay in flight is ignored). */
  clear() {
    clearTimeout(this.timer);
    this.token++;
    this.active = false;
    this.errorEl.hidden = true;
    this.el.removeAttribute("data-state");
    this.el.removeAttribute("aria-busy");
    replaceChildren(this.summaryEl, "Change a setting or press Replay.");
    this.clearButton.hidden = true;
    if (this.run !== null) this.handlers.onGhost(this.run, null);
  }

  reset() {
    this.semanticsEl.value = "keras";
    this.thresholdField.hidden = true;
    this.fill(this.recorded || {});
    this.schedule(0);
  }

  fill(settings) {
    if (!settings) return;
    for (const [name] of WHATIF_SETTINGS) {
      const value = settings[name];
      this.inputs[name].value = value === null || value === undefined ? "" : String(value);
    }
    if (settings.mode) this.modeEl.value = settings.mode;
  }

  schedule(delay = DEBOUNCE_MS) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.replay(), delay);
  }

  async replay() {
    const run = this.run;
    if (!run) return;
    this.active = true;
    this.clearButton.hidden = false;
    const token = ++this.token;
    const semantics = this.semanticsEl.value;
    this.thresholdField.hidden = semantics !== "pytorch";
    const edited = {};
    for (const [name] of WHATIF_SETTINGS) edited[name] = this.inputs[name].value;
    edited.mode = this.modeEl.value;
    const params = replayParams(edited, this.recorded, semantics, this.thresholdEl.value);
    this.el.setAttribute("aria-busy", "true");
    try {
      const body = await this.handlers.replay(run, params);
      if (token !== this.token) return;
      if (!this.recorded) this.recorded = body.recorded_settings || null;
      this.errorEl.hidden = true;
      this.renderSummary(body);
      this.handlers.onGhost(run, body);
    } catch (error) {
      if (token !== this.token) return;
      this.errorEl.hidden = false;
      this.errorEl.textContent = error && error.message ? error.message : String(error);
      replaceChildren(this.summaryEl);
      this.el.removeAttribute("data-state");
      this.handlers.onGhost(run, null);
    } finally {
      if (token === this.token) this.el.removeAttribute("aria-busy");
    }
  }

  renderSummary(body) {
    const replayed = (body.reductions && body.reductions.replayed) || [];
    const recorded = (body.reductions && body.reductions.recorded) || [];
    // On a schedule the replay's rates are not the schedule's (it starts from the first
    // epoch's rate): only its decisions are shown.
    // A scheduled run's replay that did not follow the schedule draws no rate.
    const noRate = this.scheduled && !(body.rates && typeof body.rates === "object");
    const parted = noRate ? null : body.first_divergence;
    const list = (epochs, testid) =>
      epochs.length
        ? epochs.map((epoch, index) => [
            index ? ", " : "",
            h("span", { testid, "data-epoch": epoch, text: `Epoch ${formatKerasEpoch(epoch)}` }),
          ])
        : "none";
    const state = noRate ? "scheduled" : parted === null || parted === undefined ? "same" : "parted";
    this.el.setAttribute("data-state", state);
    this.el.setAttribute("data-semantics", body.semantics || "keras");
    replaceChildren(
      this.summaryEl,
      h("div", {}, "Reductions replayed: ", list(replayed, "whatif-reduction"), " \u00b7 recorded: ", list(recorded, "whatif-recorded")),
      noRate
        ? h("div", {
            testid: "whatif-schedule-note",
            text: "This replay does not follow the run's schedule (PyTorch's rules replay a constant rate): its decisions are shown, not a replayed rate.",
          })
        : parted === null || parted === undefined
        ? h("div", { testid: "whatif-divergence", "data-epoch": "", text: "The replay decides as the recording did." })
        : h(
            "div",
            { testid: "whatif-divergence", "data-epoch": parted },
            h("strong", { text: `From Epoch ${formatKerasEpoch(parted)} on, training would have gone another way` }),
            ": later replayed decisions rest on values it would not have seen.",
          ),
      h("div", { class: "lrt-muted", text: settingsText(body.settings) }),
    );
  }
}

function settingsText(settings) {
  if (!settings) return "";
  const parts = WHATIF_SETTINGS.map(([name]) => `${name}=${formatValue(settings[name])}`);
  return `Replayed with ${parts.join(", ")}${settings.monitor ? `, monitor=${settings.monitor}` : ""}.`;
}
