// The loss track's y range without outliers (model/loss-axis.js).

import test from "node:test";
import assert from "node:assert/strict";
import { lossAxisRange, sampleWindow } from "../src/model/loss-axis.js";

/** A shown series of `run` from its values in x order: the whole window, sampled as the view samples it. */
function shown(ys, run = "a") {
  const xs = ys.map((_, i) => i);
  const finite = ys.filter(Number.isFinite);
  return {
    run,
    values: sampleWindow(xs, ys, 0, xs.length - 1),
    min: finite.length ? Math.min(...finite) : null,
    max: finite.length ? Math.max(...finite) : null,
  };
}

/** A cross-entropy-like loss: from `start` down towards `floor`, as a training curve decays. */
function decaying(epochs, start = 2.3, floor = 0.05, rate = 0.35) {
  return Array.from({ length: epochs }, (_, e) => floor + (start - floor) * Math.exp(-rate * e));
}

/** A run that decays for `healthy` epochs, then diverges by a factor each epoch, up to `peak`. */
function diverging(epochs, healthy, factor = 30, peak = 3.2e30) {
  const values = decaying(healthy);
  while (values.length < epochs) values.push(Math.min(peak, values.at(-1) * factor));
  return values;
}

test("runs on the same scale keep the axis they had: every point's extent, nothing cut", () => {
  const a = decaying(20);
  const b = decaying(20, 2.1, 0.09, 0.3);
  const c = decaying(20, 4.5, 0.02, 0.5); // starts higher: its descent onto the others' range stays
  const range = lossAxisRange([shown(a, "a"), shown(b, "b"), shown(c, "c")]);
  assert.deepEqual(range, { min: Math.min(...c), max: 4.5, cut: [] });
});

test("one run alone keeps its first epochs however high they start: a regression loss from 1e4 to 1", () => {
  const loss = decaying(30, 1e4, 1, 0.6);
  assert.deepEqual(lossAxisRange([shown(loss)]), { min: Math.min(...loss), max: 1e4, cut: [] });
});

test("one run alone keeps a val_loss far above its loss (overfitting is no outlier)", () => {
  const loss = decaying(20, 2.3, 0.001, 0.6);
  const val = [...decaying(10, 2.4, 0.6), 0.8, 1.2, 1.8, 2.5, 3.4, 4.6, 6, 7.5, 9, 11];
  assert.deepEqual(lossAxisRange([shown(loss), shown(val)]), { min: Math.min(...loss), max: 11, cut: [] });
});

test("one run that diverged for most of its epochs keeps its axis: its divergence is its level", () => {
  const loss = [...decaying(4), 4e3, 1e6, 3e6, 2e7, 1e7, 3.2e7, 8e6, 2e7, 3e7, 1e7, 2.5e7, 3e7, 9e6, 2e7, 1e7, 3e7];
  assert.deepEqual(lossAxisRange([shown(loss)]), { min: Math.min(...loss), max: 3.2e7, cut: [] });
});

test("a diverged run leaves the axis to the healthy run, and the cut says how far it goes", () => {
  const healthy = decaying(20);
  const diverged = diverging(20, 6);
  const range = lossAxisRange([shown(healthy, "healthy"), shown(diverged, "diverged")]);
  assert.deepEqual(range.cut, [{ index: 1, max: Math.max(...diverged) }]);
  assert.equal(range.max, 2.3);
  assert.equal(range.min, Math.min(...healthy));
});

test("with loss, val_loss and best of two runs the reference is the healthy run's", () => {
  const series = [
    shown(decaying(20), "healthy"),
    shown(decaying(20, 2.2, 0.12), "healthy"),
    shown(Array(20).fill(0.12), "healthy"),
    shown(diverging(20, 8, 10), "diverged"),
    shown(diverging(20, 8, 20), "diverged"),
    shown(Array(20).fill(0.4), "diverged"), // its best stays at the last healthy value
  ];
  const range = lossAxisRange(series);
  assert.deepEqual(range.cut.map((c) => c.index), [3, 4]);
  // The diverged loss's first step up (2.4) is within ten times the healthy level: it stays.
  assert.equal(range.max, diverging(20, 8, 10)[8]);
});

test("a diverged run among three healthy ones leaves the axis; the majority sets the level", () => {
  const runs = ["a", "b", "c"].map((run, k) => shown(decaying(20, 2.3 + k / 10), run));
  const range = lossAxisRange([...runs, shown(diverging(20, 3), "d")]);
  assert.deepEqual(range.cut, [{ index: 3, max: Math.max(...diverging(20, 3)) }]);
  assert.equal(range.max, 2.5);
});

test("a spike at one epoch leaves the axis; the rest of the run, its start included, stays", () => {
  const loss = decaying(20);
  loss[9] = 5e4;
  const range = lossAxisRange([shown(loss)]);
  assert.deepEqual(range.cut, [{ index: 0, max: 5e4 }]);
  assert.equal(range.max, 2.3);
});

test("a spike within ten times the run's level stays on the axis", () => {
  const loss = decaying(20); // upper quartile 0.36: the ceiling is 3.6
  loss[9] = 3.5;
  assert.deepEqual(lossAxisRange([shown(loss)]), { min: Math.min(...loss), max: 3.5, cut: [] });
});

test("NaN and infinite values are left to the non-finite markers: the range reads the finite ones", () => {
  const loss = [...decaying(8), Infinity, NaN, -Infinity, ...decaying(4, 0.1, 0.05)];
  const range = lossAxisRange([shown(loss)]);
  assert.deepEqual(range, { min: Math.min(...loss.filter(Number.isFinite)), max: 2.3, cut: [] });
});

test("a series whose window holds nothing drawable is skipped; no series at all gives no range", () => {
  assert.deepEqual(lossAxisRange([]), { min: null, max: null, cut: [] });
  const range = lossAxisRange([shown([NaN, Infinity], "a"), shown(decaying(5), "b")]);
  assert.deepEqual(range, { min: Math.min(...decaying(5)), max: 2.3, cut: [] });
});

test("a single point is its own range", () => {
  assert.deepEqual(lossAxisRange([shown([0.42])]), { min: 0.42, max: 0.42, cut: [] });
});

test("equal values, zeros and negative values are never outliers", () => {
  assert.deepEqual(lossAxisRange([shown([0.3, 0.3, 0.3])]), { min: 0.3, max: 0.3, cut: [] });
  assert.deepEqual(lossAxisRange([shown([0, 0, 0])]), { min: 0, max: 0, cut: [] });
  assert.deepEqual(lossAxisRange([shown([-5, -1e6, 0.2, 0.1])]), { min: -1e6, max: 0.2, cut: [] });
});

test("a run on another scale from start to end leaves the axis when the other runs are the majority", () => {
  const mse = decaying(10, 5e6, 2e5);
  const range = lossAxisRange([shown(decaying(10), "a"), shown(decaying(10, 2.0, 0.08), "b"), shown(mse, "mse")]);
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
