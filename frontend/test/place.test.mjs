// Series placed on an axis (the kernels of the first paint) and lined up for uPlot.

import test from "node:test";
import assert from "node:assert/strict";
import { EpochMap, makeAxis } from "../src/model/axis.js";
import { placeRates, placeMetric } from "../src/model/place.js";
import { alignSeries, unionOfSorted, valueAt, lowerBound } from "../src/model/align.js";
import { seriesColumns, metricColumns } from "../src/api/timeline.js";

const steps = makeAxis("step", new EpochMap([]));
// Rate series as the app holds them: columns, here from the JSON answer's pairs.
const columns = seriesColumns;

test("placeRates keeps the two ends of a flat stretch and whole steps in an Int32Array", () => {
  const placed = placeRates(columns([[0, 0.1], [1, 0.1], [2, 0.1], [3, 0.1], [4, 0.05], [5, 0.05]]), steps, true);
  assert.ok(placed.xs instanceof Int32Array);
  assert.deepEqual(Array.from(placed.xs), [0, 3, 4, 5]);
  assert.deepEqual(Array.from(placed.ys), [0.1, 0.1, 0.05, 0.05]);
  assert.deepEqual(placed.extent, [0.05, 0.1]);
});

test("placeRates draws NaN, infinities and, on a log scale, rates <= 0 as gaps", () => {
  const placed = placeRates(columns([[0, 0.1], [1, "NaN"], [2, 0], [3, "Infinity"], [4, 0.2]]), steps, true);
  assert.deepEqual(placed.ys, [0.1, null, null, null, 0.2]);
  assert.equal(placed.hiddenNonPositive, 1);
  assert.deepEqual(placed.flagged.map((point) => point.step), [1, 3]);
  assert.equal(placed.blocks, null);
  const linear = placeRates(columns([[0, 0.1], [1, 0]]), steps, false);
  assert.deepEqual(Array.from(linear.ys), [0.1, 0]);
});

test("placeRates skips steps that go back and shares the xs of an optimizer stepping alongside", () => {
  const first = placeRates(columns([[0, 1], [1, 2], [1, 3], [2, 4]]), steps, false);
  assert.deepEqual(Array.from(first.xs), [0, 1, 2]);
  const second = placeRates(columns([[0, 5], [1, 6], [2, 7]]), steps, false, first.xs);
  assert.equal(second.xs, first.xs);
});

test("placeMetric puts epoch metrics at the end of their epoch and sorts batch metrics", () => {
  const epochs = makeAxis("epoch", new EpochMap([
    { epoch: 0, first_step: 0, last_step: 3 },
    { epoch: 1, first_step: 4, last_step: 7 },
  ]));
  const placed = placeMetric(metricColumns([[0, 3, 0.9], [1, 7, 0.7]]), epochs);
  assert.deepEqual(Array.from(placed.xs), [1, 2]);
  const unsorted = placeMetric(metricColumns([[null, 5, 1.5], [null, 2, 2.5], [null, 5, 3.5]]), steps);
  assert.deepEqual(Array.from(unsorted.xs), [2, 5]);
  assert.deepEqual(Array.from(unsorted.ys), [2.5, 3.5]); // the later repeat wins
});

test("placeMetric reads JSON points and columnar columns alike: NaN, infinities, no step, no epoch", () => {
  const axis = makeAxis("step", new EpochMap([{ epoch: 0, first_step: 0, last_step: 3 }]));
  const points = [[null, 1, 0.5], [null, 2, "NaN"], [0, null, 0.25], [null, null, 9], [null, 4, "-Infinity"], [null, 5, 0.125]];
  const columns = {
    epochs: new Float64Array([NaN, NaN, 0, NaN, NaN, NaN]),
    steps: new Float64Array([1, 2, NaN, NaN, 4, 5]),
    values: new Float32Array([0.5, NaN, 0.25, 9, -Infinity, 0.125]),
  };
  for (const metric of [metricColumns(points), columns]) {
    const placed = placeMetric(metric, axis);
    // The epoch-0 point without a step sits at its epoch's last step; the point with neither is left out.
    assert.deepEqual(Array.from(placed.xs), [1, 2, 3, 4, 5]);
    assert.deepEqual(placed.ys, [0.5, null, 0.25, null, 0.125]);
    assert.deepEqual(placed.flagged.map(({ x, value, epoch, step }) => [x, value, epoch, step]),
      [[2, NaN, null, 2], [4, -Infinity, null, 4]]);
    assert.deepEqual(placed.extent, [0.125, 0.5]);
  }
  const empty = placeMetric(metricColumns([]), axis);
  assert.deepEqual([empty.xs.length, empty.extent], [0, null]);
});

test("alignSeries lines series up on the union of their xs", () => {
  const a = { xs: [0, 1, 2, 3], ys: [1, 2, 3, 4] };
  const b = { xs: [1, 3], ys: [10, 30] };
  const [xs, ya, yb] = alignSeries([a, b]);
  assert.deepEqual(Array.from(xs), [0, 1, 2, 3]);
  assert.equal(ya, a.ys);
  assert.deepEqual(Array.from(yb), [undefined, 10, undefined, 30]); // holes: uPlot reads undefined
  assert.deepEqual(Array.from(unionOfSorted([[0, 2], [1, 2, 5]])), [0, 1, 2, 5]);
});

test("alignSeries: a gapless series' column looks its values up, one with gaps holds them, both read the same, dense or sparse", () => {
  const all = { xs: Int32Array.from({ length: 10000 }, (_, i) => 3 * i), ys: new Float64Array(10000).fill(1) };
  const dense = all.xs.filter((x) => x % 6 === 0); // every other x: walked alongside the union
  const sparse = all.xs.filter((x) => x % 3000 === 0); // every 1000th: galloped
  for (const xsOf of [dense, sparse]) {
    const values = Array.from(xsOf, (x) => x / 2);
    const looked = { xs: xsOf, ys: Float64Array.from(values) }; // gapless: drawn from its own points
    const held = { xs: xsOf, ys: values.map((v, i) => (i === 1 ? null : v)) }; // a gap: uPlot draws the column
    const [xs, , lookup, sparseColumn] = alignSeries([all, looked, held]);
    assert.equal(xs, all.xs); // both are subsets: no new union
    const expected = Array.from(xs, (x) => (xsOf.includes(x) ? x / 2 : undefined));
    assert.ok(Array.isArray(lookup) && Array.isArray(sparseColumn));
    assert.equal(lookup.length, xs.length);
    assert.deepEqual(Array.from(lookup), expected);
    assert.deepEqual(Array.from(sparseColumn), expected.map((v) => (v === xsOf[1] / 2 ? null : v)));
    // As uPlot reads a column: one index at a time, the last, past the end, which hold a value.
    const at = xs.indexOf(xsOf[2]);
    assert.equal(lookup[at], xsOf[2] / 2);
    assert.equal(lookup[at + 1], undefined);
    assert.equal(lookup.at(-1), expected.at(-1));
    assert.equal(lookup[xs.length], undefined);
    assert.ok(at in lookup && !(at + 1 in lookup) && !(xs.length in lookup));
  }
  // One x the first lacks, dense or sparse: a new union holding it.
  for (const other of [Int32Array.from(dense, (x, i) => (i === 2500 ? x + 1 : x)), Int32Array.of(0, 3001)]) {
    const union = unionOfSorted([all.xs, other]);
    assert.notEqual(union, all.xs);
    assert.equal(union.length, all.xs.length + 1);
    assert.ok(union.includes(other.find((x) => x % 3 !== 0)));
  }
});

test("valueAt is the value in effect at x and lowerBound the first index at or after x", () => {
  assert.equal(valueAt([0, 10, 20], [1, 2, 3], 15), 2);
  assert.equal(valueAt([0, 10, 20], [1, 2, 3], -1), undefined);
  assert.equal(lowerBound([0, 10, 20], 10), 1);
  assert.equal(lowerBound([0, 10, 20], 11), 2);
});

test("placeRates reads long series in chunks as one: a flat stretch across chunks keeps its two ends", () => {
  const n = 10000;
  const series = { steps: new Float64Array(n), rates: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    series.steps[i] = i;
    series.rates[i] = i >= 4000 && i < 5000 ? 0.5 : 1 / (i + 2);
  }
  const placed = placeRates(series, steps, true);
  const xs = Array.from(placed.xs);
  assert.equal(xs.length, n - 998);
  assert.deepEqual(xs.slice(3999, 4003), [3999, 4000, 4999, 5000]);
  assert.equal(placed.ys[4000], 0.5);
  assert.equal(placed.ys[4001], 0.5);
  assert.deepEqual(placed.extent, [Math.fround(1 / (n + 1)), 0.5]);
});

test("steps beyond Int32 switch the xs to a Float64Array midway, keeping the xs before", () => {
  const big = 2 ** 31;
  const placed = placeRates(columns([[1, 0.1], [2, 0.2], [big + 5, 0.3]]), steps, false);
  assert.ok(placed.xs instanceof Float64Array);
  assert.deepEqual(Array.from(placed.xs), [1, 2, big + 5]);
  const metric = placeMetric(metricColumns([[null, 1, 0.5], [null, big, 0.25]]), steps);
  assert.deepEqual(Array.from(metric.xs), [1, big]);
});
