// Track 1: the learning rate of each optimizer of a run, planned rates dashed.

import { placeRates, placeMetric } from "./place.js";
import { metricColumns } from "../api/timeline.js";
import { withAlpha } from "./colors.js";
import { label, named } from "./label.js";
import { drawnSeries } from "./series.js";

export function newRateTrack() {
  return { id: "lr", series: [], bands: [], flagged: [], notes: [], legendExtras: [] };
}

/**
 * Adds one run's rate series to the track.
 *
 * run: {entry, axis, several, color, prefix, theme, logScale} (see buildModel).
 */
export function addRunRates(track, run) {
  const { entry, axis, several, color, prefix, theme, logScale } = run;
  const timeline = entry.timeline;
  const optimizers = Object.keys(timeline.learning_rate);
  for (const name of Object.keys(timeline.planned)) {
    if (!optimizers.includes(name)) optimizers.push(name);
  }
  if (timeline.keras_only) {
    addKerasEpochRates(track, run);
    return;
  }
  let lrXs = null; // optimizers that step together share one xs array
  optimizers.forEach((optimizer, k) => {
    const seriesColor = several ? color : theme.palette[k % theme.palette.length];
    const actual = timeline.learning_rate[optimizer];
    if (actual) {
      const placed = placeRates(actual, axis, logScale, lrXs);
      lrXs = lrXs || placed.xs;
      track.series.push(drawnSeries({
        key: `${entry.run}\u0000lr\u0000${optimizer}`,
        run: entry.run,
        label: label(prefix, named(optimizer)),
        color: several && k > 0 ? withAlpha(seriesColor, 0.6) : seriesColor,
        width: 2,
        dash: null,
        step: "after",
      }, placed));
      for (const point of placed.flagged) {
        track.flagged.push({ ...point, color: theme.nonFinite, label: label(prefix, named(optimizer)) });
      }
      if (placed.hiddenNonPositive) {
        track.notes.push(
          label(prefix, named(optimizer), `: ${placed.hiddenNonPositive} rate(s) \u2264 0 not drawn on the log scale`),
        );
      }
    }
    const planned = timeline.planned[optimizer];
    if (planned && planned.steps.length) {
      const placed = placeRates(planned, axis, logScale, lrXs);
      lrXs = lrXs || placed.xs;
      track.series.push(drawnSeries({
        key: `${entry.run}\u0000planned\u0000${optimizer}`,
        run: entry.run,
        label: label(prefix, named(optimizer), " (planned)"),
        color: withAlpha(seriesColor, 0.75),
        width: 1.5,
        dash: [6, 4],
        step: "after",
      }, placed));
    }
  });
}

/**
 * A log_dir only Keras' TensorBoard callback wrote: its epoch_learning_rate, one point
 * at the end of each epoch, labelled as what it is (it has no steps: epoch axis only).
 */
function addKerasEpochRates(track, run) {
  const { entry, axis, several, color, prefix, theme } = run;
  const placed = placeMetric(metricColumns(entry.timeline.epoch_learning_rate.map((p) => [p[0], null, p[1]])), axis);
  if (!placed.xs.length) {
    if (entry.timeline.epoch_learning_rate.length) {
      track.notes.push(label(prefix, "Keras' epoch_learning_rate has no steps: shown on the epoch axis only"));
    }
    return;
  }
  track.series.push(drawnSeries({
    key: `${entry.run}\u0000keras\u0000epoch_learning_rate`,
    run: entry.run,
    label: label(prefix, named("epoch_learning_rate"), " (Keras' TensorBoard, once per epoch)"),
    color: several ? color : theme.palette[0],
    width: 2,
    dash: [2, 3],
    step: null,
    points: true,
  }, placed));
  for (const point of placed.flagged) {
    track.flagged.push({ ...point, color: theme.nonFinite, label: label(prefix, named("epoch_learning_rate")) });
  }
}
