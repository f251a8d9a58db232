// A series' points placed on an axis, into typed arrays: the kernels the first
// paint of 100k-point series waits for.

import { sameValues } from "./align.js";

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

// xs: the Float64Array of xs, allocated only once an x is not a whole number (or, off
// the step axis, from the start): the step axis then allocates no Float64Array of xs.
function newScanState(n, ints) {
  return { gaps: 0, hidden: 0, same: true, ints, previousX: -Infinity, xs: ints ? null : new Float64Array(n) };
}

/** xs as Float64Array, the first k from xi: once an x is not a whole number. */
function widen(st, xi, k) {
  st.ints = false;
  st.xs = new Float64Array(xi.length);
  copyInto(st.xs, xi, k);
  return st.xs;
}

// scanColumns reads a chunk of this many points a call: V8 optimizes a function
// called often sooner than it replaces a long loop running in the interpreter
// (which boxes every double it reads from a Float64Array), so all but the first
// chunks of a 100k-point series run optimized. V8 compiles the optimized code on
// another thread and a new call enters it: small chunks enter it soon after it is
// ready, later when the second core is busy (4 x 100k first draw in Chromium: 0.83-0.85
// of 4096-point chunks' time with 128, 0.86-0.87 with 512; the call costs nothing here).
const CHUNK = 128;

function scanColumns(steps, rates, from, to, k, onSteps, axis, logScale, xi, ys, bmin, bmax, st, flagged) {
  const n = to;
  let ints = st.ints; // writing xi (whole numbers) rather than xs
  let xs = st.xs;
  // (The last values are read back from ys, the block's extent from bmin and bmax.)
  for (let i = from; i < n; i++) {
    const step = steps[i];
    // (x - x === 0: a finite number, without a call in unoptimized code)
    if (step - step !== 0) continue;
    const x = onSteps ? step : axis.point(step);
    if (x === null || !(x > st.previousX)) continue;
    st.previousX = x; // (in the loop: a store after it would be code the optimized loop has not seen)
    const value = rates[i];
    let y = value;
    if (value - value !== 0) {
      flagged.push({ x, value, step });
      y = NaN; // a gap: equal to nothing
      st.gaps++;
    } else if (logScale && value <= 0) {
      y = NaN;
      st.gaps++;
      st.hidden++;
    }
    // Flat stretches keep their two ends: the last point written is dropped (written
    // over) when it and the one before have this value too (a gap, NaN, equals nothing).
    // Both comparisons and the subtraction run on every point from the third on: the
    // optimized loop has seen them all before its first flat stretch.
    const sameAsLast = k >= 2 && y === ys[k - 1];
    const sameAsOneBefore = k >= 2 && y === ys[k - 2];
    k -= sameAsLast && sameAsOneBefore ? 1 : 0;
    if (!ints) xs[k] = x;
    else if ((x | 0) === x) xi[k] = x;
    else {
      ints = false;
      xs = widen(st, xi, k);
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
 * A rate series' columns ({steps, rates}: typed arrays, see seriesColumns) placed on an axis.
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
export function placeRates(series, axis, logScale, like = null) {
  const n = series.steps.length;
  const xi = axis.name === "step" ? new Int32Array(n) : null;
  const ys = new Float64Array(n); // NaN marks a gap until the end
  const bmin = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const bmax = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const flagged = [];
  const st = newScanState(n, xi !== null);
  const onSteps = axis.name === "step";
  let k = 0;
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK);
    k = scanColumns(series.steps, series.rates, from, to, k, onSteps, axis, logScale, xi, ys, bmin, bmax, st, flagged);
  }
  const placedXs = head(st.ints ? xi : st.xs, k);
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

// The x of a metric point whose step is not on the step axis as it is (see placeMetric).
function metricX(axis, epoch, step) {
  const known = step - step === 0 ? step : null;
  return epoch - epoch === 0 ? axis.epochEnd(epoch, known) : axis.point(known);
}

function scanMetric(epochs, steps, values, from, to, m, onSteps, axis, xi, ys, bmin, bmax, st, flagged) {
  let ints = st.ints; // writing xi (whole numbers) rather than xs
  let xs = st.xs;
  for (let i = from; i < to; i++) {
    const step = steps[i];
    // On the step axis a point with a step sits at it, epoch or not (axis.epochEnd).
    const x = onSteps && step - step === 0 ? step : metricX(axis, epochs[i], step);
    if (x === null || x - x !== 0) continue;
    const value = values[i];
    let y = value;
    if (value - value !== 0) {
      const epoch = epochs[i];
      flagged.push({ x, value, epoch: epoch - epoch === 0 ? epoch : null, step: step - step === 0 ? step : null });
      y = NaN;
      st.gaps++;
    }
    if (x <= st.previousX) st.same = false;
    st.previousX = x; // (in the loop, see scanColumns)
    if (!ints) xs[m] = x;
    else if ((x | 0) === x) xi[m] = x;
    else {
      ints = false;
      xs = widen(st, xi, m);
      xs[m] = x;
    }
    ys[m] = y;
    // BLOCK_SHIFT 4: blocks of 16 (extents read back: see scanColumns).
    const block = m >> 4;
    const opens = (m & 15) === 0;
    if (opens || y < bmin[block]) bmin[block] = y;
    if (opens || y > bmax[block]) bmax[block] = y;
    m++;
  }
  return m;
}

/**
 * A metric's columns ({epochs, steps, values}: typed arrays, see metricColumns) placed
 * on an axis: epoch metrics at the end of their epoch, batch metrics (epoch NaN) at
 * their step.
 *
 * Like placeRates: typed arrays and blocks, ys with null instead where a value is not
 * finite; extent is [min, max] of the finite values.
 */
export function placeMetric(metric, axis) {
  const n = metric.steps.length;
  const xi = axis.name === "step" ? new Int32Array(n) : null;
  const ys = new Float64Array(n);
  const bmin = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const bmax = new Float64Array((n >> BLOCK_SHIFT) + 1);
  const flagged = [];
  const st = newScanState(n, xi !== null); // st.same: sorted by x
  const onSteps = axis.name === "step";
  let m = 0;
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK);
    m = scanMetric(metric.epochs, metric.steps, metric.values, from, to, m, onSteps, axis, xi, ys, bmin, bmax, st, flagged);
  }
  if (st.same) {
    return {
      xs: head(st.ints ? xi : st.xs, m),
      ys: st.gaps ? withNulls(ys, m) : head(ys, m),
      blocks: st.gaps ? null : { min: bmin, max: bmax },
      flagged,
      extent: st.gaps ? extentOf(ys, m) : extentOfBlocks(bmin, bmax, m),
    };
  }
  // Sort by x; of repeated points the later record wins.
  const placedXs = st.ints ? xi : st.xs;
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
