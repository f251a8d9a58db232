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

import numpy as np

SETTINGS = ("factor", "patience", "cooldown", "min_delta", "min_lr", "mode")
MODES = ("min", "max", "auto")


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


def schedules(planned):
    """A run's planned series a replay follows: ``{optimizer: (steps, rates)}``, the
    non-empty ones, sorted by optimizer; the decisions are the first one's."""
    return {name: planned[name] for name in sorted(planned or {}) if len(planned[name][0])}


def replay(plateau_records, planned=None, **changes):
    """Replays the plateau decisions of a run with some settings changed.

    Args:
        plateau_records: the run's ``"plateau"`` records (``lr-plugin export``
            or ``lr_plugin.format.reader.read_timelines``).
        planned: for a run trained on a schedule, the optimizer's planned
            series ``(steps, rates)`` (the run's ``"planned"``). The replay
            then reduces that schedule as training does (a ``ScaledSchedule``,
            ``min_lr`` bounding the reductions), so each decision's rates are
            the schedule's; without it, the rate is constant between decisions
            from the recorded initial rate.
        **changes: new values for any of ``factor``, ``patience``, ``cooldown``,
            ``min_delta``, ``min_lr``, ``mode``.

    Returns:
        One plateau record per recorded epoch, as the callback would have
        written it with the changed settings.

    Raises:
        ValueError: for an unknown setting, a run without plateau records, or a
            setting ReduceLROnPlateau rejects (its own message).
    """
    return _drive(plateau_records, planned, changes)[0]


def replayed_rates(plateau_records, planned, **changes):
    """``(decisions, (steps, rates))``: the replay on a schedule and the rate it
    would have applied at each planned step (the schedule reduced by the
    replayed decisions, evaluated as the optimizer evaluates it)."""
    from lr_plugin.record import rate_sources
    from lr_plugin.schedules import schedule_values

    decisions, optimizer = _drive(plateau_records, planned, changes)
    steps = np.asarray(planned[0], dtype=np.int64)
    # Reduced or not, the optimizer's schedule is now what training would have used.
    _, schedule = rate_sources.learning_rate_source(optimizer)
    return decisions, (steps, schedule_values(schedule, steps))


def _drive(plateau_records, planned, changes):
    """Drives lr_plugin's ReduceLROnPlateau (Keras' decision code) on the recorded
    values; returns (decisions, the optimizer it reduced)."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise ValueError(f"replay() cannot change {unknown}; it changes {list(SETTINGS)}.")
    import keras

    from lr_plugin.callbacks import ReduceLROnPlateau

    settings = recorded_settings(plateau_records)
    settings.update({k: v for k, v in changes.items() if v is not None})
    if planned is None:
        learning_rate = float(plateau_records[0].get("lr_before") or 0.0)
    else:
        learning_rate = _recorded_schedule(*planned)
    optimizer = keras.optimizers.SGD(learning_rate)
    callback = ReduceLROnPlateau(**settings)
    # No training to retrace: a reduced schedule is read eagerly.
    callback.set_model(types.SimpleNamespace(optimizer=optimizer,
                                             make_train_function=lambda force=False: None))
    callback.on_train_begin()
    decisions = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing-metric warning, once per epoch
        for record in plateau_records:
            if planned is not None and record.get("step") is not None:
                # At an epoch's end the optimizer has made step + 1 updates: its
                # schedule is read where the next update would read it.
                optimizer.iterations.assign(int(record["step"]) + 1)
            value = record.get("value")
            # Exported JSON writes NaN and infinities as strings: float() reads both.
            logs = {} if value is None else {settings["monitor"]: float(value)}
            callback.on_epoch_end(record["epoch"], logs)
            decision = dict(callback.last_decision, step=record.get("step"))
            decisions.append(decision)
    return decisions, optimizer


def _recorded_schedule(steps, rates):
    """A recorded planned series as a Keras learning-rate schedule: the rate
    at a step is the last recorded one at or before it (the first before it).
    Evaluated eagerly (the replay calls it outside any compiled step)."""
    import keras  # only here: the replay module is imported without Keras

    class RecordedSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self):
            self.steps = np.asarray(steps, dtype=np.int64)
            self.rates = np.asarray(rates, dtype=np.float64)
            if not self.steps.size or self.steps.shape != self.rates.shape:
                raise ValueError("A planned series needs steps and rates of one "
                                 f"non-empty length. Received {self.steps.shape} "
                                 f"and {self.rates.shape}.")

        def _values(self, at):  # schedule_values' vectorized path
            index = np.searchsorted(self.steps, np.asarray(at, dtype=np.int64), side="right") - 1
            return self.rates[np.clip(index, 0, self.steps.size - 1)]

        def __call__(self, step):
            at = int(keras.ops.convert_to_numpy(step))
            return keras.ops.convert_to_tensor(float(self._values(at)), dtype="float32")

        def get_config(self):
            return {"steps": self.steps.tolist(), "rates": self.rates.tolist()}

    return RecordedSchedule()


def reductions(decisions):
    """The epochs at which the rate was reduced."""
    return [d["epoch"] for d in decisions if d.get("action") == "reduce"]


SEMANTICS = ("keras", "pytorch")


def replay_pytorch(plateau_records, threshold_mode="abs", **changes):
    """Replays a run's plateau decisions with PyTorch's ReduceLROnPlateau rules.

    Drives ``torch.optim.lr_scheduler.ReduceLROnPlateau`` itself on the recorded
    values. Its rules differ from Keras': it reduces when the number of bad
    epochs exceeds ``patience`` (Keras: reaches it), counts the epoch that ends
    a cooldown as in cooldown, and compares against ``best * (1 - threshold)``
    with ``threshold_mode="rel"`` (``min_delta`` is used as ``threshold``).

    Args:
        plateau_records: the run's ``"plateau"`` records.
        threshold_mode: "abs" (Keras' meaning of min_delta) or "rel".
        **changes: new values for any of ``factor``, ``patience``, ``cooldown``,
            ``min_delta``, ``min_lr``.

    Returns:
        One record per recorded epoch, with the fields of Keras' replay.

    Raises:
        ImportError: when PyTorch is not installed.
        ValueError: as ``replay`` does, and for settings PyTorch rejects.
    """
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise ValueError(f"replay() cannot change {unknown}; it changes {list(SETTINGS)}.")
    if threshold_mode not in ("abs", "rel"):
        raise ValueError(f"threshold_mode must be 'abs' or 'rel'. Received: {threshold_mode!r}")
    try:
        import torch
    except ImportError as error:
        raise ImportError("Replaying with PyTorch's rules needs PyTorch: pip install torch.") from error

    settings = recorded_settings(plateau_records)
    settings.update({k: v for k, v in changes.items() if v is not None})
    mode = settings["mode"]
    if mode == "auto":
        mode = "max" if "acc" in settings["monitor"] else "min"
    initial_rate = float(plateau_records[0].get("lr_before") or 0.0)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=initial_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=mode, factor=settings["factor"], patience=settings["patience"],
        threshold=abs(settings["min_delta"] or 0.0), threshold_mode=threshold_mode,
        cooldown=settings["cooldown"], min_lr=settings["min_lr"] or 0.0)
    decisions = []
    for record in plateau_records:
        value = record.get("value")
        lr_before = optimizer.param_groups[0]["lr"]
        in_cooldown = scheduler.cooldown_counter > 0
        best_before = scheduler.best
        if value is None:
            action = "missing_metric"  # PyTorch raises on a missing value; nothing changes
        else:
            scheduler.step(float(value))
            lr_after = optimizer.param_groups[0]["lr"]
            if lr_after < lr_before:
                action = "reduce"
            elif scheduler.best != best_before:
                action = "improved"
            elif in_cooldown:
                action = "cooldown"
            elif scheduler.num_bad_epochs > scheduler.patience:
                action = "at_min_lr"
            else:
                action = "wait"
        lr_after = optimizer.param_groups[0]["lr"]
        best = scheduler.best
        decisions.append({
            "epoch": record["epoch"], "step": record.get("step"),
            "monitor": settings["monitor"], "mode": mode,
            "value": None if value is None else float(value),
            "best": None if best in (float("inf"), float("-inf")) else float(best),
            "wait": int(scheduler.num_bad_epochs), "patience": int(settings["patience"]),
            "cooldown": int(settings["cooldown"]),
            "cooldown_counter": int(scheduler.cooldown_counter),
            "factor": float(settings["factor"]), "min_lr": float(settings["min_lr"] or 0.0),
            "min_delta": abs(float(settings["min_delta"] or 0.0)),
            "action": action, "lr_before": float(lr_before), "lr_after": float(lr_after),
        })
    return decisions


def first_divergence(recorded, replayed, planned_until=None):
    """The first epoch whose decision or rate differs, or None when none does.

    From that epoch on the replay is no longer what training would have seen:
    the rate, and so the monitored values, would have gone another way.

    ``planned_until``: with a replay on a schedule, the last step of the
    planned series; an epoch ending there has an ``lr_after`` for an update
    the series does not reach (training ended), so only its decision counts.
    """
    for old, new in zip(recorded, replayed):
        step = old.get("step")
        rate_known = planned_until is None or step is None or step < planned_until
        if old.get("action") != new.get("action") or (rate_known and not _same_rate(
                old.get("lr_after"), new.get("lr_after"))):
            return old.get("epoch")
    return None


def _same_rate(a, b):
    if a is None or b is None:
        return a is b
    # Recorded rates are float32 read back as float64; PyTorch keeps float64.
    return abs(float(a) - float(b)) <= 1e-6 * max(abs(float(a)), abs(float(b)), 1e-30)
