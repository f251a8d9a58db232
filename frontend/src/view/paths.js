// How the series are drawn and ranged, fast for 100k-point series.
//
// A track's chart gets one x column for all its series (alignSeries): an epoch metric
// among a batch metric's steps is a column of 100k slots holding 100 values. uPlot
// would walk every slot to draw it and again to range the y axis; here each series is
// drawn and ranged from its own points (spec.series[k].xs / .ys), over the same
// window of x uPlot would use, with the same path builders, so the pixels are the same.
//
// Dense series without gaps (Float64Array ys) are drawn by denseEnvelope: uPlot's
// per-pixel decimation of a linear path (the same columns, each column's extent taken
// from the series' blocks, min and max of every 16 points, see place.js, rather than
// from each point), with runs of neighbouring columns filled as one band instead of
// stroked up and down a pixel at a time.

import uPlot from "uplot";
import { BLOCK_SHIFT } from "../model/place.js";
import { firstAtOrAfter, gapless, lowerBound } from "../model/align.js";

const linear = uPlot.paths.linear();
const STEPPED = {
  after: uPlot.paths.stepped({ align: 1 }),
  before: uPlot.paths.stepped({ align: -1 }),
};
const BAND_CLIP_FILL = 1; // uPlot's flag for a series path (no band clipping)

const BLOCK = 1 << BLOCK_SHIFT;

let extentMax = -Infinity; // extentMin's second result

/** The smallest of ys[a..b] (whole blocks from bmin/bmax when given); the largest in extentMax. */
function extentMin(ys, bmin, bmax, a, b) {
  let min = ys[a];
  let max = min;
  let i = a + 1;
  if (bmin !== null && b - i >= 2 * BLOCK) {
    const firstBlock = (i + BLOCK - 1) >> BLOCK_SHIFT; // blocks firstBlock..endBlock-1 lie in i..b
    const endBlock = (b + 1) >> BLOCK_SHIFT;
    for (const stop = firstBlock << BLOCK_SHIFT; i < stop; i++) {
      const v = ys[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    for (let j = firstBlock; j < endBlock; j++) {
      const lo = bmin[j];
      const hi = bmax[j];
      if (lo < min) min = lo;
      if (hi > max) max = hi;
    }
    i = endBlock << BLOCK_SHIFT;
  }
  for (; i <= b; i++) {
    const v = ys[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  extentMax = max;
  return min;
}

/**
 * uPlot's decimation of a linear path (its linear() builder, branch "4+ points a
 * pixel", orientation horizontal, direction 1, no gaps), column by column. uPlot walks
 * the points: a point joins the current pixel column while x < posToVal(column's
 * pixel + 1), or when its own pixel is the column's. Here a column's end is found by
 * a search in xs and its min and max from the blocks; each column goes to
 * sink(x, in, min, max, out) in canvas pixels: its first, smallest, largest and last
 * value (min and max may be min != max or the other way round on the canvas).
 */
function walkColumns(u, sink, dataX, dataY, bmin, bmax, idx0, idx1, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim, pxRound) {
  const xKey = scaleX.key;
  const end = idx1 + 1;
  let start = idx0; // the column's first point
  let accX = pxRound(valToPosX(dataX[start], scaleX, xDim, xOff)); // its pixel
  let e = firstAtOrAfter(dataX, u.posToVal(accX + 1, xKey, true), start + 1, end);
  for (;;) {
    let x = 0;
    if (e < end) {
      x = pxRound(valToPosX(dataX[e], scaleX, xDim, xOff));
      if (x === accX) {
        e++; // past the column's x but on its pixel: uPlot keeps it in the column
        continue;
      }
    }
    // The column is start..e-1.
    const minY = extentMin(dataY, bmin, bmax, start, e - 1);
    sink.column(
      accX,
      pxRound(valToPosY(dataY[start], scaleY, yDim, yOff)),
      pxRound(valToPosY(minY, scaleY, yDim, yOff)),
      pxRound(valToPosY(extentMax, scaleY, yDim, yOff)),
      pxRound(valToPosY(dataY[e - 1], scaleY, yDim, yOff)),
    );
    if (e >= end) return;
    start = e; // a new column at point e
    accX = x;
    e = firstAtOrAfter(dataX, u.posToVal(accX + 1, xKey, true), e + 1, end);
  }
}

/**
 * The columns as uPlot's linear() strokes them, move for move: a line to a column's
 * first value, then (uPlot's drawAcc, only when min != max) to its min and max and to
 * its last value. (After the last column uPlot calls drawAcc only when min != max,
 * when it draws nothing anyway.)
 */
class PolylineSink {
  constructor() {
    this.stroke = new Path2D();
  }

  column(x, inPx, minPx, maxPx, outPx) {
    this.stroke.lineTo(x, inPx);
    this.accumulate(x, inPx, minPx, maxPx, outPx);
  }

  /** uPlot's drawAcc: from a column's first value to its min, max and last. */
  accumulate(x, inPx, minPx, maxPx, outPx) {
    const stroke = this.stroke;
    if (minPx != maxPx) {
      if (inPx != minPx && outPx != minPx) stroke.lineTo(x, minPx);
      if (inPx != maxPx && outPx != maxPx) stroke.lineTo(x, maxPx);
      stroke.lineTo(x, outPx);
    }
  }

  finish() {}
}

// Columns closer than this (canvas pixels) are drawn as one band: the strokes of
// neighbouring columns' extents (at least a pixel wide) meet anyway.
const BAND_GAP = 2;

/**
 * The same columns drawn as what their strokes cover, at a fraction of the cost:
 * neighbouring columns (a run of them) make one filled band from each column's
 * extent widened by half the line width above and below (its first and last values
 * and the line joining them to the next column lie inside it), and the line goes on
 * as a stroke between runs and through lone columns, as the polyline draws it.
 *
 * A stroked polyline of 4 vertices a pixel makes the canvas rasterize thousands of
 * overlapping joins (tens of ms for a few 100k-point series, software raster); the
 * band is one polygon of 2 vertices a column.
 */
class EnvelopeSink {
  constructor(halfWidth) {
    this.half = halfWidth;
    this.stroke = new Path2D();
    this.band = new Path2D();
    this.line = new PolylineSink();
    this.line.stroke = this.stroke;
    this.count = 0; // columns in the current run
    this.lastX = -Infinity;
    this.lastOut = 0;
    this.xs = [];
    this.tops = [];
    this.bottoms = [];
    this.first = null; // the run's first column: [x, in, min, max, out]
  }

  column(x, inPx, minPx, maxPx, outPx) {
    if (this.count && x - this.lastX < BAND_GAP) {
      if (this.count === 1) this.openBand();
      this.addToBand(x, minPx, maxPx);
    } else {
      this.closeRun();
      this.stroke.lineTo(x, inPx); // the line from the last column to this one
      this.first = [x, inPx, minPx, maxPx, outPx];
    }
    this.count++;
    this.lastX = x;
    this.lastOut = outPx;
  }

  /** The run's first column starts a band instead of being stroked. */
  openBand() {
    const [x, , minPx, maxPx] = this.first;
    this.xs.length = this.tops.length = this.bottoms.length = 0;
    this.addToBand(x, minPx, maxPx);
  }

  addToBand(x, minPx, maxPx) {
    this.xs.push(x);
    this.tops.push(Math.min(minPx, maxPx) - this.half);
    this.bottoms.push(Math.max(minPx, maxPx) + this.half);
  }

  /** Ends the current run: a lone column is stroked as the polyline strokes it, a longer run filled. */
  closeRun() {
    if (this.count === 1) {
      const [x, inPx, minPx, maxPx, outPx] = this.first;
      this.line.accumulate(x, inPx, minPx, maxPx, outPx);
    } else if (this.count > 1) {
      const { band, xs, tops, bottoms } = this;
      band.moveTo(xs[0], tops[0]);
      for (let i = 1; i < xs.length; i++) band.lineTo(xs[i], tops[i]);
      for (let i = xs.length - 1; i >= 0; i--) band.lineTo(xs[i], bottoms[i]);
      band.closePath();
      this.stroke.moveTo(this.lastX, this.lastOut); // the line goes on from the run's last value
    }
    this.count = 0;
  }

  finish() {
    this.closeRun();
  }
}

/** Whether a dense draw of idx0..idx1 can be done here (else uPlot's linear() draws it). */
function denseDrawable(u, series, dataX, dataY, idx0, idx1, scaleX, xDim) {
  return (
    dataY instanceof Float64Array &&
    ArrayBuffer.isView(dataX) &&
    idx0 >= 0 &&
    idx1 - idx0 >= xDim * 4 &&
    scaleX.ori === 0 &&
    scaleX.dir === 1 &&
    !series.spanGaps &&
    !(u.bands && u.bands.length)
  );
}

function denseDraw(u, seriesIdx, idx0, idx1, blocks, envelope) {
  return uPlot.orient(u, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
    if (!denseDrawable(u, series, dataX, dataY, idx0, idx1, scaleX, xDim)) return linear(u, seriesIdx, idx0, idx1);
    const gaps = series.gaps(u, seriesIdx, idx0, idx1, []);
    if (gaps.length) return linear(u, seriesIdx, idx0, idx1);
    const pxRound = series.pxRound;
    // A band is filled in the line's colour: only for a line without a fill or dashes of its own.
    const band = envelope && !series.dash && series.fill(u, seriesIdx) == null;
    const sink = band ? new EnvelopeSink((series.width * (u.pxRatio || 1)) / 2) : new PolylineSink();
    const bmin = blocks ? blocks.min : null;
    const bmax = blocks ? blocks.max : null;
    walkColumns(u, sink, dataX, dataY, bmin, bmax, idx0, idx1, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim, pxRound);
    sink.finish();
    const stroke = sink.stroke;
    if (band) {
      // uPlot fills `fill` with `_fill`, then strokes `stroke`.
      return { stroke, fill: sink.band, _fill: series._stroke, clip: null, band: null, gaps, flags: BAND_CLIP_FILL };
    }
    // Like uPlot, a fill path for every series (drawn only if the series has a fill).
    const fill = new Path2D(stroke);
    const fillTo = series.fillTo(u, seriesIdx, series.min, series.max, 0);
    const fillToY = pxRound(valToPosY(fillTo, scaleY, yDim, yOff));
    fill.lineTo(pxRound(valToPosX(dataX[idx1], scaleX, xDim, xOff)), fillToY);
    fill.lineTo(pxRound(valToPosX(dataX[idx0], scaleX, xDim, xOff)), fillToY);
    return { stroke, fill, clip: null, band: null, gaps, flags: BAND_CLIP_FILL };
  });
}

/**
 * uPlot.paths.linear() for idx0..idx1, same path: the decimating branch (4+ points a
 * pixel) is done here for gapless typed arrays, the rest by uPlot's builder.
 * blocks: the series' blocks when dataY is its ys, else null.
 */
export function denseLinear(u, seriesIdx, idx0, idx1, blocks = null) {
  return denseDraw(u, seriesIdx, idx0, idx1, blocks, false);
}

/**
 * denseLinear, but the decimated columns of a line without fill or dashes are drawn
 * as a filled band over what their strokes cover (EnvelopeSink): every column's
 * smallest and largest value, with its first and last, at the same pixels.
 */
export function denseEnvelope(u, seriesIdx, idx0, idx1, blocks = null) {
  return denseDraw(u, seriesIdx, idx0, idx1, blocks, true);
}

/** The last index of sorted xs whose value is <= x (-1 if none). */
function lastAtOrBefore(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The `paths` option of a chart series: draws spec series k (own points from
 * ownSeries(k)) as a step line (step "after"/"before") or a line.
 *
 * Steps narrower than a pixel look the same as a line, which is decimated per pixel
 * and far cheaper: a step series is drawn as a line when it has more points in view
 * than pixels. Counted on the series' own points, so a sparse step series among a dense
 * one (`best` among 100k batch_loss steps) stays a step line.
 */
export function seriesPaths(ownSeries, k, step) {
  const stepped = step ? STEPPED[step] : null;
  return (u, seriesIdx, idx0, idx1) => {
    const own = ownSeries(k);
    let target = u;
    let i0 = idx0;
    let i1 = idx1;
    // A sparse column (not the series' own ys): draw the series' own points in the
    // same x window. Series with gaps keep the column, whose gaps uPlot measures
    // from the neighbouring x of any series.
    if (own && u.data[seriesIdx] !== own.ys && idx0 >= 0 && gapless(own.ys)) {
      const x0 = u.data[0][idx0];
      const x1 = u.data[0][idx1];
      const j0 = lowerBound(own.xs, x0);
      const j1 = lastAtOrBefore(own.xs, x1);
      if (j0 <= j1) {
        const data = [];
        data[0] = own.xs;
        data[seriesIdx] = own.ys;
        target = Object.create(u, { _data: { value: data } });
        i0 = j0;
        i1 = j1;
      }
    }
    const builder = stepped && i1 - i0 <= u.bbox.width ? stepped : denseEnvelope;
    const blocks = own && target._data[seriesIdx] === own.ys ? own.blocks : null;
    return builder(target, seriesIdx, i0, i1, blocks);
  };
}

let windowMax = -Infinity; // windowMin's second result

/** The smallest value of ys[i0..i1] (null/NaN skipped; only > 0 when log); the largest in windowMax. */
function windowMin(ys, i0, i1, log) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = i0; ; i++) {
    if (i > i1) {
      windowMax = max;
      return min;
    }
    const v = ys[i];
    if (v === null || v === undefined || v !== v || (log && !(v > 0))) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
}

/**
 * [min, max] of a spec series' values at its xs in [x0, x1] (only those > 0 when log),
 * or nulls: what uPlot's getMinMax finds in the aligned column over the same window.
 * A window over the whole series takes the series' extent, found when it was read.
 */
export function windowMinMax(series, x0, x1, log) {
  const { xs, ys, extent } = series;
  if (!xs.length) return [null, null];
  if (extent && x0 <= xs[0] && x1 >= xs[xs.length - 1] && !(log && extent[0] <= 0)) return extent;
  const min = windowMin(ys, lowerBound(xs, x0), lastAtOrBefore(xs, x1), log);
  return min <= windowMax ? [min, windowMax] : [null, null];
}

/**
 * `measure(series, x0, x1)` of each spec series the chart shows on a y scale, for the
 * x window uPlot is ranging: `(u, key) => [measure, ...]` in chart order (empty before
 * the chart has a window). Each series' measure is kept until its columns or the window
 * change.
 *
 * seriesOf(): the spec series of the chart, in chart order (chart series i + 1).
 */
export function shownSeriesMeasures(seriesOf, measure) {
  const cache = new WeakMap(); // spec series -> [xs, ys, x0, x1, measured]
  return (u, key) => {
    const list = seriesOf();
    const x0 = u.series[0].min;
    const x1 = u.series[0].max;
    const measured = [];
    if (x0 === null || x0 === undefined || x1 === null || x1 === undefined) return measured;
    for (let k = 0; k < list.length; k++) {
      const s = list[k];
      const chartSeries = u.series[k + 1];
      if (!chartSeries || !chartSeries.show || chartSeries.scale !== key) continue;
      let hit = cache.get(s);
      if (!hit || hit[0] !== s.xs || hit[1] !== s.ys || hit[2] !== x0 || hit[3] !== x1) {
        hit = [s.xs, s.ys, x0, x1, measure(s, x0, x1)];
        cache.set(s, hit);
      }
      measured.push(hit[4]);
    }
    return measured;
  };
}

/**
 * A y scale's `range` option that ranges over the series' own points: the chart's
 * series have `auto: false` (uPlot does not walk their columns) and this adds what
 * uPlot would have found, then calls `range(u, dataMin, dataMax, key)`.
 *
 * seriesOf(): the spec series of the chart, in chart order (chart series i + 1).
 */
export function rangeFromOwnPoints(seriesOf, range, log) {
  const extents = shownSeriesMeasures(seriesOf, (s, x0, x1) => windowMinMax(s, x0, x1, log));
  return (u, _dataMin, _dataMax, key) => {
    let min = null;
    let max = null;
    for (const [lo, hi] of extents(u, key)) {
      if (lo === null) continue;
      if (min === null || lo < min) min = lo;
      if (max === null || hi > max) max = hi;
    }
    return range(u, min, max, key);
  };
}

/** uPlot's default range of a numeric y scale (its snapNumY). */
export function numericRange(u, min, max) {
  return min === null ? [null, null] : uPlot.rangeNum(min, max, 0.1, true);
}
