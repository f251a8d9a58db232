// Requests to the plugin's routes. Every URL is relative: TensorBoard's iframe page
// has <base href="plugin/lr_timeline/">, so they resolve under --path_prefix and
// /experiment/<id>/ too.

import { COLUMNAR_CONTENT_TYPE, decodeColumnar } from "./columnar.js";

export const DOWNSAMPLE = 50000; // points per rate series the tab asks for

/** The body of a GET, as text (the tab compares texts to skip unchanged data). */
export async function fetchText(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText} for ${url}`);
  return response.text();
}

export function runsUrl() {
  return "./runs";
}

/** since: a step, for only what is newer (an incremental refresh); null for everything. */
export function timelineUrl(run, downsample = DOWNSAMPLE, since = null) {
  const tail = since === null ? "" : `&since=${since}`;
  return `./timeline?run=${encodeURIComponent(run)}&downsample=${downsample}${tail}`;
}

/**
 * A /timeline answer, asked for as columnar binary: {raw, bytes}. raw is the decoded
 * answer (typed arrays for the rate series) or, from a server that answers JSON (an
 * older lr_plugin), the parsed JSON; bytes are the body, to tell an unchanged answer.
 */
export async function fetchTimeline(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: `${COLUMNAR_CONTENT_TYPE}, application/json;q=0.9` },
  });
  const buffer = await response.arrayBuffer();
  const columnar = (response.headers.get("Content-Type") || "").startsWith(COLUMNAR_CONTENT_TYPE);
  if (!response.ok) throw new Error(errorMessage(response, new TextDecoder().decode(buffer), url));
  const bytes = new Uint8Array(buffer);
  return { raw: columnar ? decodeColumnar(buffer) : JSON.parse(new TextDecoder().decode(bytes)), bytes };
}

/** Whether two bodies are the same bytes. */
export function sameBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Every point and record of the runs, as `lr-plugin export` writes them (format: "json" or "csv"). */
export function exportUrl(runs, format) {
  const query = runs.map((run) => `run=${encodeURIComponent(run)}`);
  return `./export?${query.join("&")}&format=${encodeURIComponent(format)}`;
}

export function replayUrl(run, params = {}) {
  const query = [`run=${encodeURIComponent(run)}`];
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.push(`${name}=${encodeURIComponent(value)}`);
  }
  return `./replay?${query.join("&")}`;
}

export function scalarTagsUrl(run) {
  return `./scalar_tags?run=${encodeURIComponent(run)}`;
}

export function scalarUrl(run, scalarRun, tag) {
  return `./scalar?run=${encodeURIComponent(run)}&scalar_run=${encodeURIComponent(scalarRun)}&tag=${encodeURIComponent(tag)}`;
}

/**
 * A GET whose error answers carry a message for the user ({"error": ...}, as the
 * routes' 400s do): resolves with the body, or rejects with that message.
 */
export async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  const text = await response.text();
  if (!response.ok) throw new Error(errorMessage(response, text, url));
  return JSON.parse(text);
}

/** The message of an error answer: its {"error": ...} when it has one, else the status. */
function errorMessage(response, text, url) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // Not JSON (a proxy's error page): the status says what happened.
  }
  return body && typeof body.error === "string" ? body.error : `${response.status} ${response.statusText} for ${url}`;
}

/** The runs of /runs that name a run: [{run, name, optimizers, has_plateau, ...}]. */
export function parseRuns(text) {
  const body = JSON.parse(text);
  const runs = body && Array.isArray(body.runs) ? body.runs : [];
  return runs.filter((run) => run && typeof run.run === "string");
}

