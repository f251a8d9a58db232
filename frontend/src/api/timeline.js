// The shape of a /timeline response: every field present and of the right type.

import { toNumber } from "../model/numbers.js";

export { toNumber };

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function listOf(value) {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function seriesMap(value) {
  const result = {};
  if (!isObject(value)) return result;
  for (const [name, points] of Object.entries(value)) {
    if (Array.isArray(points)) result[name] = points; // entries are checked where they are read
  }
  return result;
}

/** A timeline object with every field present and of the right type. */
export function normalizeTimeline(raw) {
  const timeline = isObject(raw) ? raw : {};
  const metrics = {};
  if (isObject(timeline.metrics)) {
    for (const [name, points] of Object.entries(timeline.metrics)) {
      if (Array.isArray(points)) metrics[name] = points;
    }
  }
  return {
    version: timeline.version,
    run: String(timeline.run ?? ""),
    name: String(timeline.name ?? timeline.run ?? ""),
    learning_rate: seriesMap(timeline.learning_rate),
    planned: seriesMap(timeline.planned),
    points: isObject(timeline.points) ? timeline.points : {},
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
    const shown = (timeline.learning_rate[name] || []).length;
    return typeof total === "number" && total > shown;
  });
}
