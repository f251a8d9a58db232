// Where things sit on the x axis: steps, epochs (Keras' 0-based indices in the data)
// or seconds since the run started.
//
// Axis convention, one rule for everything:
// - step axis: a value recorded at optimizer update `s` (0-based) sits at x = s.
// - epoch axis: update s of epoch e, whose updates are first_step..last_step,
//   sits at x = e + (s - first_step + 1) / (last_step - first_step + 1), i.e. at
//   the fraction of the epoch done once s is applied. The last update of epoch e
//   sits at e + 1.
// - Whatever happens at the end of epoch e (epoch metrics, plateau decisions,
//   reductions, cooldown edges) sits at the epoch's last step on the step axis,
//   at e + 1 on the epoch axis and at the epoch's end_time on the time axis: the
//   same place as that last update.
// - time axis: seconds since the run's first epoch started. Update s of epoch e sits
//   at start_time + (s - first_step + 1) / (last_step - first_step + 1) *
//   (end_time - start_time), the epoch's wall time spread evenly over its updates.

import { finiteInt } from "./numbers.js";

/**
 * Maps steps to epoch-axis and time-axis positions from a run's epoch records.
 *
 * Steps after the last recorded epoch (the epoch in progress) continue with the
 * last epoch's length (and, on the time axis, its seconds per update).
 */
export class EpochMap {
  constructor(epochs) {
    const spans = [];
    for (const record of epochs) {
      const epoch = finiteInt(record.epoch);
      const first = finiteInt(record.first_step);
      const last = finiteInt(record.last_step);
      if (epoch === null || first === null || last === null || last < first) continue;
      spans.push({ epoch, first, last, start: finiteInt(record.start_time), end: finiteInt(record.end_time) });
    }
    spans.sort((a, b) => a.first - b.first || a.epoch - b.epoch);
    // A resumed run can repeat steps: keep the spans that move forward.
    this.spans = [];
    for (const span of spans) {
      const previous = this.spans[this.spans.length - 1];
      if (previous && (span.first <= previous.last || span.epoch <= previous.epoch)) continue;
      this.spans.push(span);
    }
    this.byEpoch = new Map(this.spans.map((span) => [span.epoch, span]));
    // The time axis needs the wall times of every epoch (logs of older versions have none).
    this.timeAvailable =
      this.spans.length > 0 && this.spans.every((span) => span.start !== null && span.end !== null);
    if (this.timeAvailable) {
      // Seconds since the first epoch started, never going back (a clock set back).
      const origin = this.spans[0].start;
      let previousEnd = 0;
      for (const span of this.spans) {
        span.start = Math.max(span.start - origin, previousEnd);
        span.end = previousEnd = Math.max(span.end - origin, span.start);
      }
    }
  }

  get available() {
    return this.spans.length > 0;
  }

  /** The index of the span holding `step`, or the last before it (-1: before the first). */
  spanIndex(step) {
    const spans = this.spans;
    if (!spans.length || step < spans[0].first) return -1;
    let lo = 0;
    let hi = spans.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (spans[mid].first <= step) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The epoch-axis position of update `step`. */
  x(step) {
    const spans = this.spans;
    if (!spans.length) return null;
    const lo = this.spanIndex(step);
    const span = spans[Math.max(lo, 0)];
    const length = span.last - span.first + 1;
    if (lo < 0 || step <= span.last) return span.epoch + (step - span.first + 1) / length;
    if (lo < spans.length - 1) return span.epoch + 1; // a gap between records
    const beyond = step - span.last - 1;
    const whole = Math.floor(beyond / length);
    return span.epoch + 1 + whole + (beyond - whole * length + 1) / length;
  }

  /** The time-axis position of update `step` (seconds since the first epoch started). */
  t(step) {
    const spans = this.spans;
    if (!this.timeAvailable) return null;
    const lo = this.spanIndex(step);
    const span = spans[Math.max(lo, 0)];
    const perStep = (span.end - span.start) / (span.last - span.first + 1);
    if (lo < 0 || step <= span.last) return span.start + (step - span.first + 1) * perStep;
    if (lo < spans.length - 1) return span.end; // a gap between records
    return span.end + (step - span.last) * perStep;
  }

  lastStep(epoch) {
    const span = this.byEpoch.get(epoch);
    return span ? span.last : null;
  }

  firstStep(epoch) {
    const span = this.byEpoch.get(epoch);
    return span ? span.first : null;
  }

  /** When the epoch ended / started, on the time axis (null: not recorded). */
  endTime(epoch) {
    const span = this.timeAvailable ? this.byEpoch.get(epoch) : undefined;
    return span ? span.end : null;
  }

  startTime(epoch) {
    const span = this.timeAvailable ? this.byEpoch.get(epoch) : undefined;
    return span ? span.start : null;
  }
}

/**
 * Where things sit on the chosen x axis for one run.
 *
 * Returns {point(step), epochEnd(epoch, step), epochStart(epoch, step)}; each returns null
 * when the record does not say enough to place it.
 */
export function makeAxis(axisName, epochMap) {
  if (axisName === "epoch") {
    return {
      name: "epoch",
      point: (step) => (step === null ? null : epochMap.x(step)),
      epochEnd: (epoch, step) => {
        if (epoch !== null) return epoch + 1;
        return step === null ? null : epochMap.x(step);
      },
      epochStart: (epoch) => (epoch === null ? null : epoch),
    };
  }
  if (axisName === "time") {
    const point = (step) => (step === null ? null : epochMap.t(step));
    return {
      name: "time",
      point,
      epochEnd: (epoch, step) => {
        const end = epoch === null ? null : epochMap.endTime(epoch);
        return end !== null ? end : point(step ?? (epoch === null ? null : epochMap.lastStep(epoch)));
      },
      epochStart: (epoch, step) => {
        const start = epoch === null ? null : epochMap.startTime(epoch);
        return start !== null ? start : point(step);
      },
    };
  }
  return {
    name: "step",
    point: (step) => step,
    epochEnd: (epoch, step) => (step !== null ? step : epoch === null ? null : epochMap.lastStep(epoch)),
    epochStart: (epoch, step) => {
      const first = epoch === null ? null : epochMap.firstStep(epoch);
      if (first !== null) return first;
      const previousLast = epoch === null ? null : epochMap.lastStep(epoch - 1);
      return previousLast !== null ? previousLast + 1 : step;
    },
  };
}

/**
 * The (fractional) step an axis puts at x: axis.point inverted by bisection (it only
 * grows with the step). Used to carry a zoom from one axis to another.
 */
export function stepAt(axis, x) {
  if (axis.name === "step") return x;
  let lo = -1e9;
  let hi = 1e10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (axis.point(mid) < x) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
