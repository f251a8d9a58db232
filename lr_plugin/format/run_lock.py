"""Who writes a run directory: a lock file holding the writer's host, pid and heartbeat.

Two processes writing one run directory at once lose data (TensorBoard reads
one active event file per directory), so a writer takes the run's lock file
first. The holder is alive when it is this host's process and that process
still runs, or, on another host, when its heartbeat (refreshed at every flush)
is younger than ``STALE_SECS``. A dead holder's lock is taken over: that is a
rerun. The lock stays behind when released (state ``released``). It holds a bound on
the event steps written, so the next writer, even after a crash, starts above
them: TensorBoard takes a step that goes back for a restart and drops data.
"""

import json
import os
import socket
import time
import uuid

from lr_plugin.format import storage as storage_lib

LOCK_NAME = ".lr_plugin.lock"
HEARTBEAT_SECS = 30.0
"""The holder rewrites its lock at least this often while it writes."""
STALE_SECS = 120.0
"""Another host's lock older than this belongs to a process that died."""
STEP_RESERVE = 1 << 20
"""Event steps the lock covers ahead of the last one written."""

HOST = socket.gethostname()


def process_start(pid):
    """The kernel's start time of a process (clock ticks since boot), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return {"state": fields[0].decode(), "start": fields[19].decode()}


def pid_alive(pid, start=None):
    """Whether process ``pid`` of this host runs, and is the one started at ``start``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    except (OSError, OverflowError):
        return False
    info = process_start(pid)
    if info is None:
        return True
    if info["state"] == "Z":
        return False  # killed, not yet reaped
    return start is None or info["start"] == start


_MY_START = (process_start(os.getpid()) or {}).get("start")


class RunLock:
    """The lock file of one run directory, seen from this process."""

    def __init__(self, storage, run_dir):
        self.storage = storage
        self.path = storage_lib.join(run_dir, LOCK_NAME)
        self.token = uuid.uuid4().hex
        self.start_time = time.time()
        self.heartbeat = 0.0
        self.bound = self.start_bound = -1
        """Every event step in the run's files is at most ``bound``; the previous
        holder's was ``start_bound``."""
        self.previous = None
        """The lock found when this one was taken: a dead or released holder's."""

    def read(self):
        """The lock file's content as a dict, or None (absent or unreadable)."""
        try:
            data = self.storage.read(self.path)
            content = json.loads(data) if data else None
        except (OSError, ValueError):
            return None
        return content if isinstance(content, dict) else None

    def holder_alive(self, content, now=None):
        """Whether the process that wrote ``content`` still holds the run."""
        if not content or content.get("state") != "held":
            return False
        if content.get("host") == HOST:
            pid = content.get("pid")
            if pid == os.getpid() and content.get("token") != self.token:
                return content.get("pid_start") != _MY_START  # reused pid: alive
            return isinstance(pid, int) and pid_alive(pid, content.get("pid_start"))
        heartbeat = content.get("heartbeat")
        now = time.time() if now is None else now
        return isinstance(heartbeat, (int, float)) and now - heartbeat < STALE_SECS

    def acquire(self):
        """Takes the lock unless a live process holds it. Returns whether it did."""
        if not self.storage.create_exclusive(self.path, self._content("held")):
            found = self.read()
            if self.holder_alive(found):
                return False
            self.previous = found
            bound = (found or {}).get("event_step_bound")
            self.bound = bound if isinstance(bound, int) else -1  # kept if this one dies too
            self.start_bound = self.bound
            self.storage.replace(self.path, self._content("held"))
        mine = self.read()
        # Two processes taking over one dead lock: the last write wins.
        return mine is not None and mine.get("token") == self.token

    def floor(self):
        """The first event step this writer may use: above the previous holder's."""
        return self.start_bound + 1

    def cover(self, last_event_step, force=False):
        """Makes the lock's bound cover ``last_event_step`` (before those events
        are written), and refreshes its heartbeat when due or ``force``d. The
        bound is set ``STEP_RESERVE`` ahead, so most flushes leave the file alone."""
        bound = self.bound
        if last_event_step > bound:
            bound = last_event_step + STEP_RESERVE
        elif not force and time.time() - self.heartbeat < HEARTBEAT_SECS:
            return
        self.storage.replace(self.path, self._content("held", bound))
        self.bound = bound  # only once the file says so

    def release(self, last_event_step):
        """Marks the run free; the bound is then the exact last step written."""
        bound = max(int(last_event_step), self.start_bound)
        self.storage.replace(self.path, self._content("released", bound))
        self.bound = bound

    def _content(self, state, bound=None):
        self.heartbeat = time.time()
        bound = self.bound if bound is None else bound
        return json.dumps({
            "state": state, "host": HOST, "pid": os.getpid(), "pid_start": _MY_START,
            "token": self.token, "start_time": self.start_time,
            "heartbeat": self.heartbeat, "event_step_bound": int(bound),
        }).encode("utf-8")
