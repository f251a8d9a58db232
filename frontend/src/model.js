// From the timelines of the selected runs to what the three tracks draw.
//
// One run: colours tell the series apart (optimizers, loss vs val_loss).
// Several runs: the colour is the run's, the line style tells the series apart.

import {
  EpochMap,
  makeAxis,
  placeRates,
  placeMetric,
  runMetrics,
  plateauRecords,
  reductions,
  rateEvents,
  cooldownWindows,
} from "./data.js";

const LOSS_NAMES = ["loss", "val_loss"];
const BATCH_LOSS = "batch_loss";

/** A colour with an alpha, from "#rrggbb". */
export function withAlpha(color, alpha) {
  const match = /^#([0-9a-f]{6})$/i.exec(color);
  if (!match) return color;
  const value = parseInt(match[1], 16);
  return `rgba(${value >> 16}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

export function runColor(theme, colorIndex) {
  return theme.palette[colorIndex % theme.palette.length];
}

function monitorOf(records) {
  for (const record of records) {
    if (typeof record.monitor === "string" && record.monitor) return record.monitor;
  }
  return null;
}

function metricNames(metrics, monitor) {
  const names = LOSS_NAMES.filter((name) => metrics[name]);
  if (monitor && metrics[monitor] && !names.includes(monitor)) names.push(monitor);
  if (!names.length) {
    // No standard names: show what looks like a loss.
    for (const name of Object.keys(metrics)) {
      if (name !== BATCH_LOSS && /loss/i.test(name) && names.length < 3) names.push(name);
    }
  }
  if (metrics[BATCH_LOSS]) names.unshift(BATCH_LOSS); // drawn first, under the others
  return names;
}

function isLossLike(name) {
  return /loss/i.test(name);
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
  const lr = { id: "lr", series: [], bands: [], flagged: [], notes: [], legendExtras: [] };
  const loss = { id: "loss", series: [], bands: [], flagged: [], notes: [], monitorScale: null };
  const plateau = { id: "plateau", series: [], bands: [], flagged: [], notes: [], maxY: 1, legendExtras: [] };
  const markers = [];
  const eventMarkers = [];
  const maps = entries.map((entry) => new EpochMap(entry.timeline.epochs));
  // Every run needs its epochs for the epoch axis, and their wall times for the time
  // axis; otherwise all stay on steps.
  const epochAxisAvailable = maps.length > 0 && maps.every((map) => map.available);
  const timeAxisAvailable = epochAxisAvailable && maps.every((map) => map.timeAvailable);
  const timeUnavailable = timeAxisAvailable ? null : epochAxisAvailable ? "no-times" : "no-epochs";
  let axisName = "step";
  if (settings.axis === "epoch" && epochAxisAvailable) axisName = "epoch";
  if (settings.axis === "time" && timeAxisAvailable) axisName = "time";

  entries.forEach((entry, entryIndex) => {
    const timeline = entry.timeline;
    const axis = makeAxis(axisName, maps[entryIndex]);
    const color = runColor(theme, entry.colorIndex);
    const prefix = several ? `${entry.name} \u00b7 ` : "";

    // Track 1: the learning rate of each optimizer, planned rates dashed.
    const optimizers = Object.keys(timeline.learning_rate);
    for (const name of Object.keys(timeline.planned)) {
      if (!optimizers.includes(name)) optimizers.push(name);
    }
    let lrXs = null; // optimizers that step together share one xs array
    optimizers.forEach((optimizer, k) => {
      const seriesColor = several ? color : theme.palette[k % theme.palette.length];
      const actual = timeline.learning_rate[optimizer];
      if (actual) {
        const placed = placeRates(actual, axis, logScale, lrXs);
        lrXs = lrXs || placed.xs;
        lr.series.push({
          key: `${entry.run}\u0000lr\u0000${optimizer}`,
          run: entry.run,
          label: `${prefix}${optimizer}`,
          color: several && k > 0 ? withAlpha(seriesColor, 0.6) : seriesColor,
          width: 2,
          dash: null,
          step: "after",
          xs: placed.xs,
          ys: placed.ys,
          extent: placed.extent,
          blocks: placed.blocks,
        });
        for (const point of placed.flagged) {
          lr.flagged.push({ ...point, color: theme.nonFinite, label: `${prefix}${optimizer}` });
        }
        if (placed.hiddenNonPositive) {
          lr.notes.push(
            `${prefix}${optimizer}: ${placed.hiddenNonPositive} rate(s) \u2264 0 not drawn on the log scale`,
          );
        }
      }
      const planned = timeline.planned[optimizer];
      if (planned && planned.length) {
        const placed = placeRates(planned, axis, logScale, lrXs);
        lrXs = lrXs || placed.xs;
        lr.series.push({
          key: `${entry.run}\u0000planned\u0000${optimizer}`,
          run: entry.run,
          label: `${prefix}${optimizer} (planned)`,
          color: withAlpha(seriesColor, 0.75),
          width: 1.5,
          dash: [6, 4],
          step: "after",
          xs: placed.xs,
          ys: placed.ys,
          extent: placed.extent,
          blocks: placed.blocks,
        });
      }
    });

    // Track 2: loss, val_loss and the monitored metric, with best and threshold.
    const records = plateauRecords(timeline);
    const monitor = monitorOf(records);
    const metrics = runMetrics(timeline);
    const names = metricNames(metrics, monitor);
    let lossColorIndex = 0;
    for (const name of names) {
      const placed = placeMetric(metrics[name], axis);
      if (!placed.xs.length) continue;
      const scale = isLossLike(name) ? "y" : "y2";
      if (scale === "y2") loss.monitorScale = name;
      const batch = name === BATCH_LOSS;
      let seriesColor;
      if (several) seriesColor = batch ? withAlpha(color, 0.35) : color;
      else if (batch) seriesColor = withAlpha(theme.palette[0], 0.35);
      else seriesColor = theme.palette[name === "val_loss" ? 1 : name === "loss" ? 0 : 3 + lossColorIndex++];
      loss.series.push({
        key: `${entry.run}\u0000metric\u0000${name}`,
        run: entry.run,
        label: `${prefix}${name}${name === monitor ? " (monitored)" : ""}`,
        color: seriesColor,
        width: batch ? 1 : 2,
        dash: several && name === "val_loss" ? [6, 4] : several && !batch && name !== "loss" ? [2, 3] : null,
        step: null,
        points: !batch,
        scale,
        xs: placed.xs,
        ys: placed.ys,
        extent: placed.extent,
        blocks: placed.blocks,
      });
      for (const point of placed.flagged) {
        loss.flagged.push({ ...point, color: theme.nonFinite, label: `${prefix}${name}` });
      }
    }
    const withBest = records.filter((record) => record.best !== null && Number.isFinite(record.best));
    if (withBest.length) {
      const scale = monitor && !isLossLike(monitor) ? "y2" : "y";
      if (scale === "y2" && !loss.monitorScale) loss.monitorScale = monitor;
      const place = (record) => axis.epochEnd(record.epoch, record.step);
      const best = placeDecisions(withBest, place, (record) => record.best);
      const threshold = placeDecisions(withBest, place, (record) =>
        Number.isFinite(record.threshold) ? record.threshold : null,
      );
      loss.series.push({
        key: `${entry.run}\u0000best`,
        run: entry.run,
        label: `${prefix}best ${monitor || ""}`.trim(),
        color: several ? withAlpha(color, 0.8) : theme.best,
        width: 1.5,
        dash: several ? [1, 3] : null,
        step: "after",
        scale,
        xs: best.xs,
        ys: best.ys,
      });
      if (threshold.ys.some((y) => y !== null)) {
        loss.series.push({
          key: `${entry.run}\u0000threshold`,
          run: entry.run,
          label: `${prefix}threshold to improve`,
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

    // Track 3: wait against patience, cooldown windows as bands.
    if (records.length) {
      const place = (record) => axis.epochEnd(record.epoch, record.step);
      const waits = placeDecisions(records, place, (record) => record.decisionWait);
      if (waits.xs.length) {
        // The wait of epoch e covers epoch e: start the staircase at the first epoch's start.
        const first = records[0];
        const start = axis.epochStart(first.epoch, first.step);
        if (start !== null && start < waits.xs[0]) {
          waits.xs.unshift(start);
          waits.ys.unshift(waits.ys[0]);
        }
      }
      plateau.series.push({
        key: `${entry.run}\u0000wait`,
        run: entry.run,
        label: `${prefix}wait`,
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
        plateau.series.push({
          key: `${entry.run}\u0000patience`,
          run: entry.run,
          label: `${prefix}patience`,
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
          if (Number.isFinite(value)) plateau.maxY = Math.max(plateau.maxY, value);
        }
      }
      const bandColor = several ? withAlpha(color, 0.12) : theme.cooldown;
      const edgeColor = several ? withAlpha(color, 0.4) : theme.cooldownEdge;
      const windows = cooldownWindows(timeline, axis);
      for (const [x0, x1] of windows) {
        plateau.bands.push({ x0, x1, color: bandColor, edge: edgeColor, run: entry.run });
      }
      if (windows.length) plateau.legendExtras.push({ label: `${prefix}cooldown`, color: edgeColor });
    }

    for (const reduction of reductions(timeline)) {
      const x = axis.epochEnd(reduction.epoch, reduction.step);
      if (x === null || !Number.isFinite(x)) continue;
      markers.push({
        x,
        run: entry.run,
        runName: entry.name,
        color: several ? color : theme.reduction,
        reduction,
      });
    }

    // Rate events: a scheduler's lr_set where the rate starts to apply, min_lr_reached
    // at the end of the epoch.
    for (const event of rateEvents(timeline)) {
      const x =
        event.kind === "lr_set"
          ? event.step !== null
            ? axis.point(event.step)
            : axis.epochStart(event.epoch, null)
          : axis.epochEnd(event.epoch, event.step);
      if (x === null || !Number.isFinite(x)) continue;
      eventMarkers.push({
        x,
        kind: event.kind,
        run: entry.run,
        runName: entry.name,
        color: event.kind === "min_lr_reached" ? theme.minLr : several ? color : theme.lrSet,
        event,
      });
    }
  });

  markers.sort((a, b) => a.x - b.x);
  eventMarkers.sort((a, b) => a.x - b.x);
  // A legend entry for each kind of marker shown (overlaid runs: reductions in each run's colour).
  const kinds = [
    [markers.length > 0, "reduction", "reduction", several ? theme.axis : theme.reduction],
    [eventMarkers.some((m) => m.kind === "lr_set"), "lr_set", "rate set by scheduler", theme.lrSet],
    [eventMarkers.some((m) => m.kind === "min_lr_reached"), "min_lr_reached", "min_lr reached", theme.minLr],
  ];
  for (const [present, kind, label, markerColor] of kinds) {
    if (present) lr.legendExtras.push({ label, color: markerColor, shape: kind });
  }
  return {
    tracks: { lr, loss, plateau },
    markers,
    eventMarkers,
    epochAxisAvailable,
    timeAxisAvailable,
    timeUnavailable,
    axisName,
  };
}

function placeDecisions(records, place, valueOf) {
  const xs = [];
  const ys = [];
  for (const record of records) {
    const x = place(record);
    if (x === null || !Number.isFinite(x)) continue;
    if (xs.length && x <= xs[xs.length - 1]) continue;
    const value = valueOf(record);
    xs.push(x);
    ys.push(value === null || !Number.isFinite(value) ? null : value);
  }
  return { xs, ys };
}
