// The lint findings of the selected runs (the server's `findings`, rules in
// lr_plugin/model/traps.py) as the banner lists them, and what the tab says
// when a run has no plateau decisions to draw.

import { finiteInt } from "./numbers.js";
import { PLATEAU_ACTIONS } from "../api/contract.js";

const LEVEL_ORDER = { error: 0, warning: 1, info: 2 };

/** "Epoch 3" / "Epochs 2, 3, 7": Keras' 1-based numbers of 0-based indices ("" for none). */
export function kerasEpochs(epochs) {
  const numbers = (Array.isArray(epochs) ? epochs : []).map(finiteInt).filter((e) => e !== null);
  if (!numbers.length) return "";
  return `Epoch${numbers.length > 1 ? "s" : ""} ${numbers.map((e) => e + 1).join(", ")}`;
}

/**
 * The banner's items: every finding of every run, errors first, then warnings, then
 * infos (in the server's order within a level), leaving out those dismissed.
 *
 * entries: [{run, name, timeline}]; dismissed: a Set of findingKey()s.
 * Returns [{key, run, runName, code, level, message, fix, epochs, epochsText}].
 */
export function bannerFindings(entries, dismissed = new Set()) {
  const items = [];
  for (const entry of entries) {
    for (const finding of entry.timeline.findings || []) {
      if (typeof finding.message !== "string") continue;
      const level = finding.level in LEVEL_ORDER ? finding.level : "info";
      const code = String(finding.code ?? "");
      const key = findingKey(entry.run, code);
      if (dismissed.has(key)) continue;
      items.push({
        key,
        run: entry.run,
        runName: entry.name,
        code,
        level,
        message: finding.message,
        fix: typeof finding.fix === "string" ? finding.fix : "",
        epochs: (Array.isArray(finding.epochs) ? finding.epochs : []).map(finiteInt).filter((e) => e !== null),
        epochsText: kerasEpochs(finding.epochs),
      });
    }
  }
  return items
    .map((item, index) => [item, index])
    .sort(([a, i], [b, j]) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || i - j)
    .map(([item]) => item);
}

export function findingKey(run, code) {
  return `${run}\u0000${code}`;
}

/**
 * Why a run shows no plateau decisions, from what it recorded:
 *
 * - "monitor-missing": a ReduceLROnPlateau ran but its monitored metric was never logged
 *   (the run's monitor_missing finding, or lr_plugin's `missing_metric` records);
 *   `message` is the finding's, if any;
 * - "no-log-dir": lr_plugin's ReduceLROnPlateau ran (its setup record lists it) without
 *   recording its decisions;
 * - "keras-only": Keras' TensorBoard callback wrote the log_dir alone;
 * - "not-used": the training had no lr_plugin ReduceLROnPlateau.
 */
export function plateauAbsence(timeline) {
  if (timeline.keras_only) return { reason: "keras-only", message: null };
  const finding = (timeline.findings || []).find((f) => f.code === "monitor_missing" && typeof f.message === "string");
  if (finding) return { reason: "monitor-missing", message: finding.message };
  if (timeline.plateau.some((record) => record.action === PLATEAU_ACTIONS.MISSING_METRIC)) {
    return { reason: "monitor-missing", message: null };
  }
  const inSetup = (timeline.setup || []).some((setup) =>
    (Array.isArray(setup.callbacks) ? setup.callbacks : []).some(
      (callback) => callback && callback.role === "plateau" && callback.origin === "lr_plugin",
    ),
  );
  return { reason: inSetup ? "no-log-dir" : "not-used", message: null };
}
