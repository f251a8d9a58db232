"""Any scalar beside the rate: the scalar tags of a run's log_dir, aligned on optimizer steps.

A run's companions are the runs in the same log_dir (Keras' ``train`` and
``validation``, and any other scalars written there). Their steps mean
different things, so each series is put on the optimizer-step axis by one rule:

- ``epoch_*`` tags of Keras' ``train``/``validation`` runs are logged with the
  epoch as step: drawn at the last step of that epoch;
- ``batch_*`` tags count batches from 1 per fit(): drawn at the optimizer step
  when the epoch records show one contiguous fit (else not aligned);
- ``evaluation_*_vs_iterations`` is logged at ``optimizer.iterations``, one
  past the last update: drawn at that update;
- any other scalar is drawn at the step it was logged with, which is right for
  summaries written with ``step=optimizer.iterations``.
"""

import re

_EVALUATION_TAG = re.compile(r"evaluation_(.+)_vs_iterations")


def log_dir_of(run, run_subdir):
    """The log_dir (run-name prefix) an lr_timeline run belongs to, "" for the root."""
    parent, _, leaf = run.rpartition("/")
    return parent if leaf == run_subdir else run


def companion_tags(run, run_subdir, scalar_runs):
    """``[{"run", "tag", "alignment"}]``: the scalar series in the run's log_dir."""
    root = log_dir_of(run, run_subdir)
    found = []
    for scalar_run in sorted(scalar_runs):
        parent = scalar_run.rpartition("/")[0] if "/" in scalar_run else ""
        inside = scalar_run == root or parent == root or (root == "." and "/" not in scalar_run)
        if not inside:
            continue
        leaf = scalar_run.rpartition("/")[2]
        for tag in sorted(scalar_runs[scalar_run]):
            found.append({"run": scalar_run, "tag": tag, "alignment": alignment(leaf, tag)})
    return found


def alignment(leaf, tag):
    """How a series' steps map to optimizer steps: epoch, batch, evaluation or step."""
    if leaf in ("train", "validation") and tag.startswith("epoch_"):
        return "epoch"
    if leaf == "train" and tag.startswith("batch_"):
        return "batch"
    if leaf == "validation" and _EVALUATION_TAG.fullmatch(tag):
        return "evaluation"
    return "step"


def aligned_points(data, how, epochs, batch_offset):
    """``[[epoch, step, value], ...]`` of ScalarDatum ``data`` on the optimizer-step axis.

    Args:
        data: the series, as the data provider returns it.
        how: its ``alignment``.
        epochs: the run's epoch records (``first_step``, ``last_step``).
        batch_offset: optimizer step of Keras' batch 1, or None when unknown.
    """
    spans = [(r.get("epoch"), r.get("first_step"), r.get("last_step")) for r in epochs
             if isinstance(r.get("first_step"), int) and isinstance(r.get("last_step"), int)]
    last_step = {epoch: last for epoch, _, last in spans}

    def epoch_of(step):
        for epoch, first, last in spans:
            if first <= step <= last:
                return epoch
        return None

    points = []
    for datum in data:
        written, value = int(datum.step), float(datum.value)
        if how == "epoch":
            points.append([written, last_step.get(written), value])
            continue
        if how == "batch":
            step = None if batch_offset is None else written - 1 + batch_offset
        elif how == "evaluation":
            step = written - 1
        else:
            step = written
        points.append([None if step is None else epoch_of(step), step, value])
    return points


KERAS_ONLY_NOTE = {
    "source": "keras.callbacks.TensorBoard",
    "tag": "epoch_learning_rate",
    "text": ("Keras' own epoch_learning_rate: one point per epoch, written after the epoch's "
             "callbacks, so after a ReduceLROnPlateau it shows the reduced rate one epoch "
             "early. Add lr_plugin.callbacks.LearningRateMonitor(log_dir) to record the rate "
             "every update applied, and lr_plugin's ReduceLROnPlateau to see why it reduced."),
}


def keras_only_runs(lr_runs, scalar_runs, run_subdir):
    """Runs of log_dirs that only Keras' TensorBoard callback wrote, with its rate.

    A Keras ``train`` run with ``epoch_learning_rate`` and no lr_timeline run
    beside it, listed as ``/runs`` lists lr_timeline runs.
    """
    runs = []
    for run in sorted(scalar_runs):
        parent, _, leaf = run.rpartition("/")
        sibling = f"{parent}/{run_subdir}" if parent else run_subdir
        if leaf != "train" or "epoch_learning_rate" not in scalar_runs[run] or sibling in lr_runs:
            continue
        name, validation_run = keras_only_pair(run, scalar_runs)
        runs.append({"run": run, "name": name, "optimizers": [], "has_plateau": False,
                     "has_planned": False, "keras_only": True, "train_run": run,
                     "validation_run": validation_run})
    return runs


def keras_only_pair(run, scalar_runs):
    """``(log_dir name, validation run or None)`` of a Keras ``train`` run."""
    parent = run.rpartition("/")[0]
    validation = f"{parent}/validation" if parent else "validation"
    return (parent or "."), (validation if validation in scalar_runs else None)
