"""The what-if replay route's answer: a run's plateau decisions with other settings.

``/replay?run=RUN&patience=5&...`` replays the recorded monitored values with
the same code as ``lr-plugin replay`` (Keras' own ReduceLROnPlateau, or
PyTorch's with ``semantics=pytorch``) and says where the replay parts from
what happened. On a run trained on a schedule (it has a planned series), the
Keras replay reduces that schedule as training does and sends the rate it
would have applied at every planned step, downsampled as ``/timeline`` does.
"""

from lr_plugin.model import downsample
from lr_plugin.model import plateau_view
from lr_plugin.model import timeline

REPLAYED_POINTS = 5000
"""Points per replayed rate series (the rule of ``/timeline``: every change kept when they fit)."""

_NUMBERS = {"factor": float, "patience": int, "cooldown": int, "min_delta": float, "min_lr": float}


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message says which and why."""


def parse_changes(args):
    """``(semantics, threshold_mode, {setting: value})`` from the query parameters."""
    from lr_plugin.tools import replay

    semantics = args.get("semantics") or "keras"
    if semantics not in replay.SEMANTICS:
        raise BadQuery(f"semantics must be one of {list(replay.SEMANTICS)}. "
                       f"Received: {semantics!r}")
    threshold_mode = args.get("threshold_mode") or "abs"
    if threshold_mode not in ("abs", "rel"):
        raise BadQuery(f"threshold_mode must be 'abs' or 'rel'. Received: {threshold_mode!r}")
    changes = {}
    mode = args.get("mode")
    if mode not in (None, ""):
        if mode not in replay.MODES:
            raise BadQuery(f"mode must be one of {list(replay.MODES)}. Received: {mode!r}")
        changes["mode"] = mode
    for name, kind in _NUMBERS.items():
        raw = args.get(name)
        if raw in (None, ""):
            continue
        try:
            changes[name] = kind(raw)
        except ValueError:
            raise BadQuery(f"{name} must be {'an integer' if kind is int else 'a number'}. "
                           f"Received: {raw!r}") from None
    return semantics, threshold_mode, changes


def replay_body(run, plateau_records, args, planned=None):
    """The JSON body of ``/replay`` for one run's plateau records.

    Args:
        planned: the run's planned series ``{optimizer: (steps, rates)}``; when
            there is one, a Keras replay follows the schedule (``rates`` in the
            body, per optimizer).

    Raises:
        BadQuery: for a parameter that cannot be used, or settings the callback
            rejects (its own message).
    """
    from lr_plugin.tools import replay

    semantics, threshold_mode, changes = parse_changes(args)
    if not plateau_records:
        raise BadQuery(f"Run {run!r} has no plateau records: it was not trained with "
                       "lr_plugin.callbacks.ReduceLROnPlateau(log_dir=...).")
    planned = replay.schedules(planned)
    rates, planned_until = None, None
    try:
        if semantics == "pytorch":
            replayed = replay.replay_pytorch(plateau_records, threshold_mode, **changes)
        elif planned:
            replays = {name: replay.replayed_rates(plateau_records, series, **changes)
                       for name, series in planned.items()}
            replayed = next(iter(replays.values()))[0]  # one decision list: the first optimizer's
            rates = {name: timeline.series_to_json(*downsample.downsample_series(steps, values, REPLAYED_POINTS))
                     for name, (_, (steps, values)) in replays.items()}
            planned_until = min(int(steps[-1]) for _, (steps, _) in replays.values())
        else:
            replayed = replay.replay(plateau_records, **changes)
    except (ValueError, ImportError) as error:
        raise BadQuery(str(error)) from None
    settings = replay.recorded_settings(plateau_records)
    settings.update(changes)
    return {
        "run": run,
        "semantics": semantics,
        "threshold_mode": threshold_mode if semantics == "pytorch" else None,
        "recorded_settings": timeline.clean(replay.recorded_settings(plateau_records)),
        "settings": timeline.clean(settings),
        "replayed": timeline.clean(replayed),
        # The replay's facts of Keras' rule, as /timeline sends the recording's.
        "plateau_view": timeline.clean(plateau_view.derive(replayed)),
        "reductions": {"recorded": replay.reductions(plateau_records),
                       "replayed": replay.reductions(replayed)},
        "first_divergence": replay.first_divergence(plateau_records, replayed, planned_until),
        # On a schedule: the rate each optimizer would have applied, step by step.
        "rates": rates,
    }
