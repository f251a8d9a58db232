// What the markers' tooltips say: a reduction (the decision that made it) and a rate
// event. Every name in them is isolated (see model/label.js).

import { h, isolated, labelNodes } from "./dom.js";
import { label, named } from "../model/label.js";
import { formatCount, formatDuration, formatKerasEpoch, formatValue } from "./format.js";
import { EVENT_KINDS } from "../api/contract.js";

/** The contents of a reduction marker's tooltip. */
export function reductionTooltip(marker, axisName) {
  const { reduction } = marker;
  const several = reduction.rates.length > 1;
  const rateRows = reduction.rates.map((rate, index) => {
    const factor =
      Number.isFinite(rate.before) && Number.isFinite(rate.after) && rate.before > 0
        ? rate.after / rate.before
        : null;
    return [
      index === 0 ? "lr" : `lr-${index}`,
      several && rate.optimizer ? label("learning rate (", named(rate.optimizer), ")") : label("learning rate"),
      `${formatValue(rate.before)} \u2192 ${formatValue(rate.after)}${
        factor !== null ? ` (\u00d7${formatValue(factor)})` : ""
      }`,
    ];
  });
  const record = reduction.record || {};
  const rows = [
    ["epoch", label("Epoch"), formatKerasEpoch(reduction.epoch)],
    ["step", label("step"), reduction.step === null || reduction.step === undefined ? "\u2014" : formatCount(reduction.step)],
    ...rateRows,
    ["value", reduction.monitor ? label(named(reduction.monitor)) : label("monitored value"), formatValue(reduction.value)],
    ["best", label("best"), formatValue(reduction.best)],
    ["threshold", label("threshold to improve"), formatValue(record.threshold)],
    ["min_delta", label("min_delta"), formatValue(record.min_delta)],
    ["wait", label("wait / patience"), `${formatField(reduction.wait)} / ${formatField(reduction.patience)}`],
  ];
  if (axisName === "time") rows.splice(2, 0, ["time", label("time"), formatDuration(marker.x)]);
  return [
    h(
      "div",
      { class: "lrt-tooltip-title" },
      h("span", { class: "lrt-tooltip-dot", style: { background: marker.color } }),
      h("span", { text: "Learning rate reduced" }),
    ),
    h("div", { class: "lrt-tooltip-run" }, isolated(marker.runName)),
    h(
      "dl",
      {},
      rows.map(([field, name, text]) => [
        h("dt", {}, labelNodes(name)),
        h("dd", { "data-field": field, text }),
      ]),
    ),
  ];
}

/** The contents of a rate event's tooltip (lr_set, min_lr_reached). */
export function eventTooltip(marker, axisName) {
  const { event } = marker;
  const rows = [];
  event.rates.forEach((rate, index) => {
    const name = rate.optimizer ? label("learning rate (", named(rate.optimizer), ")") : label("learning rate");
    rows.push([index ? `lr-${index}` : "lr", name, formatValue(rate.lr)]);
    if (event.kind === EVENT_KINDS.LR_SET && rate.previous !== undefined) {
      const same = rate.previous === rate.lr;
      rows.push([index ? `previous-${index}` : "previous", label("before"), `${formatValue(rate.previous)}${same ? " (unchanged)" : ""}`]);
    }
  });
  if (event.kind === EVENT_KINDS.MIN_LR_REACHED) rows.push(["min_lr", label("min_lr"), formatValue(event.min_lr)]);
  if (axisName === "time") rows.push(["time", label("time"), formatDuration(marker.x)]);
  const title = event.kind === EVENT_KINDS.LR_SET ? "Learning rate set" : "Learning rate at min_lr";
  return [
    h(
      "div",
      { class: "lrt-tooltip-title" },
      h("span", { class: "lrt-tooltip-dot", style: { background: marker.color } }),
      h("span", { text: title }),
    ),
    h("div", { class: "lrt-tooltip-run" }, isolated(marker.runName)),
    h("p", { class: "lrt-tooltip-text", "data-field": "text" }, labelNodes(eventSentence(event))),
    rows.length
      ? h(
          "dl",
          {},
          rows.map(([field, name, text]) => [h("dt", {}, labelNodes(name)), h("dd", { "data-field": field, text })]),
        )
      : null,
  ];
}

/** What a rate event says, in one sentence (its tooltip, its button's label), as a label. */
export function eventSentence(event) {
  const where = `at Epoch ${formatKerasEpoch(event.epoch)}${
    event.step === null || event.step === undefined ? "" : ` (step ${formatCount(event.step)})`
  }`;
  const rates = event.rates;
  const one = rates.length === 1 ? formatValue(rates[0].lr) : null;
  if (event.kind === EVENT_KINDS.LR_SET) {
    const source = event.source ? named(event.source) : "The scheduler";
    return one !== null
      ? label(source, ` set the rate to ${one} ${where}`)
      : label(source, ` set the rates ${where}`);
  }
  return label(`The rate${rates.length > 1 ? "s" : ""} reached min_lr (${formatValue(event.min_lr)}) ${where}`);
}

function formatField(value) {
  return value === null || value === undefined ? "\u2014" : String(value);
}
