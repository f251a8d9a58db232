// The x-axis convention: steps, epochs and seconds since the start.

import test from "node:test";
import assert from "node:assert/strict";
import { EpochMap, makeAxis, stepAt } from "../src/model/axis.js";

// Three epochs of 10 updates: 0..9, 10..19, 20..29; 100 s, 50 s, 100 s, 5 s apart.
const EPOCHS = [
  { epoch: 0, first_step: 0, last_step: 9, start_time: 1000, end_time: 1100 },
  { epoch: 1, first_step: 10, last_step: 19, start_time: 1105, end_time: 1155 },
  { epoch: 2, first_step: 20, last_step: 29, start_time: 1160, end_time: 1260 },
];

test("the epoch axis puts update s at the fraction of its epoch done once s is applied", () => {
  const axis = makeAxis("epoch", new EpochMap(EPOCHS));
  assert.equal(axis.point(0), 0.1);
  assert.equal(axis.point(9), 1); // the last update of epoch 0 ends it
  assert.equal(axis.point(10), 1.1);
  assert.equal(axis.point(29), 3);
  assert.equal(axis.epochEnd(1, 19), 2);
  assert.equal(axis.epochStart(2, null), 2);
});

test("steps after the last epoch continue at the last epoch's length", () => {
  const axis = makeAxis("epoch", new EpochMap(EPOCHS));
  assert.equal(axis.point(30), 3.1);
  assert.equal(axis.point(39), 4);
});

test("the time axis spreads an epoch's wall time over its updates", () => {
  const map = new EpochMap(EPOCHS);
  const axis = makeAxis("time", map);
  assert.ok(map.timeAvailable);
  assert.equal(axis.point(0), 10);
  assert.equal(axis.point(9), 100);
  assert.equal(axis.point(10), 110); // epoch 1 starts at 105 s: 5 s per update
  assert.equal(axis.epochEnd(1, 19), 155);
  assert.equal(axis.epochStart(2, 20), 160);
});

test("epochs without wall times leave the time axis unavailable", () => {
  const map = new EpochMap(EPOCHS.map(({ start_time, end_time, ...rest }) => rest));
  assert.ok(map.available);
  assert.equal(map.timeAvailable, false);
  assert.equal(makeAxis("time", map).point(5), null);
});

test("the step axis places epoch ends at their last step", () => {
  const axis = makeAxis("step", new EpochMap(EPOCHS));
  assert.equal(axis.point(12), 12);
  assert.equal(axis.epochEnd(1, null), 19);
  assert.equal(axis.epochStart(2, null), 20);
});

test("a resumed run that repeats steps keeps the epochs that move forward", () => {
  const map = new EpochMap([...EPOCHS, { epoch: 1, first_step: 5, last_step: 14 }]);
  assert.deepEqual(map.spans.map((span) => span.epoch), [0, 1, 2]);
});

test("stepAt inverts an axis, to carry a zoom from one axis to another", () => {
  const axis = makeAxis("epoch", new EpochMap(EPOCHS));
  assert.ok(Math.abs(stepAt(axis, 1.5) - 14) < 1e-6);
  assert.equal(stepAt(makeAxis("step", new EpochMap([])), 7), 7);
});
