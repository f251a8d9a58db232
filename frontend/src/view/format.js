// Number formatting for legends, axes, tooltips and the decision table.

const DASH = "\u2014";

function trimMantissa(text) {
  // "1.50e-4" -> "1.5e-4", "2.00e-5" -> "2e-5"
  return text.replace(/\.?0+e/, "e").replace("e+", "e");
}

/** A learning rate or metric value, 4 significant digits, exponent when tiny or huge. */
export function formatValue(value) {
  if (value === null || value === undefined) return DASH;
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "\u221e";
  if (value === -Infinity) return "\u2212\u221e";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e5) {
    return String(Number(value.toPrecision(4)));
  }
  return trimMantissa(value.toExponential(2));
}

/** A signed difference, e.g. "+0.012" or "−3e-4". */
export function formatDelta(value) {
  if (value === null || value === undefined) return DASH;
  if (!Number.isFinite(value)) return formatValue(value);
  if (value === 0) return "0";
  const text = formatValue(Math.abs(value));
  return (value > 0 ? "+" : "\u2212") + text;
}

/** A step count with thousands separators: 12,500. */
export function formatCount(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return Math.round(value).toLocaleString("en-US");
}

/** A compact axis label: 950, 12.5k, 1.2M. */
export function formatCompact(value) {
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (magnitude >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(6)));
}

/** An epoch-axis position: whole epochs as integers, inside an epoch with 2 decimals. */
export function formatEpoch(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/**
 * A Keras epoch index (0-based in the data) as people read it: Keras prints "Epoch N"
 * with N = index + 1, and so does every text of the tab.
 */
export function formatKerasEpoch(epoch) {
  if (epoch === null || epoch === undefined || !Number.isFinite(epoch)) return DASH;
  return String(epoch + 1);
}

/**
 * An epoch-axis position for the cursor readout. x = N is the end of Keras' "Epoch N";
 * inside an epoch, how much of it is done: "Epoch 3 · 50%".
 */
export function formatEpochPosition(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  const rounded = Math.round(x * 100) / 100;
  const epoch = Math.max(1, Math.ceil(rounded));
  const done = Math.round((rounded - (epoch - 1)) * 100);
  return done >= 100 || rounded <= 0 ? `Epoch ${epoch}` : `Epoch ${epoch} \u00b7 ${done}%`;
}

/**
 * A time-axis position, seconds since the run started: "0s", "45s", "1m 30s", "2h 5m",
 * "1d 3h". `resolution` (seconds) is what to round to: below 1, the seconds get decimals
 * ("2.5s" at 0.5).
 */
export function formatDuration(value, resolution = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  let decimals = 0; // enough for the resolution (0.25: 2), at most 3
  while (decimals < 3 && Math.abs(Math.round(resolution * 10 ** decimals) - resolution * 10 ** decimals) > 1e-9) {
    decimals++;
  }
  const scale = 10 ** decimals;
  let rest = Math.round(Math.abs(value) * scale); // in units of the resolution's last digit
  const sign = value < 0 && rest > 0 ? "\u2212" : "";
  const parts = [];
  for (const [unit, seconds] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    const count = Math.floor(rest / (seconds * scale));
    rest -= count * seconds * scale;
    if (count) parts.push(`${count}${unit}`);
  }
  if (!rest && !parts.length) return "0s";
  if (rest) parts.push(`${(rest / scale).toFixed(decimals)}s`);
  return sign + parts.join(" ");
}

export { DASH };
