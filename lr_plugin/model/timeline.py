"""The timeline model: what one run's lr_timeline summaries mean.

Both the export CLI (reading event files) and the TensorBoard plugin (reading
through the data provider) hand this module a run's payloads and get back the
same answer, the schema of ``lr-plugin export``::

    {"learning_rate": {optimizer: [[step, rate], ...]},
     "planned": {optimizer: [[step, rate], ...]},
     "epochs": [...], "plateau": [...], "events": [...], "sessions": [...]}

Rules kept here and nowhere else: payloads are checked by
``lr_plugin.format.schema`` (a bad one is skipped with one warning); training
sessions are resolved by ``lr_plugin.model.sessions``; rates are sorted by step
and, where a step was written twice, the later session's value wins, then the
value written last; epoch records are one per epoch of a session (the last
written), sorted by session, then epoch; plateau records likewise; events by
session, then step.
"""

import collections
import math

import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import schema
from lr_plugin.model import float_text
from lr_plugin.model import sessions as sessions_lib

TIMELINE_VERSION = 1

RATE_KEYS = ("learning_rate", "planned")

RateChunk = collections.namedtuple("RateChunk", "tag order wall_time first last load")
"""One rates payload: its tag, written order, wall time, first and last step,
and ``load()``, which returns its checked ``(steps, rates)`` again (from memory,
or from the event file for a streaming export)."""

Record = collections.namedtuple("Record", "tag order record")


class RunData:
    """A run's payloads, checked: every record, and where each rate chunk is.

    Fill it with ``add_payload`` (decoded arrays) or ``add_records`` and
    ``add_chunk`` (a reader that reloads chunks itself), then ``resolve()``.

    Args:
        run: the run's name, for warnings.
    """

    def __init__(self, run=None):
        self.run = run
        self.records = []
        self.chunks = []
        self.rate_tags = {}  # every rates tag seen, in first-seen order (a dict as ordered set)
        self._order = 0

    def add_payload(self, tag, payload):
        """Checks and adds one payload of ``tag``: a ``schema.Payload``, a
        TensorBoard ``TensorDatum`` or a bare array. A bad one is skipped with a warning."""
        kind = metadata.kind_of_tag(tag)
        step = getattr(payload, "step", None)
        wall_time = getattr(payload, "wall_time", None)
        array = getattr(payload, "numpy", payload)
        if kind == metadata.KIND_BUNDLE:
            self.add_bundle(step, wall_time, array)
        else:
            self._add_part(tag, kind, step, wall_time, array)

    def add_bundle(self, step, wall_time, array):
        """Adds each part of a bundle as a payload of its tag, with the bundle's
        step and wall time. A damaged part is skipped alone, with a warning; a
        damaged header or index skips the bundle."""
        try:
            parts, _ = metadata.decode_bundle(array)
        except ValueError as error:
            schema.warn_skipped(self.run, metadata.BUNDLE_TAG, step, str(error))
            return
        for tag, part in parts:
            if isinstance(part, ValueError):
                schema.warn_skipped(self.run, tag, step, f"{part} (a part of a bundle)")
            else:
                self._add_part(tag, metadata.kind_of_tag(tag), step, wall_time, part)

    def _add_part(self, tag, kind, step, wall_time, array):
        try:
            if kind == metadata.KIND_RATES:
                self.rate_tags[tag] = None
                steps, rates = schema.check_rates(array)
                # Decoded again when read: every chunk held decoded would be 16 bytes a step.
                self.add_chunk(tag, wall_time, steps, rates,
                               load=lambda: schema.check_rates(array))
            elif kind == metadata.KIND_RECORDS:
                self.add_records(tag, step, schema.check_records(tag, array))
        except schema.PayloadError as error:
            schema.warn_skipped(self.run, tag, step, str(error))

    def add_records(self, tag, step, checked):
        """Adds the ``(valid, problems)`` of ``schema.check_records``, with one
        warning for all the problems."""
        valid, problems = checked
        if problems:
            schema.warn_skipped(
                self.run, tag, step,
                f"skipped {len(problems)} of {len(valid) + len(problems)} records; "
                + "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else ""))
        for record in valid:
            self.records.append(Record(tag, self._next_order(), record))

    def add_chunk(self, tag, wall_time, steps, rates, load):
        """Adds a checked rates chunk; ``load()`` must return ``(steps, rates)`` again."""
        self.rate_tags[tag] = None
        if steps.size:
            self.chunks.append(RateChunk(tag, self._next_order(), wall_time,
                                         int(steps.min()), int(steps.max()), load))

    def _next_order(self):
        self._order += 1
        return self._order

    def __bool__(self):
        return bool(self.records or self.rate_tags)

    def resolve(self):
        """The run's ``Timeline``: sessions resolved, records sorted, rates ready to stream."""
        return Timeline(self)


class Timeline:
    """One run's timeline. Records are held; rates are read block by block.

    Attributes:
        epochs, plateau, events: the records that are what happened, sorted.
        setup: the kept sessions' setup records (callbacks, optimizer), by step.
        sessions: ``Sessions.to_json()`` of the run's training sessions.
        series: ``{key: {optimizer: [chunk kept, with its session's rank and
            cutoff step]}}`` for key in ``RATE_KEYS``; read the points with
            ``blocks(key, optimizer)``.
    """

    def __init__(self, run_data):
        marks = [r.record for r in run_data.records if r.tag == metadata.SESSIONS_TAG]
        resolved = sessions_lib.Sessions(marks)
        self.sessions = resolved.to_json()
        kept = collections.defaultdict(list)
        for entry in run_data.records:
            if entry.tag == metadata.SESSIONS_TAG:
                continue
            rank = resolved.rank_of_record(entry.record)
            if entry.tag == metadata.LR_FINDER_TAG:
                # A sweep is not training history: the fit after it starts at its
                # step, and must not replace it.
                kept[entry.tag].append((rank, entry.order, entry.record))
            elif resolved.keeps(rank, sessions_lib.record_step(entry.tag, entry.record)):
                kept[entry.tag].append((rank, entry.order, entry.record))
        self.epochs = _last_per_epoch(kept[metadata.EPOCHS_TAG])
        self.plateau = _sorted_records(kept[metadata.PLATEAU_TAG], _epoch_key)
        self.events = _sorted_records(kept[metadata.EVENTS_TAG], _event_key)
        self.setup = _sorted_records(kept[metadata.SETUP_TAG], _event_key)
        self.lr_finder = [record for _, _, record in sorted(kept[metadata.LR_FINDER_TAG],
                                                             key=lambda e: e[1])]
        self.series = {key: {} for key in RATE_KEYS}
        for tag in run_data.rate_tags:
            self.series[_rate_key(tag)][tag.split("/", 1)[1]] = []
        for chunk in run_data.chunks:
            rank = resolved.rank_at(chunk.wall_time)
            cutoff = resolved.cutoff(rank)
            if chunk.first >= cutoff:
                continue  # a later session replaced all of it
            self.series[_rate_key(chunk.tag)][chunk.tag.split("/", 1)[1]].append(
                _Live(chunk, rank, cutoff, min(chunk.last, cutoff - 1)))

    def records(self, tag):
        return {metadata.EPOCHS_TAG: self.epochs, metadata.PLATEAU_TAG: self.plateau,
                metadata.EVENTS_TAG: self.events, metadata.SESSIONS_TAG: self.sessions,
                metadata.SETUP_TAG: self.setup, metadata.LR_FINDER_TAG: self.lr_finder}[tag]

    def blocks(self, key, optimizer):
        """Yields ``(steps, rates)`` blocks of one series, in step order, each step once."""
        live = sorted(self.series[key].get(optimizer, ()),
                      key=lambda c: (c.chunk.first, c.rank, c.chunk.order))
        group, end = [], -1
        for entry in live:
            if group and entry.chunk.first > end:
                yield _merge_group(group)
                group = []
            group.append(entry)
            end = max(end, entry.last)
        if group:
            yield _merge_group(group)

    def series_arrays(self, key, optimizer):
        """``(steps, rates)`` of a whole series (for the plugin, which holds them anyway)."""
        blocks = list(self.blocks(key, optimizer))
        if not blocks:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        return (np.concatenate([b[0] for b in blocks]),
                np.concatenate([b[1] for b in blocks]))


def _rate_key(tag):
    return "planned" if tag.startswith(metadata.PLANNED_PREFIX) else "learning_rate"


_Live = collections.namedtuple("_Live", "chunk rank cutoff last")


def _merge_group(group):
    """One block of overlapping chunks: cut at their session's cutoff, later writes win."""
    parts = []
    for entry in sorted(group, key=lambda e: (e.rank, e.chunk.order)):
        steps, rates = entry.chunk.load()
        if entry.cutoff != math.inf:
            keep = steps < entry.cutoff
            steps, rates = steps[keep], rates[keep]
        parts.append((steps, rates))
    return merge_rates(parts)


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


def _epoch_key(rank, order, record):
    return (rank, record["epoch"], order)


def _event_key(rank, order, record):
    step, epoch = record.get("step"), record.get("epoch")
    return (rank, -1 if step is None else step, -1 if epoch is None else epoch, order)


def _sorted_records(entries, key):
    return [record for _, _, record in sorted(entries, key=lambda e: key(*e))]


def _last_per_epoch(entries):
    last = {}
    for rank, order, record in entries:
        last[rank, record["epoch"]] = (rank, order, record)
    return _sorted_records(last.values(), _epoch_key)


def build_run(payloads_by_tag, run=None):
    """Builds one run's timeline from payloads held in memory (the plugin's way).

    Args:
        payloads_by_tag: ``{tag: [payload, ...]}`` in the order written, where a
            payload is a TensorBoard ``TensorDatum`` (step, wall_time, numpy),
            a ``schema.Payload`` or a bare decoded array.
        run: the run's name, for warnings about skipped payloads.

    Returns:
        The run dict of the export schema, with rates as numpy arrays
        ``(steps int64, rates float64)`` under ``"learning_rate"`` and ``"planned"``;
        ``to_json_run`` turns it into lists.
    """
    return run_dict(resolve_run(payloads_by_tag, run))


def resolve_run(payloads_by_tag, run=None):
    """The resolved ``Timeline`` of payloads held in memory (see build_run)."""
    data = RunData(run)
    for tag, payloads in payloads_by_tag.items():
        if metadata.kind_of_tag(tag) is None:
            continue
        for payload in payloads:
            data.add_payload(tag, payload)
    return data.resolve()


def run_dict(resolved):
    """The run dict of build_run from a resolved ``Timeline``."""
    run = {key: {name: resolved.series_arrays(key, name) for name in names}
           for key, names in resolved.series.items()}
    for tag in metadata.RECORD_TAGS:
        run[tag] = resolved.records(tag)
    return run


def empty_run():
    return {"learning_rate": {}, "planned": {}, "epochs": [], "plateau": [], "events": [],
            "sessions": [], "setup": [], "lr_finder": []}


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
    """[[step, rate], ...] with JSON-safe rates, exact (the float64 of each float32).

    ``lr-plugin export`` writes the same values as their shortest text (rate_texts).
    """
    return [[int(s), json_number(r)] for s, r in zip(steps.tolist(), rates.tolist())]


def series_text(steps, rates):
    """The JSON text of ``series_to_json(steps, rates)`` without its outer
    brackets, rates as rate_texts writes them."""
    if not steps.size:
        return ""
    return _points_text(b"[", steps, rates, b"],", quote=True)[:-1]


def csv_text(prefix, steps, rates):
    """CSV rows ``{prefix}{step},{rate}``, one per point, rates as rate_texts writes them.

    Args:
        prefix: the text before the step (the run and optimizer, CSV-quoted, and a comma).
    """
    encoded = prefix.encode("utf-8")
    if b"\0" in encoded:  # zero bytes are what the fast layout drops
        return "".join(f"{prefix}{step},{rate}\n" for step, rate in
                       zip(steps.tolist(), rate_texts(rates, quote=False)))
    return _points_text(encoded, steps, rates, b"\n", quote=False)


def _points_text(before, steps, rates, after, quote):
    return float_text.join_columns(before, float_text.step_columns(steps), b",",
                                   _rate_columns(rates, quote), after)


def rate_texts(rates, quote):
    """Each rate as the shortest text that reads back as the rate the optimizer applied.

    Rates are float32 (what the optimizer holds): ``0.01``, not the float64
    ``0.009999999776482582`` of the same float32; parse it as float32 to get the
    exact value. The text is numpy's for the float32 (``0.01``, ``1e-05``). A
    value that is not a float32 is written with float64's shortest round-trip
    text (``repr``, as ``json`` writes it). NaN and infinities as json_number's
    strings, in double quotes when ``quote``.
    """
    if not rates.size:
        return []
    return float_text.join_columns(_rate_columns(rates, quote), b"\n").split("\n")[:-1]


def _rate_columns(rates, quote):
    """rate_texts as ``float_text`` columns."""
    rates = np.asarray(rates, dtype=np.float64)
    # Format each constant stretch once when the rate changes at fewer than
    # half the steps (step decays).
    starts = np.flatnonzero(np.concatenate([[True], rates[1:] != rates[:-1]]))
    values = rates[starts] if starts.size * 2 <= rates.size else rates
    with np.errstate(over="ignore"):  # a float64 beyond float32's range is not a float32
        single = values.astype(np.float32)
    is_single = np.isfinite(single) & (single.astype(np.float64) == values)
    columns = float_text.rate_columns(np.where(is_single, single, np.float32(0)))
    others = np.flatnonzero(~is_single)
    if others.size:  # NaN, infinities and values that are not float32
        columns = float_text.put_texts(
            columns, others, [_other_text(value, quote) for value in values[others].tolist()])
    if values is rates:
        return columns
    return np.repeat(columns, np.diff(np.append(starts, rates.size)), axis=1)


def _other_text(value, quote):
    special = json_number(value)
    if isinstance(special, str):
        return f'"{special}"' if quote else special
    return repr(value)


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
        "sessions": clean(run["sessions"]),
        "setup": clean(run["setup"]),
        "lr_finder": clean(run["lr_finder"]),
    }
