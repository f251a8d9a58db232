"""The plugin's per-run cache: each run is read and summarized once per change.

A run's entry is valid while the data provider reports the same ``max_step``
and ``max_wall_time`` for each of its tags (``list_tensors`` knows them without
reading the data): a new chunk, record or restart of the run changes them, and
the next request rebuilds the entry. Entries are dropped least recently used
first when their summaries hold more than ``max_bytes``.

Also here: the ``/timeline`` query parameters of a window (``start``, ``end``,
``since``), parsed with the route's messages.
"""

import collections
import ctypes
import functools
import re
import threading
import time

DEFAULT_MAX_BYTES = 256 * 2**20
"""Bytes of run summaries the plugin keeps (a 10M-step float32 cosine takes about 10 MB,
plus up to 4 MiB of memoized answers)."""

MAX_STEP = 2**53
"""Steps are sent as float64 (JSON numbers, Float64Array): exact below this."""

LISTING_REUSE_S = 1.0
"""Longest time a data provider's listing is reused (less when TensorBoard reloads faster)."""

_STEP_PATTERN = re.compile(r"[0-9]{1,16}")


def fingerprint(series_by_tag):
    """What identifies the data of a run: ``(tag, max_step, max_wall_time)`` per tag, sorted.

    Args:
        series_by_tag: ``{tag: TensorTimeSeries}`` of one run from ``list_tensors``.
    """
    return tuple(
        sorted((tag, series.max_step, series.max_wall_time) for tag, series in series_by_tag.items())
    )


def listing_reuse_seconds(flags):
    """How long a listing may be reused under TensorBoard's ``--reload_interval``.

    TensorBoard's data changes only when it reloads, every ``reload_interval``
    seconds (0: loads once, negative: never reloads); a listing younger than
    that shows new data at most that much later than TensorBoard loaded it.
    Without flags (a plugin built in a test), listings are not reused.
    """
    interval = getattr(flags, "reload_interval", None)
    if not isinstance(interval, (int, float)) or isinstance(interval, bool):
        return 0.0
    return min(LISTING_REUSE_S, interval) if interval > 0 else LISTING_REUSE_S


class RecentListings:
    """The data provider's listings, each reused for ``max_age_s`` seconds.

    On TensorBoard's fast loader every listing is a gRPC call to its data
    server, which takes about 44 ms while a cached summary answers in a few:
    the data server (0.7.2) sends each reply as three writes on a socket
    without TCP_NODELAY, so Nagle's algorithm holds the rest of the reply
    until the client's delayed acknowledgement (40 ms on Linux).

    Args:
        max_age_s: seconds a listing is reused (see ``listing_reuse_seconds``);
            0 lists again at every request.
        clock: seconds as ``time.monotonic`` counts them (the default).
    """

    def __init__(self, max_age_s, clock=None):
        self.max_age_s = max_age_s
        self._clock = clock or time.monotonic
        self._listings = {}  # key -> (time listed, listing)
        self._lock = threading.Lock()

    def get(self, key, list_now):
        """The listing of ``key``: reused when younger than max_age_s, else ``list_now()``."""
        now = self._clock()
        with self._lock:
            found = self._listings.get(key)
        if found is not None and now - found[0] < self.max_age_s:
            return found[1]
        listing = list_now()
        if self.max_age_s > 0:
            with self._lock:
                self._listings[key] = (now, listing)
        return listing


class RunCache:
    """Least-recently-used ``{key: summary}``, rebuilt when a key's fingerprint changes.

    Thread-safe: TensorBoard serves requests from several threads. Two requests
    for the same changed run wait for one build.

    Args:
        max_bytes: bound on the summed ``nbytes`` of the kept summaries. The
            summary just built is kept even when it alone is larger.
    """

    def __init__(self, max_bytes=DEFAULT_MAX_BYTES):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(
                f"max_bytes must be a whole number of bytes >= 0. Received: max_bytes={max_bytes!r}"
            )
        self.max_bytes = max_bytes
        self._entries = collections.OrderedDict()  # key -> (fingerprint, summary, nbytes)
        self._lock = threading.Lock()
        self._build_locks = {}
        self.hits = self.builds = self.evictions = 0

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    @property
    def nbytes(self):
        with self._lock:
            return sum(entry[2] for entry in self._entries.values())

    def get(self, key, current, build):
        """The summary of ``key`` for fingerprint ``current``; ``build()`` makes it on a miss."""
        found = self._lookup(key, current)
        if found is not None:
            return found
        with self._lock:
            build_lock = self._build_locks.setdefault(key, threading.Lock())
        with build_lock:
            found = self._lookup(key, current)  # another request may have built it
            if found is not None:
                return found
            summary = build()
            self._store(key, current, summary)
            return summary

    def refresh_size(self, key):
        """Re-measures an entry that grew (memoized metrics) and evicts to the bound."""
        with self._lock:
            if key in self._entries:
                stored, summary, _ = self._entries[key]
                self._entries[key] = (stored, summary, summary.nbytes)
                self._evict(keep=key)

    def _lookup(self, key, current):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != current:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def _store(self, key, current, summary):
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (current, summary, summary.nbytes)
            self.builds += 1
            self._evict(keep=key)

    def _evict(self, keep):
        total = sum(entry[2] for entry in self._entries.values())
        for key in list(self._entries):
            if total <= self.max_bytes:
                break
            if key == keep:
                continue
            total -= self._entries.pop(key)[2]
            self._build_locks.pop(key, None)
            self.evictions += 1


def release_freed_memory():
    """Hands the memory freed after a build (the payloads read) back to the system.

    glibc keeps freed small blocks in its heap, so TensorBoard's RSS would stay
    at the build's peak; best-effort, and only where glibc is the allocator.
    Call it once a request that built or encoded is answered (about 1 ms):
    encoding an answer leaves freed pages behind too.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def prepare_for_builds():
    """Creates now the lasting objects a first build would otherwise create.

    Python frees a 1 MiB arena of small objects only when none is left in it:
    one module imported in the middle of a build's temporaries (``np.unique``
    imports ``numpy.ma``, about 3,000 objects) keeps many of their arenas
    resident after the build. Made at plugin load, they sit with the others.
    """
    import numpy.ma  # noqa: F401 (imported on first use by np.unique)
    import urllib.parse

    _malloc_trim()
    urllib.parse.unquote("%2F")  # its table of escapes is built on first use


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library is another."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class Window:
    """The ``start``, ``end`` and ``since`` steps of a ``/timeline`` request (None: absent)."""

    def __init__(self, start=None, end=None, since=None):
        self.start, self.end, self.since = start, end, since

    def to_json(self):
        return {"start": self.start, "end": self.end, "since": self.since}


def parse_window(args):
    """``(Window, None)``, or ``(None, message)`` when a parameter is bad.

    Args:
        args: the request's query arguments (a mapping with ``get``).
    """
    values = {}
    for name in ("start", "end", "since"):
        raw = args.get(name)
        if raw is None:
            values[name] = None
            continue
        if not _STEP_PATTERN.fullmatch(raw) or int(raw) >= MAX_STEP:
            shown = raw if len(raw) <= 40 else raw[:40] + "..."
            return None, (
                f"Query parameter {name!r} must be a step: a whole number from 0 to "
                f"{MAX_STEP - 1}. Received: {shown!r}. Leave it out for "
                + {"start": "the first step.", "end": "the last step.",
                   "since": "the whole timeline."}[name]
            )
        values[name] = int(raw)
    if values["start"] is not None and values["end"] is not None and values["start"] > values["end"]:
        return None, (
            f"Query parameter 'start' must not be after 'end'. Received: "
            f"start={values['start']}, end={values['end']}. Swap them to zoom on that window."
        )
    return Window(**values), None
