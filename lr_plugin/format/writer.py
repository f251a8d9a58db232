"""Writes lr_plugin summaries to event files without TensorFlow.

One ``RunWriter`` exists per run directory per process and every callback that
logs there shares it: TensorBoard's directory watcher expects one active event
file per directory, and two writers in one directory lose data.

Callbacks append values to host-memory buffers (cheap, no I/O); ``flush()`` turns
the buffers into events and appends them to the event file. Buffers are flushed
at epoch end and train end by the callbacks, every ``FLUSH_SECS`` by one
background thread of the process (so a crash or SIGKILL loses at most that
much), on SIGTERM, and at interpreter exit.

What can go wrong while training goes on, and what the writer does:

- A full disk, a quota, any write error: the unwritten events stay in memory
  (up to ``MAX_PENDING_BYTES``, then the oldest are dropped and counted in
  ``dropped_points``), a warning names the path and the error once, and every
  flush retries. Logging never raises into ``fit()``.
- The run directory or event file deleted during training: recreated, with a
  warning; the open training session's begin mark is written again.
- Another live process writing the same run directory (see ``run_lock``): this
  process writes ``<parent>/<host>-<pid>/<run>`` instead and says so.
- SIGTERM: everything buffered is flushed, then the signal goes on to the
  handler that was there before (the default one ends the process).

Writers are reference-counted: ``open_run_writer`` takes a reference,
``RunWriter.release`` drops it and the last one closes the writer.
"""

import atexit
import contextlib
import itertools
import os
import signal
import struct
import threading
import time
import warnings

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.util import tensor_util

from lr_plugin.format import metadata
from lr_plugin.format import run_lock
from lr_plugin.format import storage as storage_lib

FLUSH_SECS = 2.0
"""Seconds between two background flushes: what a SIGKILL can lose."""
MAX_PENDING_BYTES = 64 * 1024 * 1024
"""Unwritten events kept in memory while writes fail; past it the oldest go."""

_writers = {}  # normalized requested run directory -> RunWriter
_writers_lock = threading.RLock()  # re-entrant: the SIGTERM handler may interrupt its holder
_flusher = None
_file_numbers = itertools.count()
_sigterm = {"installed": False, "previous": None}


class LogDirError(OSError):
    """The log directory cannot be created or written."""


class LogWriteWarning(UserWarning):
    """lr_plugin could not write (part of) a run; training went on."""


def open_run_writer(run_dir):
    """The process's RunWriter for ``run_dir``, opened on first use, with one
    more reference: call ``release()`` once for each call.

    Raises:
        LogDirError: when the directory cannot be created or written.
    """
    global _flusher
    key = storage_lib.normalize(run_dir)
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None or writer.closed:
            writer = RunWriter(key)
            _writers[key] = writer
        writer._references += 1
        if _flusher is None:
            _flusher = threading.Thread(
                target=_flush_periodically, name="lr_plugin flush", daemon=True)
            _flusher.start()
    _install_sigterm_handler()
    return writer


def flush_all():
    """Flushes every open RunWriter of this process to disk."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.flush(step=writer._last_known_step())


def _close_all():
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.close()


atexit.register(_close_all)


def _flush_periodically():
    # One thread for every writer of the process; it ends with the last writer.
    global _flusher
    while True:
        time.sleep(FLUSH_SECS)
        with _writers_lock:
            writers = [w for w in _writers.values() if not w.closed]
            if not writers:
                _flusher = None
                return
        for writer in writers:
            if writer._flush_due():
                writer.flush(step=writer._last_known_step())


def _install_sigterm_handler():
    """Flush on SIGTERM, then hand the signal on; only the main thread may install it."""
    if _sigterm["installed"] or threading.current_thread() is not threading.main_thread():
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main interpreter, or no SIGTERM
        return
    _sigterm.update(installed=True, previous=previous)


def _on_sigterm(signum, frame):
    try:
        flush_all()
    except Exception:  # the signal must go on whatever happened here
        pass
    previous = _sigterm["previous"]
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        # The default action (or one set outside Python): die of SIGTERM, as without us.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _frame(data):
    """One TFRecord: length, its masked CRC32C, data, the data's masked CRC32C."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


class RunWriter:
    """Buffers and writes one run's lr_timeline summaries.

    Use ``open_run_writer(run_dir)`` rather than this constructor, so that all
    callbacks of a process share the writer of a directory.

    Attributes:
        run_dir: the directory written: the one asked for, or
            ``<parent>/<host>-<pid>/<name>`` when another live process writes it.
        error: the last write error, None once a write succeeds again.
        dropped_points: rates and records dropped because writes kept failing.
    """

    def __init__(self, run_dir):
        run_dir = storage_lib.normalize(run_dir)
        self.requested_dir = run_dir
        self.run_dir = run_dir
        self._lock = threading.RLock()  # buffers; re-entrant for the SIGTERM handler
        self._io_lock = threading.Lock()  # the event file and the lock file
        self._io_owner = None
        self._rates = {}  # tag -> ([steps], [rates])
        self._records = {}  # tag -> [record]
        self._last_step = {}  # tag -> last event step written, kept increasing
        self._owners = {}  # what is recorded -> the recorder that records it
        self._pending = []  # [(framed event, points, tag)] not yet on disk
        self._pending_bytes = 0
        self._references = 0
        self._session = None
        self._appender = None
        self._header = None  # framed events a new file starts with
        self._run_lock = None
        self._floor = 0
        self._warned = set()
        self.error = None
        self.dropped_points = 0
        self.closed = False
        try:
            self._storage = storage_lib.for_path(run_dir)
            self._open()
        except Exception as error:  # OSError, or a gfile's own error (TensorFlow's OpError)
            if storage_lib.is_transient(error):
                self._write_failed(error)  # a full disk at train begin: retried later
                return
            reason = getattr(error, "strerror", None) or error
            raise LogDirError(
                f"lr_plugin cannot write to the log directory {run_dir!r}: "
                f"{reason}. Pass a log_dir you can write to."
            ) from error

    def _open(self):
        self._storage.makedirs(self.run_dir)
        lock = run_lock.RunLock(self._storage, self.run_dir)
        if not lock.acquire():
            holder = lock.read() or {}
            parent, name = storage_lib.split(self.run_dir)
            self.run_dir = storage_lib.join(parent, f"{run_lock.HOST}-{os.getpid()}", name)
            self._storage.makedirs(self.run_dir)
            lock = run_lock.RunLock(self._storage, self.run_dir)
            lock.acquire()  # named after this process: no one else's
            warnings.warn(
                f"lr_plugin: {self.requested_dir} is being written by process "
                f"{holder.get('pid')} on {holder.get('host')}. This process writes its "
                f"run to {self.run_dir} instead, so both runs stay visible.",
                LogWriteWarning, stacklevel=4)
        self._run_lock = lock
        self._floor = lock.floor()
        with self._io():
            self._write_pending(raise_errors=True)  # creates the event file: the run shows up

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

    def release(self, owner=None):
        """Gives up every claim held by ``owner`` and drops the reference taken
        by ``open_run_writer``; the last reference closes the writer."""
        with self._lock:
            if owner is not None:
                for what in [w for w, (o, _) in self._owners.items() if o is owner]:
                    del self._owners[what]
            self._references -= 1
            last = self._references <= 0
        if last:
            self.close()

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
        """Buffers one epoch record, plateau record or event (a JSON-able dict),
        stamped with the open training session's id."""
        if tag not in metadata.RECORD_TAGS:
            raise ValueError(f"Unknown record tag {tag!r}; use one of {metadata.RECORD_TAGS}.")
        record = dict(record)
        with self._lock:
            if self._session is not None:
                record.setdefault(metadata.SESSION_KEY, self._session["id"])
            self._records.setdefault(tag, []).append(record)

    # Training sessions (see the contract in metadata).

    def begin_session(self, key, start_step):
        """Opens the training session ``key`` (one ``fit()``) at ``start_step``
        and writes its begin mark now. Returns its id.

        The callbacks of one fit pass the same key and share the session; a new
        key ends the previous session without an end mark (it never ended).
        """
        with self._io() as writing:
            with self._lock:
                if self._session is not None and self._session["key"] == key:
                    return self._session["id"]
                # Data of the previous session first: its wall times precede this start.
                events = self._take_events(start_step)
                start_time = time.time()
                session_id = f"{run_lock.HOST}-{os.getpid()}-{int(start_time * 1000)}"
                begin = {
                    metadata.SESSION_KEY: session_id, "state": metadata.SESSION_BEGIN,
                    "start_step": int(start_step), "start_time": start_time,
                    "host": run_lock.HOST, "pid": os.getpid(),
                }
                self._session = {"key": key, "id": session_id, "begin": begin}
                self._records.setdefault(metadata.SESSIONS_TAG, []).append(begin)
                self._queue(events + self._take_events(start_step))
            if writing:
                self._write_pending()
        return session_id

    def end_session(self, key, end_step):
        """Writes the end mark of session ``key`` and flushes; nothing if it is not open."""
        with self._io() as writing:
            with self._lock:
                if self._session is None or self._session["key"] != key:
                    return
                self._records.setdefault(metadata.SESSIONS_TAG, []).append({
                    metadata.SESSION_KEY: self._session["id"], "state": metadata.SESSION_END,
                    "end_step": int(end_step), "end_time": time.time(),
                })
                self._session = None
                self._queue(self._take_events(end_step))
            if writing:
                self._write_pending()

    # Writing.

    def flush(self, step=None):
        """Writes the buffers as events to the event file. Never raises: a
        failed write is kept in memory, warned about and retried.

        Args:
            step: the optimizer step at this point of training, used as the
                event step of record summaries (kept strictly increasing per
                tag, since TensorBoard's fast loader drops earlier points
                with an equal or larger step).
        """
        with self._io() as writing:
            with self._lock:
                if self.closed:
                    return
                self._queue(self._take_events(step))
            if writing:
                self._write_pending()

    @contextlib.contextmanager
    def _io(self):
        # A SIGTERM handler interrupting this thread's own write must not wait
        # for itself: it skips the write (yields False).
        if self._io_owner == threading.get_ident():
            yield False
            return
        with self._io_lock:
            self._io_owner = threading.get_ident()
            try:
                yield True
            finally:
                self._io_owner = None

    def _take_events(self, step):
        events = []
        for tag, (steps, rates) in self._rates.items():
            count = min(len(steps), len(rates))  # a signal may land between two appends
            if not count:
                continue
            payload = metadata.encode_rates(steps[:count], rates[:count])
            events.append(self._event(tag, metadata.KIND_RATES, int(max(steps[:count])), payload))
            self._rates[tag] = (steps[count:], rates[count:])
        for tag, records in self._records.items():
            if not records:
                continue
            hint = step if step is not None else 0
            payload = np.array(metadata.encode_records(records), dtype=object)
            events.append(self._event(tag, metadata.KIND_RECORDS, hint, payload, len(records)))
            self._records[tag] = []
        return events

    def _event(self, tag, kind, step, payload, points=None):
        # Above every step of this tag, and of the run's previous writer, so
        # that TensorBoard never takes a later event for a restart.
        step = max(int(step), self._floor, self._last_step.get(tag, -1) + 1)
        self._last_step[tag] = step
        event = event_pb2.Event(wall_time=time.time(), step=step)
        event.summary.value.add(
            tag=tag,
            tensor=tensor_util.make_tensor_proto(payload),
            metadata=metadata.create_summary_metadata(kind),
        )
        return _frame(event.SerializeToString()), points or len(payload), tag

    def _queue(self, events):
        self._pending.extend(events)
        self._pending_bytes += sum(len(data) for data, _, _ in events)

    def _write_pending(self, raise_errors=False):
        """Appends the pending events to the event file (call under ``_io``)."""
        with self._lock:
            batch = list(self._pending)
        if not batch and self._appender is not None:
            self._refresh_heartbeat()  # nothing to write: a deleted directory stays deleted
            return
        for attempt in (1, 2):
            try:
                self._write_batch(b"".join(data for data, _, _ in batch))
                break
            except Exception as error:  # the disk, the network, the file system
                if attempt == 1 and isinstance(error, FileNotFoundError):
                    if self._appender is not None:
                        self._appender.lost = True  # the directory was deleted: make it again
                    continue
                if raise_errors and not storage_lib.is_transient(error):
                    raise
                self._write_failed(error)
                return
        with self._lock:
            del self._pending[:len(batch)]
            self._pending_bytes -= sum(len(data) for data, _, _ in batch)
            recovered, self.error = self.error, None
        if recovered is not None:
            self._warned.discard("error")
            warnings.warn(
                f"lr_plugin writes {self.run_dir} again; the events kept in memory "
                f"since the error ({recovered}) are written"
                + (f", except {self.dropped_points} dropped points." if self.dropped_points
                   else "."), LogWriteWarning, stacklevel=3)

    def _refresh_heartbeat(self):
        lock = self._run_lock
        if lock is None or time.time() - lock.heartbeat < run_lock.HEARTBEAT_SECS:
            return
        try:
            with self._lock:
                last_step = max(self._last_step.values(), default=self._floor - 1)
            lock.refresh(last_step)
        except Exception:  # the next write retries it, and says what failed
            pass

    def _write_batch(self, data):
        if self._appender is None or self._appender.lost:
            self._start_file()
        if self._run_lock is not None:
            # Before the events: the lock's step then covers every event on disk.
            with self._lock:
                last_step = max(self._last_step.values(), default=self._floor - 1)
            self._run_lock.refresh(last_step)
        self._appender.append((self._header or b"") + data)
        self._header = None

    def _start_file(self):
        """Starts a new event file; recreates the run directory if it was deleted."""
        lost = self._appender is not None
        if lost:
            self._appender.close()
            if not self._storage.isdir(self.run_dir):
                self._warn_once("deleted", (
                    f"lr_plugin: the run directory {self.run_dir} was deleted during "
                    "training. It is recreated; what was written there before is lost."))
        self._storage.makedirs(self.run_dir)
        name = "events.out.tfevents.%010d.%s.%s.%d" % (
            time.time(), run_lock.HOST, os.getpid(), next(_file_numbers))
        header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        header.source_metadata.writer = "lr_plugin"
        frames = [_frame(header.SerializeToString())]
        with self._lock:
            if lost and self._session is not None:  # the new file says which training wrote it
                data, _, _ = self._event(metadata.SESSIONS_TAG, metadata.KIND_RECORDS, 0,
                                         np.array(metadata.encode_records(
                                             [self._session["begin"]]), dtype=object), 1)
                frames.append(data)
        self._appender = self._storage.open_appender(storage_lib.join(self.run_dir, name))
        self._header = b"".join(frames)

    def _write_failed(self, error):
        with self._lock:
            self.error = error
            dropped = 0
            while self._pending_bytes > MAX_PENDING_BYTES:
                index = next((i for i, (_, _, tag) in enumerate(self._pending)
                              if tag != metadata.SESSIONS_TAG), None)
                if index is None:
                    break
                data, points, _ = self._pending.pop(index)
                self._pending_bytes -= len(data)
                dropped += points
            self.dropped_points += dropped
        self._warn_once("error", (
            f"lr_plugin could not write to {self.run_dir}: {error}. Training goes on; "
            f"up to {MAX_PENDING_BYTES // 2**20} MiB of unwritten data is kept in memory "
            f"and written at the next flush that succeeds (every {FLUSH_SECS:g} s)."))
        if dropped:
            self._warn_once("dropped", (
                f"lr_plugin still cannot write to {self.run_dir} ({error}) and dropped "
                f"its oldest unwritten data, {self.dropped_points} points so far "
                "(RunWriter.dropped_points)."))

    def _warn_once(self, what, message):
        with self._lock:
            if what in self._warned:
                return
            self._warned.add(what)
        warnings.warn(message, LogWriteWarning, stacklevel=4)

    def _flush_due(self):
        with self._lock:
            if self.closed:
                return False
            if self._pending or any(s for s, _ in self._rates.values()) or any(
                    self._records.values()):
                return True
            lock = self._run_lock
            return lock is not None and time.time() - lock.heartbeat > run_lock.HEARTBEAT_SECS

    def _last_known_step(self):
        with self._lock:
            rate_steps = [max(s) for s, _ in self._rates.values() if s]
        return int(max(rate_steps)) if rate_steps else None

    def close(self):
        """Flushes, releases the run's lock and closes the event file. Later
        flushes do nothing."""
        with self._io() as writing:
            with self._lock:
                if self.closed:
                    return
                self._queue(self._take_events(self._last_known_step()))
            if writing:
                self._write_pending()
            with self._lock:
                self.closed = True
                lost = sum(points for _, points, _ in self._pending)
            if lost:
                warnings.warn(
                    f"lr_plugin closed {self.run_dir} with {lost} points it could not "
                    f"write: {self.error}.", LogWriteWarning, stacklevel=2)
            try:
                if self._run_lock is not None:
                    self._run_lock.release(
                        max(self._last_step.values(), default=self._floor - 1))
            except Exception:  # a lock left held is taken over once this process is gone
                pass
            if self._appender is not None:
                self._appender.close()
        with _writers_lock:
            if _writers.get(self.requested_dir) is self:
                del _writers[self.requested_dir]
