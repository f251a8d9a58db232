// Extra tracks: any scalar of a run's log_dir (the server's /scalar, already on the
// optimizer-step axis by its alignment), one track per picked series.

import { placeMetric } from "./place.js";
import { metricColumns } from "../api/timeline.js";
import { drawnSeries } from "./series.js";
import { named } from "./label.js";

/**
 * The picked series' points as [epoch, step, value] triples (placed through metricColumns
 * and placeMetric): epoch-aligned points sit at the end of their epoch; every other point
 * at its own step (its epoch only says where it is).
 */
export function scalarTriples(points, alignment) {
  const triples = [];
  for (const point of Array.isArray(points) ? points : []) {
    if (!Array.isArray(point)) continue;
    triples.push(alignment === "epoch" ? [point[0], point[1], point[2]] : [null, point[1], point[2]]);
  }
  return triples;
}

/**
 * One extra track of a picked scalar.
 *
 * pick: {key, run, scalarRun, tag, alignment, points}; axis: its run's axis.
 * Returns a track spec as the other builders make them (no points placeable: no series).
 */
export function scalarTrack(pick, axis, color) {
  const track = { id: pick.key, series: [], bands: [], flagged: [], notes: [], monitorScale: null, legendExtras: [] };
  const placed = placeMetric(metricColumns(scalarTriples(pick.points, pick.alignment)), axis);
  for (const point of placed.flagged) {
    track.flagged.push({ ...point, color, label: [named(pick.tag)] });
  }
  if (!placed.xs.length) return track;
  track.series.push(drawnSeries({
    key: `${pick.key}\u0000series`,
    run: pick.run,
    label: [named(pick.scalarRun), " \u00b7 ", named(pick.tag)],
    color,
    width: 1.5,
    dash: null,
    step: null,
    points: true,
  }, placed));
  return track;
}
