"""Reads lr_timeline summaries straight from event files, every point, no sampling.

Needs no TensorFlow: frames are read by ``lr_plugin.format.records`` (which
reads on past damage and reports what it skipped), events are parsed with
TensorBoard's protos and payloads are checked by ``lr_plugin.format.schema``.

A run is read in two passes: the first keeps its records and where each rate
chunk lies; ``Timeline.blocks`` then reads the chunks again from the file in
step order, so a streaming export holds one block of rates at a time.
"""

import os
import warnings

from tensorboard.compat.proto import event_pb2

from lr_plugin.format import metadata
from lr_plugin.format import records as records_lib
from lr_plugin.format import schema
from lr_plugin.model import timeline

_EVENT_FILE_MARKER = "tfevents"


class LogDirNotFound(LookupError):
    """The log directory does not exist or holds no lr_timeline data."""


class DamagedEventFileWarning(UserWarning):
    """An event file has damaged or truncated records; the reader read past them."""


def find_runs(logdir):
    """``{run name: [event files]}`` for every directory under logdir with event files.

    The run name is the directory relative to logdir with ``/`` separators,
    ``"."`` for logdir itself, as TensorBoard names runs.
    """
    runs = {}
    for directory, subdirs, files in os.walk(logdir):
        subdirs.sort()
        event_files = sorted(f for f in files if _EVENT_FILE_MARKER in f)
        if event_files:
            relative = os.path.relpath(directory, logdir).replace(os.sep, "/")
            runs[relative] = [os.path.join(directory, f) for f in event_files]
    return runs


def read_events(path):
    """Yields ``(offset, Event, intact)`` of one file, reading past damage with a
    warning per stretch; ``intact`` is False for a record whose checksum failed.

    A record whose data checksum fails is kept, with a warning, when it still
    parses as an event: TensorBoard's fast loader shows it too, and the
    payload checks skip what no longer fits the contract.
    """
    damage = []
    for offset, data, intact in records_lib.read_frames(path, damage):
        _warn_damage(path, damage)
        event = event_pb2.Event()
        try:
            event.ParseFromString(data)
        except Exception:  # protobuf's DecodeError
            what = "fails its checksum" if not intact else "is not an event"
            _warn(f"{path}: damaged or truncated: the record at byte {offset} {what}; "
                  "skipped it and read on.")
            continue
        if not intact:
            _warn(f"{path}: the record at byte {offset} fails its checksum but still reads "
                  "as an event; kept it, as TensorBoard does (its values may be damaged).")
        yield offset, event, intact
    _warn_damage(path, damage)


def read_event_file(path):
    """Yields the Event protos of one file (see read_events)."""
    for _, event, _ in read_events(path):
        yield event


def _warn_damage(path, damage):
    for stretch in damage:
        _warn(f"{path}: damaged or truncated after byte {stretch.offset}: skipped "
              f"{stretch.skipped} bytes ({stretch.reason}); read on from the next valid "
              "record.")
    damage.clear()


def _warn(message):
    warnings.warn(message, DamagedEventFileWarning, stacklevel=3)


def _summary_values(event):
    return event.summary.value if event.HasField("summary") else ()


def scan_run(event_files, run=None):
    """A run's ``timeline.RunData``: its records, and where each rate chunk lies.

    As in TensorBoard, the first summary metadata seen for a tag in a run
    decides whose the tag is (the first in a record whose checksum holds: a
    damaged record's metadata decides only for its own values). A payload
    that does not match the contract is skipped with one warning; payloads a
    newer lr_plugin wrote, with one warning per tag.
    """
    data = timeline.RunData(run)
    ours = {}  # tag -> whether its first metadata makes it a tag this version reads
    newer = set()  # tags with a payload a newer lr_plugin wrote, warned about once
    for path in event_files:
        for offset, event, intact in read_events(path):
            for index, value in enumerate(_summary_values(event)):
                tag = value.tag
                if tag not in ours:
                    verdict = _first_metadata_verdict(run, event, value)
                    if intact:
                        ours[tag] = verdict
                    if not verdict:
                        continue
                elif not ours[tag]:
                    continue
                elif _newer(value):
                    if tag not in newer:
                        newer.add(tag)
                        _first_metadata_verdict(run, event, value)  # its warning
                    continue
                _add_value(data, path, offset, index, event, value)
    return data


def _newer(value):
    """Whether a value's own metadata says a newer lr_plugin wrote it (damaged
    metadata does not say so)."""
    plugin = value.metadata.plugin_data
    if plugin.plugin_name != metadata.PLUGIN_NAME:
        return False
    try:
        return metadata.parse_plugin_metadata(plugin.content).version > metadata.PAYLOAD_VERSION
    except ValueError:
        return False


def _first_metadata_verdict(run, event, value):
    plugin = value.metadata.plugin_data
    if plugin.plugin_name != metadata.PLUGIN_NAME or metadata.kind_of_tag(value.tag) is None:
        return False
    if not metadata.is_readable(plugin.content):
        schema.warn_skipped(run, value.tag, event.step,
                            "a newer lr_plugin wrote it (payload version above "
                            f"{metadata.PAYLOAD_VERSION}) or its metadata is damaged; upgrade "
                            "lr_plugin to read it")
        return False
    return True


def _add_value(data, path, offset, index, event, value):
    tag = value.tag
    try:
        array = schema.decode_tensor(value.tensor)
        kind = metadata.kind_of_tag(tag)
        if kind == metadata.KIND_BUNDLE:
            # Its rates parts are held compressed (under a byte a step), not read again.
            data.add_bundle(event.step, event.wall_time, array)
        elif kind == metadata.KIND_RATES:
            data.rate_tags[tag] = None
            steps, rates = schema.check_rates(array)
            data.add_chunk(tag, event.wall_time, steps, rates,
                           load=lambda: _reload_chunk(path, offset, index))
        else:
            data.add_records(tag, event.step, schema.check_records(tag, array))
    except schema.PayloadError as error:
        schema.warn_skipped(data.run, tag, event.step, str(error))


def _reload_chunk(path, offset, index):
    """The checked ``(steps, rates)`` of a chunk found by scan_run, read again."""
    event = event_pb2.Event()
    event.ParseFromString(records_lib.read_frame(path, offset))
    value = event.summary.value[index]
    return schema.check_rates(schema.decode_tensor(value.tensor))


def has_lr_data(event_files):
    """Whether any of the files holds an lr_timeline summary (stops at the first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedEventFileWarning)
        for path in event_files:
            for _, event, _ in read_events(path):
                if any(v.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME
                       for v in _summary_values(event)):
                    return True
    return False


def resolve_run_name(logdir, run, runs=None):
    """The run directory name of ``run``, given as TensorBoard or the LR Timeline tab shows it.

    The tab names a run by the callbacks' ``log_dir`` (``exp``), TensorBoard by
    the directory they write (``exp/lr_timeline``); both are accepted.

    Raises:
        LogDirNotFound: when no run with learning-rate data has that name; the
            message lists those that do.
    """
    runs = find_runs(logdir) if runs is None else runs
    tab_dir = metadata.RUN_SUBDIR if run in (".", "") else f"{run}/{metadata.RUN_SUBDIR}"
    for candidate in (run, tab_dir):
        if candidate in runs and has_lr_data(runs[candidate]):
            return candidate
    names = [_shown_run(name) for name in sorted(runs) if has_lr_data(runs[name])]
    raise LogDirNotFound(
        f"No run named {run!r} with learning-rate data under {logdir!r}. Runs with "
        f"learning-rate data: {', '.join(names) or 'none'}. Pass one of these names "
        "(as the LR Timeline tab shows them, or their directory in brackets).")


def _shown_run(name):
    """``exp (exp/lr_timeline)``: the tab's name of a run, then its directory."""
    parent, _, leaf = name.rpartition("/")
    if leaf == metadata.RUN_SUBDIR:
        return f"{parent or '.'} ({name})"
    return name


def scan_timelines(logdir, run=None):
    """Every run's resolved ``timeline.Timeline`` under logdir: ``{run name: Timeline}``.

    Args:
        logdir: the directory given to TensorBoard's ``--logdir``.
        run: if given, only that run (named as TensorBoard or the tab shows it).

    Raises:
        LogDirNotFound: when logdir does not exist, has no lr_timeline data,
            or has no run of that name with it.
    """
    if not os.path.isdir(logdir):
        raise LogDirNotFound(
            f"Log directory {logdir!r} does not exist. Pass the directory your "
            "callbacks wrote to (their log_dir, or a parent of it)."
        )
    runs = find_runs(logdir)
    if run is not None:
        name = resolve_run_name(logdir, run, runs)
        runs = {name: runs[name]}
    timelines = {}
    for name, files in sorted(runs.items()):
        data = scan_run(files, name)
        if data:
            timelines[name] = data.resolve()
    if not timelines:
        raise LogDirNotFound(
            f"No learning-rate data under {logdir!r}. Add lr_plugin.callbacks."
            "LearningRateMonitor(log_dir=...) (or ReduceLROnPlateau / "
            "LearningRateScheduler with log_dir=...) to model.fit(callbacks=[...])."
        )
    return timelines


def read_timelines(logdir, run=None):
    """Every run's timeline under ``logdir``: ``{run name: run dict}`` (see timeline.build_run).

    Holds every rate in memory; ``scan_timelines`` streams them.
    """
    return {name: timeline.run_dict(resolved)
            for name, resolved in scan_timelines(logdir, run).items()}
