// Track 3: wait against patience per epoch, cooldown windows as bands.

import { withAlpha } from "./colors.js";
import { placeDecisions } from "./decisions.js";
import { cooldownWindows } from "./records.js";
import { label } from "./label.js";

export function newPlateauTrack() {
  return { id: "plateau", series: [], bands: [], flagged: [], notes: [], maxY: 1, legendExtras: [] };
}

/**
 * The wait each decision compared with patience (`decisionWait`, from the server) as a
 * staircase drawn with step "before": the wait of epoch e covers epoch e.
 */
export function waitStaircase(records, axis) {
  const waits = placeDecisions(records, (record) => axis.epochEnd(record.epoch, record.step), (record) => record.decisionWait);
  if (waits.xs.length) {
    // Start the staircase at the first epoch's start.
    const first = records[0];
    const start = axis.epochStart(first.epoch, first.step);
    if (start !== null && start < waits.xs[0]) {
      waits.xs.unshift(start);
      waits.ys.unshift(waits.ys[0]);
    }
  }
  return waits;
}

/**
 * Adds one run's plateau decisions to the track.
 *
 * run: {entry, axis, several, color, prefix, theme, records}. The wait drawn is the
 * one each decision compared with patience (`decisionWait`, from the server).
 */
export function addRunPlateau(track, run) {
  const { entry, axis, several, color, prefix, theme, records } = run;
  if (!records.length) return;
  const place = (record) => axis.epochEnd(record.epoch, record.step);
  const waits = waitStaircase(records, axis);
  track.series.push({
    key: `${entry.run}\u0000wait`,
    run: entry.run,
    label: label(prefix, "wait"),
    color: several ? color : theme.palette[0],
    fill: withAlpha(several ? color : theme.palette[0], several ? 0.12 : 0.2),
    width: 1.5,
    dash: null,
    step: "before",
    xs: waits.xs,
    ys: waits.ys,
  });
  const patience = placeDecisions(records, place, (record) => record.patience);
  if (patience.xs.length) {
    if (waits.xs.length && waits.xs[0] < patience.xs[0]) {
      patience.xs.unshift(waits.xs[0]);
      patience.ys.unshift(patience.ys[0]);
    }
    track.series.push({
      key: `${entry.run}\u0000patience`,
      run: entry.run,
      label: label(prefix, "patience"),
      color: several ? withAlpha(color, 0.8) : theme.patience,
      width: 1.5,
      dash: [5, 4],
      step: "after",
      xs: patience.xs,
      ys: patience.ys,
    });
  }
  for (const record of records) {
    for (const value of [record.decisionWait, record.patience]) {
      if (Number.isFinite(value)) track.maxY = Math.max(track.maxY, value);
    }
  }
  const bandColor = several ? withAlpha(color, 0.12) : theme.cooldown;
  const edgeColor = several ? withAlpha(color, 0.4) : theme.cooldownEdge;
  const windows = cooldownWindows(entry.timeline, axis);
  for (const [x0, x1] of windows) {
    track.bands.push({ x0, x1, color: bandColor, edge: edgeColor, run: entry.run });
  }
  if (windows.length) track.legendExtras.push({ label: label(prefix, "cooldown"), color: edgeColor });
}
