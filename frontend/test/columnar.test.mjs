// Specification of the columnar /timeline decoder (frontend/src/api/columnar.js).
// Bodies are laid out byte by byte as docs/HTTP_API.md specifies; the Python
// test tests/serve/test_columnar.py decodes a real plugin answer with it too.
import { test } from "node:test";
import assert from "node:assert/strict";

import { decodeColumnar, COLUMNAR_VERSION } from "../src/api/columnar.js";

/**
 * A body of the documented layout: preamble, JSON header padded to `area`
 * bytes, then 8-aligned columns. `makeHeader(offsets)` gets the columns' offsets.
 */
function body(makeHeader, arrays, { magic = "LRTC", version = COLUMNAR_VERSION, area = 504 } = {}) {
  const start = 16 + area;
  let size = start;
  const offsets = arrays.map((array) => {
    size = Math.ceil(size / 8) * 8;
    const offset = size;
    size += array.byteLength;
    return offset;
  });
  const headerText = JSON.stringify(makeHeader(offsets)).padEnd(area, " ");
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  new Uint8Array(buffer).set(new TextEncoder().encode(magic), 0);
  view.setUint32(4, version, true);
  view.setUint32(8, area, true);
  new Uint8Array(buffer).set(new TextEncoder().encode(headerText), 16);
  arrays.forEach((array, i) => {
    for (let k = 0; k < array.length; k++) {
      if (array.BYTES_PER_ELEMENT === 8) view.setFloat64(offsets[i] + k * 8, array[k], true);
      else view.setFloat32(offsets[i] + k * 4, array[k], true);
    }
  });
  return buffer;
}

function timelineBody() {
  const arrays = [
    new Float64Array([0, 1, 2, 2 ** 52 + 1]),
    new Float32Array([0.1, 0.05, NaN, Infinity]),
    new Float64Array([0, 9]),
    new Float64Array([0.1, 1e-300]),
    new Float64Array([NaN, NaN, 0]), // batch_loss: no epoch, a point without a step
    new Float64Array([3, NaN, 7]),
    new Float32Array([0.5, -Infinity, NaN]),
  ];
  return body((offsets) => ({
    version: 1, run: "exp/lr_timeline", points: { SGD: 4 }, epochs: [{ epoch: 0, loss: "NaN" }],
    columns: [
      { series: "learning_rate", optimizer: "SGD", length: 4,
        steps: { type: "float64", offset: offsets[0] }, rates: { type: "float32", offset: offsets[1] } },
      { series: "planned", optimizer: "SGD", length: 2,
        steps: { type: "float64", offset: offsets[2] }, rates: { type: "float64", offset: offsets[3] } },
    ],
    metric_columns: [
      { metric: "batch_loss", length: 3, epochs: { type: "float64", offset: offsets[4] },
        steps: { type: "float64", offset: offsets[5] }, values: { type: "float32", offset: offsets[6] } },
      { metric: "val_loss", length: 0, epochs: { type: "float64", offset: offsets[4] },
        steps: { type: "float64", offset: offsets[4] }, values: { type: "float64", offset: offsets[4] } },
    ],
  }), arrays, { area: 1000 });
}

test("decodes series into typed arrays and keeps the header's fields", () => {
  const timeline = decodeColumnar(timelineBody());
  assert.equal(timeline.run, "exp/lr_timeline");
  assert.deepEqual(timeline.points, { SGD: 4 });
  assert.deepEqual(timeline.epochs, [{ epoch: 0, loss: "NaN" }]);
  assert.equal(timeline.columns, undefined);
  const { steps, rates } = timeline.learning_rate.SGD;
  assert.ok(steps instanceof Float64Array && rates instanceof Float32Array);
  assert.deepEqual(Array.from(steps), [0, 1, 2, 2 ** 52 + 1]);
  assert.equal(rates[0], Math.fround(0.1));
  assert.ok(Number.isNaN(rates[2]) && rates[3] === Infinity);
  assert.deepEqual(Array.from(timeline.planned.SGD.rates), [0.1, 1e-300]);
});

test("decodes metrics into epoch, step and value columns, NaN where JSON has null", () => {
  const { metrics, metric_columns: columns } = decodeColumnar(timelineBody());
  assert.equal(columns, undefined);
  const { epochs, steps, values } = metrics.batch_loss;
  assert.ok(epochs instanceof Float64Array && steps instanceof Float64Array && values instanceof Float32Array);
  assert.deepEqual(Array.from(epochs), [NaN, NaN, 0]);
  assert.deepEqual(Array.from(steps), [3, NaN, 7]);
  assert.deepEqual(Array.from(values), [0.5, -Infinity, NaN]);
  assert.deepEqual(Object.keys(metrics), ["batch_loss", "val_loss"]);
  assert.equal(metrics.val_loss.steps.length, 0);
});

test("a JSON body is refused with a hint about the content type", () => {
  const json = new TextEncoder().encode('{"version": 1, "run": "x"}').buffer;
  assert.throws(() => decodeColumnar(json), /starts with "\{\\"ve", not "LRTC"\. Was it JSON\?/);
});

test("short, newer and truncated bodies are refused with what was found", () => {
  assert.throws(() => decodeColumnar(new ArrayBuffer(3)), /3 bytes, fewer than the 16-byte preamble/);
  const newer = body(() => ({ columns: [] }), [], { version: COLUMNAR_VERSION + 1 });
  assert.throws(() => decodeColumnar(newer), new RegExp(`version ${COLUMNAR_VERSION + 1} is not supported \\(this frontend reads ${COLUMNAR_VERSION}\\)`));
  // Version 1 carried metrics as JSON in the header: its body is refused, not misread.
  const older = body(() => ({ columns: [], metrics: { loss: [[0, 1, 0.5]] } }), [], { version: 1 });
  assert.throws(() => decodeColumnar(older), /version 1 is not supported \(this frontend reads 2\)\. Reload the page/);
  const whole = timelineBody();
  assert.throws(() => decodeColumnar(whole.slice(0, 40)), /truncated: its header needs 1000 bytes, 24 remain/);
  assert.throws(() => decodeColumnar(whole.slice(0, whole.byteLength - 8)), /values at byte \d+ \(3 values\) lie outside/);
});

test("a column of an unknown type or series is refused", () => {
  const bad = (column) =>
    body((offsets) => ({ columns: [{ series: "learning_rate", optimizer: "A", length: 1,
      steps: { type: "float64", offset: offsets[0] }, rates: { type: "float64", offset: offsets[0] },
      ...column }] }), [new Float64Array(1)]);
  assert.throws(() => decodeColumnar(bad({ rates: { type: "int8", offset: 520 } })), /rates have type "int8"/);
  assert.throws(() => decodeColumnar(bad({ series: "epochs" })), /unknown series "epochs"/);
  const badMetric = body((offsets) => ({ metric_columns: [{ metric: "loss", length: 2,
    epochs: { type: "float64", offset: offsets[0] }, steps: { type: "float64", offset: offsets[0] },
    values: { type: "float64", offset: offsets[0] + 8 } }] }), [new Float64Array(2)]);
  assert.throws(() => decodeColumnar(badMetric), /values at byte 528 \(2 values\) lie outside the 536-byte body/);
  assert.throws(() => decodeColumnar("LRTC"), /needs an ArrayBuffer. Received: string/);
});
