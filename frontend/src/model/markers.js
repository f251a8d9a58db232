// The markers of a run: reductions (on every track) and rate events (rate track).

import { reductions, rateEvents } from "./records.js";
import { EVENT_KINDS } from "../api/contract.js";

/**
 * Adds one run's reduction markers and rate-event markers.
 *
 * run: {entry, axis, several, color, theme}. A marker is {x, run, runName, color,
 * reduction | (kind, event)}.
 */
export function addRunMarkers(markers, eventMarkers, run) {
  const { entry, axis, several, color, theme } = run;
  for (const reduction of reductions(entry.timeline)) {
    const x = axis.epochEnd(reduction.epoch, reduction.step);
    if (x === null || !Number.isFinite(x)) continue;
    markers.push({ x, run: entry.run, runName: entry.name, color: several ? color : theme.reduction, reduction });
  }
  // A scheduler's lr_set where the rate starts to apply, min_lr_reached at the end of the epoch.
  for (const event of rateEvents(entry.timeline)) {
    const x =
      event.kind === EVENT_KINDS.LR_SET
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
      color: event.kind === EVENT_KINDS.MIN_LR_REACHED ? theme.minLr : several ? color : theme.lrSet,
      event,
    });
  }
}

/** The rate track's legend entries for the kinds of marker shown. */
export function markerLegend(markers, eventMarkers, several, theme) {
  const kinds = [
    [markers.length > 0, "reduction", "reduction", several ? theme.axis : theme.reduction],
    [eventMarkers.some((m) => m.kind === EVENT_KINDS.LR_SET), EVENT_KINDS.LR_SET, "rate set by scheduler", theme.lrSet],
    [eventMarkers.some((m) => m.kind === EVENT_KINDS.MIN_LR_REACHED), EVENT_KINDS.MIN_LR_REACHED, "min_lr reached", theme.minLr],
  ];
  return kinds.filter(([present]) => present).map(([, kind, text, color]) => ({ label: [text], color, shape: kind }));
}
