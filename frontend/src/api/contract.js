// Generated from lr_plugin/format/metadata.py: do not edit.
// Regenerate with `python -m lr_plugin.format.contract_js` (tests/frontend/test_contract_js.py checks it).

export const PLUGIN_NAME = "lr_timeline";
export const RUN_SUBDIR = "lr_timeline";
export const PAYLOAD_VERSION = 4;

export const LEARNING_RATE_PREFIX = "learning_rate/";
export const PLANNED_PREFIX = "planned/";
export const EPOCHS_TAG = "epochs";
export const PLATEAU_TAG = "plateau";
export const EVENTS_TAG = "events";
export const SESSIONS_TAG = "sessions";
export const SETUP_TAG = "setup";
export const LR_FINDER_TAG = "lr_finder";

export const SESSION_BEGIN = "begin";
export const SESSION_END = "end";

/** What ReduceLROnPlateau decided at an epoch (a plateau record's `action`). */
export const PLATEAU_ACTIONS = Object.freeze({
  IMPROVED: "improved",
  WAIT: "wait",
  COOLDOWN: "cooldown",
  REDUCE: "reduce",
  AT_MIN_LR: "at_min_lr",
  MISSING_METRIC: "missing_metric",
});
export const PLATEAU_ACTIONS_LIST = Object.freeze(["improved", "wait", "cooldown", "reduce", "at_min_lr", "missing_metric"]);

/** An event record's `kind`. */
export const EVENT_KINDS = Object.freeze({
  REDUCE: "reduce",
  COOLDOWN_START: "cooldown_start",
  COOLDOWN_END: "cooldown_end",
  MIN_LR_REACHED: "min_lr_reached",
  LR_SET: "lr_set",
});
export const EVENT_KINDS_LIST = Object.freeze(["reduce", "cooldown_start", "cooldown_end", "min_lr_reached", "lr_set"]);

export const RECORD_SESSION = "session";
export const RECORD_ACTION = "action";
export const RECORD_KIND = "kind";
export const RECORD_STEP = "step";
export const RECORD_EPOCH = "epoch";
export const RECORD_FIRST_STEP = "first_step";
export const RECORD_LAST_STEP = "last_step";
export const SESSION_START_STEP = "start_step";
export const SESSION_SUPERSEDED_FROM = "superseded_from";
