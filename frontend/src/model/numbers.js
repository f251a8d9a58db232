// Numbers as the backend's JSON sends them.

/** TensorBoard's JSON writes NaN and infinities as strings; turn them back into numbers. */
export function toNumber(value) {
  if (typeof value === "number") return value;
  if (value === null || value === undefined || value === "") return null;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (typeof value === "boolean") return null;
  const number = Number(value);
  return Number.isNaN(number) ? NaN : number;
}

/** A finite number, else null. */
export function finiteInt(value) {
  const number = toNumber(value);
  return Number.isFinite(number) ? number : null;
}
