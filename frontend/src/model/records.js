// The records of a run (plateau decisions, events) as the tracks and the table
// read them, with the facts the server derived from Keras' rule (plateau_view).
// Nothing here re-derives the rule: a fact the server did not send is not drawn.

import { toNumber, finiteInt } from "./numbers.js";
import { EVENT_KINDS, PLATEAU_ACTIONS } from "../api/contract.js";
import { metricColumns } from "../api/timeline.js";

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The metrics of a run as columns: the backend's `metrics`, else those inside the epoch records. */
export function runMetrics(timeline) {
  if (Object.keys(timeline.metrics).length) return timeline.metrics;
  const points = {};
  for (const record of timeline.epochs) {
    if (!isObject(record.metrics)) continue;
    for (const [name, value] of Object.entries(record.metrics)) {
      (points[name] = points[name] || []).push([record.epoch, record.last_step ?? null, value]);
    }
  }
  const metrics = {};
  for (const [name, list] of Object.entries(points)) metrics[name] = metricColumns(list);
  return metrics;
}

/**
 * The plateau records, with numbers parsed and sorted by epoch, each with the
 * server's facts about its decision (plateau_view.decisions):
 *
 * - `decisionWait`: the wait the decision compared with patience (the recorded
 *   `wait` is after the decision, which a reduction resets to 0);
 * - `delta`: the value minus the best it was compared with;
 * - `beatThreshold`: whether the value beat that best by more than min_delta.
 *
 * Without the server's facts (a timeline from an older server), `decisionWait` is
 * the recorded wait except for reductions (null), and `beatThreshold` is null.
 */
export function plateauRecords(timeline) {
  const factsByEpoch = new Map(); // epoch -> facts in order (a resumed run repeats epochs)
  for (const fact of timeline.plateau_view ? timeline.plateau_view.decisions : []) {
    const epoch = finiteInt(fact.epoch);
    if (!factsByEpoch.has(epoch)) factsByEpoch.set(epoch, []);
    factsByEpoch.get(epoch).push(fact);
  }
  return timeline.plateau
    .map((record) => {
      const epoch = finiteInt(record.epoch);
      const fact = (factsByEpoch.get(epoch) || []).shift() || null;
      const parsed = {
        ...record,
        epoch,
        step: finiteInt(record.step),
        value: toNumber(record.value),
        best: toNumber(record.best),
        best_before: toNumber(record.best_before),
        threshold: toNumber(record.threshold),
        min_delta: toNumber(record.min_delta),
        wait: toNumber(record.wait),
        wait_before: toNumber(record.wait_before),
        patience: toNumber(record.patience),
        cooldown: toNumber(record.cooldown),
        cooldown_counter: toNumber(record.cooldown_counter),
        lr_before: toNumber(record.lr_before),
        lr_after: toNumber(record.lr_after),
      };
      parsed.decisionWait = fact
        ? toNumber(fact.decision_wait)
        : parsed.action === PLATEAU_ACTIONS.REDUCE
          ? null
          : parsed.wait;
      parsed.delta = fact ? toNumber(fact.delta) : null;
      parsed.beatThreshold = fact && typeof fact.beat_threshold === "boolean" ? fact.beat_threshold : null;
      return parsed;
    })
    .filter((record) => record.epoch !== null)
    .sort((a, b) => a.epoch - b.epoch);
}

function eventRecords(timeline) {
  return timeline.events
    .map((event) => ({
      ...event,
      epoch: finiteInt(event.epoch),
      step: finiteInt(event.step),
      lr_before: toNumber(event.lr_before),
      lr_after: toNumber(event.lr_after),
      value: toNumber(event.value),
      best: toNumber(event.best),
      wait: toNumber(event.wait),
      patience: toNumber(event.patience),
      until_epoch: finiteInt(event.until_epoch),
      lr: toNumber(event.lr),
      min_lr: toNumber(event.min_lr),
    }))
    .sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || (a.epoch ?? -1) - (b.epoch ?? -1));
}

/**
 * The learning-rate reductions of a run, one per epoch-end, each with the plateau
 * decision that made it.
 *
 * From `reduce` events (one per optimizer: merged into `rates`); a run that has
 * plateau records but no reduce events gets them from records whose action is
 * "reduce". Returns [{epoch, step, rates: [{optimizer, before, after}], value,
 * best, wait, patience, monitor, record}].
 */
export function reductions(timeline) {
  const records = plateauRecords(timeline);
  const byEpoch = new Map(records.map((record) => [record.epoch, record]));
  const events = eventRecords(timeline).filter((event) => event.kind === EVENT_KINDS.REDUCE);
  const result = [];
  const byPlace = new Map();
  const pick = (...values) => values.find((value) => value !== null && value !== undefined) ?? null;
  if (events.length) {
    for (const event of events) {
      const place = `${event.epoch}:${event.step}`;
      const record = event.epoch === null ? null : byEpoch.get(event.epoch) || null;
      let reduction = byPlace.get(place);
      if (!reduction) {
        reduction = {
          epoch: event.epoch,
          step: pick(event.step, record && record.step),
          rates: [],
          value: pick(event.value, record && record.value),
          best: pick(event.best, record && record.best),
          wait: pick(event.wait, record && record.decisionWait),
          patience: pick(event.patience, record && record.patience),
          monitor: pick(event.monitor, record && record.monitor),
          record,
        };
        byPlace.set(place, reduction);
        result.push(reduction);
      }
      reduction.rates.push({
        optimizer: typeof event.optimizer === "string" ? event.optimizer : null,
        before: event.lr_before,
        after: event.lr_after,
      });
    }
    return result;
  }
  return records
    .filter((record) => record.action === PLATEAU_ACTIONS.REDUCE)
    .map((record) => ({
      epoch: record.epoch,
      step: record.step,
      rates: [{ optimizer: null, before: record.lr_before, after: record.lr_after }],
      value: record.value,
      best: record.best,
      wait: record.decisionWait,
      patience: record.patience,
      monitor: record.monitor ?? null,
      record,
    }));
}

/**
 * The rate events drawn as small markers on the rate track: `lr_set` (a scheduler set
 * the rate, at the first step of the epoch it applies to) and `min_lr_reached` (a
 * reduction reached min_lr, at the end of the epoch).
 *
 * Events of one kind at one place (one per optimizer) are merged. Returns [{kind,
 * epoch, step, source, min_lr, changed, rates: [{optimizer, lr, previous}]}], in step
 * order; `previous` is the rate the optimizer's last lr_set set (undefined: none), and
 * `changed` tells whether any rate differs from it.
 */
export function rateEvents(timeline) {
  const result = [];
  const byPlace = new Map();
  const lastSet = new Map(); // optimizer -> the rate its last lr_set set
  for (const event of eventRecords(timeline)) {
    if (event.kind !== EVENT_KINDS.LR_SET && event.kind !== EVENT_KINDS.MIN_LR_REACHED) continue;
    if (event.epoch === null && event.step === null) continue;
    const place = `${event.kind}:${event.epoch}:${event.step}`;
    let marker = byPlace.get(place);
    if (!marker) {
      marker = {
        kind: event.kind,
        epoch: event.epoch,
        step: event.step,
        source: typeof event.source === "string" && event.source ? event.source : null,
        min_lr: event.min_lr,
        changed: event.kind !== EVENT_KINDS.LR_SET,
        rates: [],
      };
      byPlace.set(place, marker);
      result.push(marker);
    }
    const optimizer = typeof event.optimizer === "string" ? event.optimizer : null;
    const rate = { optimizer, lr: event.lr, previous: undefined };
    if (event.kind === EVENT_KINDS.LR_SET) {
      rate.previous = lastSet.get(optimizer);
      lastSet.set(optimizer, event.lr);
      if (!(rate.previous === event.lr || (Number.isNaN(rate.previous) && Number.isNaN(event.lr)))) {
        marker.changed = true;
      }
    }
    marker.rates.push(rate);
  }
  return result;
}

/**
 * Cooldown windows as [x0, x1] on an axis, from the server's plateau_view: a band
 * from the end of the reducing epoch to the end of the last blocked epoch.
 */
export function cooldownWindows(timeline, axis) {
  const stepOfEpoch = new Map(plateauRecords(timeline).map((record) => [record.epoch, record.step]));
  const endOf = (epoch) => (epoch === null ? null : axis.epochEnd(epoch, stepOfEpoch.get(epoch) ?? null));
  const windows = [];
  for (const window of timeline.plateau_view ? timeline.plateau_view.cooldown_windows : []) {
    const x0 = endOf(finiteInt(window.reduce_epoch));
    const x1 = endOf(finiteInt(window.last_epoch));
    if (x0 !== null && x1 !== null && x1 > x0) windows.push([x0, x1]);
  }
  return windows;
}
