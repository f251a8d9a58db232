// Labels that hold user names (runs, optimizers, metrics, monitors) apart from our words.
//
// A name can hold bidi control characters (a run directory named with U+202E): drawn
// as part of a longer text they would reorder the words around them ("SGD" read as
// "DGS"). A label is a list of parts, strings of ours and {name} for a user's name;
// the view isolates every name (<bdi>, or U+2068..U+2069 where only text fits).

/** A user's name, to be isolated wherever it is shown. */
export function named(text) {
  return { name: String(text) };
}

/** A label from parts: strings, named() parts, or labels (flattened). */
export function label(...parts) {
  const result = [];
  for (const part of parts) {
    if (Array.isArray(part)) result.push(...label(...part));
    else if (part !== null && part !== undefined && part !== "") result.push(part);
  }
  return result;
}

/** The label's characters, names as they are (for keys, comparisons, tests). */
export function plainLabel(parts) {
  return label(parts)
    .map((part) => (typeof part === "string" ? part : part.name))
    .join("");
}

/** The parts that start a series' label when several runs are overlaid: "run · ". */
export function runPrefix(several, runName) {
  return several ? [named(runName), " \u00b7 "] : [];
}
