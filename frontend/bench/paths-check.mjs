// Checks, in Node, that src/view/paths.js draws dense series exactly as uPlot does and
// that src/model/place.js reads series as before: `node bench/paths-check.mjs` (after
// npm ci), and a test of `node --test test/` (test/paths.test.mjs runs checkPaths() and checkEnvelope()).
//
// - denseLinear (per-pixel decimation from blocks) against uPlot.paths.linear(): the
//   same Path2D moves, for random series, zoom windows and widths, step and epoch axes.
// - denseEnvelope against denseLinear's columns: every column's min and max (and the
//   window's first and last point) inside a band or on the stroke, ~2 vertices a column;
//   dashed or filled lines as the polyline; series with gaps by uPlot's own path.
// - placeRates against a plain reading of the pairs (flat stretches keep their ends,
//   gaps), and its blocks against the points; placeMetric with unsorted input.
// Run as a script, exits 1 on any difference.

import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));

// uPlot's module looks at a few browser globals when it loads.
globalThis.window = globalThis;
globalThis.devicePixelRatio = 1;
globalThis.navigator = { userAgent: "node" };
globalThis.document = {
  createElement: () => ({ style: {}, classList: { add() {}, remove() {} }, appendChild() {}, setAttribute() {} }),
  addEventListener() {},
  removeEventListener() {},
};
globalThis.matchMedia = () => ({ addListener() {}, removeListener() {}, addEventListener() {}, removeEventListener() {}, matches: false });
globalThis.addEventListener = () => {};
globalThis.removeEventListener = () => {};
globalThis.dispatchEvent = () => {};
class Path2D {
  constructor(path) {
    this.ops = path ? [...path.ops] : [];
  }
  lineTo(x, y) {
    this.ops.push(["L", x, y]);
  }
  moveTo(x, y) {
    this.ops.push(["M", x, y]);
  }
  rect(...args) {
    this.ops.push(["R", ...args]);
  }
  arc(...args) {
    this.ops.push(["A", ...args]);
  }
  closePath() {
    this.ops.push(["Z"]);
  }
}
globalThis.Path2D = Path2D;

const { default: uPlot } = await import(resolve(here, "../node_modules/uplot/dist/uPlot.esm.js"));
const { denseLinear, denseEnvelope } = await import(resolve(here, "../src/view/paths.js"));
const { placeRates, placeMetric } = await import(resolve(here, "../src/model/place.js"));
const { makeAxis, EpochMap } = await import(resolve(here, "../src/model/axis.js"));
const { seriesColumns, metricColumns } = await import(resolve(here, "../src/api/timeline.js"));

/** The parts of a uPlot instance its path builders read. */
function chartLike(xs, ys, xmin, xmax, ymin, ymax, log, width, left, style = {}) {
  const sx = { key: "x", ori: 0, dir: 1, distr: 1, min: xmin, max: xmax, _min: xmin, _max: xmax };
  const sy = {
    key: "y", ori: 1, dir: 1, distr: log ? 3 : 1, min: ymin, max: ymax,
    _min: log ? Math.log10(ymin) : ymin, _max: log ? Math.log10(ymax) : ymax,
  };
  const pct = (s, v) => ((s.distr === 3 ? Math.log10(v) : v) - s._min) / (s._max - s._min);
  const series = {
    scale: "y", pxRound: (v) => v, spanGaps: false, fill: () => null,
    fillTo: () => (sy.distr === 3 ? sy.min : 0), gaps: (u, i, a, b, gaps) => gaps,
    width: 2, _stroke: "#1a73e8", ...style,
  };
  return {
    mode: 1, _data: [xs, ys], data: [xs, ys], series: [{ scale: "x" }, series], pxRatio: 1,
    scales: { x: sx, y: sy }, bbox: { left, top: 8, width, height: 200 }, bands: [],
    valToPosH: (v, s, dim, off) => off + dim * pct(s, v),
    valToPosV: (v, s, dim, off) => off + dim * (1 - pct(s, v)),
    posToVal: (pos) => sx._min + (sx._max - sx._min) * ((pos - left) / width),
  };
}

/** chartLike showing points a..b of a series, its y range a little wider than theirs (log scale). */
function windowChart(xs, ys, a, b, width, left, style = {}) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = a; i <= b; i++) {
    lo = Math.min(lo, ys[i]);
    hi = Math.max(hi, ys[i]);
  }
  return chartLike(xs, ys, xs[a], xs[b], lo / 1.4, hi * 1.4, true, width, left, style);
}

/** The next value of a test series of shape `kind` (0 to 3) at point i, after v. */
function nextValue(kind, i, v, random) {
  if (kind === 0) return 0.01 * (1 + 0.02 * Math.sin(i * 0.37));
  if (kind === 1) return random() < 0.001 ? v * 0.5 : v; // steps with long flat stretches
  if (kind === 2) return random() * 0.1 + 1e-4;
  return 0.05 + 0.01 * Math.sin(i / 500) + (random() < 0.01 ? 0.02 : 0);
}

/**
 * Runs every comparison; returns {checks, failures, messages} (checks: decimated paths
 * compared; messages: the first differences found).
 */
export function checkPaths() {
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let failures = 0;
  const messages = [];
  const fail = (message) => {
    failures++;
    if (failures < 10) messages.push(message);
  };

  const stepAxis = makeAxis("step", new EpochMap([]));
  const epochs = Array.from({ length: 200 }, (_, e) => ({ epoch: e, first_step: e * 333, last_step: e * 333 + 332 }));
  const epochAxis = makeAxis("epoch", new EpochMap(epochs));

  let checks = 0;
  for (const axis of [stepAxis, epochAxis]) {
    for (let t = 0; t < 200; t++) {
      const n = 5000 + Math.floor(random() * 60000);
      const kind = t % 4;
      const pairs = [];
      let v = 0.01;
      let step = 0;
      for (let i = 0; i < n; i++) {
        step += kind === 3 ? 1 + Math.floor(random() * 3) : 1;
        v = nextValue(kind, i, v, random);
        pairs.push([step, v]);
      }
      const { xs, ys, blocks } = placeRates(seriesColumns(pairs), axis, true, null);
      const last = xs.length - 1;
      const a = random() < 0.5 ? 0 : Math.floor(random() * last * 0.5);
      const b = random() < 0.5 ? last : a + Math.floor(random() * (last - a));
      if (b - a < 10) continue;
      const width = 300 + Math.floor(random() * 1500);
      const u = windowChart(xs, ys, a, b, width, 40 + random() * 30);
      const want = uPlot.paths.linear()(u, 1, a, b);
      const got = denseLinear(u, 1, a, b, blocks);
      checks++;
      if (JSON.stringify([want.stroke.ops, want.fill.ops]) !== JSON.stringify([got.stroke.ops, got.fill.ops])) {
        fail(`denseLinear differs from uPlot: ${axis.name} axis, case ${t}, points ${a}..${b}, width ${width}`);
      }
    }
  }

  /** placeRates as a plain reading: increasing steps, gaps as null, flat interiors dropped. */
  function plainPlace(pairs, log) {
    const xs = [];
    const ys = [];
    let previous = -Infinity;
    for (const [step, y] of pairs) {
      if (!(step > previous)) continue;
      xs.push(step);
      ys.push(Number.isFinite(y) && !(log && y <= 0) ? y : null);
      previous = step;
    }
    const keep = ys.map((y, i) => !(i > 0 && i < ys.length - 1 && y !== null && y === ys[i - 1] && y === ys[i + 1]));
    return { xs: xs.filter((_, i) => keep[i]), ys: ys.filter((_, i) => keep[i]) };
  }

  for (let t = 0; t < 200; t++) {
    const n = Math.floor(random() * 12000); // across placeRates' chunks of 4096
    const pairs = [];
    let v = 1;
    let step = 0;
    for (let i = 0; i < n; i++) {
      step += random() < 0.05 ? 0 : 1;
      if (random() < 0.1) v = Math.floor(random() * 4) - 1;
      pairs.push([step, random() < 0.01 ? NaN : v]);
    }
    const log = t % 2 === 0;
    const got = placeRates(seriesColumns(pairs), stepAxis, log, null);
    const want = plainPlace(pairs, log);
    if (JSON.stringify([Array.from(got.xs), Array.from(got.ys)]) !== JSON.stringify([want.xs, want.ys])) {
      fail(`placeRates differs from a plain reading: case ${t}`);
    }
    if (got.blocks) {
      for (let j = 0; j * 16 < got.ys.length; j++) {
        const block = Array.from(got.ys.subarray(j * 16, j * 16 + 16));
        if (Math.min(...block) !== got.blocks.min[j] || Math.max(...block) !== got.blocks.max[j]) {
          fail(`placeRates block ${j} is not the min and max of its points: case ${t}`);
          break;
        }
      }
    }
  }

  const unsorted = placeMetric(metricColumns([[null, 5, 1.5], [null, 2, 2.5], [null, 5, 3.5], [null, 9, "NaN"], [null, 1, 0.5], [null, 7, 4]]), stepAxis);
  if (JSON.stringify([Array.from(unsorted.xs), Array.from(unsorted.ys), unsorted.extent]) !== JSON.stringify([[1, 2, 5, 7, 9], [0.5, 2.5, 3.5, 4, null], [0.5, 4]])) {
    fail("placeMetric: unsorted triples are not sorted with the later repeat winning");
  }
  return { checks, failures, messages };
}

/** The columns of a decimated polyline (ops of denseLinear): [{x, min, max, first, last}] in canvas pixels. */
function polylineColumns(ops) {
  const columns = [];
  for (const [, x, y] of ops) {
    const column = columns[columns.length - 1];
    if (column && column.x === x) {
      column.min = Math.min(column.min, y);
      column.max = Math.max(column.max, y);
      column.last = y;
    } else columns.push({ x, min: y, max: y, first: y, last: y });
  }
  return columns;
}

/** The band polygons of an envelope's fill ops: per x, [top, bottom] (the vertices of each polygon). */
function bandExtents(ops) {
  const extents = new Map();
  for (const [op, x, y] of ops) {
    if (op === "Z") continue;
    const [top, bottom] = extents.get(x) || [Infinity, -Infinity];
    extents.set(x, [Math.min(top, y), Math.max(bottom, y)]);
  }
  return extents;
}

/** A dense series as the tab reads it: {xs, ys, blocks} of n points of one of a few shapes. */
function denseSeries(random, n, kind) {
  const pairs = [];
  let v = 0.01;
  for (let i = 0; i < n; i++) {
    v = nextValue(kind, i, v, random);
    // Some stretches with few points a pixel: lone columns between bands.
    pairs.push([i < n / 2 || kind !== 3 ? i : n / 2 + (i - n / 2) * 40, v]);
  }
  return placeRates(seriesColumns(pairs), makeAxis("step", new EpochMap([])), true, null);
}

/**
 * denseEnvelope against denseLinear (uPlot's columns): every column's min and max are
 * drawn (inside a band widened by half the line width, or on the stroke), so are the
 * first and last point, with about 2 vertices a column; a line with dashes or a fill
 * is the polyline; a series with gaps is uPlot's own path.
 */
export function checkEnvelope() {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let failures = 0;
  let checks = 0;
  const messages = [];
  const fail = (message) => {
    failures++;
    if (failures < 10) messages.push(message);
  };
  for (let t = 0; t < 60; t++) {
    const n = 20000 + Math.floor(random() * 130000);
    const { xs, ys, blocks } = denseSeries(random, n, t % 4);
    const last = xs.length - 1;
    const a = t % 3 ? 0 : Math.floor(random() * last * 0.3);
    const b = t % 5 ? last : a + Math.floor((last - a) * (0.5 + random() * 0.5));
    const width = 300 + Math.floor(random() * 1500);
    const lineWidth = [1, 1.5, 2][t % 3];
    const u = windowChart(xs, ys, a, b, width, 40, { width: lineWidth });
    if (b - a < width * 4) continue;
    checks++;
    const columns = polylineColumns(denseLinear(u, 1, a, b, blocks).stroke.ops);
    const got = denseEnvelope(u, 1, a, b, blocks);
    if (got._fill !== "#1a73e8") fail(`case ${t}: the band is not filled in the line's colour`);
    const bands = bandExtents(got.fill.ops);
    const stroked = polylineColumns(got.stroke.ops.filter(([op]) => op !== "M"));
    const strokedAt = new Map(stroked.map((column) => [column.x, column]));
    const half = lineWidth / 2;
    for (const column of columns) {
      const band = bands.get(column.x);
      const line = strokedAt.get(column.x);
      const inBand = band && band[0] === column.min - half && band[1] === column.max + half;
      const onLine = line && line.min <= column.min && line.max >= column.max;
      if (!inBand && !onLine) {
        fail(`case ${t}: the column at x=${column.x} (${column.min}..${column.max}) is not drawn`);
        break;
      }
    }
    const pos = (i) => [u.valToPosH(xs[i], u.scales.x, width, 40), u.valToPosV(ys[i], u.scales.y, 200, 8)];
    for (const [px, y] of [pos(a), pos(b)]) {
      // A point is drawn at its column's x: the first point's pixel, within a pixel of it.
      const x = columns.filter((column) => column.x <= px).pop().x;
      const band = bands.get(x);
      const line = strokedAt.get(x);
      if (!(band && band[0] <= y && y <= band[1]) && !(line && line.min <= y && y <= line.max)) {
        fail(`case ${t}: the window's first or last point (${x}, ${y}) is not drawn`);
      }
    }
    const vertices = got.fill.ops.length + got.stroke.ops.length;
    if (vertices > 2 * columns.length + 4 * stroked.length + 8) {
      fail(`case ${t}: ${vertices} vertices for ${columns.length} columns`);
    }
  }
  // Dashes or a fill of its own: the polyline, as uPlot strokes it.
  const { xs, ys, blocks } = denseSeries(random, 50000, 0);
  for (const style of [{ dash: [7, 4] }, { fill: () => "rgba(0, 0, 255, 0.2)" }]) {
    const u = chartLike(xs, ys, xs[0], xs[xs.length - 1], 0.005, 0.02, true, 800, 40, style);
    const want = denseLinear(u, 1, 0, xs.length - 1, blocks);
    const got = denseEnvelope(u, 1, 0, xs.length - 1, blocks);
    checks++;
    if (JSON.stringify([want.stroke.ops, want.fill.ops]) !== JSON.stringify([got.stroke.ops, got.fill.ops])) {
      fail(`a line with ${Object.keys(style)[0]} is not drawn as the polyline`);
    }
  }
  // Gaps (NaN and infinite values read as null): uPlot's path, gaps included.
  const gappy = Array.from(ys, (y, i) => (i % 997 === 0 ? null : y));
  const u = chartLike(xs, gappy, xs[0], xs[xs.length - 1], 0.005, 0.02, true, 800, 40);
  u.series[1].gaps = (self, i, i0, i1, gaps) => gappy.flatMap((y, k) => (y === null ? [[k, k + 1]] : []));
  const want = uPlot.paths.linear()(u, 1, 0, xs.length - 1);
  const got = denseEnvelope(u, 1, 0, xs.length - 1, null);
  checks++;
  if (JSON.stringify(want.stroke.ops) !== JSON.stringify(got.stroke.ops) || got._fill !== undefined) {
    fail("a series with gaps is not drawn by uPlot's own path");
  }
  return { checks, failures, messages };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { checks, failures, messages } = checkPaths();
  for (const message of messages) console.log(message);
  console.log(`${checks} decimated paths compared with uPlot's, ${failures} difference(s)`);
  const envelope = checkEnvelope();
  for (const message of envelope.messages) console.log(message);
  console.log(`${envelope.checks} envelopes checked against uPlot's columns, ${envelope.failures} failure(s)`);
  process.exit(failures || envelope.failures ? 1 : 0);
}
