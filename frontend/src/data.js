// The timeline model seen from the browser: parsing the backend's JSON, the
// step/epoch axis convention, and the derived series (cooldown windows,
// reductions, decision rows) the charts and the table draw.
//
// Axis convention, one rule for everything:
// - step axis: a value recorded at optimizer update `s` (0-based) sits at x = s.
// - epoch axis: update s of epoch e, whose updates are first_step..last_step,
//   sits at x = e + (s - first_step + 1) / (last_step - first_step + 1), i.e. at
//   the fraction of the epoch done once s is applied. The last update of epoch e
//   sits at e + 1.
// - Whatever happens at the end of epoch e (epoch metrics, plateau decisions,
//   reductions, cooldown edges) sits at the epoch's last step on the step axis,
//   at e + 1 on the epoch axis and at the epoch's end_time on the time axis: the
//   same place as that last update.
// - time axis: seconds since the run's first epoch started. Update s of epoch e sits
//   at start_time + (s - first_step + 1) / (last_step - first_step + 1) *
//   (end_time - start_time), the epoch's wall time spread evenly over its updates.

/** TensorBoard's JSON writes NaN and infinities as strings; turn them back into numbers. */
export function toNumber(value) {
  if (typeof value === "number") return value;
  if (value === null || value === undefined || value === "") return null;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (typeof value === "boolean") return null;
  const number = Number(value);
  return Number.isNaN(number) ? NaN : number;
}

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
    metrics,
  };
}

function finiteInt(value) {
  const number = toNumber(value);
  return Number.isFinite(number) ? number : null;
}

/**
 * Maps steps to epoch-axis and time-axis positions from a run's epoch records.
 *
 * Steps after the last recorded epoch (the epoch in progress) continue with the
 * last epoch's length (and, on the time axis, its seconds per update).
 */
export class EpochMap {
  constructor(epochs) {
    const spans = [];
    for (const record of epochs) {
      const epoch = finiteInt(record.epoch);
      const first = finiteInt(record.first_step);
      const last = finiteInt(record.last_step);
      if (epoch === null || first === null || last === null || last < first) continue;
      spans.push({ epoch, first, last, start: finiteInt(record.start_time), end: finiteInt(record.end_time) });
    }
    spans.sort((a, b) => a.first - b.first || a.epoch - b.epoch);
    // A resumed run can repeat steps: keep the spans that move forward.
    this.spans = [];
    for (const span of spans) {
      const previous = this.spans[this.spans.length - 1];
      if (previous && (span.first <= previous.last || span.epoch <= previous.epoch)) continue;
      this.spans.push(span);
    }
    this.byEpoch = new Map(this.spans.map((span) => [span.epoch, span]));
    // The time axis needs the wall times of every epoch (logs of older versions have none).
    this.timeAvailable =
      this.spans.length > 0 && this.spans.every((span) => span.start !== null && span.end !== null);
    if (this.timeAvailable) {
      // Seconds since the first epoch started, never going back (a clock set back).
      const origin = this.spans[0].start;
      let previousEnd = 0;
      for (const span of this.spans) {
        span.start = Math.max(span.start - origin, previousEnd);
        span.end = previousEnd = Math.max(span.end - origin, span.start);
      }
    }
  }

  get available() {
    return this.spans.length > 0;
  }

  /** The index of the span holding `step`, or the last before it (-1: before the first). */
  spanIndex(step) {
    const spans = this.spans;
    if (!spans.length || step < spans[0].first) return -1;
    let lo = 0;
    let hi = spans.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (spans[mid].first <= step) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The epoch-axis position of update `step`. */
  x(step) {
    const spans = this.spans;
    if (!spans.length) return null;
    const lo = this.spanIndex(step);
    const span = spans[Math.max(lo, 0)];
    const length = span.last - span.first + 1;
    if (lo < 0 || step <= span.last) return span.epoch + (step - span.first + 1) / length;
    if (lo < spans.length - 1) return span.epoch + 1; // a gap between records
    const beyond = step - span.last - 1;
    const whole = Math.floor(beyond / length);
    return span.epoch + 1 + whole + (beyond - whole * length + 1) / length;
  }

  /** The time-axis position of update `step` (seconds since the first epoch started). */
  t(step) {
    const spans = this.spans;
    if (!this.timeAvailable) return null;
    const lo = this.spanIndex(step);
    const span = spans[Math.max(lo, 0)];
    const perStep = (span.end - span.start) / (span.last - span.first + 1);
    if (lo < 0 || step <= span.last) return span.start + (step - span.first + 1) * perStep;
    if (lo < spans.length - 1) return span.end; // a gap between records
    return span.end + (step - span.last) * perStep;
  }

  lastStep(epoch) {
    const span = this.byEpoch.get(epoch);
    return span ? span.last : null;
  }

  firstStep(epoch) {
    const span = this.byEpoch.get(epoch);
    return span ? span.first : null;
  }

  /** When the epoch ended / started, on the time axis (null: not recorded). */
  endTime(epoch) {
    const span = this.timeAvailable ? this.byEpoch.get(epoch) : undefined;
    return span ? span.end : null;
  }

  startTime(epoch) {
    const span = this.timeAvailable ? this.byEpoch.get(epoch) : undefined;
    return span ? span.start : null;
  }
}

/**
 * Where things sit on the chosen x axis for one run.
 *
 * Returns {point(step), epochEnd(epoch, step), epochStart(epoch, step)}; each returns null
 * when the record does not say enough to place it.
 */
export function makeAxis(axisName, epochMap) {
  if (axisName === "epoch") {
    return {
      name: "epoch",
      point: (step) => (step === null ? null : epochMap.x(step)),
      epochEnd: (epoch, step) => {
        if (epoch !== null) return epoch + 1;
        return step === null ? null : epochMap.x(step);
      },
      epochStart: (epoch) => (epoch === null ? null : epoch),
    };
  }
  if (axisName === "time") {
    const point = (step) => (step === null ? null : epochMap.t(step));
    return {
      name: "time",
      point,
      epochEnd: (epoch, step) => {
        const end = epoch === null ? null : epochMap.endTime(epoch);
        return end !== null ? end : point(step ?? (epoch === null ? null : epochMap.lastStep(epoch)));
      },
      epochStart: (epoch, step) => {
        const start = epoch === null ? null : epochMap.startTime(epoch);
        return start !== null ? start : point(step);
      },
    };
  }
  return {
    name: "step",
    point: (step) => step,
    epochEnd: (epoch, step) => (step !== null ? step : epoch === null ? null : epochMap.lastStep(epoch)),
    epochStart: (epoch, step) => {
      const first = epoch === null ? null : epochMap.firstStep(epoch);
      if (first !== null) return first;
      const previousLast = epoch === null ? null : epochMap.lastStep(epoch - 1);
      return previousLast !== null ? previousLast + 1 : step;
    },
  };
}

/**
 * The (fractional) step an axis puts at x: axis.point inverted by bisection (it only
 * grows with the step). Used to carry a zoom from one axis to another.
 */
export function stepAt(axis, x) {
  if (axis.name === "step") return x;
  let lo = -1e9;
  let hi = 1e10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (axis.point(mid) < x) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// The 100k-point loops below are written for V8's first run of them, which is what
// the first paint waits for: each is a function of its own that returns right after
// its loop, so no code runs after the loop that the optimized loop has not seen yet
// (that would throw the optimized code away, and the next series would start again
// in the interpreter); what they find besides the points goes into a small state
// object; and no double is carried from one iteration to the next in a local (the
// optimized code would box it: an allocation a point).
//
// What they write: xs as an Int32Array when every x is a whole number (steps), else a
// Float64Array; ys as a Float64Array; and per block of 16 points the min and max of
// ys (drawing a dense series reads a block's two values instead of its 16 points).
// Unoptimized code boxes every double it reads from a typed array; whole numbers from
// an Int32Array it does not.

export const BLOCK_SHIFT = 4;

function newScanState(ints) {
  return { gaps: 0, hidden: 0, same: true, ints };
}

function scanPairs(pairs, axis, logScale, xs, xi, ys, bmin, bmax, st, flagged) {
  const n = pairs.length;
  const onSteps = axis.name === "step";
  let previousX = -Infinity;
  let k = 0; // points written
  let ints = st.ints; // writing xi (whole numbers) rather than xs
  // (The last values are read back from ys, the block's extent from bmin and bmax.)
  for (let i = 0; i < n; i++) {
    const pair = pairs[i];
    if (!Array.isArray(pair)) continue;
    // (x - x === 0: a finite number, without a call in unoptimized code)
    const first = pair[0];
    let step = first;
    if (typeof first !== "number") {
      step = toNumber(first);
      if (step === null) continue;
    }
    if (step - step !== 0) continue;
    const x = onSteps ? step : axis.point(step);
    if (x === null || !(x > previousX)) continue;
    previousX = x;
    const second = pair[1];
    const value = typeof second === "number" ? second : toNumber(second);
    let y = value;
    if (value === null || value - value !== 0) {
      flagged.push({ x, value: value === null ? NaN : value, step });
      y = NaN; // a gap: equal to nothing
      st.gaps++;
    } else if (logScale && value <= 0) {
      y = NaN;
      st.gaps++;
      st.hidden++;
    }
    // Flat stretches keep their two ends: the last point written is dropped (written
    // over) when it and the one before have this value too (a gap, NaN, equals nothing).
    if (k >= 2 && y === ys[k - 1] && y === ys[k - 2]) k--;
    if (!ints) xs[k] = x;
    else if ((x | 0) === x) xi[k] = x;
    else {
      ints = st.ints = false;
      copyInto(xs, xi, k);
      xs[k] = x;
    }
    ys[k] = y;
    // BLOCK_SHIFT 4: blocks of 16 (a point written over has the same value).
    const block = k >> 4;
    const opens = (k & 15) === 0;
    if (opens || y < bmin[block]) bmin[block] = y;
    if (opens || y > bmax[block]) bmax[block] = y;
    k++;
  }
  return k;
}

/** to[0..n) = from[0..n) */
function copyInto(to, from, n) {
  for (let i = 0; i < n; i++) to[i] = from[i];
}

/** The first n of an array or typed array (itself when that is all of it). */
function head(values, n) {
  return n === values.length ? values : values.subarray(0, n);
}

/**
 * The [[step, value], ...] pairs of a rate series placed on an axis.
 *
 * Returns {xs, ys, blocks, flagged, hiddenNonPositive, extent}: ys holds null where
 * the value cannot be drawn (NaN, infinite, or not positive on a log scale), which
 * draws as a gap; flagged lists the non-finite ones, drawn as markers; extent is
 * [min, max] of the values drawn (null if none). Flat stretches keep only their two
 * ends, which draws the same step line with far fewer points.
 *
 * One pass into typed arrays (see above): ys is a Float64Array unless the series has
 * gaps (then a plain array with null there, what uPlot draws as a gap, and no blocks).
 * `like`: the xs of another series; when this series has the same, its xs is that very
 * array, so lining the series up for the chart needs no comparison.
 */
export function placeRates(pairs, axis, logScale, like = null) {
  const n = pairs.length;
  const xs = new Float64Array(n);
  const xi = axis.name === "step" ? new Int32Array(n) : null;
  const ys = new Float64Array(n); // NaN marks a gap until the end
  const bmin = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const bmax = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const flagged = [];
  const st = newScanState(xi !== null);
  const k = scanPairs(pairs, axis, logScale, xs, xi, ys, bmin, bmax, st, flagged);
  const placedXs = head(st.ints ? xi : xs, k);
  return {
    xs: like !== null && sameValues(like, placedXs) ? like : placedXs,
    ys: st.gaps ? withNulls(ys, k) : head(ys, k),
    blocks: st.gaps ? null : { min: bmin, max: bmax },
    flagged,
    hiddenNonPositive: st.hidden,
    extent: st.gaps ? extentOf(ys, k) : extentOfBlocks(bmin, bmax, k),
  };
}

let largest = -Infinity; // smallestOf's second result

/** The smallest of lows[0..n) and, in `largest`, the largest of highs[0..n) (NaN skipped). */
function smallestOf(lows, highs, n) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; ; i++) {
    if (i >= n) {
      largest = max;
      return min;
    }
    if (lows[i] < min) min = lows[i];
    if (highs[i] > max) max = highs[i];
  }
}

/** [min, max] of the first n ys, NaN skipped (null if none). */
function extentOf(ys, n) {
  const min = smallestOf(ys, ys, n);
  return min <= largest ? [min, largest] : null;
}

/** [min, max] of n gapless values from their blocks (null if n is 0). */
function extentOfBlocks(bmin, bmax, n) {
  const min = smallestOf(bmin, bmax, n ? ((n - 1) >> BLOCK_SHIFT) + 1 : 0);
  return min <= largest ? [min, largest] : null;
}

/** The first n values, NaN -> null, in a plain array: what uPlot draws as a gap. */
function withNulls(values, n = values.length) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    out[i] = Number.isNaN(value) ? null : value;
  }
  return out;
}

function scanTriples(triples, axis, xs, xi, ys, bmin, bmax, st, flagged) {
  const n = triples.length;
  let m = 0;
  let previousX = -Infinity;
  let ints = st.ints; // writing xi (whole numbers) rather than xs
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const triple = triples[i];
    if (!Array.isArray(triple)) continue;
    const first = triple[0];
    const epoch = first === null ? null : finiteInt(first);
    const second = triple[1];
    const step = typeof second === "number" && second - second === 0 ? second : finiteInt(second);
    const x = epoch === null ? axis.point(step) : axis.epochEnd(epoch, step);
    if (x === null || x - x !== 0) continue;
    const third = triple[2];
    const value = typeof third === "number" ? third : toNumber(third);
    let y = value;
    if (value === null || value - value !== 0) {
      flagged.push({ x, value: value === null ? NaN : value, epoch, step });
      y = NaN;
      st.gaps++;
    }
    if (sorted && x <= previousX) sorted = st.same = false;
    previousX = x;
    if (!ints) xs[m] = x;
    else if ((x | 0) === x) xi[m] = x;
    else {
      ints = st.ints = false;
      copyInto(xs, xi, m);
      xs[m] = x;
    }
    ys[m] = y;
    // BLOCK_SHIFT 4: blocks of 16 (extents read back: see scanPairs).
    const block = m >> 4;
    const opens = (m & 15) === 0;
    if (opens || y < bmin[block]) bmin[block] = y;
    if (opens || y > bmax[block]) bmax[block] = y;
    m++;
  }
  return m;
}

/**
 * A metric's [[epoch, step, value], ...] triples placed on an axis: epoch metrics at
 * the end of their epoch, batch metrics (epoch null) at their step.
 *
 * Like placeRates: typed arrays and blocks, ys with null instead where a value is not
 * finite; extent is [min, max] of the finite values.
 */
export function placeMetric(triples, axis) {
  const n = triples.length;
  const xs = new Float64Array(n);
  const xi = axis.name === "step" ? new Int32Array(n) : null;
  const ys = new Float64Array(n);
  const bmin = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const bmax = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const flagged = [];
  const st = newScanState(xi !== null); // st.same: sorted by x
  const m = scanTriples(triples, axis, xs, xi, ys, bmin, bmax, st, flagged);
  if (st.same) {
    return {
      xs: head(st.ints ? xi : xs, m),
      ys: st.gaps ? withNulls(ys, m) : head(ys, m),
      blocks: st.gaps ? null : { min: bmin, max: bmax },
      flagged,
      extent: st.gaps ? extentOf(ys, m) : extentOfBlocks(bmin, bmax, m),
    };
  }
  // Sort by x; of repeated points the later record wins.
  const placedXs = st.ints ? xi : xs;
  const order = Array.from({ length: m }, (_, index) => index).sort(
    (a, b) => placedXs[a] - placedXs[b] || a - b,
  );
  const outX = new Float64Array(m);
  const outY = new Float64Array(m);
  let k = 0;
  for (const index of order) {
    if (k && outX[k - 1] === placedXs[index]) outY[k - 1] = ys[index];
    else {
      outX[k] = placedXs[index];
      outY[k] = ys[index];
      k++;
    }
  }
  const sortedYs = outY.subarray(0, k);
  // The extent of the values kept: a repeated point may have dropped one.
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < k; i++) {
    if (sortedYs[i] < min) min = sortedYs[i];
    if (sortedYs[i] > max) max = sortedYs[i];
  }
  return {
    xs: outX.subarray(0, k),
    ys: st.gaps ? withNulls(sortedYs) : sortedYs,
    blocks: null,
    flagged,
    extent: min <= max ? [min, max] : null,
  };
}

/** The metrics of a run: the backend's `metrics`, else those inside the epoch records. */
export function runMetrics(timeline) {
  if (Object.keys(timeline.metrics).length) return timeline.metrics;
  const metrics = {};
  for (const record of timeline.epochs) {
    if (!isObject(record.metrics)) continue;
    for (const [name, value] of Object.entries(record.metrics)) {
      (metrics[name] = metrics[name] || []).push([record.epoch, record.last_step ?? null, value]);
    }
  }
  return metrics;
}

/**
 * The plateau records, with numbers parsed and sorted by epoch.
 *
 * Each gets `decisionWait`: the wait the decision compared with patience. The
 * callbacks record `wait` after the decision, which a reduction resets to 0, so a
 * reduction's is `wait_before + 1`.
 */
export function plateauRecords(timeline) {
  return timeline.plateau
    .map((record) => {
      const parsed = {
        ...record,
        epoch: finiteInt(record.epoch),
        step: finiteInt(record.step),
        value: toNumber(record.value),
        best: toNumber(record.best),
        best_before: toNumber(record.best_before),
        threshold: toNumber(record.threshold),
        wait: toNumber(record.wait),
        wait_before: toNumber(record.wait_before),
        patience: toNumber(record.patience),
        cooldown: toNumber(record.cooldown),
        cooldown_counter: toNumber(record.cooldown_counter),
        lr_before: toNumber(record.lr_before),
        lr_after: toNumber(record.lr_after),
      };
      parsed.decisionWait =
        parsed.action === "reduce" && Number.isFinite(parsed.wait_before)
          ? parsed.wait_before + 1
          : parsed.action === "reduce" && Number.isFinite(parsed.patience) && parsed.wait === 0
            ? parsed.patience
            : parsed.wait;
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
  const events = eventRecords(timeline).filter((event) => event.kind === "reduce");
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
    .filter((record) => record.action === "reduce")
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
    if (event.kind !== "lr_set" && event.kind !== "min_lr_reached") continue;
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
        changed: event.kind !== "lr_set",
        rates: [],
      };
      byPlace.set(place, marker);
      result.push(marker);
    }
    const optimizer = typeof event.optimizer === "string" ? event.optimizer : null;
    const rate = { optimizer, lr: event.lr, previous: undefined };
    if (event.kind === "lr_set") {
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
 * Cooldown windows as [x0, x1] on an axis: the epochs in which the plateau
 * counter is blocked.
 *
 * The callbacks write `cooldown_start` at the end of the reducing epoch and
 * `cooldown_end` at the end of the first epoch counted again; the blocked epochs
 * lie strictly between, so a window runs from the start event to the end of the
 * epoch before the end event. A window without an end event (still running)
 * reaches the start event's `until_epoch`, cut at the last decision recorded.
 * Runs without cooldown events get windows from records whose action is "cooldown".
 */
export function cooldownWindows(timeline, axis) {
  const records = plateauRecords(timeline);
  const events = eventRecords(timeline);
  const starts = events.filter((event) => event.kind === "cooldown_start");
  const ends = events.filter((event) => event.kind === "cooldown_end");
  const stepOfEpoch = new Map(records.map((record) => [record.epoch, record.step]));
  const endOf = (epoch, step = null) =>
    epoch === null ? null : axis.epochEnd(epoch, step ?? stepOfEpoch.get(epoch) ?? null);
  const lastRecord = records[records.length - 1];
  const lastX = lastRecord ? endOf(lastRecord.epoch, lastRecord.step) : null;
  const windows = [];
  if (starts.length) {
    starts.forEach((start, index) => {
      const next = starts[index + 1];
      const x0 = endOf(start.epoch, start.step);
      if (x0 === null) return;
      const end = ends.find(
        (candidate) => atOrAfter(candidate, start) && !same(candidate, start) && (!next || !atOrAfter(candidate, next) || same(candidate, next)),
      );
      let x1 = null;
      if (end) {
        x1 = end.epoch !== null ? endOf(end.epoch - 1) : null;
        if (x1 === null) x1 = endOf(end.epoch, end.step);
      } else if (start.until_epoch !== null) {
        x1 = endOf(start.until_epoch);
        if (x1 !== null && lastX !== null) x1 = Math.min(x1, lastX);
      } else {
        let last = null;
        for (const record of records) {
          if (start.epoch !== null && record.epoch <= start.epoch) continue;
          if (record.action !== "cooldown") break;
          last = record;
        }
        if (last) x1 = endOf(last.epoch, last.step);
      }
      if (x1 !== null && x1 > x0) windows.push([x0, x1]);
    });
    return windows;
  }
  // From the records: consecutive "cooldown" epochs make one window, from the end
  // of the epoch before the first to the end of the last.
  let open = null;
  records.forEach((record, index) => {
    if (record.action !== "cooldown") {
      open = null;
      return;
    }
    if (open === null) {
      const previous = records[index - 1];
      open =
        previous && previous.epoch === record.epoch - 1
          ? endOf(previous.epoch, previous.step)
          : axis.epochStart(record.epoch, record.step);
    }
    const x1 = endOf(record.epoch, record.step);
    if (open === null || x1 === null || !(x1 > open)) return;
    const lastWindow = windows[windows.length - 1];
    if (lastWindow && lastWindow[0] === open) lastWindow[1] = x1;
    else windows.push([open, x1]);
  });
  return windows;
}

function atOrAfter(a, b) {
  if (a.step !== null && b.step !== null) return a.step >= b.step;
  return (a.epoch ?? -1) >= (b.epoch ?? -1);
}

function same(a, b) {
  return a.step === b.step && a.epoch === b.epoch;
}

/**
 * One row per plateau decision for the table.
 *
 * delta is the monitored value minus the best it was compared against (the
 * record's best_before, else the best after the previous epoch): negative is
 * better in "min" mode.
 */
export function decisionRows(timeline) {
  const records = plateauRecords(timeline);
  let previousBest = null;
  return records.map((record) => {
    const compared = Number.isFinite(record.best_before) ? record.best_before : previousBest;
    const delta =
      compared !== null && Number.isFinite(compared) && record.value !== null
        ? record.value - compared
        : null;
    if (record.best !== null) previousBest = record.best;
    return { ...record, delta };
  });
}

/**
 * Merges sorted x arrays (plain or typed) into one sorted array without repeats: the
 * first array itself when it holds all the others' values, else a new Float64Array.
 */
export function unionOfSorted(arrays) {
  const nonEmpty = arrays.filter((xs) => xs.length);
  if (!nonEmpty.length) return new Float64Array(0);
  let result = nonEmpty[0];
  for (let k = 1; k < nonEmpty.length; k++) {
    const other = nonEmpty[k];
    if (sameValues(result, other)) continue; // optimizers stepped together: nothing to merge
    if (isSubset(other, result)) continue; // epoch metrics at steps the batch metric has
    const merged = new Float64Array(result.length + other.length);
    let i = 0;
    let j = 0;
    let m = 0;
    while (i < result.length || j < other.length) {
      const a = i < result.length ? result[i] : Infinity;
      const b = j < other.length ? other[j] : Infinity;
      if (a < b) {
        merged[m++] = a;
        i++;
      } else if (b < a) {
        merged[m++] = b;
        j++;
      } else {
        merged[m++] = a;
        i++;
        j++;
      }
    }
    result = m === merged.length ? merged : merged.subarray(0, m);
  }
  return result;
}

function sameValues(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The first index of sorted xs at or after `from` whose value is >= x (xs.length if none). */
export function lowerBound(xs, x, from = 0) {
  let lo = from;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether every value of sorted `small` is in sorted `big` (a binary search each). */
function isSubset(small, big) {
  if (small.length > big.length) return false;
  let j = 0;
  for (let i = 0; i < small.length; i++) {
    const x = small[i];
    j = lowerBound(big, x, j);
    if (j === big.length || big[j] !== x) return false;
  }
  return true;
}

/**
 * uPlot's columnar data for series with their own x values: [xs, ys1, ys2, ...].
 *
 * A series has undefined where it has no point (uPlot draws across it) and null
 * where its value could not be drawn (uPlot leaves a gap). A series that has a
 * point at every x keeps its own ys (a Float64Array when it has no gap).
 */
export function alignSeries(seriesList) {
  const xs = unionOfSorted(seriesList.map((series) => series.xs));
  const columns = [xs];
  for (const series of seriesList) {
    if (sameValues(series.xs, xs)) {
      columns.push(series.ys);
      continue;
    }
    const column = new Array(xs.length).fill(undefined);
    let j = 0;
    for (let i = 0; i < series.xs.length; i++) {
      j = lowerBound(xs, series.xs[i], j); // xs holds every x of every series
      column[j] = series.ys[i];
    }
    columns.push(column);
  }
  return columns;
}

/** The last value at or before x in sorted xs (the value in effect there), or undefined. */
export function valueAt(xs, ys, x) {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0 || x < xs[0]) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return ys[lo];
}

function csvField(text) {
  const value = String(text);
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvNumber(value) {
  const number = toNumber(value);
  if (number === null) return "";
  if (Number.isNaN(number)) return "NaN";
  if (number === Infinity) return "Infinity";
  if (number === -Infinity) return "-Infinity";
  return String(number);
}

/** CSV with one row per (run, optimizer, step): run,optimizer,step,learning_rate. */
export function ratesCsv(timelines) {
  const lines = ["run,optimizer,step,learning_rate"];
  for (const timeline of timelines) {
    for (const [optimizer, pairs] of Object.entries(timeline.learning_rate)) {
      const prefix = `${csvField(timeline.run)},${csvField(optimizer)},`;
      for (const pair of pairs) {
        if (!Array.isArray(pair)) continue;
        lines.push(prefix + csvNumber(pair[0]) + "," + csvNumber(pair[1]));
      }
    }
  }
  return lines.join("\n") + "\n";
}
