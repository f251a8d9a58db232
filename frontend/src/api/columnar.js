// Decoder of the columnar /timeline answer (Content-Type
// application/x-lr-timeline-columnar), the layout that
// lr_plugin/serve/columnar.py writes and docs/HTTP_API.md describes:
// a 16-byte preamble ("LRTC", version, header length, 0), a JSON header,
// then little-endian Float64/Float32 columns at 8-aligned offsets: rate series
// (`columns`) and, since version 2, metrics (`metric_columns`).

export const COLUMNAR_CONTENT_TYPE = "application/x-lr-timeline-columnar";
export const COLUMNAR_VERSION = 2;

const MAGIC = "LRTC";
const PREAMBLE_BYTES = 16;
const TYPES = {
  float64: { bytes: 8, make: (buffer, offset, length) => new Float64Array(buffer, offset, length), get: "getFloat64" },
  float32: { bytes: 4, make: (buffer, offset, length) => new Float32Array(buffer, offset, length), get: "getFloat32" },
};
// Typed arrays read in the platform's byte order; the format is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes a columnar answer into the JSON answer's shape, with typed arrays.
 *
 * @param {ArrayBuffer} buffer the response body (`await response.arrayBuffer()`).
 * @returns {object} the header's fields (`points`, `epochs`, `record_counts`, ...)
 *   plus `learning_rate` and `planned`: `{optimizer: {steps: Float64Array,
 *   rates: Float32Array | Float64Array}}`, and `metrics`: `{metric: {epochs:
 *   Float64Array, steps: Float64Array, values: Float32Array | Float64Array}}` (NaN
 *   where the JSON answer has null). The arrays view `buffer` without copying.
 * @throws {Error} saying what is wrong when the bytes are not such an answer.
 */
export function decodeColumnar(buffer) {
  if (!(buffer instanceof ArrayBuffer)) {
    throw new TypeError(`decodeColumnar needs an ArrayBuffer. Received: ${describe(buffer)}`);
  }
  if (buffer.byteLength < PREAMBLE_BYTES) {
    throw new Error(`Not a columnar timeline: ${buffer.byteLength} bytes, fewer than the ${PREAMBLE_BYTES}-byte preamble.`);
  }
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== MAGIC) {
    throw new Error(`Not a columnar timeline: starts with ${JSON.stringify(magic)}, not "${MAGIC}". Was it JSON? Check the Content-Type.`);
  }
  const version = view.getUint32(4, true);
  if (version !== COLUMNAR_VERSION) {
    throw new Error(`Columnar timeline version ${version} is not supported (this frontend reads ${COLUMNAR_VERSION}). Reload the page after upgrading lr_plugin.`);
  }
  const headerBytes = view.getUint32(8, true);
  if (PREAMBLE_BYTES + headerBytes > buffer.byteLength) {
    throw new Error(`Columnar timeline truncated: its header needs ${headerBytes} bytes, ${buffer.byteLength - PREAMBLE_BYTES} remain.`);
  }
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, PREAMBLE_BYTES, headerBytes)));
  const { columns = [], metric_columns: metricColumns = [], ...fields } = header;
  const result = { ...fields, learning_rate: {}, planned: {}, metrics: {} };
  for (const column of columns) {
    if (!(column.series in result) || typeof result[column.series] !== "object") {
      throw new Error(`Columnar timeline: unknown series ${JSON.stringify(column.series)} (expected "learning_rate" or "planned").`);
    }
    result[column.series][column.optimizer] = {
      steps: readArray(buffer, view, column.steps, column.length, "steps"),
      rates: readArray(buffer, view, column.rates, column.length, "rates"),
    };
  }
  for (const column of metricColumns) {
    result.metrics[column.metric] = {
      epochs: readArray(buffer, view, column.epochs, column.length, "epochs"),
      steps: readArray(buffer, view, column.steps, column.length, "steps"),
      values: readArray(buffer, view, column.values, column.length, "values"),
    };
  }
  return result;
}

function readArray(buffer, view, spec, length, what) {
  const type = TYPES[spec?.type];
  if (!type) {
    throw new Error(`Columnar timeline: ${what} have type ${JSON.stringify(spec?.type)}; expected "float64" or "float32".`);
  }
  const { offset } = spec;
  if (!Number.isInteger(length) || length < 0 || !Number.isInteger(offset) || offset % 8 !== 0
      || offset + length * type.bytes > buffer.byteLength) {
    throw new Error(`Columnar timeline: ${what} at byte ${offset} (${length} values) lie outside the ${buffer.byteLength}-byte body or are unaligned.`);
  }
  if (LITTLE_ENDIAN) return type.make(buffer, offset, length);
  const copy = type.make(new ArrayBuffer(length * type.bytes), 0, length);
  for (let i = 0; i < length; i++) copy[i] = view[type.get](offset + i * type.bytes, true);
  return copy;
}

function describe(value) {
  if (value === null) return "null";
  return typeof value === "object" ? value.constructor?.name ?? "object" : typeof value;
}
