// Times the first run of each step of a first draw that needs no browser (decode, model,
// alignment), in Node: `node bench/model-time.mjs BODY.bin` (a columnar /timeline body,
// e.g. written by benchmarks.browser_paint.columnar_body).
import { readFileSync } from "node:fs";
import { decodeColumnar } from "../src/api/columnar.js";
import { normalizeTimeline } from "../src/api/timeline.js";
import { buildModel } from "../src/model/build.js";
import { alignSeries } from "../src/model/align.js";
import { themeFor } from "../src/view/theme.js";

const bytes = readFileSync(process.argv[2]);
const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
let t = performance.now();
const lap = (what) => {
  const now = performance.now();
  console.log(`${(now - t).toFixed(1).padStart(7)} ms  ${what}`);
  t = now;
};
const timeline = normalizeTimeline(decodeColumnar(buffer));
lap("decode + normalize");
const model = buildModel([{ run: "r", name: "r", timeline, colorIndex: 0 }], { axis: "step", scale: "log", focusRun: "r" }, themeFor(false));
lap("buildModel");
for (const [id, track] of Object.entries(model.tracks)) {
  alignSeries(track.series);
  lap(`alignSeries ${id}: ${track.series.map((s) => `${s.key.split("\u0000").pop()} ${s.xs.length} ${s.xs.constructor.name}`).join(", ")}`);
}
