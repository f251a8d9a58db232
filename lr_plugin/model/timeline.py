"""The timeline model: what one run's lr_timeline summaries mean.

Both the export CLI (reading event files) and the TensorBoard plugin (reading
through the data provider) hand this module the payloads of a run, tag by tag,
and get back the same dict, the schema of ``lr-plugin export``::

    {"learning_rate": {optimizer: [[step, rate], ...]},
     "planned": {optimizer: [[step, rate], ...]},
     "epochs": [...], "plateau": [...], "events": [...]}

Rules kept here and nowhere else: rates are sorted by step and, where a step was
written twice (a resumed run that went back to an earlier checkpoint), the value
written last wins; records are sorted by epoch (events by step), keeping their
written order otherwise.
"""

import math
import warnings

import numpy as np

from lr_plugin.format import metadata

TIMELINE_VERSION = 1


def empty_run():
    return {"learning_rate": {}, "planned": {}, "epochs": [], "plateau": [], "events": [],
            "sessions": [], "lr_finder": []}


def build_run(payloads_by_tag):
    """Builds one run's timeline.

    Args:
        payloads_by_tag: ``{tag: [payload, ...]}`` in the order written, where a
            payload is the decoded tensor (a numpy array) of one summary.

    Returns:
        The run dict of the export schema, with rates as numpy arrays
        ``(steps int64, rates float64)`` under ``"learning_rate"`` and ``"planned"``;
        ``to_json_run`` turns it into lists.
    """
    run = empty_run()
    for tag, payloads in payloads_by_tag.items():
        kind = metadata.kind_of_tag(tag)
        if kind == metadata.KIND_RATES:
            key = "planned" if tag.startswith(metadata.PLANNED_PREFIX) else "learning_rate"
            name = tag.split("/", 1)[1]
            run[key][name] = merge_rates(_decoded(tag, payloads, metadata.decode_rates))
        elif kind == metadata.KIND_RECORDS:
            records = []
            for chunk in _decoded(tag, payloads, metadata.decode_records):
                records.extend(r for r in chunk if isinstance(r, dict))
            run[tag] = records
    run["epochs"] = _last_per_epoch(run["epochs"])
    run["plateau"] = sorted(run["plateau"], key=lambda r: r.get("epoch", 0))
    run["events"] = sorted(
        run["events"], key=lambda r: (r.get("step", -1), r.get("epoch", 0))
    )
    return run


def _decoded(tag, payloads, decode):
    """Decodes each payload; one that cannot be decoded is skipped with a warning."""
    decoded = []
    for payload in payloads:
        try:
            decoded.append(decode(payload))
        except (ValueError, TypeError, UnicodeDecodeError) as error:
            warnings.warn(f"Skipped a damaged {tag!r} payload: {error}", stacklevel=3)
    return decoded


def merge_rates(chunks):
    """Concatenates (steps, rates) chunks: sorted by step, the last write of a step wins."""
    if not chunks:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    steps = np.concatenate([c[0] for c in chunks])
    rates = np.concatenate([c[1] for c in chunks])
    if steps.size and np.any(np.diff(steps) <= 0):
        # np.unique keeps the first occurrence: look from the end to keep the last.
        unique, index = np.unique(steps[::-1], return_index=True)
        steps, rates = unique, rates[::-1][index]
    return steps, rates


def _last_per_epoch(epochs):
    by_epoch = {}
    for record in epochs:
        by_epoch[record.get("epoch")] = record
    return [by_epoch[e] for e in sorted(by_epoch, key=lambda e: (e is None, e))]


def json_number(value):
    """A float as TensorBoard's JSON writes it: NaN and infinities as strings."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def clean(value):
    """Recursively applies json_number to every float in records."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def series_to_json(steps, rates):
    """[[step, rate], ...] with JSON-safe rates."""
    return [[int(s), json_number(r)] for s, r in zip(steps.tolist(), rates.tolist())]


def to_json_run(run):
    """The export-schema dict of a run built by build_run, ready for json.dumps."""
    return {
        "learning_rate": {
            name: series_to_json(*series) for name, series in run["learning_rate"].items()
        },
        "planned": {name: series_to_json(*series) for name, series in run["planned"].items()},
        "epochs": clean(run["epochs"]),
        "plateau": clean(run["plateau"]),
        "events": clean(run["events"]),
    }
