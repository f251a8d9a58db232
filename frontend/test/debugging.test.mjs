// Plateau debugging: lint findings, the what-if ghost, extra scalars, Keras-only logs.

import test from "node:test";
import assert from "node:assert/strict";
import { bannerFindings, findingKey, kerasEpochs, plateauAbsence } from "../src/model/findings.js";
import { replayParams, replayGhost } from "../src/model/whatif.js";
import { scalarTriples } from "../src/model/scalar-track.js";
import { chooseAxis } from "../src/model/build.js";
import { EpochMap, makeAxis } from "../src/model/axis.js";
import { replayUrl, scalarUrl, scalarTagsUrl } from "../src/api/client.js";
import { normalizeTimeline } from "../src/api/timeline.js";

const entry = (run, findings) => ({ run, name: run, timeline: normalizeTimeline({ run, findings }) });

test("findings are listed errors first, then warnings, then infos, keeping the server's order within a level", () => {
  const items = bannerFindings([
    entry("a", [
      { code: "cooldown_one", level: "info", message: "i" },
      { code: "min_lr_early", level: "warning", message: "w" },
      { code: "double_plateau", level: "error", message: "e1", epochs: [1, 2] },
    ]),
    entry("b", [{ code: "monitor_missing", level: "error", message: "e2", fix: "f" }]),
  ]);
  assert.deepEqual(items.map((item) => item.message), ["e1", "e2", "w", "i"]);
  assert.equal(items[0].epochsText, "Epochs 2, 3");
  assert.equal(items[1].fix, "f");
});

test("a dismissed finding is left out of the banner", () => {
  const entries = [entry("a", [{ code: "double_plateau", level: "error", message: "e" }])];
  assert.equal(bannerFindings(entries, new Set([findingKey("a", "double_plateau")])).length, 0);
  assert.equal(bannerFindings(entries, new Set([findingKey("b", "double_plateau")])).length, 1);
});

test("epochs read as Keras prints them: Epoch N is index N - 1", () => {
  assert.equal(kerasEpochs([0]), "Epoch 1");
  assert.equal(kerasEpochs([4, 9]), "Epochs 5, 10");
  assert.equal(kerasEpochs([]), "");
});

test("a run whose plateau callback ran without its metric is not told to train with it", () => {
  const message = "ReduceLROnPlateau monitors 'val_loss' ...";
  const finding = normalizeTimeline({ findings: [{ code: "monitor_missing", level: "error", message }] });
  assert.deepEqual(plateauAbsence(finding), { reason: "monitor-missing", message });
  const records = normalizeTimeline({ plateau: [{ epoch: 0, action: "missing_metric", monitor: "val_loss" }] });
  assert.deepEqual(plateauAbsence(records), { reason: "monitor-missing", message: null });
});

test("a run whose lr_plugin plateau callback had no log_dir is told to pass one", () => {
  const inSetup = normalizeTimeline({ setup: [{ callbacks: [{ role: "plateau", origin: "lr_plugin" }] }] });
  assert.equal(plateauAbsence(inSetup).reason, "no-log-dir");
  const kerasPlateau = normalizeTimeline({ setup: [{ callbacks: [{ role: "plateau", origin: "keras" }] }] });
  assert.equal(plateauAbsence(kerasPlateau).reason, "not-used");
  assert.equal(plateauAbsence(normalizeTimeline({ keras_only: { text: "t" } })).reason, "keras-only");
});

test("replay parameters carry only the settings changed from the recording", () => {
  const recorded = { patience: 3, factor: 0.5, cooldown: 2, min_delta: 0.001, min_lr: 0.0001 };
  const asRecorded = { patience: "3", factor: "0.5", cooldown: "2", min_delta: "0.001", min_lr: "1e-4" };
  assert.deepEqual(replayParams(asRecorded, recorded), {});
  assert.deepEqual(replayParams({ ...asRecorded, patience: "5" }, recorded), { patience: "5" });
  assert.deepEqual(replayParams({ ...asRecorded, factor: " 2 " }, recorded), { factor: "2" });
  assert.deepEqual(replayParams({ patience: "" }, null, "pytorch", "rel"), { semantics: "pytorch", threshold_mode: "rel" });
  assert.deepEqual(replayParams({ ...asRecorded, mode: recorded.mode }, recorded), {});
  assert.deepEqual(replayParams({ ...asRecorded, mode: "max" }, { ...recorded, mode: "min" }), { mode: "max" });
});

test("replay URLs are relative and encode every value", () => {
  assert.equal(replayUrl("a b/lr_timeline", { patience: "5", semantics: "pytorch" }), "./replay?run=a%20b%2Flr_timeline&patience=5&semantics=pytorch");
  assert.equal(scalarTagsUrl("r&x"), "./scalar_tags?run=r%26x");
  assert.equal(scalarUrl("r", "exp/train", "epoch_accuracy"), "./scalar?run=r&scalar_run=exp%2Ftrain&tag=epoch_accuracy");
});

// Three epochs of 4 steps; the replay reduces at the end of epoch 1 (0-based).
const EPOCHS = [0, 1, 2].map((epoch) => ({ epoch, first_step: 4 * epoch, last_step: 4 * epoch + 3 }));
const REPLAY = {
  replayed: [
    { epoch: 0, step: 3, action: "improved", wait: 0, wait_before: 0, lr_before: 0.1, lr_after: 0.1 },
    { epoch: 1, step: 7, action: "reduce", wait: 0, wait_before: 0, lr_before: 0.1, lr_after: 0.05 },
    { epoch: 2, step: 11, action: "wait", wait: 1, wait_before: 0, lr_before: 0.05, lr_after: 0.05 },
  ],
  plateau_view: { decisions: [{ epoch: 0, decision_wait: 0 }, { epoch: 1, decision_wait: 1 }, { epoch: 2, decision_wait: 1 }] },
  reductions: { recorded: [2], replayed: [1] },
  first_divergence: 1,
};

test("the ghost rate steps down where the replay reduced, at the end of that epoch", () => {
  const ghost = replayGhost(REPLAY, makeAxis("step", new EpochMap(EPOCHS)));
  assert.deepEqual(ghost.rate, { xs: [0, 3, 7, 11], ys: [0.1, 0.1, 0.05, 0.05] });
  assert.deepEqual(ghost.reductions, [{ epoch: 1, x: 7 }]);
  assert.deepEqual(ghost.divergence, { epoch: 1, x: 7 });
});

test("the ghost wait is the server's decision wait, drawn as the recording's staircase", () => {
  const ghost = replayGhost(REPLAY, makeAxis("epoch", new EpochMap(EPOCHS)));
  assert.deepEqual(ghost.wait, { xs: [0, 1, 2, 3], ys: [0, 0, 1, 1] });
  assert.deepEqual(replayGhost({ ...REPLAY, plateau_view: undefined }, makeAxis("epoch", new EpochMap(EPOCHS))).wait, { xs: [], ys: [] });
});

test("on a schedule the ghost rates are the server's, one line per optimizer, at their steps", () => {
  const rates = { SGD: [[0, 0.1], [4, 0.09], [8, "NaN"], ["junk", 1]], Adam: "junk" };
  const ghost = replayGhost({ ...REPLAY, rates }, makeAxis("step", new EpochMap(EPOCHS)));
  assert.equal(ghost.rates.length, 1);
  assert.equal(ghost.rates[0].optimizer, "SGD");
  assert.deepEqual(ghost.rates[0].xs, [0, 4, 8]);
  assert.deepEqual(ghost.rates[0].ys, [0.1, 0.09, null]);
  assert.deepEqual(replayGhost(REPLAY, makeAxis("step", new EpochMap(EPOCHS))).rates, []);
});

test("a replay that never parts from the recording has no divergence", () => {
  const ghost = replayGhost({ ...REPLAY, first_divergence: null }, makeAxis("step", new EpochMap(EPOCHS)));
  assert.equal(ghost.divergence, null);
});

test("epoch-aligned scalars sit at their epoch's end, others at their own step", () => {
  assert.deepEqual(scalarTriples([[0, 3, 0.5]], "epoch"), [[0, 3, 0.5]]);
  assert.deepEqual(scalarTriples([[0, 2, 0.5], "junk"], "step"), [[null, 2, 0.5]]);
});

test("Keras-only runs are drawn on the epoch axis, the only one that places them", () => {
  const none = new EpochMap([]);
  assert.equal(chooseAxis([none], "step", [true]).axisName, "epoch");
  assert.equal(chooseAxis([none], "time", [true]).timeAxisAvailable, false);
  const mixed = chooseAxis([none, new EpochMap(EPOCHS)], "epoch", [true, false]);
  assert.equal(mixed.axisName, "epoch");
  assert.equal(mixed.stepAxisAvailable, true);
});

test("normalizeTimeline keeps findings, setup and Keras' per-epoch rate", () => {
  const timeline = normalizeTimeline({ findings: [{ code: "x" }, "junk"], keras_only: { text: "t" }, epoch_learning_rate: [[0, 0.1]] });
  assert.deepEqual(timeline.findings, [{ code: "x" }]);
  assert.deepEqual(timeline.setup, []);
  assert.deepEqual(timeline.keras_only, { text: "t" });
  assert.deepEqual(timeline.epoch_learning_rate, [[0, 0.1]]);
  assert.equal(normalizeTimeline({}).keras_only, null);
});
