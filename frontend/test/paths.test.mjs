// bench/paths-check.mjs as a test: dense series drawn exactly as uPlot draws them.

import test from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const uplot = fileURLToPath(new URL("../node_modules/uplot/dist/uPlot.esm.js", import.meta.url));

test("denseLinear draws what uPlot's linear path draws and placeRates reads series plainly", async (t) => {
  if (!existsSync(uplot)) {
    t.skip("uPlot is not installed: run npm ci in frontend/");
    return;
  }
  const { checkPaths } = await import("../bench/paths-check.mjs");
  const { checks, failures, messages } = checkPaths();
  assert.ok(checks > 300, `only ${checks} paths compared`);
  assert.equal(failures, 0, messages.join("\n"));
});

test("a dense line is drawn as bands over its pixel columns: every column's min and max, first and last point, 2 vertices a column", async (t) => {
  if (!existsSync(uplot)) {
    t.skip("uPlot is not installed: run npm ci in frontend/");
    return;
  }
  const { checkEnvelope } = await import("../bench/paths-check.mjs");
  const { checks, failures, messages } = checkEnvelope();
  assert.ok(checks > 40, `only ${checks} envelopes checked`);
  assert.equal(failures, 0, messages.join("\n"));
});
