// Plateau decisions as a step series: one point at the end of each decision's epoch.

/**
 * [{x, y}] of the records with an x, in order, as {xs, ys} (y null where not finite).
 *
 * place(record): the record's x (null: not placeable); valueOf(record): its y.
 */
export function placeDecisions(records, place, valueOf) {
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
