// From the timelines of the selected runs to what the three tracks draw: one
// builder per track (rate-track.js, loss-track.js, plateau-track.js) and the markers.
//
// One run: colours tell the series apart (optimizers, loss vs val_loss).
// Several runs: the colour is the run's, the line style tells the series apart.

import { EpochMap, makeAxis } from "./axis.js";
import { runColor } from "./colors.js";
import { runPrefix } from "./label.js";
import { plateauRecords, runMetrics } from "./records.js";
import { newRateTrack, addRunRates } from "./rate-track.js";
import { newLossTrack, addRunLosses } from "./loss-track.js";
import { newPlateauTrack, addRunPlateau } from "./plateau-track.js";
import { addRunMarkers, markerLegend } from "./markers.js";

function monitorOf(records) {
  for (const record of records) {
    if (typeof record.monitor === "string" && record.monitor) return record.monitor;
  }
  return null;
}

/**
 * The x axis the runs are drawn on: the one asked for when every run can be placed
 * on it (the epoch axis needs every run's epochs, the time axis their wall times).
 */
export function chooseAxis(maps, asked, kerasOnly = []) {
  // Keras-only runs have epochs and no steps: the epoch axis places them, nothing else does.
  const epochAxisAvailable = maps.length > 0 && maps.every((map, i) => map.available || kerasOnly[i]);
  const timeAxisAvailable = epochAxisAvailable && maps.every((map, i) => map.timeAvailable && !kerasOnly[i]);
  if (kerasOnly.length && kerasOnly.every(Boolean)) {
    return { axisName: "epoch", epochAxisAvailable, timeAxisAvailable: false, timeUnavailable: "keras-only", stepAxisAvailable: false };
  }
  const timeUnavailable = timeAxisAvailable ? null : epochAxisAvailable ? "no-times" : "no-epochs";
  let axisName = "step";
  if (asked === "epoch" && epochAxisAvailable) axisName = "epoch";
  if (asked === "time" && timeAxisAvailable) axisName = "time";
  return { axisName, epochAxisAvailable, timeAxisAvailable, timeUnavailable, stepAxisAvailable: true };
}

/**
 * Everything the view draws for the selected runs.
 *
 * Args:
 *   entries: [{run, name, timeline (normalized), colorIndex}]
 *   settings: {axis: "step"|"epoch"|"time", scale: "log"|"linear"}
 *   theme: from themeFor()
 * Returns:
 *   {tracks: {lr, loss, plateau}, markers: [...] (reductions, on every track),
 *    eventMarkers: [...] (lr_set and min_lr_reached, on the rate track), epochAxisAvailable,
 *    timeAxisAvailable, timeUnavailable (why not: "no-epochs" | "no-times" | null), axisName}
 */
export function buildModel(entries, settings, theme) {
  const several = entries.length > 1;
  const logScale = settings.scale !== "linear";
  const tracks = { lr: newRateTrack(), loss: newLossTrack(), plateau: newPlateauTrack() };
  const markers = [];
  const eventMarkers = [];
  const maps = entries.map((entry) => new EpochMap(entry.timeline.epochs));
  const choice = chooseAxis(maps, settings.axis, entries.map((entry) => Boolean(entry.timeline.keras_only)));

  entries.forEach((entry, index) => {
    const records = plateauRecords(entry.timeline);
    const run = {
      entry,
      axis: makeAxis(choice.axisName, maps[index]),
      several,
      color: runColor(theme, entry.colorIndex),
      prefix: runPrefix(several, entry.name),
      theme,
      logScale,
      records,
      monitor: monitorOf(records),
      metrics: runMetrics(entry.timeline),
    };
    addRunRates(tracks.lr, run);
    addRunLosses(tracks.loss, run);
    addRunPlateau(tracks.plateau, run);
    addRunMarkers(markers, eventMarkers, run);
  });

  markers.sort((a, b) => a.x - b.x);
  eventMarkers.sort((a, b) => a.x - b.x);
  tracks.lr.legendExtras.push(...markerLegend(markers, eventMarkers, several, theme));
  return { tracks, markers, eventMarkers, ...choice };
}
