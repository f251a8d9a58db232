// A drawn series as every track builder makes it: its look and its placed points.

/**
 * One series of a track spec.
 *
 * look: {key, run, label, color, width, dash (null: solid), step ("after" for a
 *   step line, null for a line through the points), points (dots at the points),
 *   scale (the y scale, when not the track's)}; placed: what place.js returns.
 */
export function drawnSeries(look, placed) {
  return {
    dash: null,
    step: null,
    ...look,
    xs: placed.xs,
    ys: placed.ys,
    extent: placed.extent,
    blocks: placed.blocks,
  };
}
