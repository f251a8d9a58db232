"""The learning-rate traps a training falls into, one rule each.

``lr-plugin lint`` and the tab report them from a run's records; the callbacks
warn at train begin about those visible before the first step
(``before_training``), with the same codes. Each rule reads a run's records (the export schema: ``setup``, ``epochs``,
``plateau``, ``events``) and says which epochs it concerns and what to do.
Epochs are printed as Keras prints them, 1-based ("Epoch 3"); the JSON keeps
the records' 0-based numbers under ``epochs``.

Levels: ``error`` (the rate did not do what the code says: exit code 1),
``warning`` (it probably did not do what you meant), ``info``.
"""

import dataclasses
import difflib


ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One trap in one run."""

    code: str
    level: str
    message: str
    fix: str
    epochs: tuple = ()

    def to_json(self):
        return {"code": self.code, "level": self.level, "message": self.message,
                "fix": self.fix, "epochs": list(self.epochs)}


_OWNERS = {"keras": "Keras'", "lr_plugin": "lr_plugin's"}


def _epochs_text(epochs):
    if not epochs:
        return ""
    shown = ", ".join(str(e + 1) for e in epochs[:8])
    more = f" and {len(epochs) - 8} more" if len(epochs) > 8 else ""
    return f"Epoch{'s' if len(epochs) > 1 else ''} {shown}{more}: "


def _setup(run):
    setups = run.get("setup") or []
    return setups[-1] if setups else None


def _with_role(setup, role):
    return [c for c in (setup or {}).get("callbacks", []) if c.get("role") == role]


def _events(run, kind):
    return [e for e in run.get("events") or [] if e.get("kind") == kind]


def _double_plateau(run, setup):
    plateaus = _with_role(setup, "plateau")
    if len(plateaus) < 2:
        return []
    names = " and ".join(f"{_OWNERS.get(c['origin'], 'your')} {c['class']}" for c in plateaus)
    reductions = sorted({e["epoch"] for e in _events(run, "reduce")})
    return [Finding(
        "double_plateau", ERROR,
        f"{_epochs_text(reductions)}{names} are both in callbacks: each reduces the rate "
        "on every plateau, so the rate falls by factor² where the records show factor.",
        "Keep one ReduceLROnPlateau (lr_plugin's is a drop-in for Keras' and records "
        "its decisions).", tuple(reductions))]


def _decay_ignored(run, setup):
    optimizer = (setup or {}).get("optimizer") or {}
    decay = (optimizer.get("ignored_arguments") or {}).get("decay")
    if decay is None:
        return []
    name = optimizer.get("class", "the optimizer")
    return [Finding(
        "decay_ignored", ERROR,
        f"{name}(decay={decay!r}) is ignored by Keras 3: the rate stays constant "
        "instead of decaying.",
        f"Pass learning_rate=lr_plugin.schedules.TimeBasedDecay(initial_rate, "
        f"decay={decay!r}) to {name}.")]


def _cooldown_one(run, setup):
    settings = [c["settings"] for c in _with_role(setup, "plateau")]
    if not settings:
        settings = (run.get("plateau") or [])[:1]
    if not any(s.get("cooldown") == 1 for s in settings):
        return []
    return [Finding(
        "cooldown_one", WARNING,
        "ReduceLROnPlateau(cooldown=1) blocks no epoch: Keras decrements the cooldown "
        "counter before testing it, so cooldown=N waits N - 1 epochs.",
        "Use cooldown=2 to skip one epoch after a reduction, or cooldown=0.")]


_SCHEDULER_FIX = (
    "Give LearningRateScheduler a schedule(epoch, lr) that builds on lr, or use a "
    "LearningRateSchedule on the optimizer with lr_plugin's ReduceLROnPlateau, which "
    "scales it.")


def _scheduler_overwrites(run, setup):
    overwritten = []
    sets = _events(run, "lr_set")
    for reduce in _events(run, "reduce"):
        after = reduce.get("lr_after")
        later = [e for e in sets if e.get("epoch") == reduce.get("epoch", -2) + 1]
        if after is not None and any(
                isinstance(e.get("lr"), (int, float)) and e["lr"] > after * (1 + 1e-6)
                for e in later):
            overwritten.append(reduce["epoch"] + 1)
    fix = _SCHEDULER_FIX
    if overwritten:
        return [Finding(
            "scheduler_overwrites", ERROR,
            f"{_epochs_text(overwritten)}LearningRateScheduler set the rate back up at "
            "the epoch after a ReduceLROnPlateau reduction, undoing it.", fix,
            tuple(overwritten))]
    if setup and _scheduler_ignores_reductions(setup):
        return [Finding(
            "scheduler_overwrites", WARNING,
            "LearningRateScheduler's schedule is a function of the epoch alone: it would "
            "undo any ReduceLROnPlateau reduction (none happened in this run).", fix)]
    return []


def _early_stopping_too_soon(run, setup):
    findings = []
    for stopper in _with_role(setup, "early_stopping"):
        s = stopper["settings"]
        same = [c["settings"] for c in _with_role(setup, "plateau")
                if c["settings"].get("monitor") == s.get("monitor")]
        if not same:
            continue
        p = max(same, key=lambda settings: settings["patience"])
        if s["patience"] <= p["patience"]:
            findings.append(Finding(
                "early_stopping_too_soon", WARNING,
                f"EarlyStopping(patience={s['patience']}) on {s['monitor']!r} stops "
                f"training no later than ReduceLROnPlateau(patience={p['patience']}) "
                "reduces the rate, so a reduction never gets epochs to help.",
                "Give EarlyStopping a patience larger than ReduceLROnPlateau's patience "
                "plus its cooldown (for example twice as large)."))
    return findings


def _metric_names(run):
    names = set()
    for epoch in run.get("epochs") or []:
        names.update((epoch.get("metrics") or {}).keys())
    return names


def _monitor_missing(run, setup):
    missing = [r for r in run.get("plateau") or [] if r.get("action") == "missing_metric"]
    monitors = {r.get("monitor") for r in missing}
    if not missing:
        logged = _metric_names(run)
        monitors = {c["settings"].get("monitor") for c in _with_role(setup, "plateau")}
        monitors = {m for m in monitors if m and logged and m not in logged}
    findings = []
    for monitor in sorted(m for m in monitors if m):
        logged = sorted(_metric_names(run))
        close = difflib.get_close_matches(monitor, logged, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        epochs = tuple(r["epoch"] for r in missing if r.get("monitor") == monitor)
        findings.append(Finding(
            "monitor_missing", ERROR,
            f"{_epochs_text(epochs)}ReduceLROnPlateau monitors {monitor!r}, which the "
            f"training never logged (logged: {', '.join(logged) or 'nothing'}), so it "
            f"never reduced the rate.{hint}",
            "Pass a monitor among the logged metrics; val_* metrics need "
            "validation_data or validation_split.", epochs))
    return findings


def _min_lr_early(run, setup):
    reached = _events(run, "min_lr_reached")
    if not reached:
        return []
    epochs = [e.get("epoch") for e in run.get("epochs") or [] if isinstance(e.get("epoch"), int)]
    total = (setup or {}).get("epochs") or (max(epochs) + 1 if epochs else None)
    first = min(e["epoch"] for e in reached)
    if not total:
        return []
    rest = total - first - 1
    if rest < max(2, total / 4):
        return []
    return [Finding(
        "min_lr_early", WARNING,
        f"{_epochs_text([first])}the rate reached min_lr={reached[0].get('min_lr')!r}; "
        f"the remaining {rest} of {total} epochs trained at that floor.",
        "Lower min_lr, or make reductions gentler (a factor closer to 1, more patience).",
        (first,))]


def _lr_set_unchanged(run, setup):
    previous = {}
    unchanged = []
    for event in _events(run, "lr_set"):
        key = event.get("optimizer")
        if key in previous and previous[key] == event.get("lr"):
            unchanged.append(event["epoch"])
        previous[key] = event.get("lr")
    if not unchanged:
        return []
    return [Finding(
        "lr_set_unchanged", INFO,
        f"{len(unchanged)} lr_set events set the rate it already had (epochs "
        f"{', '.join(str(e + 1) for e in unchanged[:8])}{'…' if len(unchanged) > 8 else ''}).",
        "Nothing to fix in training; these markers were written by an older lr_plugin, "
        "which now records lr_set only when the rate changes.", tuple(unchanged))]


def _scheduler_ignores_reductions(setup):
    return bool(_with_role(setup, "plateau")) and any(
        c["settings"].get("uses_lr") is False for c in _with_role(setup, "scheduler"))


def before_training(setup):
    """The traps a ``setup`` record shows before the first step: [Finding].

    Warned about by the callbacks at train begin.
    """
    found = [f for rule in (_double_plateau, _decay_ignored) for f in rule({}, setup)]
    if _scheduler_ignores_reductions(setup):
        found.append(Finding(
            "scheduler_overwrites", ERROR,
            "LearningRateScheduler's schedule is a function of the epoch alone: it sets "
            "the rate at every epoch begin and will undo every ReduceLROnPlateau "
            "reduction.", _SCHEDULER_FIX))
    return found


RULES = (_double_plateau, _decay_ignored, _monitor_missing, _scheduler_overwrites,
         _early_stopping_too_soon, _cooldown_one, _min_lr_early, _lr_set_unchanged)


def lint_run(run):
    """The findings of one run (a dict of the export schema), errors first."""
    setup = _setup(run)
    findings = [f for rule in RULES for f in rule(run, setup)]
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return sorted(findings, key=lambda f: order[f.level])


def lint_runs(runs):
    """``{run name: [Finding]}`` for runs of the export schema."""
    return {name: lint_run(run) for name, run in runs.items()}


def format_findings(name, findings):
    """Text for a person, one block per finding."""
    if not findings:
        return f"{name}: no learning-rate traps found.\n"
    lines = [f"{name}:"]
    for finding in findings:
        lines.append(f"  {finding.level}: [{finding.code}] {finding.message}")
        lines.append(f"    fix: {finding.fix}")
    return "\n".join(lines) + "\n"


def has_errors(findings_by_run):
    return any(f.level == ERROR for findings in findings_by_run.values() for f in findings)
