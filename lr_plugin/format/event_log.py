"""The event file of one run directory, and how events reach it whatever happens.

``EventLog`` owns the run's directory, lock file and event file. Framed events
are queued (memory) and appended at ``write()``; a write never raises:

- A full disk, a quota, any write error: the events stay queued (up to
  ``max_pending_bytes``, then the oldest are dropped and counted in
  ``dropped_points``), a warning names the path and the error once, and every
  ``write()`` retries. Local files are cut back after a failed append, so they
  always end at a whole record; elsewhere a new file is started.
- The run directory or event file deleted: recreated, with a warning.
- Another live process holding the run (see ``run_lock``): the log writes
  ``<parent>/<host>-<pid>/<name>`` instead and says so.
"""

import contextlib
import itertools
import os
import struct
import threading
import time
import warnings

from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from lr_plugin.format import run_lock
from lr_plugin.format import storage as storage_lib

_file_numbers = itertools.count()


class LogDirError(OSError):
    """The log directory cannot be created or written."""


class LogWriteWarning(UserWarning):
    """lr_plugin could not write (part of) a run; training went on."""


def frame(data):
    """One TFRecord: length, its masked CRC32C, data, the data's masked CRC32C."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


class EventLog:
    """The event file of the run directory ``requested_dir``.

    Args:
        requested_dir: the run directory asked for (normalized).
        max_pending_bytes: queued bytes kept while writes fail.
        retry_secs: how often ``write()`` is called, named in messages.

    Raises:
        LogDirError: when the directory cannot be created or written, for
            another reason than a full disk (which is retried later).
    """

    def __init__(self, requested_dir, max_pending_bytes, retry_secs):
        self.requested_dir = self.run_dir = requested_dir
        self.max_pending_bytes = max_pending_bytes
        self.retry_secs = retry_secs
        self._lock = threading.RLock()  # the queue; re-entrant for the SIGTERM handler
        self._io_lock = threading.Lock()  # the files
        self._io_owner = None
        self._pending = []  # [(framed event, points, kept)] not yet written
        self._pending_bytes = 0
        self._appender = None
        self._header = None  # framed events a new file starts with
        self._run_lock = None
        self._warned = set()
        self.floor = 0
        """The first event step this log may use: above the run's previous writer's."""
        self.error = None
        self.dropped_points = 0
        try:
            self._storage = storage_lib.for_path(requested_dir)
            self._open()
        except Exception as error:  # OSError, or a gfile's own error (TensorFlow's OpError)
            if storage_lib.is_transient(error):
                self._failed(error)  # a full disk at train begin: retried at every write
                return
            reason = getattr(error, "strerror", None) or error
            raise LogDirError(
                f"lr_plugin cannot write to the log directory {requested_dir!r}: "
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
                LogWriteWarning, stacklevel=6)
        self._run_lock = lock
        self.floor = lock.floor()
        with self.io():
            self.write(lambda: [], lambda: self.floor - 1, raise_errors=True)  # the run shows up

    @contextlib.contextmanager
    def io(self):
        """Holds the files. A SIGTERM handler interrupting this thread's own
        write must not wait for itself: it gets False and skips its write."""
        if self._io_owner == threading.get_ident():
            yield False
            return
        with self._io_lock:
            self._io_owner = threading.get_ident()
            try:
                yield True
            finally:
                self._io_owner = None

    def queue(self, events):
        """Queues ``[(framed event, points, kept)]`` in the order given; ``kept``
        events (those with session marks) are never dropped when memory runs out."""
        with self._lock:
            self._pending.extend(events)
            self._pending_bytes += sum(len(data) for data, _, _ in events)

    def pending_points(self):
        with self._lock:
            return sum(points for _, points, _ in self._pending)

    def due(self):
        """Whether a write is due: queued events, or a heartbeat to refresh."""
        with self._lock:
            if self._pending:
                return True
        lock = self._run_lock
        return lock is not None and time.time() - lock.heartbeat > run_lock.HEARTBEAT_SECS

    def write(self, new_file_events, last_step, raise_errors=False):
        """Appends the queued events (call under ``io()``). Never raises
        unless ``raise_errors`` and the error is not a full disk.

        Args:
            new_file_events: returns the framed events a new file must repeat
                (called only when a lost file is replaced).
            last_step: returns the last event step queued, for the lock file.
        """
        with self._lock:
            batch = list(self._pending)
        if not batch and self._appender is not None:
            # Nothing to write: a deleted directory stays deleted.
            self._refresh_heartbeat(last_step)
            return
        for attempt in (1, 2):
            try:
                self._write_batch(b"".join(data for data, _, _ in batch),
                                  new_file_events, last_step)
                break
            except Exception as error:  # the disk, the network, the file system
                if attempt == 1 and isinstance(error, FileNotFoundError):
                    if self._appender is not None:
                        self._appender.lost = True  # the directory was deleted: make it again
                    continue
                if raise_errors and not storage_lib.is_transient(error):
                    raise
                self._failed(error)
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
                   else "."), LogWriteWarning, stacklevel=4)

    def _refresh_heartbeat(self, last_step):
        lock = self._run_lock
        if lock is None or time.time() - lock.heartbeat < run_lock.HEARTBEAT_SECS:
            return
        try:
            lock.cover(last_step())
        except Exception:  # the next write retries it, and says what failed
            pass

    def _write_batch(self, data, new_file_events, last_step):
        new_file = self._appender is None or self._appender.lost
        if new_file:
            self._start_file(new_file_events)
        if self._run_lock is not None:
            # Before the events, so the lock's bound covers every event on disk;
            # rewritten with a new file, since a deleted directory took the lock along.
            self._run_lock.cover(last_step(), force=new_file)
        self._appender.append((self._header or b"") + data)
        self._header = None

    def _start_file(self, new_file_events):
        """Starts a new event file; recreates the run directory if it was deleted."""
        replacing = self._appender is not None
        if replacing:
            self._appender.close()
            if not self._storage.isdir(self.run_dir):
                self.warn_once("deleted", (
                    f"lr_plugin: the run directory {self.run_dir} was deleted during "
                    "training. It is recreated; what was written there before is lost."))
            elif self._appender.lost:
                self.warn_once("file", (
                    f"lr_plugin: the event file {self._appender.path} was deleted or "
                    "changed during training; new events go to a new file beside it."))
        self._storage.makedirs(self.run_dir)
        # Zero-padded: files of one second sort in the order they were written.
        name = "events.out.tfevents.%010d.%s.%s.%06d" % (
            time.time(), run_lock.HOST, os.getpid(), next(_file_numbers))
        header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        header.source_metadata.writer = "lr_plugin"
        frames = [frame(header.SerializeToString())]
        if replacing:
            frames += new_file_events()
        self._appender = self._storage.open_appender(storage_lib.join(self.run_dir, name))
        self._header = b"".join(frames)

    def _failed(self, error):
        with self._lock:
            self.error = error
            dropped = 0
            while self._pending_bytes > self.max_pending_bytes:
                index = next((i for i, (_, _, kept) in enumerate(self._pending) if not kept), None)
                if index is None:
                    break
                data, points, _ = self._pending.pop(index)
                self._pending_bytes -= len(data)
                dropped += points
            self.dropped_points += dropped
        self.warn_once("error", (
            f"lr_plugin could not write to {self.run_dir}: {error}. Training goes on; "
            f"up to {self.max_pending_bytes // 2**20} MiB of unwritten data is kept in "
            f"memory and written at the next write that succeeds (every "
            f"{self.retry_secs:g} s)."))
        if dropped:
            self.warn_once("dropped", (
                f"lr_plugin still cannot write to {self.run_dir} ({error}) and dropped "
                f"its oldest unwritten data, {self.dropped_points} points so far "
                "(RunWriter.dropped_points)."))

    def report(self, error, what):
        """Keeps an unexpected error of ``what`` and warns about it once."""
        with self._lock:
            self.error = error
        self.warn_once(what, f"lr_plugin: {what} of {self.run_dir} failed: {error!r}. "
                              "Training goes on; it is retried at the next flush.")

    def warn_once(self, what, message):
        """Warns ``message`` (a LogWriteWarning) the first time ``what`` goes wrong."""
        with self._lock:
            if what in self._warned:
                return
            self._warned.add(what)
        warnings.warn(message, LogWriteWarning, stacklevel=5)

    def close(self, last_step):
        """Releases the run's lock and closes the file (after a last ``write()``)."""
        try:
            if self._run_lock is not None:
                self._run_lock.release(last_step())
        except Exception:  # a lock left held is taken over once this process is gone
            pass
        if self._appender is not None:
            self._appender.close()
