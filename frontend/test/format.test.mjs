// Number formats of legends, axes, tooltips and the table.

import test from "node:test";
import assert from "node:assert/strict";
import {
  formatValue,
  formatDelta,
  formatCount,
  formatCompact,
  formatEpoch,
  formatDuration,
  formatKerasEpoch,
  formatEpochPosition,
} from "../src/view/format.js";

test("formatValue keeps 4 significant digits and writes tiny or huge values with an exponent", () => {
  assert.equal(formatValue(0.0123456), "0.01235");
  assert.equal(formatValue(1234.5678), "1235");
  assert.equal(formatValue(0.00015), "1.5e-4");
  assert.equal(formatValue(2e-5), "2e-5");
  assert.equal(formatValue(123456), "1.23e5");
  assert.equal(formatValue(0), "0");
});

test("formatValue names what is not a finite number", () => {
  assert.equal(formatValue(null), "\u2014");
  assert.equal(formatValue(undefined), "\u2014");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "\u221e");
  assert.equal(formatValue(-Infinity), "\u2212\u221e");
});

test("formatDelta carries a sign, a true minus for negatives", () => {
  assert.equal(formatDelta(0.012), "+0.012");
  assert.equal(formatDelta(-3e-4), "\u22123e-4");
  assert.equal(formatDelta(0), "0");
  assert.equal(formatDelta(null), "\u2014");
});

test("formatCount and formatCompact write steps", () => {
  assert.equal(formatCount(12500), "12,500");
  assert.equal(formatCount(NaN), "\u2014");
  assert.equal(formatCompact(950), "950");
  assert.equal(formatCompact(12500), "12.5k");
  assert.equal(formatCompact(1234567), "1.23M");
});

test("formatEpoch writes whole epochs as integers and fractions with 2 decimals", () => {
  assert.equal(formatEpoch(3), "3");
  assert.equal(formatEpoch(2.5), "2.50");
  assert.equal(formatEpoch(null), "\u2014");
});

test("formatDuration counts in days, hours, minutes and seconds", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(90), "1m 30s");
  assert.equal(formatDuration(9000), "2h 30m");
  assert.equal(formatDuration(97200), "1d 3h");
  assert.equal(formatDuration(2.5, 0.5), "2.5s");
  assert.equal(formatDuration(-30), "\u221230s");
});

test("epochs read as Keras prints them: index 0 is Epoch 1", () => {
  assert.equal(formatKerasEpoch(0), "1");
  assert.equal(formatKerasEpoch(39), "40");
  assert.equal(formatKerasEpoch(null), "\u2014");
});

test("an epoch-axis position names the epoch it is in; N is the end of Epoch N", () => {
  assert.equal(formatEpochPosition(11), "Epoch 11");
  assert.equal(formatEpochPosition(10.5), "Epoch 11 \u00b7 50%");
  assert.equal(formatEpochPosition(0.25), "Epoch 1 \u00b7 25%");
  assert.equal(formatEpochPosition(0), "Epoch 1");
});
