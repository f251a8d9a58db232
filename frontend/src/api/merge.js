// Incremental refresh: the tail of a run (`/timeline?since=<last step held>`) merged
// into the timeline the page holds, or the reason it cannot be and the page must
// reload the whole run.
//
// The server sends, with `since`, only what lies after that step: rate points,
// epochs ending later, plateau decisions (records and the plateau view's facts about
// them), events and metric points at later steps; and whole: sessions, setup, cooldown
// windows, findings and every total
// (`points`, `record_counts`). A merge is exact when the tail's totals add up with
// what is held; when they do not (a session superseded steps already held, the run
// shrank, points without a step arrived, the tail was thinned), it is refused.

import {
  EPOCHS_TAG,
  PLATEAU_TAG,
  EVENTS_TAG,
  RECORD_SESSION,
  RECORD_STEP,
  RECORD_LAST_STEP,
  SESSION_START_STEP,
  SESSION_SUPERSEDED_FROM,
} from "./contract.js";
import { emptyMetric } from "./timeline.js";

// The step after which a record is "newer than since", as the server decides it
// (lr_plugin/model/summary.py RecordSeries.select): an epoch by its last step.
const RECORD_STEP_FIELD = { [EPOCHS_TAG]: RECORD_LAST_STEP, [PLATEAU_TAG]: RECORD_STEP, [EVENTS_TAG]: RECORD_STEP };

/** True when `since` of the request is what the answer says it answered (an older server ignores it). */
export function isTailOf(answer, since) {
  return since !== null && answer.window !== null && answer.window.since === since;
}

/**
 * Merges a tail answer into a held timeline (both as normalizeTimeline returns them).
 *
 * Args:
 *   held: the timeline the page holds; `held.last_step` is the `since` that was asked.
 *   tail: the answer to `since=held.last_step`.
 *   maxPoints: a merged rate series holding more points than this is refused (a
 *     reload lets the server downsample the run again).
 * Returns:
 *   {timeline} the merged timeline, or {reload: "why"} when the page must reload
 *   the whole run.
 */
export function mergeTail(held, tail, maxPoints = Infinity) {
  const since = held.last_step;
  if (!isTailOf(tail, since)) return { reload: `the answer is not the tail after step ${since}` };
  const superseded = supersededSessions(held.sessions, tail.sessions, since);
  if (superseded) return { reload: superseded };
  const merged = {
    ...tail,
    window: held.window,
    points_in_window: tail.points,
    planned_points_in_window: tail.planned_points,
    record_counts: { ...tail.record_counts },
  };
  for (const [key, totals] of [["learning_rate", "points"], ["planned", "planned_points"]]) {
    merged[key] = {};
    const names = new Set([...Object.keys(held[key]), ...Object.keys(tail[key])]);
    for (const name of names) {
      const series = mergeSeries(held[key][name], tail[key][name], since, held[totals][name], tail[totals][name], tail[`${totals}_in_window`]?.[name]);
      if (typeof series === "string") return { reload: `${key}/${name}: ${series}` };
      if (series.steps.length > maxPoints) return { reload: `${key}/${name}: ${series.steps.length} points, more than the ${maxPoints} asked for` };
      merged[key][name] = series;
    }
  }
  for (const tag of [EPOCHS_TAG, PLATEAU_TAG, EVENTS_TAG]) {
    const field = RECORD_STEP_FIELD[tag];
    const records = mergeRecords(held[tag], tail[tag], (record) => record[field], since,
      held.record_counts[tag], tail.record_counts[tag]);
    if (typeof records === "string") return { reload: `${tag}: ${records}` };
    merged[tag] = records;
    merged.record_counts[tag] = completeCounts(tail.record_counts[tag], records.length);
  }
  // A tail's plateau view holds the decisions of its own plateau records, so the
  // held ones stay. (An older server sent every decision with every answer: the
  // page takes the first fact per record, so the repeats change nothing.)
  merged.plateau_view = {
    decisions: [...held.plateau_view.decisions, ...tail.plateau_view.decisions],
    cooldown_windows: tail.plateau_view.cooldown_windows,
  };
  merged.metrics = {};
  const heldMetricCounts = held.record_counts.metrics || {};
  const tailMetricCounts = tail.record_counts.metrics || {};
  merged.record_counts.metrics = {};
  for (const name of new Set([...Object.keys(held.metrics), ...Object.keys(tail.metrics)])) {
    const metric = mergeMetric(held.metrics[name] || emptyMetric(), tail.metrics[name] || emptyMetric(),
      since, heldMetricCounts[name], tailMetricCounts[name]);
    if (typeof metric === "string") return { reload: `metric ${name}: ${metric}` };
    merged.metrics[name] = metric;
    merged.record_counts.metrics[name] = completeCounts(tailMetricCounts[name], metric.steps.length);
  }
  return { timeline: merged };
}

/** Why the tail's sessions change steps already held (a message), or null. */
function supersededSessions(heldSessions, tailSessions, since) {
  const byId = new Map(tailSessions.map((session) => [session[RECORD_SESSION], session]));
  for (const session of heldSessions) {
    const now = byId.get(session[RECORD_SESSION]);
    if (!now) return `session ${session[RECORD_SESSION]} is gone`;
    if (now[SESSION_START_STEP] !== session[SESSION_START_STEP]
        || (now[SESSION_SUPERSEDED_FROM] ?? null) !== (session[SESSION_SUPERSEDED_FROM] ?? null)) {
      return `session ${session[RECORD_SESSION]} was superseded`;
    }
  }
  const known = new Set(heldSessions.map((session) => session[RECORD_SESSION]));
  for (const session of tailSessions) {
    if (known.has(session[RECORD_SESSION])) continue;
    const start = session[SESSION_START_STEP];
    // A session that starts at or before a held step supersedes it (metadata.py).
    if (typeof start !== "number" || start <= since) {
      return `a new session ${session[RECORD_SESSION]} starts at step ${start}, at or before step ${since}`;
    }
  }
  return null;
}

/** The first index of sorted steps whose step is > since. */
function firstAfter(steps, since) {
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (steps[mid] > since) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** held's points up to since and tail's after it, as columns; or why the totals disagree. */
function mergeSeries(held, tail, since, heldTotal, tailTotal, tailInWindow) {
  const empty = { steps: new Float64Array(0), rates: new Float64Array(0) };
  held = held || empty;
  tail = tail || empty;
  if (typeof tailTotal !== "number" || typeof tailInWindow !== "number") return "the answer has no totals";
  const keep = firstAfter(held.steps, since);
  const heldBefore = (typeof heldTotal === "number" ? heldTotal : 0) - (held.steps.length - keep);
  if (tailTotal - tailInWindow !== heldBefore) {
    return `${tailTotal - tailInWindow} points at or before step ${since} now, ${heldBefore} held`;
  }
  if (tail.steps.length && !(tail.steps[0] > since)) return `the tail starts at step ${tail.steps[0]}`;
  if (!tail.steps.length) return keep === held.steps.length ? held : { steps: held.steps.subarray(0, keep), rates: held.rates.subarray(0, keep) };
  const n = keep + tail.steps.length;
  const steps = new Float64Array(n);
  steps.set(held.steps.subarray(0, keep));
  steps.set(tail.steps, keep);
  const rates = new (valuesType(held.rates, tail.rates))(n);
  rates.set(held.rates.subarray(0, keep));
  rates.set(tail.rates, keep);
  return { steps, rates };
}

/**
 * held's records up to since and tail's after it; or why the counts disagree.
 *
 * The server counts every record in `total` and those after since in `in_window`;
 * the records at or before since must be the same number as held had, else some
 * changed where the page cannot see (a superseded stretch, a point without a step).
 */
function mergeRecords(held, tail, stepOf, since, heldCounts, tailCounts) {
  const isAfter = (record) => {
    const step = stepOf(record);
    return typeof step === "number" && step > since;
  };
  const kept = held.filter((record) => !isAfter(record));
  const disagree = countsDisagree(held.length, kept.length, since, heldCounts, tailCounts);
  if (disagree) return disagree;
  return tail.length ? kept.concat(tail) : kept;
}

/** mergeRecords for a metric's columns (see timeline.js metricColumns). */
function mergeMetric(held, tail, since, heldCounts, tailCounts) {
  const kept = [];
  for (let i = 0; i < held.steps.length; i++) if (!(held.steps[i] > since)) kept.push(i);
  const disagree = countsDisagree(held.steps.length, kept.length, since, heldCounts, tailCounts);
  if (disagree) return disagree;
  if (!tail.steps.length && kept.length === held.steps.length) return held;
  const n = kept.length + tail.steps.length;
  const merged = { epochs: new Float64Array(n), steps: new Float64Array(n), values: new (valuesType(held.values, tail.values))(n) };
  for (const part of ["epochs", "steps", "values"]) {
    kept.forEach((index, i) => { merged[part][i] = held[part][index]; });
    merged[part].set(tail[part], kept.length);
  }
  return merged;
}

/** The typed array for held's values followed by tail's: Float32 only when both are (a float64 must not lose digits). */
function valuesType(held, tail) {
  return held instanceof Float32Array && tail instanceof Float32Array ? Float32Array : Float64Array;
}

/** Why a merge of records is refused (a message), or null. */
function countsDisagree(heldLength, keptLength, since, heldCounts, tailCounts) {
  if (!tailCounts || !heldCounts) return "the answer has no record counts";
  if (tailCounts.sent !== tailCounts.in_window) return "the tail was thinned";
  const heldBefore = heldCounts.total - (heldLength - keptLength);
  if (tailCounts.total - tailCounts.in_window !== heldBefore) {
    return `${tailCounts.total - tailCounts.in_window} at or before step ${since} now, ${heldBefore} held`;
  }
  return null;
}

/** The counts of a merged record list: the run's total, all of it in the (whole) window. */
function completeCounts(tailCounts, sent) {
  return { total: tailCounts.total, in_window: tailCounts.total, sent };
}
