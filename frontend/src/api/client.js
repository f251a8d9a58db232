// Requests to the plugin's routes. Every URL is relative: TensorBoard's iframe page
// has <base href="plugin/lr_timeline/">, so they resolve under --path_prefix and
// /experiment/<id>/ too.

export const DOWNSAMPLE = 50000; // points per rate series the tab asks for
export const MAX_DOWNSAMPLE = 1000000; // the backend's limit

/** The body of a GET, as text (the tab compares texts to skip unchanged data). */
export async function fetchText(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText} for ${url}`);
  return response.text();
}

export function runsUrl() {
  return "./runs";
}

export function timelineUrl(run, downsample = DOWNSAMPLE) {
  return `./timeline?run=${encodeURIComponent(run)}&downsample=${downsample}`;
}

/** The runs of /runs that name a run: [{run, name, optimizers, has_plateau, ...}]. */
export function parseRuns(text) {
  const body = JSON.parse(text);
  const runs = body && Array.isArray(body.runs) ? body.runs : [];
  return runs.filter((run) => run && typeof run.run === "string");
}

/** How many points to ask for so that no series of a timeline is downsampled. */
export function fullDownsample(timeline) {
  const totals = Object.values((timeline && timeline.points) || {}).filter((n) => typeof n === "number");
  return Math.min(MAX_DOWNSAMPLE, Math.max(DOWNSAMPLE, ...totals));
}
