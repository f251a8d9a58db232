// The shape of a /timeline response: every field present and of the right type,
// rate series and metrics as typed columns whichever encoding the server answered with.

import { toNumber } from "../model/numbers.js";

export { toNumber };

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function listOf(value) {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/**
 * A rate series as columns: {steps: Float64Array, rates: Float64Array | Float32Array}.
 *
 * Takes the columnar answer's columns as they are (no copy) or the JSON answer's
 * [[step, rate], ...] pairs (NaN where a pair has no number: placeRates skips a
 * step that is not finite and flags a rate that is not). Null for anything else.
 */
export function seriesColumns(value) {
  if (isObject(value) && ArrayBuffer.isView(value.steps) && ArrayBuffer.isView(value.rates)
      && value.steps.length === value.rates.length) {
    return { steps: value.steps, rates: value.rates };
  }
  if (!Array.isArray(value)) return null;
  const steps = new Float64Array(value.length);
  const rates = new Float64Array(value.length);
  pairsToColumns(value, steps, rates);
  return { steps, rates };
}

// A loop of its own for V8 (see model/place.js); numbers, the common case, without a call.
function pairsToColumns(pairs, steps, rates) {
  const n = pairs.length;
  for (let i = 0; i < n; i++) {
    const pair = pairs[i];
    if (!Array.isArray(pair)) {
      steps[i] = rates[i] = NaN;
      continue;
    }
    const step = pair[0];
    const rate = pair[1];
    steps[i] = typeof step === "number" ? step : numberOrNaN(step);
    rates[i] = typeof rate === "number" ? rate : numberOrNaN(rate);
  }
}

function numberOrNaN(value) {
  const number = toNumber(value);
  return number === null ? NaN : number;
}

/**
 * A metric as columns: {epochs, steps: Float64Array, values: Float64Array | Float32Array},
 * NaN where a point has no epoch (a batch metric), no step, or no number.
 *
 * Takes the columnar answer's columns as they are (no copy) or the JSON answer's
 * [[epoch, step, value], ...] points. Null for anything else.
 */
export function metricColumns(value) {
  if (isObject(value) && ArrayBuffer.isView(value.epochs) && ArrayBuffer.isView(value.steps)
      && ArrayBuffer.isView(value.values) && value.steps.length === value.epochs.length
      && value.steps.length === value.values.length) {
    return { epochs: value.epochs, steps: value.steps, values: value.values };
  }
  if (!Array.isArray(value)) return null;
  const columns = emptyMetric(value.length);
  pointsToColumns(value, columns.epochs, columns.steps, columns.values);
  return columns;
}

/** A metric of n points (NaN until written), as metricColumns returns it. */
export function emptyMetric(n = 0) {
  return { epochs: new Float64Array(n), steps: new Float64Array(n), values: new Float64Array(n) };
}

function pointsToColumns(points, epochs, steps, values) {
  const n = points.length;
  for (let i = 0; i < n; i++) {
    const point = points[i];
    if (!Array.isArray(point)) {
      epochs[i] = steps[i] = values[i] = NaN;
      continue;
    }
    epochs[i] = numberOrNaN(point[0]);
    steps[i] = numberOrNaN(point[1]);
    values[i] = numberOrNaN(point[2]);
  }
}

function seriesMap(value) {
  const result = {};
  if (!isObject(value)) return result;
  for (const [name, points] of Object.entries(value)) {
    const columns = seriesColumns(points);
    if (columns) result[name] = columns;
  }
  return result;
}

/** A timeline object with every field present and of the right type. */
export function normalizeTimeline(raw) {
  const timeline = isObject(raw) ? raw : {};
  const metrics = {};
  if (isObject(timeline.metrics)) {
    for (const [name, points] of Object.entries(timeline.metrics)) {
      const columns = metricColumns(points);
      if (columns) metrics[name] = columns;
    }
  }
  return {
    version: timeline.version,
    run: String(timeline.run ?? ""),
    name: String(timeline.name ?? timeline.run ?? ""),
    learning_rate: seriesMap(timeline.learning_rate),
    planned: seriesMap(timeline.planned),
    points: isObject(timeline.points) ? timeline.points : {},
    planned_points: isObject(timeline.planned_points) ? timeline.planned_points : {},
    points_in_window: isObject(timeline.points_in_window) ? timeline.points_in_window : {},
    planned_points_in_window: isObject(timeline.planned_points_in_window) ? timeline.planned_points_in_window : {},
    last_step: typeof timeline.last_step === "number" ? timeline.last_step : null,
    window: isObject(timeline.window) ? timeline.window : null,
    record_counts: isObject(timeline.record_counts) ? timeline.record_counts : {},
    sessions: listOf(timeline.sessions),
    epochs: listOf(timeline.epochs),
    plateau: listOf(timeline.plateau),
    events: listOf(timeline.events),
    plateau_view: {
      decisions: listOf(isObject(timeline.plateau_view) ? timeline.plateau_view.decisions : null),
      cooldown_windows: listOf(isObject(timeline.plateau_view) ? timeline.plateau_view.cooldown_windows : null),
    },
    metrics,
    findings: listOf(timeline.findings),
    setup: listOf(timeline.setup),
    keras_only: isObject(timeline.keras_only) ? timeline.keras_only : null,
    epoch_learning_rate: Array.isArray(timeline.epoch_learning_rate) ? timeline.epoch_learning_rate : [],
  };
}

/** Whether a timeline holds fewer points than the run has (the backend downsampled it). */
export function isDownsampled(timeline) {
  return Object.entries(timeline.points || {}).some(([name, total]) => {
    const shown = timeline.learning_rate[name] ? timeline.learning_rate[name].steps.length : 0;
    return typeof total === "number" && total > shown;
  });
}
