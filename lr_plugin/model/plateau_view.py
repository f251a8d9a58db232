"""Facts about ReduceLROnPlateau's decisions, derived once for whoever draws them.

The plateau records hold what the callback saw and did each epoch. What a reader
wants to see besides (the wait the decision compared with patience, whether the
value beat the threshold, which epochs a cooldown blocked) follows from Keras'
rule; it is computed here, on the server, so the frontend draws it and never
re-derives the rule.

Keras' rule (``keras.callbacks.ReduceLROnPlateau.on_epoch_end``), per epoch: if
the monitored value is missing, warn and stop; if in cooldown, decrement the
counter and reset ``wait``; if ``value + |min_delta| < best`` (mode "min";
``value - |min_delta| > best`` in mode "max"), it improved; else, when not in
cooldown, ``wait += 1`` and at ``wait >= patience`` the rate is reduced, the
counter set to ``cooldown`` and ``wait`` to 0. The callback records ``wait``
after the decision. The rule is restated here rather than imported because
``lr_plugin/record/reduce_lr_on_plateau.py`` imports Keras and the TensorBoard
plugin must not.

This module needs neither TensorFlow nor Keras.
"""

import math


def derive(plateau_records):
    """The derived facts of a run's plateau records.

    Args:
        plateau_records: the run's ``"plateau"`` records sorted by epoch, as
            ``lr_plugin.model.timeline.build_run`` returns them.

    Returns:
        ``{"decisions": [...], "cooldown_windows": [...]}``. One decision per
        record with an epoch, in the records' order: ``{"epoch", "decision_wait",
        "delta", "beat_threshold"}`` (see ``decision_facts``). Each cooldown
        window is ``{"reduce_epoch", "first_epoch", "last_epoch",
        "blocked_epochs", "complete"}`` (see ``cooldown_windows``). Epochs are
        Keras' 0-based indices.
    """
    records = [r for r in plateau_records if has_epoch(r)]
    return {
        "decisions": decision_facts(records),
        "cooldown_windows": cooldown_windows(records),
    }


def has_epoch(record):
    """Whether a plateau record gets a decision (``derive`` skips records without an epoch)."""
    return isinstance(record, dict) and _int(record.get("epoch")) is not None


def decision_facts(records):
    """Per record: the wait compared with patience, the delta and whether it beat the threshold.

    - ``decision_wait``: the callback records ``wait`` after the decision, and a
      reduction resets it to 0; a reduction compared ``wait_before + 1`` with
      patience.
    - ``delta``: the monitored value minus the best it was compared with
      (``best_before``); None when either is missing or not finite.
    - ``beat_threshold``: whether the value beat the best by more than
      ``|min_delta|`` in the record's mode (Keras' improvement test, strict).
    """
    return [
        {
            "epoch": _int(record.get("epoch")),
            "decision_wait": _decision_wait(record),
            "delta": _delta(record),
            "beat_threshold": _beat_threshold(record),
        }
        for record in records
    ]


def cooldown_windows(records):
    """The epochs each cooldown blocked, from the records' cooldown counters.

    Keras decrements the counter before testing it, so a reduction with
    ``cooldown=c`` at epoch r blocks epochs ``r+1 .. r+c-1`` (``cooldown=1``
    blocks none): exactly the epochs after it whose recorded counter is still
    above 0. Returns ``[{"reduce_epoch", "first_epoch", "last_epoch",
    "blocked_epochs", "complete"}]``; ``blocked_epochs`` counts the epochs
    recorded in the window, and ``complete`` is False while a training still
    in cooldown has not recorded the window's last epoch yet (``last_epoch``
    is then the last one recorded). Epochs without a value (``missing_metric``)
    leave the counter as it was and are not counted.

    Records of lr_plugin versions without ``cooldown_counter`` give no window.
    """
    windows = []
    current = None
    for record in records:
        epoch = _int(record.get("epoch"))
        counter = _int(record.get("cooldown_counter"))
        if current is not None and (record.get("action") == "reduce" or not counter):
            windows.append(current)
            current = None
        if record.get("action") == "reduce":
            current = {"reduce_epoch": epoch, "first_epoch": None, "last_epoch": None,
                       "blocked_epochs": 0, "complete": False,
                       "_planned_last": epoch + max((_int(record.get("cooldown")) or 0) - 1, 0)}
        elif current is not None and counter and record.get("action") != "missing_metric":
            if current["first_epoch"] is None:
                current["first_epoch"] = epoch
            current["last_epoch"] = epoch
            current["blocked_epochs"] += 1
    if current is not None:
        windows.append(current)
    result = []
    for window in windows:
        planned_last = window.pop("_planned_last")
        if window["first_epoch"] is None:
            continue  # cooldown <= 1, or no epoch recorded after the reduction yet
        window["complete"] = window["last_epoch"] >= planned_last
        result.append(window)
    return result


def _decision_wait(record):
    wait = _int(record.get("wait"))
    if record.get("action") != "reduce":
        return wait
    wait_before = _int(record.get("wait_before"))
    if wait_before is None:
        # Older records: a reduction happened at wait == patience.
        return _int(record.get("patience"))
    # wait_before is 0 when the epoch began in cooldown: Keras resets it there too.
    return wait_before + 1


def _delta(record):
    value, best_before = _float(record.get("value")), _float(record.get("best_before"))
    if value is None or best_before is None:
        return None
    if not (math.isfinite(value) and math.isfinite(best_before)):
        return None
    return value - best_before


def _beat_threshold(record):
    value, best_before = _float(record.get("value")), _float(record.get("best_before"))
    if value is None:
        return False
    if best_before is None:
        return True  # Keras' first value: nothing to beat yet (_is_improvement)
    if math.isnan(value):
        return False
    min_delta = abs(_float(record.get("min_delta")) or 0.0)
    if record.get("mode") == "max":
        return value - min_delta > best_before
    return value + min_delta < best_before


def _int(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


def _float(value):
    """A record number as a float; TensorBoard's JSON strings for NaN/infinities too."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
