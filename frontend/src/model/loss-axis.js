// The loss track's y range without outliers: one run whose loss diverges (1e6, 1e30)
// must not flatten every other run's curve at the bottom of the axis.
//
// The rule, on log distances: each shown series has a level, the upper quartile of its
// positive values in the x window (a spike or a late divergence is less than a quarter
// of them); a run's level is its highest series' (val_loss above loss is no outlier);
// the axis' reference is the lower median of the runs' levels (of two runs, the
// healthy one's). A value more than OUTLIER_DECADES above the reference leaves the
// axis, except a series' leading descent onto the axis (the first epochs of a loss
// that starts high and decays into the others' range). Values at or below zero never
// leave. Nothing cut: the range is the shown points' extent, as without the rule.

import { lowerBound } from "./align.js";

/** How far above the reference level (in powers of ten) a value leaves the axis. */
export const OUTLIER_DECADES = 1;
/** How many points of each series' window the rule reads (evenly spaced). */
export const SAMPLE_SIZE = 512;

/**
 * Up to `count` finite values of ys at xs in [x0, x1], evenly spaced, in x order, with
 * the window's first and last point.
 */
export function sampleWindow(xs, ys, x0, x1, count = SAMPLE_SIZE) {
  const i0 = lowerBound(xs, x0);
  const after = lowerBound(xs, x1, i0);
  const i1 = after < xs.length && xs[after] === x1 ? after : after - 1;
  const values = [];
  if (i1 < i0) return values;
  const stride = Math.max(1, (i1 - i0) / Math.max(1, count - 1));
  let last = -1;
  for (let k = 0; ; k++) {
    const i = Math.min(i1, Math.round(i0 + k * stride));
    if (i !== last) {
      const v = ys[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) values.push(v);
      last = i;
    }
    if (i >= i1) break;
  }
  return values;
}

/** The log10 level of a series' values: the upper quartile of the positive ones (null if none). */
function levelOf(values) {
  const logs = values.filter((v) => v > 0).map(Math.log10).sort((a, b) => a - b);
  return logs.length ? logs[Math.floor((logs.length - 1) * 0.75)] : null;
}

/** The reference level: the lower median of the runs' levels, each its highest series' (null if none). */
function referenceLevel(series) {
  const runs = new Map();
  for (const s of series) {
    const level = s.max === null ? null : levelOf(s.values);
    if (level !== null && !(runs.get(s.run) >= level)) runs.set(s.run, level);
  }
  const levels = [...runs.values()].sort((a, b) => a - b);
  return levels.length ? levels[(levels.length - 1) >> 1] : null;
}

/** How many leading values descend onto the axis: above the ceiling, none later twice as high, the series then under it. */
function leadingDescent(values, ceiling) {
  const later = new Array(values.length + 1).fill(-Infinity); // later[i]: max of values[i..]
  for (let i = values.length - 1; i >= 0; i--) later[i] = Math.max(values[i], later[i + 1]);
  let k = 0;
  while (k < values.length && values[k] > ceiling && 2 * values[k] >= later[k + 1]) k++;
  return k < values.length ? k : 0; // a series that never comes under the ceiling does not descend onto it
}

/**
 * The y range of a loss track's shown series, outliers left out.
 *
 * Args:
 *   series: [{run, values, min, max}]: each shown series' run, its sampled window
 *     (`sampleWindow`) and the exact extent of its window (min, max: null when the
 *     window has no points).
 *   decades: how far above the reference level a value leaves the axis.
 *
 * Returns {min, max, cut}: the range (nulls when no points), and cut: [{index, max}],
 * the series (by index in `series`) with values above the axis, and how high they go.
 */
export function lossAxisRange(series, decades = OUTLIER_DECADES) {
  let min = null;
  let max = null;
  const cut = [];
  const reference = referenceLevel(series);
  const ceiling = reference === null ? Infinity : 10 ** (reference + decades);
  series.forEach((s, index) => {
    if (s.min === null || s.max === null) return;
    let top = s.max;
    if (s.max > ceiling) {
      const descent = leadingDescent(s.values, ceiling);
      top = null;
      s.values.forEach((v, i) => {
        if ((i < descent || v <= ceiling) && (top === null || v > top)) top = v;
      });
      // The sample can miss the exact peak of a descent that is kept.
      if (top !== null && top > ceiling && s.max <= 2 * top) top = s.max;
      if (top === null || s.max > top) cut.push({ index, max: s.max });
      if (top === null) return;
    }
    if (min === null || s.min < min) min = s.min;
    if (max === null || top > max) max = top;
  });
  return { min, max, cut };
}
