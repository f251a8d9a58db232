// Track 2: loss, val_loss and the monitored metric of a run, with ReduceLROnPlateau's
// best and the threshold to improve.

import { placeMetric } from "./place.js";
import { withAlpha } from "./colors.js";
import { label, named } from "./label.js";
import { placeDecisions } from "./decisions.js";
import { drawnSeries } from "./series.js";

const LOSS_NAMES = ["loss", "val_loss"];
const BATCH_LOSS = "batch_loss";

export function newLossTrack() {
  return { id: "loss", series: [], bands: [], flagged: [], notes: [], monitorScale: null };
}

export function isLossLike(name) {
  return /loss/i.test(name);
}

/** The metrics drawn: loss, val_loss, the monitored one; else what looks like a loss. */
export function metricNames(metrics, monitor) {
  const names = LOSS_NAMES.filter((name) => metrics[name]);
  if (monitor && metrics[monitor] && !names.includes(monitor)) names.push(monitor);
  if (!names.length) {
    for (const name of Object.keys(metrics)) {
      if (name !== BATCH_LOSS && /loss/i.test(name) && names.length < 3) names.push(name);
    }
  }
  if (metrics[BATCH_LOSS]) names.unshift(BATCH_LOSS); // drawn first, under the others
  return names;
}

/**
 * Adds one run's metrics, best and threshold to the track.
 *
 * run: {entry, axis, several, color, prefix, theme, records, monitor, metrics}.
 */
export function addRunLosses(track, run) {
  const { entry, axis, several, color, prefix, theme, records, monitor, metrics } = run;
  let lossColorIndex = 0;
  for (const name of metricNames(metrics, monitor)) {
    const placed = placeMetric(metrics[name], axis);
    if (!placed.xs.length) continue;
    const scale = isLossLike(name) ? "y" : "y2";
    if (scale === "y2") track.monitorScale = name;
    const batch = name === BATCH_LOSS;
    let seriesColor;
    if (several) seriesColor = batch ? withAlpha(color, 0.35) : color;
    else if (batch) seriesColor = withAlpha(theme.palette[0], 0.35);
    else seriesColor = theme.palette[name === "val_loss" ? 1 : name === "loss" ? 0 : 3 + lossColorIndex++];
    track.series.push(drawnSeries({
      key: `${entry.run}\u0000metric\u0000${name}`,
      run: entry.run,
      label: label(prefix, named(name), name === monitor ? " (monitored)" : ""),
      color: seriesColor,
      width: batch ? 1 : 2,
      dash: several && name === "val_loss" ? [6, 4] : several && !batch && name !== "loss" ? [2, 3] : null,
      step: null,
      points: !batch,
      scale,
    }, placed));
    for (const point of placed.flagged) {
      track.flagged.push({ ...point, color: theme.nonFinite, label: label(prefix, named(name)) });
    }
  }
  const withBest = records.filter((record) => record.best !== null && Number.isFinite(record.best));
  if (!withBest.length) return;
  const scale = monitor && !isLossLike(monitor) ? "y2" : "y";
  if (scale === "y2" && !track.monitorScale) track.monitorScale = monitor;
  const place = (record) => axis.epochEnd(record.epoch, record.step);
  const best = placeDecisions(withBest, place, (record) => record.best);
  const threshold = placeDecisions(withBest, place, (record) =>
    Number.isFinite(record.threshold) ? record.threshold : null,
  );
  track.series.push({
    key: `${entry.run}\u0000best`,
    run: entry.run,
    label: label(prefix, "best", monitor ? [" ", named(monitor)] : ""),
    color: several ? withAlpha(color, 0.8) : theme.best,
    width: 1.5,
    dash: several ? [1, 3] : null,
    step: "after",
    scale,
    xs: best.xs,
    ys: best.ys,
  });
  if (threshold.ys.some((y) => y !== null)) {
    track.series.push({
      key: `${entry.run}\u0000threshold`,
      run: entry.run,
      label: label(prefix, "threshold to improve"),
      color: several ? withAlpha(color, 0.5) : withAlpha(theme.threshold, 0.7),
      width: 1,
      dash: [4, 4],
      step: "after",
      scale,
      xs: threshold.xs,
      ys: threshold.ys,
    });
  }
}
