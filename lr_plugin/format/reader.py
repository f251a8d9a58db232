"""Reads lr_timeline summaries straight from event files, every point, no sampling.

Uses TensorBoard's own record reader. A damaged or truncated event file (a run
that crashed mid-write) is read up to the damage, with a warning.
"""

import os
import warnings

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

from lr_plugin.format import metadata
from lr_plugin.model import timeline

_EVENT_FILE_MARKER = "tfevents"


class LogDirNotFound(LookupError):
    """The log directory does not exist or holds no lr_timeline data."""


class DamagedEventFileWarning(UserWarning):
    """An event file ends in a damaged or truncated record."""


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


def read_event_file(path):
    """Yields the Event protos of one file, stopping with a warning at damage."""
    # TensorBoard's loader logs truncation at debug level only, so count the
    # bytes its records account for and compare with the file's size.
    consumed = 0
    count = 0
    for record in event_file_loader.RawEventFileLoader(path).Load():
        consumed += len(record) + 16  # length(8) + crc(4) + data + crc(4)
        count += 1
        event = event_pb2.Event()
        try:
            event.ParseFromString(record)
        except Exception:  # protobuf's DecodeError
            _warn_damage(path, count, consumed, "an unparsable event")
            return
        yield event
    size = os.path.getsize(path)
    if consumed < size:
        _warn_damage(path, count, consumed, f"{size - consumed} unreadable bytes")


def _warn_damage(path, count, offset, what):
    warnings.warn(
        f"{path}: damaged or truncated after {count} records (byte {offset}): "
        f"{what}. Read everything before the damage; the rest is lost.",
        DamagedEventFileWarning,
        stacklevel=3,
    )


def read_run_payloads(event_files):
    """``{tag: [decoded payload, ...]}`` of the lr_timeline summaries in a run's files."""
    payloads = {}
    for path in event_files:
        for event in read_event_file(path):
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                plugin = value.metadata.plugin_data
                if plugin.plugin_name != metadata.PLUGIN_NAME:
                    continue
                if not metadata.is_readable(plugin.content):
                    continue
                if metadata.kind_of_tag(value.tag) is None:
                    continue
                payloads.setdefault(value.tag, []).append(
                    tensor_util.make_ndarray(value.tensor)
                )
    return payloads


def read_timelines(logdir, run=None):
    """Every run's timeline under ``logdir``: ``{run name: run dict}`` (see timeline.build_run).

    Args:
        logdir: the directory given to TensorBoard's ``--logdir``.
        run: if given, only that run (its name as TensorBoard shows it).

    Raises:
        LogDirNotFound: when logdir does not exist, has no lr_timeline data,
            or has no run of that name.
    """
    if not os.path.isdir(logdir):
        raise LogDirNotFound(
            f"Log directory {logdir!r} does not exist. Pass the directory your "
            "callbacks wrote to (their log_dir, or a parent of it)."
        )
    runs = find_runs(logdir)
    if run is not None:
        if run not in runs:
            raise LogDirNotFound(
                f"No run named {run!r} under {logdir!r}. Runs with event files: "
                f"{', '.join(sorted(runs)) or 'none'}."
            )
        runs = {run: runs[run]}
    timelines = {}
    for name, files in sorted(runs.items()):
        payloads = read_run_payloads(files)
        if payloads:
            timelines[name] = timeline.build_run(payloads)
    if not timelines:
        raise LogDirNotFound(
            f"No learning-rate data under {logdir!r}. Add lr_plugin.callbacks."
            "LearningRateMonitor(log_dir=...) (or ReduceLROnPlateau / "
            "LearningRateScheduler with log_dir=...) to model.fit(callbacks=[...])."
        )
    return timelines
