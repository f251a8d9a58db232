"""Where the writer's files live: local paths through ``os``, URLs through gfile.

A log directory may be a local path or a URL (``gs://bucket/logs``,
``s3://...``), as Keras' TensorBoard callback accepts. URLs go through
TensorBoard's TensorFlow-free file-system layer
(``tensorboard.compat.tensorflow_stub.io.gfile``: ``s3://`` with boto3, any
scheme fsspec knows, and schemes registered with its
``register_filesystem``); a scheme it does not know goes through TensorFlow's
``tf.io.gfile`` when TensorFlow is installed (``gs://`` without fsspec).
"""

import errno
import os

from tensorboard.compat.tensorflow_stub.io import gfile as stub_gfile

TRANSIENT_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if e is not None
)
"""Write errors a later retry may get past (a full disk, a quota, a size limit)."""


def is_url(path):
    return "://" in path


def normalize(path):
    """The canonical name of a directory: realpath for local paths, the URL as given otherwise."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    if is_url(path):
        return path.rstrip("/")
    return os.path.realpath(os.path.abspath(path))


def join(directory, *names):
    if is_url(directory):
        return "/".join([directory.rstrip("/"), *names])
    return os.path.join(directory, *names)


def split(path):
    """(parent, leaf) of a path or URL."""
    if is_url(path):
        parent, _, leaf = path.rstrip("/").rpartition("/")
        return parent, leaf
    return os.path.split(path)


def is_transient(error):
    """Whether a write error is one a later retry may get past."""
    code = getattr(error, "errno", None)
    if code in TRANSIENT_ERRNOS:
        return True
    # TensorFlow's gfile raises ResourceExhaustedError (no errno) for a full disk.
    return type(error).__name__ == "ResourceExhaustedError"


def for_path(path):
    """The storage that serves ``path``: LocalStorage or GFileStorage."""
    if not is_url(path):
        return LocalStorage()
    try:
        stub_gfile.get_filesystem(path)
        return GFileStorage(stub_gfile)
    except ValueError:
        pass
    try:
        import tensorflow as tf  # only for a scheme the stub cannot serve
    except ImportError:
        raise ValueError(
            f"No file system for {path!r}: TensorBoard's file-system layer does not "
            "know its scheme. Install fsspec with that scheme's package (gcsfs for "
            "gs://), or TensorFlow, or pass a local log_dir."
        ) from None
    return GFileStorage(tf.io.gfile)


class LocalStorage:
    """Local files. Appends are exact: a failed append is cut back, so the
    file always ends at a whole record."""

    local = True

    def makedirs(self, path):
        os.makedirs(path, exist_ok=True)

    def isdir(self, path):
        return os.path.isdir(path)

    def read(self, path):
        """The file's bytes, or None when it does not exist."""
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def replace(self, path, data):
        """Writes ``data`` to ``path`` atomically (readers see the old or the new bytes)."""
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.remove(temporary)
            except OSError:
                pass
            raise

    def create_exclusive(self, path, data):
        """Creates ``path`` holding ``data``; False if it already exists."""
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            _write_all(descriptor, data)
        finally:
            os.close(descriptor)
        return True

    def open_appender(self, path):
        return _LocalAppender(path)


class _LocalAppender:
    """Appends to a file reopened at every write, so a deleted or replaced
    file is noticed (``lost``) instead of written into the void."""

    def __init__(self, path):
        self.path = path
        self.size = 0
        self.lost = False

    def append(self, data):
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except FileNotFoundError:
            self.lost = True  # its directory was deleted
            raise
        try:
            if os.fstat(descriptor).st_size != self.size:
                self.lost = True  # deleted or replaced since the last write
                raise FileNotFoundError(errno.ENOENT, "event file deleted", self.path)
            try:
                _write_all(descriptor, data)
            except OSError:
                try:
                    os.ftruncate(descriptor, self.size)  # never leave half a record
                except OSError:
                    self.lost = True
                raise
            self.size += len(data)
        finally:
            os.close(descriptor)

    def close(self):
        pass


def _write_all(descriptor, data):
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


class GFileStorage:
    """Files behind a gfile module (TensorBoard's stub or TensorFlow's)."""

    local = False

    def __init__(self, gfile):
        self._gfile = gfile

    def makedirs(self, path):
        self._gfile.makedirs(path)

    def isdir(self, path):
        return self._gfile.isdir(path)

    def read(self, path):
        if not self._gfile.exists(path):
            return None
        with self._gfile.GFile(path, "rb") as handle:
            return handle.read()

    def replace(self, path, data):
        with self._gfile.GFile(path, "wb") as handle:
            handle.write(data)

    def create_exclusive(self, path, data):
        # Object stores have no exclusive create; the caller reads the lock back.
        if self._gfile.exists(path):
            return False
        self.replace(path, data)
        return True

    def open_appender(self, path):
        return _GFileAppender(self._gfile.GFile(path, "wb"), path)


class _GFileAppender:
    """One GFile kept open; after a failed write the file is given up (``lost``)
    since how much of it reached the store is unknown."""

    def __init__(self, handle, path):
        self.path = path
        self._handle = handle
        self.lost = False

    def append(self, data):
        try:
            self._handle.write(data)
            self._handle.flush()
        except Exception:
            self.lost = True
            raise

    def close(self):
        try:
            self._handle.close()
        except Exception:
            pass
