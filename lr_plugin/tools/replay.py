"""What-if replay: ReduceLROnPlateau's decisions on a recorded run, with other settings.

The recorded plateau records hold every epoch's monitored value, so the run's
plateau behaviour can be replayed with another patience, cooldown, factor,
min_delta or min_lr without training again. The replay drives lr_plugin's
ReduceLROnPlateau, that is Keras' own decision code: the answer is what Keras
would have done on those values. The values themselves would have differed
after the first changed decision, since the rate would have; the replay shows
when the settings act, not the loss they would have reached.
"""

import types
import warnings

SETTINGS = ("factor", "patience", "cooldown", "min_delta", "min_lr")


def recorded_settings(plateau_records):
    """The ReduceLROnPlateau settings a run was recorded with."""
    if not plateau_records:
        raise ValueError("The run has no plateau records: it was not recorded by "
                         "lr_plugin.callbacks.ReduceLROnPlateau(log_dir=...).")
    first = plateau_records[0]
    # A setting the records lack keeps ReduceLROnPlateau's default.
    settings = {key: first[key] for key in SETTINGS if first.get(key) is not None}
    settings["monitor"] = first.get("monitor") or "val_loss"
    settings["mode"] = first.get("mode") if first.get("mode") in ("min", "max") else "auto"
    return settings


def replay(plateau_records, **changes):
    """Replays the plateau decisions of a run with some settings changed.

    Args:
        plateau_records: the run's ``"plateau"`` records (``lr-plugin export``
            or ``lr_plugin.format.reader.read_timelines``).
        **changes: new values for any of ``factor``, ``patience``, ``cooldown``,
            ``min_delta``, ``min_lr``.

    Returns:
        One plateau record per recorded epoch, as the callback would have
        written it with the changed settings, starting from the recorded
        initial rate.

    Raises:
        ValueError: for an unknown setting, a run without plateau records, or a
            setting ReduceLROnPlateau rejects (its own message).
    """
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise ValueError(f"replay() cannot change {unknown}; it changes {list(SETTINGS)}.")
    import keras

    from lr_plugin.callbacks import ReduceLROnPlateau

    settings = recorded_settings(plateau_records)
    settings.update({k: v for k, v in changes.items() if v is not None})
    initial_rate = float(plateau_records[0].get("lr_before") or 0.0)
    callback = ReduceLROnPlateau(**settings)
    callback.set_model(types.SimpleNamespace(optimizer=keras.optimizers.SGD(initial_rate)))
    callback.on_train_begin()
    decisions = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing-metric warning, once per epoch
        for record in plateau_records:
            value = record.get("value")
            # Exported JSON writes NaN and infinities as strings: float() reads both.
            logs = {} if value is None else {settings["monitor"]: float(value)}
            callback.on_epoch_end(record["epoch"], logs)
            decision = dict(callback.last_decision, step=record.get("step"))
            decisions.append(decision)
    return decisions


def reductions(decisions):
    """The epochs at which the rate was reduced."""
    return [d["epoch"] for d in decisions if d.get("action") == "reduce"]
