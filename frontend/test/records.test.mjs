// Plateau records and events as the tracks and table read them: the server's facts, not a rule.

import test from "node:test";
import assert from "node:assert/strict";
import { normalizeTimeline } from "../src/api/timeline.js";
import { EpochMap, makeAxis } from "../src/model/axis.js";
import { plateauRecords, cooldownWindows, reductions, rateEvents } from "../src/model/records.js";
import { buildModel } from "../src/model/build.js";
import { themeFor } from "../src/view/theme.js";
import { plainLabel } from "../src/model/label.js";

// patience 2, cooldown 3 on a flat metric: reductions at epochs 2 and 6, epochs 3-4 blocked.
function plateauTimeline({ withView = true } = {}) {
  const epochs = [];
  const plateau = [];
  const actions = ["improved", "wait", "reduce", "cooldown", "cooldown", "wait", "reduce", "cooldown"];
  const waits = [0, 1, 0, 0, 0, 1, 0, 0];
  const counters = [0, 0, 3, 2, 1, 0, 3, 2];
  actions.forEach((action, epoch) => {
    epochs.push({ epoch, first_step: epoch * 4, last_step: epoch * 4 + 3 });
    plateau.push({
      epoch, step: epoch * 4 + 3, action, wait: waits[epoch], wait_before: epoch ? waits[epoch - 1] : 0,
      patience: 2, cooldown: 3, cooldown_counter: counters[epoch], value: 1, best: 1,
      best_before: epoch ? 1 : null, min_delta: 1e-4, monitor: "val_loss", mode: "min",
      lr_before: 0.1, lr_after: action === "reduce" ? 0.05 : 0.1,
    });
  });
  const raw = {
    run: "r/lr_timeline", name: "r", learning_rate: { SGD: [[0, 0.1], [31, 0.1]] }, epochs, plateau,
    events: [{ epoch: 2, step: 11, kind: "reduce", lr_before: 0.1, lr_after: 0.05, wait: 2, patience: 2 }],
  };
  if (withView) {
    raw.plateau_view = {
      decisions: plateau.map((r) => ({
        epoch: r.epoch,
        decision_wait: r.action === "reduce" ? 2 : r.wait,
        delta: r.epoch ? 0 : null,
        beat_threshold: r.epoch === 0,
      })),
      cooldown_windows: [
        { reduce_epoch: 2, first_epoch: 3, last_epoch: 4, blocked_epochs: 2, complete: true },
        { reduce_epoch: 6, first_epoch: 7, last_epoch: 7, blocked_epochs: 1, complete: false },
      ],
    };
  }
  return normalizeTimeline(raw);
}

test("each plateau record carries the server's decision wait, delta and threshold verdict", () => {
  const records = plateauRecords(plateauTimeline());
  assert.deepEqual(records.map((r) => r.decisionWait), [0, 1, 2, 0, 0, 1, 2, 0]);
  assert.deepEqual(records.map((r) => r.beatThreshold), [true, false, false, false, false, false, false, false]);
  assert.equal(records[0].delta, null);
  assert.equal(records[1].delta, 0);
});

test("without the server's facts a reduction's wait is unknown, not re-derived", () => {
  const records = plateauRecords(plateauTimeline({ withView: false }));
  assert.deepEqual(records.map((r) => r.decisionWait), [0, 1, null, 0, 0, 1, null, 0]);
  assert.deepEqual(records.map((r) => r.beatThreshold), Array(8).fill(null));
});

test("cooldown bands run from the reducing epoch's end to the last blocked epoch's end", () => {
  const timeline = plateauTimeline();
  const map = new EpochMap(timeline.epochs);
  assert.deepEqual(cooldownWindows(timeline, makeAxis("epoch", map)), [[3, 5], [7, 8]]);
  assert.deepEqual(cooldownWindows(timeline, makeAxis("step", map)), [[11, 19], [27, 31]]);
  assert.deepEqual(cooldownWindows(plateauTimeline({ withView: false }), makeAxis("epoch", map)), []);
});

test("reductions come from reduce events, with the decision that made them", () => {
  const [reduction] = reductions(plateauTimeline());
  assert.equal(reduction.epoch, 2);
  assert.equal(reduction.wait, 2);
  assert.deepEqual(reduction.rates, [{ optimizer: null, before: 0.1, after: 0.05 }]);
  assert.equal(reduction.record.action, "reduce");
});

test("rate events merge optimizers and tell whether a scheduler changed the rate", () => {
  const timeline = normalizeTimeline({
    events: [
      { kind: "lr_set", epoch: 0, step: 0, lr: 0.1, optimizer: "SGD" },
      { kind: "lr_set", epoch: 1, step: 10, lr: 0.1, optimizer: "SGD" },
      { kind: "lr_set", epoch: 2, step: 20, lr: 0.05, optimizer: "SGD" },
    ],
  });
  const events = rateEvents(timeline);
  assert.deepEqual(events.map((e) => e.changed), [true, false, true]);
  assert.equal(events[2].rates[0].previous, 0.1);
});

test("the plateau track draws the server's waits and windows; each track has its own builder", () => {
  const model = buildModel(
    [{ run: "r/lr_timeline", name: "r", timeline: plateauTimeline(), colorIndex: 0 }],
    { axis: "epoch", scale: "log" },
    themeFor(false),
  );
  const wait = model.tracks.plateau.series.find((s) => plainLabel(s.label) === "wait");
  assert.deepEqual(wait.ys, [0, 0, 1, 2, 0, 0, 1, 2, 0]);
  assert.deepEqual(model.tracks.plateau.bands.map((b) => [b.x0, b.x1]), [[3, 5], [7, 8]]);
  assert.deepEqual(model.markers.map((m) => m.x), [3]);
  assert.equal(model.axisName, "epoch");
  assert.deepEqual(model.tracks.lr.series.map((s) => s.label), [[{ name: "SGD" }]]);
});

test("overlaid runs label every series with the run's name and the series' name, each a name part", () => {
  const entries = ["a\u202eb", "c"].map((name, colorIndex) => ({
    run: `${name}/lr_timeline`, name, timeline: plateauTimeline(), colorIndex,
  }));
  const model = buildModel(entries, { axis: "step", scale: "log" }, themeFor(false));
  assert.deepEqual(model.tracks.lr.series[0].label, [{ name: "a\u202eb" }, " \u00b7 ", { name: "SGD" }]);
  assert.equal(plainLabel(model.tracks.loss.series.find((s) => s.key.endsWith("best")).label), "a\u202eb \u00b7 best val_loss");
});
