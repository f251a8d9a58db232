// Request shapes and the shape of the responses.

import test from "node:test";
import assert from "node:assert/strict";
import { timelineUrl, parseRuns, fullDownsample, DOWNSAMPLE, MAX_DOWNSAMPLE } from "../src/api/client.js";
import { normalizeTimeline, isDownsampled, toNumber } from "../src/api/timeline.js";
import { ratesCsv } from "../src/model/csv.js";

test("timeline URLs are relative and encode the run name", () => {
  assert.equal(timelineUrl("a b/lr_timeline&x"), `./timeline?run=a%20b%2Flr_timeline%26x&downsample=${DOWNSAMPLE}`);
  assert.equal(timelineUrl("r", 7), "./timeline?run=r&downsample=7");
});

test("parseRuns keeps the entries that name a run", () => {
  assert.deepEqual(parseRuns('{"runs": [{"run": "a"}, {"name": "no run"}, null, {"run": 3}]}'), [{ run: "a" }]);
  assert.deepEqual(parseRuns("{}"), []);
});

test("a full download asks for every point, within the backend's limit", () => {
  assert.equal(fullDownsample({ points: { SGD: 123456 } }), 123456);
  assert.equal(fullDownsample({ points: { SGD: 10 } }), DOWNSAMPLE);
  assert.equal(fullDownsample({ points: { SGD: 5e6 } }), MAX_DOWNSAMPLE);
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

test("the CSV has one row per (run, optimizer, step) and quotes what needs it", () => {
  const csv = ratesCsv([normalizeTimeline({ run: 'a,"b"', learning_rate: { SGD: [[0, 0.1], [1, "NaN"]] } })]);
  assert.equal(csv, 'run,optimizer,step,learning_rate\n"a,""b""",SGD,0,0.1\n"a,""b""",SGD,1,NaN\n');
});

test("CSV rates are float32's shortest texts, as lr-plugin export writes them", () => {
  const f32 = (x) => Math.fround(x);
  const csv = ratesCsv([normalizeTimeline({
    run: "r", learning_rate: { SGD: [[0, f32(0.02)], [1, f32(1e-7)], [2, 0.1], [3, f32(1 / 3)]] },
  })]);
  const rates = csv.trim().split("\n").slice(1).map((line) => line.split(",")[3]);
  // 0.1 is not a float32 (a float64 from elsewhere): written as JavaScript writes it.
  assert.deepEqual(rates, ["0.02", "1e-7", "0.1", "0.33333334"]);
  for (const [text, value] of [[rates[0], 0.02], [rates[3], 1 / 3]]) {
    assert.equal(Math.fround(Number(text)), Math.fround(value));
  }
});
