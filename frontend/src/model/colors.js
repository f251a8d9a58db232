// Colours of runs and series.

/** A colour with an alpha, from "#rrggbb". */
export function withAlpha(color, alpha) {
  const match = /^#([0-9a-f]{6})$/i.exec(color);
  if (!match) return color;
  const value = parseInt(match[1], 16);
  return `rgba(${value >> 16}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

/**
 * The colour of the run with that index: the theme's palette first, then hues a golden
 * angle apart (distinct from each other and from the palette for dozens of runs).
 */
export function runColor(theme, colorIndex) {
  const palette = theme.palette;
  if (colorIndex < palette.length) return palette[colorIndex];
  const k = colorIndex - palette.length;
  const hue = (20 + k * 137.508) % 360;
  // Two lightness bands so neighbours in hue also differ in lightness.
  const dark = theme.name === "dark";
  const lightness = (dark ? 68 : 42) + (k % 2 ? (dark ? -10 : 10) : 0);
  return hslHex(hue, dark ? 70 : 75, lightness);
}

/** "#rrggbb" of an HSL colour (hue in degrees, saturation and lightness in %). */
export function hslHex(hue, saturation, lightness) {
  const s = saturation / 100;
  const l = lightness / 100;
  const a = s * Math.min(l, 1 - l);
  const channel = (n) => {
    const k = (n + hue / 30) % 12;
    const value = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255).toString(16).padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}
