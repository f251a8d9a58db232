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
