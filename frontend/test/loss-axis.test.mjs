// The loss track's y range without outliers (model/loss-axis.js).

import test from "node:test";
import assert from "node:assert/strict";
import { lossAxisRange, sampleWindow, OUTLIER_DECADES } from "../src/model/loss-axis.js";

/** A shown series from its values in x order: the whole window, sampled as the view samples it. */
function shown(ys) {
  const xs = ys.map((_, i) => i);
  const finite = ys.filter(Number.isFinite);
  return {
    values: sampleWindow(xs, ys, 0, xs.length - 1),
    min: finite.length ? Math.min(...finite) : null,
    max: finite.length ? Math.max(...finite) : null,
  };
}

/** A cross-entropy-like loss: from `start` down towards `floor`, as a training curve decays. */
function decaying(epochs, start = 2.3, floor = 0.05, rate = 0.35) {
  return Array.from({ length: epochs }, (_, e) => floor + (start - floor) * Math.exp(-rate * e));
}

test("runs on the same scale keep the axis they had: every point's extent, nothing cut", () => {
  const loss = decaying(20);
  const val = decaying(20, 2.1, 0.09, 0.3);
  const other = decaying(20, 2.5, 0.02, 0.5);
  const range = lossAxisRange([shown(loss), shown(val), shown(other)]);
  assert.deepEqual(range, { min: Math.min(...other), max: 2.5, cut: [] });
});

test("one run alone keeps its first epochs however high they start: a regression loss from 1e4 to 1", () => {
  const loss = decaying(30, 1e4, 1, 0.6);
  assert.deepEqual(lossAxisRange([shown(loss)]), { min: Math.min(...loss), max: 1e4, cut: [] });
});

test("a diverged run leaves the axis to the healthy run, and the cut says how far it goes", () => {
  const healthy = decaying(20);
  const diverged = [...decaying(6), 40, 3e3, 2e5, 1e9, 4e14, 1e22, 1e30, 3.2e30, 1e30, 5e29, 7e29, 2e30, 1e30, 9e29];
  const range = lossAxisRange([shown(healthy), shown(diverged)]);
  assert.deepEqual(range.cut, [{ index: 1, max: 3.2e30 }]);
  // The diverged run's values up to 100x the healthy level (median 0.1: 10) stay.
  assert.equal(range.max, 2.3);
  assert.equal(range.min, Math.min(...healthy));
});

test("the healthy run's reference holds with loss and val_loss of both runs (the lower median of the levels)", () => {
  const h = decaying(20);
  const hv = decaying(20, 2.2, 0.12);
  const d = [...decaying(4), ...Array.from({ length: 16 }, (_, i) => 10 ** (3 + i))];
  const dv = [...decaying(4, 2.2, 0.12), ...Array.from({ length: 16 }, (_, i) => 3.2 * 10 ** (3 + i / 2))];
  const range = lossAxisRange([shown(h), shown(hv), shown(d), shown(dv)]);
  assert.deepEqual(range.cut.map((c) => c.index), [2, 3]);
  assert.equal(range.max, 2.3);
});

test("a spike at one epoch leaves the axis; the rest of the run, its start included, stays", () => {
  const loss = decaying(20);
  loss[9] = 5e4;
  const range = lossAxisRange([shown(loss)]);
  assert.deepEqual(range.cut, [{ index: 0, max: 5e4 }]);
  assert.equal(range.max, 2.3);
});

test("a spike under 100x the run's level stays on the axis", () => {
  const loss = decaying(20);
  loss[9] = 9; // median level 0.1 (the decayed epochs): 10 ** (log10(0.1) + 2) = 10
  assert.ok(10 ** (Math.log10(0.1) + OUTLIER_DECADES) > 9);
  assert.deepEqual(lossAxisRange([shown(loss)]).cut, []);
});

test("NaN and infinite values are left to the non-finite markers: the range reads the finite ones", () => {
  const loss = [...decaying(8), Infinity, NaN, -Infinity, ...decaying(4, 0.1, 0.05)];
  const range = lossAxisRange([shown(loss)]);
  assert.deepEqual(range, { min: Math.min(...loss.filter(Number.isFinite)), max: 2.3, cut: [] });
});

test("a series whose window holds nothing drawable is skipped; no series at all gives no range", () => {
  assert.deepEqual(lossAxisRange([]), { min: null, max: null, cut: [] });
  const range = lossAxisRange([shown([NaN, Infinity]), shown(decaying(5))]);
  assert.equal(range.max, 2.3);
  assert.deepEqual(range.cut, []);
});

test("a single point is its own range", () => {
  assert.deepEqual(lossAxisRange([shown([0.42])]), { min: 0.42, max: 0.42, cut: [] });
});

test("equal values, zeros and negative values are never outliers", () => {
  assert.deepEqual(lossAxisRange([shown([0.3, 0.3, 0.3])]), { min: 0.3, max: 0.3, cut: [] });
  assert.deepEqual(lossAxisRange([shown([0, 0, 0])]), { min: 0, max: 0, cut: [] });
  assert.deepEqual(lossAxisRange([shown([-5, -1e6, 0.2, 0.1])]), { min: -1e6, max: 0.2, cut: [] });
});

test("a run on another scale from start to end leaves the axis whole when the other runs are the majority", () => {
  const a = decaying(10);
  const b = decaying(10, 2.0, 0.08);
  const mse = decaying(10, 5e6, 2e5);
  const range = lossAxisRange([shown(a), shown(b), shown(mse)]);
  assert.deepEqual(range.cut, [{ index: 2, max: 5e6 }]);
  assert.equal(range.max, 2.3);
});

test("sampleWindow reads at most `count` evenly spaced finite points of the x window, its ends included", () => {
  const xs = Array.from({ length: 10001 }, (_, i) => i);
  const ys = xs.map((x) => x * 2);
  const values = sampleWindow(xs, ys, 1000.5, 9000, 101);
  assert.equal(values.length, 101);
  assert.equal(values[0], 2002);
  assert.equal(values[100], 18000);
  assert.deepEqual(sampleWindow(xs, ys, 20000, 30000), []);
  assert.deepEqual(sampleWindow([0, 1, 2], [1, NaN, 3], 0, 2), [1, 3]);
});
