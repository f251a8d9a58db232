// Incremental refresh: a run's tail (`since=<last step held>`) merged into what the page holds.

import test from "node:test";
import assert from "node:assert/strict";
import { normalizeTimeline } from "../src/api/timeline.js";
import { mergeTail, isTailOf } from "../src/api/merge.js";
import { plateauRecords } from "../src/model/records.js";

const counts = (total, inWindow = total, sent = inWindow) => ({ total, in_window: inWindow, sent });
const session = (id, start, superseded = null) => ({ session: id, start_step: start, superseded_from: superseded });

// A run of 6 steps (0-5), two epochs of 3 steps, one plateau decision per epoch, as a full answer.
function fullAnswer() {
  return normalizeTimeline({
    run: "r/lr_timeline",
    learning_rate: { SGD: [[0, 0.1], [1, 0.1], [2, 0.1], [3, 0.05], [4, 0.05], [5, 0.05]] },
    planned: {},
    points: { SGD: 6 }, planned_points: {}, points_in_window: { SGD: 6 }, planned_points_in_window: {},
    window: { start: null, end: null, since: null },
    last_step: 5,
    epochs: [{ epoch: 0, first_step: 0, last_step: 2 }, { epoch: 1, first_step: 3, last_step: 5 }],
    plateau: [{ epoch: 0, step: 2, action: "reduce" }, { epoch: 1, step: 5, action: "wait" }],
    events: [{ epoch: 0, step: 2, kind: "reduce" }],
    sessions: [session("a", 0)],
    metrics: { loss: [[0, 2, 0.9], [1, 5, 0.8]] },
    record_counts: {
      epochs: counts(2), plateau: counts(2), events: counts(1), sessions: counts(1),
      metrics: { loss: counts(2) },
    },
  });
}

// What the server answers to since=5 after epoch 2 (steps 6-8) ran in the same session.
function tailAnswer(overrides = {}) {
  return normalizeTimeline({
    run: "r/lr_timeline",
    learning_rate: { SGD: [[6, 0.05], [7, 0.02], [8, 0.02]] },
    planned: {},
    points: { SGD: 9 }, planned_points: {}, points_in_window: { SGD: 3 }, planned_points_in_window: {},
    window: { start: null, end: null, since: 5 },
    last_step: 8,
    epochs: [{ epoch: 2, first_step: 6, last_step: 8 }],
    plateau: [{ epoch: 2, step: 8, action: "reduce" }],
    events: [{ epoch: 2, step: 8, kind: "reduce" }],
    sessions: [session("a", 0)],
    metrics: { loss: [[2, 8, 0.7]] },
    record_counts: {
      epochs: counts(3, 1), plateau: counts(3, 1), events: counts(2, 1), sessions: counts(1),
      metrics: { loss: counts(3, 1) },
    },
    ...overrides,
  });
}

test("a tail of new steps is appended to the held series and records", () => {
  const { timeline, reload } = mergeTail(fullAnswer(), tailAnswer());
  assert.equal(reload, undefined);
  assert.deepEqual(Array.from(timeline.learning_rate.SGD.steps), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(Array.from(timeline.learning_rate.SGD.rates), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.02, 0.02]);
  assert.deepEqual(timeline.epochs.map((epoch) => epoch.epoch), [0, 1, 2]);
  assert.deepEqual(timeline.plateau.map((record) => record.action), ["reduce", "wait", "reduce"]);
  assert.deepEqual(timeline.events.map((event) => event.step), [2, 8]);
  assert.deepEqual(Array.from(timeline.metrics.loss.epochs), [0, 1, 2]);
  assert.deepEqual(Array.from(timeline.metrics.loss.steps), [2, 5, 8]);
  assert.deepEqual(Array.from(timeline.metrics.loss.values), [0.9, 0.8, 0.7]);
  assert.equal(timeline.last_step, 8);
  assert.deepEqual(timeline.window, { start: null, end: null, since: null });
  assert.deepEqual(timeline.record_counts.epochs, counts(3));
  assert.deepEqual(timeline.points_in_window, { SGD: 9 });
});

test("an empty tail keeps what is held", () => {
  const held = fullAnswer();
  const empty = tailAnswer({
    learning_rate: { SGD: [] }, points: { SGD: 6 }, points_in_window: { SGD: 0 }, last_step: 5,
    epochs: [], plateau: [], events: [], metrics: { loss: [] },
    record_counts: { epochs: counts(2, 0), plateau: counts(2, 0), events: counts(1, 0), sessions: counts(1), metrics: { loss: counts(2, 0) } },
  });
  const { timeline } = mergeTail(held, empty);
  assert.deepEqual(Array.from(timeline.learning_rate.SGD.steps), [0, 1, 2, 3, 4, 5]);
  assert.equal(timeline.epochs.length, 2);
});

test("float32 rates stay float32 only when both parts are", () => {
  const held = fullAnswer();
  held.learning_rate.SGD.rates = Float32Array.from(held.learning_rate.SGD.rates);
  const tail = tailAnswer();
  tail.learning_rate.SGD.rates = Float32Array.from(tail.learning_rate.SGD.rates);
  assert.ok(mergeTail(held, tail).timeline.learning_rate.SGD.rates instanceof Float32Array);
  assert.ok(mergeTail(held, tailAnswer()).timeline.learning_rate.SGD.rates instanceof Float64Array);
});

test("metric columns keep held points without a step and float32 values only when both parts are", () => {
  const held = fullAnswer();
  held.metrics.batch_loss = { epochs: new Float64Array([NaN, NaN]), steps: new Float64Array([NaN, 4]), values: new Float32Array([0.5, 0.25]) };
  held.record_counts.metrics.batch_loss = counts(2);
  const tail = tailAnswer();
  tail.metrics.batch_loss = { epochs: new Float64Array([NaN]), steps: new Float64Array([7]), values: new Float32Array([0.125]) };
  tail.record_counts.metrics.batch_loss = counts(3, 1);
  const merged = mergeTail(held, tail).timeline.metrics.batch_loss;
  assert.deepEqual(Array.from(merged.steps), [NaN, 4, 7]);
  assert.deepEqual(Array.from(merged.values), [0.5, 0.25, 0.125]);
  assert.ok(merged.values instanceof Float32Array);
  assert.ok(mergeTail(fullAnswer(), tailAnswer()).timeline.metrics.loss.values instanceof Float64Array);
});

test("a new session that starts at or before the last step held asks for a full reload", () => {
  const restarted = tailAnswer({ sessions: [session("a", 0, 4), session("b", 4)] });
  assert.match(mergeTail(fullAnswer(), restarted).reload, /session a was superseded/);
  const onlyNew = tailAnswer({ sessions: [session("a", 0), session("b", 5)] });
  assert.match(mergeTail(fullAnswer(), onlyNew).reload, /new session b starts at step 5, at or before step 5/);
});

test("a session that starts after the last step held extends the run", () => {
  const resumed = tailAnswer({ sessions: [session("a", 0), session("b", 6)] });
  const { timeline } = mergeTail(fullAnswer(), resumed);
  assert.deepEqual(timeline.sessions.map((s) => s.session), ["a", "b"]);
  assert.equal(timeline.learning_rate.SGD.steps.length, 9);
});

test("a run that shrank or changed before since asks for a full reload", () => {
  // 8 points in all, 3 after step 5: only 5 at or before it, 6 held.
  const shrunk = tailAnswer({ points: { SGD: 8 } });
  assert.match(mergeTail(fullAnswer(), shrunk).reload, /learning_rate\/SGD: 5 points at or before step 5 now, 6 held/);
  // A metric point without a step arrived: the tail cannot carry it.
  const unplaced = tailAnswer({ record_counts: { ...tailAnswer().record_counts, metrics: { loss: counts(4, 1) } } });
  assert.match(mergeTail(fullAnswer(), unplaced).reload, /metric loss/);
});

test("a thinned tail or an answer that is not a tail asks for a full reload", () => {
  const thinned = tailAnswer({ record_counts: { ...tailAnswer().record_counts, plateau: counts(3, 1, 0) } });
  assert.match(mergeTail(fullAnswer(), thinned).reload, /plateau: the tail was thinned/);
  // An older server ignores since and sends everything, with no window.
  const whole = normalizeTimeline({ ...fullAnswer(), window: undefined });
  assert.equal(isTailOf(whole, 5), false);
  assert.match(mergeTail(fullAnswer(), whole).reload, /not the tail after step 5/);
});

test("a merged series over the points asked for asks for a full reload", () => {
  assert.match(mergeTail(fullAnswer(), tailAnswer(), 8).reload, /9 points, more than the 8 asked for/);
});

test("planned points ahead of the last step are replaced by the tail's", () => {
  const held = fullAnswer();
  held.planned = { SGD: { steps: Float64Array.of(0, 5, 6, 7), rates: Float64Array.of(0.1, 0.05, 0.04, 0.03) } };
  held.planned_points = { SGD: 4 };
  const tail = tailAnswer({
    planned: { SGD: [[6, 0.04], [7, 0.03], [8, 0.02], [9, 0.01]] },
    planned_points: { SGD: 6 }, planned_points_in_window: { SGD: 4 },
  });
  const { timeline } = mergeTail(held, tail);
  assert.deepEqual(Array.from(timeline.planned.SGD.steps), [0, 5, 6, 7, 8, 9]);
});

test("the tail's plateau decisions join the held ones; its cooldown windows replace them", () => {
  const decision = (epoch, wait) => ({ epoch, decision_wait: wait, delta: null, beat_threshold: null });
  const held = normalizeTimeline({ ...fullAnswer(), plateau_view: {
    decisions: [decision(0, 1), decision(1, 0)], cooldown_windows: [] } });
  const windows = [{ reduce_epoch: 2, first_epoch: 3, last_epoch: 3, blocked_epochs: 1, complete: false }];
  const { timeline } = mergeTail(held, tailAnswer({ plateau_view: { decisions: [decision(2, 1)], cooldown_windows: windows } }));
  assert.deepEqual(timeline.plateau_view.decisions.map((fact) => [fact.epoch, fact.decision_wait]), [[0, 1], [1, 0], [2, 1]]);
  assert.deepEqual(timeline.plateau_view.cooldown_windows, windows);
  assert.deepEqual(plateauRecords(timeline).map((record) => record.decisionWait), [1, 0, 1]);
});

test("an older server's tail with every decision again gives each record its fact once", () => {
  const decision = (epoch, wait) => ({ epoch, decision_wait: wait, delta: null, beat_threshold: null });
  const every = [decision(0, 1), decision(1, 0)];
  const held = normalizeTimeline({ ...fullAnswer(), plateau_view: { decisions: every, cooldown_windows: [] } });
  const { timeline } = mergeTail(held, tailAnswer({ plateau_view: { decisions: [...every, decision(2, 1)], cooldown_windows: [] } }));
  assert.deepEqual(plateauRecords(timeline).map((record) => record.decisionWait), [1, 0, 1]);
});
