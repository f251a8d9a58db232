// bench/paths-check.mjs as tests: dense series drawn as uPlot draws them, or as the
// bands over uPlot's pixel columns.

import test from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const uplot = fileURLToPath(new URL("../node_modules/uplot/dist/uPlot.esm.js", import.meta.url));

/** Runs check `name` of bench/paths-check.mjs: at least `minimum` cases, none failing. */
async function runCheck(t, name, minimum) {
  if (!existsSync(uplot)) {
    t.skip("uPlot is not installed: run npm ci in frontend/");
    return;
  }
  const { checks, failures, messages } = (await import("../bench/paths-check.mjs"))[name]();
  assert.ok(checks > minimum, `only ${checks} cases checked`);
  assert.equal(failures, 0, messages.join("\n"));
}

test("denseLinear draws what uPlot's linear path draws and placeRates reads series plainly", (t) =>
  runCheck(t, "checkPaths", 300));

test("a dense line is drawn as bands over its pixel columns: every column's min and max, first and last point, 2 vertices a column", (t) =>
  runCheck(t, "checkEnvelope", 40));
