"""Writes lr_plugin summaries to event files without TensorFlow.

One ``RunWriter`` exists per run directory per process and every callback that
logs there shares it: TensorBoard's directory watcher expects one active event
file per directory, and two writers in one directory lose data.

Callbacks append values to host-memory buffers (cheap, no I/O); ``flush()`` turns
the buffers into events. Events go to TensorBoard's ``EventFileWriter``, whose
own thread does the disk I/O. Buffers are flushed at epoch end and train end by
the callbacks, every ``flush_secs`` by a background thread (so an exception in
``fit()`` loses at most that much), and at interpreter exit.
"""

import atexit
import os
import threading
import time

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from lr_plugin.format import metadata

_FLUSH_SECS = 2.0
_writers = {}  # realpath of the run directory -> RunWriter
_writers_lock = threading.Lock()


class LogDirError(OSError):
    """The log directory cannot be created or written."""


def open_run_writer(run_dir):
    """The process's RunWriter for ``run_dir``, opened on first use.

    Raises:
        LogDirError: when the directory cannot be created or written.
    """
    key = os.path.realpath(os.path.abspath(os.fspath(run_dir)))
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None or writer.closed:
            writer = RunWriter(key)
            _writers[key] = writer
        return writer


def flush_all():
    """Flushes every open RunWriter of this process to disk."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.flush()


def _close_all():
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.close()


atexit.register(_close_all)


class RunWriter:
    """Buffers and writes one run's lr_timeline summaries.

    Use ``open_run_writer(run_dir)`` rather than this constructor, so that all
    callbacks of a process share the writer of a directory.
    """

    def __init__(self, run_dir, flush_secs=_FLUSH_SECS):
        self.run_dir = run_dir
        try:
            os.makedirs(run_dir, exist_ok=True)
            probe = os.path.join(run_dir, ".lr_plugin_write_test")
            with open(probe, "wb") as handle:
                handle.write(b"ok")
            os.remove(probe)
            self._events = EventFileWriter(run_dir, max_queue_size=1000)
        except OSError as error:
            raise LogDirError(
                f"lr_plugin cannot write to the log directory {run_dir!r}: "
                f"{error.strerror or error}. Pass a log_dir you can write to."
            ) from error
        self._lock = threading.RLock()
        self._rates = {}  # tag -> ([steps], [rates])
        self._records = {}  # tag -> [record]
        self._last_step = {}  # tag -> last event step written, kept increasing
        self._owners = {}  # what is recorded -> the recorder that records it
        self.closed = False
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_periodically,
            args=(flush_secs,),
            name=f"lr_plugin flush {run_dir}",
            daemon=True,
        )
        self._flusher.start()

    # Recording (called from training hooks: memory only).

    def claim(self, what, owner, session):
        """Makes ``owner`` the one recorder of ``what`` (an optimizer's rates,
        the epoch records) in this run.

        Two callbacks logging one model to one directory record it once: the
        first to claim it in a training session (``session``: the optimizer and
        its step at train begin) holds it. A claim left by a session that ended
        without on_train_end (an exception in fit) goes to the next session.

        Returns True if ``owner`` holds the claim.
        """
        with self._lock:
            holder = self._owners.get(what)
            if holder is None or holder[0] is owner or holder[1] != session:
                self._owners[what] = (owner, session)
                return True
            return False

    def release(self, owner):
        """Gives up every claim held by ``owner``."""
        with self._lock:
            for what in [w for w, (o, _) in self._owners.items() if o is owner]:
                del self._owners[what]

    def add_rate(self, optimizer_name, step, rate):
        """Buffers the rate that update ``step`` applied."""
        with self._lock:
            steps, rates = self._rates.setdefault(
                metadata.rates_tag(optimizer_name), ([], [])
            )
            steps.append(step)
            rates.append(rate)

    def add_rates(self, optimizer_name, steps, rates, planned=False):
        """Buffers many (step, rate) pairs at once."""
        with self._lock:
            buffer_steps, buffer_rates = self._rates.setdefault(
                metadata.rates_tag(optimizer_name, planned), ([], [])
            )
            buffer_steps.extend(int(s) for s in steps)
            buffer_rates.extend(float(r) for r in rates)

    def add_record(self, tag, record):
        """Buffers one epoch record, plateau record or event (a JSON-able dict)."""
        if tag not in metadata.RECORD_TAGS:
            raise ValueError(f"Unknown record tag {tag!r}; use one of {metadata.RECORD_TAGS}.")
        with self._lock:
            self._records.setdefault(tag, []).append(dict(record))

    # Writing.

    def flush(self, step=None):
        """Writes the buffers as events and flushes the event file to disk.

        Args:
            step: the optimizer step at this point of training, used as the
                event step of record summaries (kept strictly increasing per
                tag, since TensorBoard's fast loader drops earlier points
                with an equal or larger step).
        """
        with self._lock:
            if self.closed:
                return
            events = self._take_events(step)
            for event in events:
                self._events.add_event(event)
        self._events.flush()

    def _take_events(self, step):
        events = []
        for tag, (steps, rates) in self._rates.items():
            if not steps:
                continue
            payload = metadata.encode_rates(steps, rates)
            events.append(
                self._event(tag, metadata.KIND_RATES, int(max(steps)), payload)
            )
            self._rates[tag] = ([], [])
        for tag, records in self._records.items():
            if not records:
                continue
            hint = step if step is not None else 0
            payload = np.array(metadata.encode_records(records), dtype=object)
            events.append(self._event(tag, metadata.KIND_RECORDS, hint, payload))
            self._records[tag] = []
        return events

    def _event(self, tag, kind, step, payload):
        last = self._last_step.get(tag)
        if last is not None and step <= last:
            step = last + 1
        self._last_step[tag] = step
        event = event_pb2.Event(wall_time=time.time(), step=step)
        event.summary.value.add(
            tag=tag,
            tensor=tensor_util.make_tensor_proto(payload),
            metadata=metadata.create_summary_metadata(kind),
        )
        return event

    def _flush_periodically(self, flush_secs):
        while not self._stop.wait(flush_secs):
            with self._lock:
                pending = any(s for s, _ in self._rates.values()) or any(
                    self._records.values()
                )
            if pending:
                try:
                    self.flush(step=self._last_known_step())
                except Exception:  # never kill the process from a daemon thread
                    pass

    def _last_known_step(self):
        rate_steps = [max(s) for s, _ in self._rates.values() if s]
        return int(max(rate_steps)) if rate_steps else None

    def close(self):
        """Flushes and closes the event file. Later flushes do nothing."""
        if self.closed:
            return
        self.flush(step=self._last_known_step())
        with self._lock:
            self.closed = True
            self._stop.set()
            self._events.close()
