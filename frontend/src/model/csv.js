// The learning rates of the selected runs as CSV.

import { toNumber } from "./numbers.js";

function csvField(text) {
  const value = String(text);
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvNumber(value) {
  const number = toNumber(value);
  if (number === null) return "";
  if (Number.isNaN(number)) return "NaN";
  if (number === Infinity) return "Infinity";
  if (number === -Infinity) return "-Infinity";
  return float32Text(number);
}

/**
 * A float32 value as the shortest text that reads back as the same float32
 * (0.02, not 0.019999999552965164), as `lr-plugin export` writes rates;
 * any other number as JavaScript writes it.
 */
export function float32Text(number) {
  if (Math.fround(number) !== number) return String(number);
  for (let digits = 1; digits <= 9; digits++) {
    const text = String(Number(number.toPrecision(digits)));
    if (Math.fround(Number(text)) === number) return text;
  }
  return String(number);
}

/** CSV with one row per (run, optimizer, step): run,optimizer,step,learning_rate. */
export function ratesCsv(timelines) {
  const lines = ["run,optimizer,step,learning_rate"];
  for (const timeline of timelines) {
    for (const [optimizer, { steps, rates }] of Object.entries(timeline.learning_rate)) {
      const prefix = `${csvField(timeline.run)},${csvField(optimizer)},`;
      for (let i = 0; i < steps.length; i++) {
        lines.push(prefix + csvNumber(steps[i]) + "," + csvNumber(rates[i]));
      }
    }
  }
  return lines.join("\n") + "\n";
}
