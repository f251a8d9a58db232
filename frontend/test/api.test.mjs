// Request shapes and the shape of the responses.

import test from "node:test";
import assert from "node:assert/strict";
import { timelineUrl, exportUrl, parseRuns, DOWNSAMPLE } from "../src/api/client.js";
import { normalizeTimeline, isDownsampled, toNumber } from "../src/api/timeline.js";

test("timeline URLs are relative and encode the run name", () => {
  assert.equal(timelineUrl("a b/lr_timeline&x"), `./timeline?run=a%20b%2Flr_timeline%26x&downsample=${DOWNSAMPLE}`);
  assert.equal(timelineUrl("r", 7), "./timeline?run=r&downsample=7");
});

test("parseRuns keeps the entries that name a run", () => {
  assert.deepEqual(parseRuns('{"runs": [{"run": "a"}, {"name": "no run"}, null, {"run": 3}]}'), [{ run: "a" }]);
  assert.deepEqual(parseRuns("{}"), []);
});

test("downloads ask /export for every selected run, names encoded", () => {
  assert.equal(exportUrl(["a b/lr_timeline", "c&d"], "csv"), "./export?run=a%20b%2Flr_timeline&run=c%26d&format=csv");
});

test("normalizeTimeline fills every field with the right type", () => {
  const timeline = normalizeTimeline({ run: "r", plateau: [{ epoch: 0 }, "junk"], learning_rate: { SGD: "junk" } });
  assert.equal(timeline.name, "r");
  assert.deepEqual(timeline.plateau, [{ epoch: 0 }]);
  assert.deepEqual(timeline.learning_rate, {});
  assert.deepEqual(timeline.plateau_view, { decisions: [], cooldown_windows: [] });
  assert.equal(isDownsampled(normalizeTimeline({ learning_rate: { SGD: [[0, 1]] }, points: { SGD: 9 } })), true);
});

test("TensorBoard's strings for NaN and infinities become numbers again", () => {
  assert.ok(Number.isNaN(toNumber("NaN")));
  assert.equal(toNumber("-Infinity"), -Infinity);
  assert.equal(toNumber(null), null);
  assert.equal(toNumber(true), null);
});
