// Series with their own x values lined up into uPlot's columns, and lookups in sorted xs.

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

export function sameValues(a, b) {
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

/**
 * The first index in [lo, hi) of sorted xs whose value is >= x (hi if none), galloping
 * from lo: O(log d) for a distance d, so walking two sorted arrays together costs
 * O(n) when they are alike and O(m log(n/m)) when one is sparse.
 */
export function firstAtOrAfter(xs, x, lo, hi) {
  let bound = lo;
  let step = 1;
  while (bound < hi && xs[bound] < x) {
    lo = bound + 1;
    bound += step;
    step += step;
  }
  if (bound > hi) bound = hi;
  while (lo < bound) {
    const mid = (lo + bound) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else bound = mid;
  }
  return lo;
}

// A sorted array with at least 1/DENSE of another's length is walked alongside it, one
// index at a time; a sparser one gallops (firstAtOrAfter). Either way a loop of its own
// without a call a value: the first run of a 100k-point walk is V8's unoptimized code.
const DENSE = 16;

/** Whether every value of sorted `small` is in sorted `big`. */
function isSubset(small, big) {
  if (small.length > big.length) return false;
  return small.length * DENSE >= big.length ? isSubsetWalk(small, big) : isSubsetGallop(small, big);
}

function isSubsetWalk(small, big) {
  const n = big.length;
  let j = 0;
  for (let i = 0; i < small.length; i++) {
    const x = small[i];
    while (j < n && big[j] < x) j++;
    if (j === n || big[j] !== x) return false;
  }
  return true;
}

function isSubsetGallop(small, big) {
  const n = big.length;
  let j = 0;
  for (let i = 0; i < small.length; i++) {
    const x = small[i];
    j = firstAtOrAfter(big, x, j, n);
    if (j === n || big[j] !== x) return false;
  }
  return true;
}

/** Whether ys hold no gap (null): the chart draws such a series from its own points (view/paths.js). */
export function gapless(ys) {
  return ArrayBuffer.isView(ys) || !ys.includes(null);
}

/**
 * uPlot's columnar data for series with their own x values: [xs, ys1, ys2, ...].
 *
 * A series has undefined where it has no point (uPlot draws across it) and null
 * where its value could not be drawn (uPlot leaves a gap). A series that has a
 * point at every x keeps its own ys (a Float64Array when it has no gap); a gapless
 * series with fewer xs gets a column that looks its values up (lookupColumn).
 */
export function alignSeries(seriesList) {
  const xs = unionOfSorted(seriesList.map((series) => series.xs));
  const columns = [xs];
  for (const series of seriesList) {
    if (sameValues(series.xs, xs)) {
      columns.push(series.ys);
      continue;
    }
    const fill = gapless(series.ys) ? lookupColumn : sparseColumn;
    columns.push(fill(xs, series.xs, series.ys));
  }
  return columns;
}

/**
 * The column of a gapless series, as sparseColumn's array reads (its value where it
 * has a point, else undefined), without a slot per x: its value at index i is looked
 * up in its own xs. Such a series is drawn from its own points (view/paths.js), so
 * uPlot reads its column at a few indexes only (the ends of the window it draws, the
 * cursor's neighbours); a 1,000-point epoch metric among 1M steps then costs no
 * 1M-slot array.
 */
function lookupColumn(xs, ownXs, ownYs) {
  const n = xs.length;
  const indexOf = (key) => {
    if (typeof key !== "string" || key === "" || key.length > 10) return -1;
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < n && String(i) === key ? i : -1;
  };
  const valueAtIndex = (i) => {
    const j = lowerBound(ownXs, xs[i]);
    return j < ownXs.length && ownXs[j] === xs[i] ? ownYs[j] : undefined;
  };
  return new Proxy([], {
    get(target, key, receiver) {
      if (key === "length") return n;
      const i = indexOf(key);
      if (i >= 0) return valueAtIndex(i);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      const i = indexOf(key);
      return i >= 0 ? valueAtIndex(i) !== undefined : Reflect.has(target, key);
    },
  });
}

// The column starts with holes (read as undefined) rather than filled with undefined:
// numbers then go in unboxed (V8's double elements), not as a heap object each.
// xs holds every x of every series (see isSubset for the two loops).
function sparseColumn(xs, ownXs, ownYs) {
  const column = new Array(xs.length);
  if (ownXs.length * DENSE >= xs.length) fillWalk(column, xs, ownXs, ownYs);
  else fillGallop(column, xs, ownXs, ownYs);
  return column;
}

function fillWalk(column, xs, ownXs, ownYs) {
  let j = 0;
  for (let i = 0; i < ownXs.length; i++) {
    const x = ownXs[i];
    while (xs[j] < x) j++;
    column[j] = ownYs[i];
  }
}

function fillGallop(column, xs, ownXs, ownYs) {
  const n = xs.length;
  let j = 0;
  for (let i = 0; i < ownXs.length; i++) {
    j = firstAtOrAfter(xs, ownXs[i], j, n);
    column[j] = ownYs[i];
  }
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
