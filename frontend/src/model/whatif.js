// The what-if replay (the server's /replay answer) as the ghost drawn over the
// recorded rate, wait and reductions. The replay itself is the server's (Keras'
// or PyTorch's own decision code); this only places what it answered.

import { finiteInt, toNumber } from "./numbers.js";
import { plateauRecords } from "./records.js";
import { waitStaircase } from "./plateau-track.js";

/** The settings the panel edits, in its order, with the kind of number each takes. */
export const WHATIF_SETTINGS = [
  ["patience", "int"],
  ["factor", "float"],
  ["cooldown", "int"],
  ["min_delta", "float"],
  ["min_lr", "float"],
];

/**
 * The query parameters of /replay: the edited settings that differ from the recorded
 * ones (unchanged ones stay as recorded), the mode (min, max or auto), the semantics,
 * and PyTorch's threshold mode.
 *
 * edited: {setting: text typed}; recorded: the route's recorded_settings (or null).
 */
export function replayParams(edited, recorded, semantics = "keras", thresholdMode = "abs") {
  const params = {};
  for (const [name] of WHATIF_SETTINGS) {
    const text = edited[name];
    if (text === undefined || text === null || String(text).trim() === "") continue;
    const value = Number(text);
    const same = recorded && Number.isFinite(value) && toNumber(recorded[name]) === value;
    if (!same) params[name] = String(text).trim();
  }
  const mode = edited.mode;
  if (mode && (!recorded || recorded.mode !== mode)) params.mode = mode;
  if (semantics === "pytorch") {
    params.semantics = "pytorch";
    params.threshold_mode = thresholdMode === "rel" ? "rel" : "abs";
  }
  return params;
}

/**
 * The ghost of a replay on one run's axis.
 *
 * The replayed rate is a step line: the first epoch's lr_before from its start, then
 * each decision's lr_after from the end of its epoch (where the recorded reductions
 * sit too). The wait is drawn as the recorded one is (the server's decision_wait of
 * each replayed decision, in the answer's plateau_view), so unchanged settings draw
 * the recording. On a run trained on a schedule the server sends the rate the
 * reduced schedule would have applied at each step (body.rates, per optimizer): those
 * are drawn instead, one line per optimizer. Returns {rate: {xs, ys}, rates:
 * [{optimizer, xs, ys}], wait: {xs, ys}, reductions: [{epoch, x}], divergence: {epoch, x} | null}.
 */
export function replayGhost(body, axis) {
  const view = body && body.plateau_view && typeof body.plateau_view === "object" ? body.plateau_view : null;
  const records = plateauRecords({
    plateau: (Array.isArray(body && body.replayed) ? body.replayed : []).filter((r) => r && typeof r === "object"),
    plateau_view: view ? { decisions: Array.isArray(view.decisions) ? view.decisions : [], cooldown_windows: [] } : null,
  });
  const rate = { xs: [], ys: [] };
  const push = (series, x, y) => {
    if (x === null || !Number.isFinite(x)) return;
    if (series.xs.length && x <= series.xs[series.xs.length - 1]) return;
    series.xs.push(x);
    series.ys.push(y === null || !Number.isFinite(y) ? null : y);
  };
  if (records.length) push(rate, axis.epochStart(records[0].epoch, records[0].step), records[0].lr_before);
  for (const record of records) push(rate, axis.epochEnd(record.epoch, record.step), record.lr_after);
  // Without the server's facts (an older server) no wait is drawn rather than a guessed one.
  const wait = view ? waitStaircase(records, axis) : { xs: [], ys: [] };
  const stepOf = new Map(records.map((record) => [record.epoch, record.step]));
  const reductions = [];
  for (const epoch of Array.isArray(body && body.reductions && body.reductions.replayed) ? body.reductions.replayed : []) {
    const e = finiteInt(epoch);
    const x = e === null ? null : axis.epochEnd(e, stepOf.get(e) ?? null);
    if (x !== null && Number.isFinite(x)) reductions.push({ epoch: e, x });
  }
  const parted = finiteInt(body && body.first_divergence);
  const partedX = parted === null ? null : axis.epochEnd(parted, stepOf.get(parted) ?? null);
  const rates = [];
  const sent = body && body.rates && typeof body.rates === "object" && !Array.isArray(body.rates) ? body.rates : {};
  for (const [optimizer, points] of Object.entries(sent)) {
    if (!Array.isArray(points)) continue;
    const line = { optimizer, xs: [], ys: [] };
    for (const point of points) {
      if (Array.isArray(point)) push(line, axis.point(finiteInt(point[0])), toNumber(point[1]));
    }
    if (line.xs.length) rates.push(line);
  }
  return {
    rate,
    rates,
    wait,
    reductions,
    divergence: partedX !== null && Number.isFinite(partedX) ? { epoch: parted, x: partedX } : null,
  };
}
