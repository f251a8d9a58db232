"""The LR finder view: what one run's ``lr_finder`` records mean, ready to draw.

The TensorBoard route hands this module the run's ``lr_finder`` payloads (and
its learning-rate series, to tell where the training that followed a sweep
started) and sends the result as JSON::

    {"sweeps": [{"id", "step", "optimizer", "mode", "min_lr", "max_lr", "steps",
                 "smoothing", "diverge_factor", "start_time", "end_time", "stopped",
                 "points": [[rate, loss, smoothed_loss], ...],
                 "suggestions": [{"method", "lr", "loss"}, ...], "suggestion": method,
                 "diverged": {"lr", "loss"} | null,
                 "started": {"step", "lr", "optimizer"} | null}, ...]}

Rules kept here and nowhere else: sweeps are ordered by start time; a record
that is not a sweep is skipped; a suggestion's ``loss`` is the smoothed loss
at its rate (log-rate interpolation), where its marker sits on the curve;
``started`` is the first recorded rate at or after the sweep's step, the rate
the training after the sweep actually began with.
"""

import math

import numpy as np

from lr_plugin.format import metadata
from lr_plugin.model import timeline

FINDER_VERSION = 1


def build_finder(records, rates=None):
    """The finder view of a run.

    Args:
        records: the run's ``lr_finder`` records in the order written, as the
            schema check passed them (``timeline.build_run(...)["lr_finder"]``).
        rates: ``{optimizer: (steps, rates)}`` of the run's recorded learning
            rates (``timeline.build_run(...)["learning_rate"]``), or None.

    Returns:
        ``{"version": FINDER_VERSION, "sweeps": [...]}``, JSON-safe.
    """
    sweeps = []
    for record in records:
        sweep = _sweep_view(record, rates or {})
        if sweep is not None:
            sweeps.append(sweep)
    sweeps.sort(key=lambda s: (_number(s["start_time"]) or 0.0))
    return {"version": FINDER_VERSION, "sweeps": timeline.clean(sweeps)}


def _sweep_view(record, rates):
    if not isinstance(record, dict):
        return None
    lrs = _floats(record.get("learning_rates"))
    losses = _floats(record.get("losses"))
    smoothed = _floats(record.get("smoothed_losses"))
    if lrs is None or losses is None or not lrs.size or lrs.size != losses.size:
        return None
    if smoothed is None or smoothed.size != lrs.size:
        smoothed = losses
    view = {key: record.get(key) for key in (
        "step", "optimizer", "mode", "min_lr", "max_lr", "steps", "smoothing",
        "diverge_factor", "start_time", "end_time", "stopped")}
    view["id"] = record.get(metadata.SESSION_KEY)
    view["points"] = [[float(r), float(l), float(s)] for r, l, s in zip(lrs, losses, smoothed)]
    suggestions = record.get("suggestions") if isinstance(record.get("suggestions"), dict) else {}
    view["suggestions"] = [
        {"method": str(method), "lr": float(lr), "loss": _loss_at(float(lr), lrs, smoothed)}
        for method, lr in suggestions.items()
        if _number(lr) is not None and lr > 0
    ]
    view["suggestion"] = record.get("suggestion")
    diverged = _number(record.get("diverged_at"))
    view["diverged"] = None if diverged is None else {
        "lr": diverged, "loss": float(smoothed[-1]) if lrs[-1] == diverged else _loss_at(diverged, lrs, smoothed)}
    view["started"] = _started(record, rates)
    return view


def _started(record, rates):
    """The first recorded rate at or after the sweep's step (None before training)."""
    step = _number(record.get("step"))
    if step is None:
        return None
    name = record.get("optimizer")
    candidates = [name] if name in rates else sorted(rates)
    for optimizer in candidates:
        steps, values = rates[optimizer]
        index = int(np.searchsorted(steps, step))
        if index < len(steps):
            return {"step": int(steps[index]), "lr": float(values[index]), "optimizer": optimizer}
    return None


def _loss_at(lr, lrs, smoothed):
    finite = np.isfinite(smoothed) & (lrs > 0)
    if not finite.any():
        return None
    value = float(np.interp(math.log(lr), np.log(lrs[finite]), smoothed[finite]))
    return value


def _floats(values):
    if not isinstance(values, list):
        return None
    try:
        return np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
