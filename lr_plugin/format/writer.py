"""Writes lr_plugin summaries to event files without TensorFlow.

(Over 400 lines: a RunWriter's buffers, training sessions, reference count
and flusher share one lock and one life cycle; the parts that stand alone
are already their own modules: event_log, run_lock, storage.)

One ``RunWriter`` exists per run directory per process and every callback that
logs there shares it: TensorBoard's directory watcher expects one active event
file per directory, and two writers in one directory lose data.

Callbacks append values to host-memory buffers (cheap, no I/O); ``flush()`` turns
the buffers into events and appends them to the event file. Buffers are flushed
at epoch end and train end by the callbacks, every ``FLUSH_SECS`` by one
background thread of the process (so a crash or SIGKILL loses at most that
much), on SIGTERM, and at interpreter exit.

Writing goes through ``event_log.EventLog``, which keeps training safe from
full disks, deleted directories and concurrent writers (see there). On SIGTERM
everything buffered is flushed, then the signal goes on to the handler that was
there before (the default one ends the process).

Writers are reference-counted: ``open_run_writer`` takes a reference,
``RunWriter.release`` drops it and the last one closes the writer.
"""

import atexit
import itertools
import os
import signal
import threading
import time
import warnings

from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

from lr_plugin.format import metadata
from lr_plugin.format import run_lock
from lr_plugin.format import schema
from lr_plugin.format import storage as storage_lib
from lr_plugin.format.event_log import EventLog
from lr_plugin.format.event_log import LogDirError  # noqa: F401 (public here)
from lr_plugin.format.event_log import LogWriteWarning
from lr_plugin.format.event_log import frame

FLUSH_SECS = 2.0
"""Seconds between two background flushes: what a SIGKILL can lose."""
MAX_PENDING_BYTES = 64 * 1024 * 1024
"""Unwritten events kept in memory while writes fail; past it the oldest go."""

_writers = {}  # normalized requested run directory -> RunWriter
_writers_lock = threading.RLock()  # re-entrant: the SIGTERM handler may interrupt its holder
_flusher = None
_sigterm = {"installed": False, "previous": None}


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
            try:
                if writer._flush_due():
                    writer.flush(step=writer._last_known_step())
            except Exception as error:  # kept and told, and the thread goes on for the others
                writer._log.report(error, "background flush")


def _install_sigterm_handler():
    """Flush on SIGTERM, then hand the signal on; only the main thread may install it."""
    if _sigterm["installed"] or threading.current_thread() is not threading.main_thread():
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if getattr(previous, "__name__", None) == _on_sigterm.__name__:
            return  # ours already (this module imported twice)
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main interpreter, or no SIGTERM
        return
    _sigterm.update(installed=True, previous=previous)


def _on_sigterm(signum, stack):
    try:
        flush_all()
    except Exception:  # the signal must go on whatever happened here
        pass
    previous = _sigterm["previous"]
    if callable(previous):
        previous(signum, stack)
    elif previous != signal.SIG_IGN:
        # The default action (or one set outside Python): die of SIGTERM, as without us.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


_SESSION_COUNTER = itertools.count(1)


class RunWriter:
    """Buffers and writes one run's lr_timeline summaries.

    Use ``open_run_writer(run_dir)`` rather than this constructor, so that all
    callbacks of a process share the writer of a directory.

    Attributes:
        run_dir: the directory written: the one asked for, or
            ``<parent>/<host>-<pid>/<name>`` when another live process writes it.
        error: the last write error, None once a write succeeds again.
        dropped_points: rates and records dropped because writes kept failing.
        rejected_records: records not written because they did not match the
            schema (a bug in lr_plugin, warned about).
    """

    def __init__(self, run_dir):
        self.requested_dir = storage_lib.normalize(run_dir)
        self._lock = threading.RLock()  # buffers; re-entrant for the SIGTERM handler
        self._rates = {}  # tag -> ([steps], [rates])
        self._records = {}  # tag -> [record]
        self._last_step = -1  # the last event step written, kept increasing
        self._tags_written = set()  # every tag a bundle of this writer held
        self._owners = {}  # what is recorded -> the recorder that records it
        self._references = 0
        self._session = None
        self.closed = False
        self.rejected_records = 0
        self._log = EventLog(self.requested_dir, MAX_PENDING_BYTES, FLUSH_SECS)

    @property
    def run_dir(self):
        return self._log.run_dir

    @property
    def error(self):
        return self._log.error

    @property
    def dropped_points(self):
        return self._log.dropped_points

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
        """Buffers one record (epoch, plateau, event, setup, LR finder sweep: a
        JSON-able dict), stamped with the open training session's id.

        A record that does not match the schema of ``tag``
        (``schema.RECORD_FIELDS``) is not written: it comes from lr_plugin's
        own code, not from the training, which goes on; one ``LogWriteWarning``
        per tag and problem says what was wrong, and ``rejected_records``
        counts them. Returns whether the record was buffered.

        Raises:
            ValueError: for a tag the contract does not have.
        """
        if tag not in metadata.RECORD_TAGS:
            raise ValueError(f"Unknown record tag {tag!r}; use one of {metadata.RECORD_TAGS}.")
        with self._lock:
            record = dict(record)
            if self._session is not None:
                record.setdefault(metadata.SESSION_KEY, self._session["id"])
            return self._buffer_record(tag, record)

    def _buffer_record(self, tag, record):
        # Not written rather than written for the readers to skip: every
        # reader (each TensorBoard reload, each export) would warn about it
        # again, and a payload holding it would show the run as damaged.
        problem = schema.check_record_to_write(tag, record)
        if problem is None:
            self._records.setdefault(tag, []).append(record)
            return True
        self.rejected_records += 1
        # Once per kind of problem: the received value differs from epoch to epoch.
        self._log.warn_once(("record", tag, problem.split("; received")[0]), (
            f"lr_plugin did not write a {tag!r} record that does not match its format: "
            f"{problem}. Training goes on and the rest of the run is written. This is a "
            f"bug in lr_plugin; please report it with this message. Received: "
            f"{_shown_record(record)}"))
        return False

    def _add_unchecked(self, tag, record):
        """Test seam: buffers ``record`` as it is, schema or not (it must still
        be JSON). The reader and fault tests write records that break the
        schema through it; nothing in lr_plugin calls it."""
        with self._lock:
            metadata.encode_records([record])
            self._records.setdefault(tag, []).append(dict(record))

    # Training sessions (see the contract in metadata).

    def begin_session(self, key, start_step):
        """Opens the training session ``key`` (one ``fit()``) at ``start_step``
        and writes its begin mark now. Returns its id (None once closed).

        The callbacks of one fit pass the same key and share the session; a new
        key ends the previous session without an end mark (it never ended).
        """
        with self._log.io() as writing:
            with self._lock:
                if self.closed:
                    return None
                if self._session is not None and self._session["key"] == key:
                    return self._session["id"]
                # Data of the previous session first: its wall times precede this start.
                events = self._take_events(start_step)
                start_time = time.time()
                # The counter keeps two sessions begun in one millisecond apart
                # (a fit retried at once after a failure).
                session_id = (f"{run_lock.HOST}-{os.getpid()}-{int(start_time * 1000)}-"
                              f"{next(_SESSION_COUNTER)}")
                begin = {
                    metadata.SESSION_KEY: session_id, "state": metadata.SESSION_BEGIN,
                    "start_step": int(start_step), "start_time": start_time,
                    "host": run_lock.HOST, "pid": os.getpid(),
                }
                self._session = {"key": key, "id": session_id, "begin": begin}
                self._buffer_record(metadata.SESSIONS_TAG, begin)
                self._log.queue(events + self._take_events(start_step))
            if writing:
                self._write()
        return session_id

    def end_session(self, key, end_step):
        """Writes the end mark of session ``key`` and flushes; nothing if it is not open."""
        with self._log.io() as writing:
            with self._lock:
                if self.closed or self._session is None or self._session["key"] != key:
                    return
                self._buffer_record(metadata.SESSIONS_TAG, {
                    metadata.SESSION_KEY: self._session["id"], "state": metadata.SESSION_END,
                    "end_step": int(end_step), "end_time": time.time(),
                })
                self._session = None
                self._log.queue(self._take_events(end_step))
            if writing:
                self._write()

    def abandon_session(self, session_id):
        """Forgets the open session ``session_id`` without an end mark (its
        fit() raised, and Keras called no ``on_train_end``), so that the next
        ``begin_session`` opens a new one even with the same key. Nothing if
        another session is open."""
        with self._lock:
            if self._session is not None and self._session["id"] == session_id:
                self._session = None

    # Writing.

    def flush(self, step=None):
        """Writes the buffers as one bundle event to the event file. Never
        raises: a failed write is kept in memory, warned about and retried.

        Args:
            step: the optimizer step at this point of training. The bundle's
                event step is the largest of it and its rates' steps, kept
                strictly increasing: TensorBoard's fast loader takes an equal
                or smaller step for a restart and drops the earlier points
                from that step on.
        """
        with self._log.io() as writing:
            with self._lock:
                if self.closed:
                    return
                self._log.queue(self._take_events(step))
            if writing:
                self._write()

    def _write(self):
        self._log.write(self._new_file_events, self._last_event_step)

    def _take_events(self, step):
        """The buffers as one bundle event (none when they are empty), and empties them."""
        rates, records, points, last = [], [], 0, []
        for tag, (steps, values) in self._rates.items():
            count = min(len(steps), len(values))  # a signal may land between two appends
            if not count:
                continue
            rates.append((tag, metadata.encode_rates(steps[:count], values[:count])))
            last.append(max(steps[:count]))
            points += count
            self._rates[tag] = (steps[count:], values[count:])
        for tag, tag_records in self._records.items():
            if tag_records:
                records.append((tag, tag_records))
                points += len(tag_records)
                self._records[tag] = []
        if not points:
            return []
        return [self._bundle_event(rates, records, max(last + [step or 0]), points)]

    def _bundle_event(self, rates, records, step, points):
        """``(framed event, points, kept)`` of one bundle: ``kept`` when it holds
        session marks, which EventLog keeps when memory runs out."""
        # One point per flush: TensorBoard's memory grows with points, not bytes.
        self._tags_written.update(tag for tag, _ in rates + records)
        payload = metadata.encode_bundle(rates, records, self._tags_written)
        # Above every step written here and by the run's previous writer, so
        # that TensorBoard never takes a later event for a restart.
        step = max(int(step), self._log.floor, self._last_step + 1)
        self._last_step = step
        event = event_pb2.Event(wall_time=time.time(), step=step)
        event.summary.value.add(
            tag=metadata.BUNDLE_TAG,
            tensor=tensor_util.make_tensor_proto(payload),
            metadata=metadata.create_summary_metadata(metadata.KIND_BUNDLE),
        )
        marks = any(tag == metadata.SESSIONS_TAG for tag, _ in records)
        return frame(event.SerializeToString()), points, marks

    def _new_file_events(self):
        # A file replacing a deleted one says again which training writes it.
        with self._lock:
            if self._session is None:
                return []
            data, _, _ = self._bundle_event(
                [], [(metadata.SESSIONS_TAG, [self._session["begin"]])], 0, 1)
            return [data]

    def _last_event_step(self):
        with self._lock:
            return max(self._last_step, self._log.floor - 1)

    def _flush_due(self):
        with self._lock:
            if self.closed:
                return False
            if any(s for s, _ in self._rates.values()) or any(self._records.values()):
                return True
        return self._log.due()

    def _last_known_step(self):
        with self._lock:
            rate_steps = [max(s) for s, _ in self._rates.values() if s]
        return int(max(rate_steps)) if rate_steps else None

    def close(self):
        """Flushes, releases the run's lock and closes the event file. Later
        flushes do nothing."""
        with self._log.io() as writing:
            with self._lock:
                if self.closed:
                    return
                self._log.queue(self._take_events(self._last_known_step()))
            if writing:
                self._write()
            with self._lock:
                self.closed = True
            lost = self._log.pending_points()
            if lost:
                warnings.warn(
                    f"lr_plugin closed {self.run_dir} with {lost} points it could not "
                    f"write: {self.error}.", LogWriteWarning, stacklevel=2)
            self._log.close(self._last_event_step)
        with _writers_lock:
            if _writers.get(self.requested_dir) is self:
                del _writers[self.requested_dir]


def _shown_record(record):
    text = repr(record)
    return text if len(text) <= 300 else text[:300] + "..."
