// Colours of runs and series.

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
