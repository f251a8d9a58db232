"""Log directories given as URLs go through TensorBoard's file-system layer, as
Keras' TensorBoard callback does with ``gs://``: here a ``memtest://`` object
store registered with it, so no network is needed."""

import os

import pytest
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.io import gfile

from lr_plugin.format import reader
from lr_plugin.format import writer as writer_lib


class MemoryObjectStore:
    """An object store in memory: whole objects written at once, no append
    (so gfile rewrites an object at every flush, as for S3), directories implied."""

    def __init__(self):
        self.objects = {}
        self.directories = set()

    @staticmethod
    def _key(path):
        path = path.decode() if isinstance(path, bytes) else path
        return path.rstrip("/")

    def exists(self, filename):
        key = self._key(filename)
        return key in self.objects or self.isdir(key)

    def join(self, path, *paths):
        return "/".join([self._key(path), *paths])

    def read(self, filename, binary_mode=False, size=None, continue_from=None):
        key = self._key(filename)
        if key not in self.objects:
            raise errors.NotFoundError(None, None, f"No object {key}")
        data = self.objects[key]
        offset = (continue_from or {}).get("offset", 0)
        chunk = data[offset:] if size is None else data[offset:offset + size]
        return (chunk if binary_mode else chunk.decode()), {"offset": offset + len(chunk)}

    def write(self, filename, file_content, binary_mode=False):
        key = self._key(filename)
        parent = key.rpartition("/")[0]
        if not self.isdir(parent):
            raise errors.NotFoundError(None, None, f"No bucket directory {parent}")
        if isinstance(file_content, str):
            file_content = file_content.encode()
        self.objects[key] = file_content

    def isdir(self, dirname):
        key = self._key(dirname)
        return key in self.directories or any(k.startswith(key + "/") for k in self.objects)

    def listdir(self, dirname):
        prefix = self._key(dirname) + "/"
        names = {k[len(prefix):].split("/")[0] for k in list(self.objects) + list(self.directories)
                 if k.startswith(prefix)}
        return sorted(names)

    def makedirs(self, path):
        key = self._key(path)
        while "://" in key and not key.endswith(":/"):
            self.directories.add(key)
            key = key.rpartition("/")[0]

    def stat(self, filename):
        return gfile.StatData(len(self.objects[self._key(filename)]))

    def glob(self, filename):
        raise NotImplementedError


@pytest.fixture
def memtest():
    store = MemoryObjectStore()
    gfile.register_filesystem("memtest", store)
    yield store
    del gfile._REGISTERED_FILESYSTEMS["memtest"]


def copy_to_local(store, prefix, destination):
    for key, data in store.objects.items():
        if key.startswith(prefix + "/"):
            path = os.path.join(destination, key[len(prefix) + 1:])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)


def test_a_real_fit_writes_its_run_to_a_url_log_dir(memtest, tmp_path, monkeypatch):
    from conftest import linear_probe, probe_data
    from lr_plugin.callbacks import LearningRateMonitor

    monkeypatch.chdir(tmp_path)  # a URL taken for a local path would show up here
    model = linear_probe(0.1)
    model.fit(*probe_data(4), batch_size=4, epochs=3, verbose=0,
              callbacks=[LearningRateMonitor("memtest://bucket/exp")])

    assert os.listdir(tmp_path) == []
    names = memtest.listdir("memtest://bucket/exp/lr_timeline")
    assert any("tfevents" in name for name in names) and ".lr_plugin.lock" in names
    copy_to_local(memtest, "memtest://bucket", tmp_path / "copy")
    runs = reader.read_timelines(str(tmp_path / "copy"))
    steps, rates = runs["exp/lr_timeline"]["learning_rate"]["SGD"]
    assert steps.tolist() == list(range(12))
    assert rates.tolist() == pytest.approx([0.1] * 12)
    assert [r["epoch"] for r in runs["exp/lr_timeline"]["epochs"]] == [0, 1, 2]


def test_a_url_whose_scheme_no_file_system_serves_says_what_to_do(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # as in a TensorFlow-free install
    with pytest.raises(writer_lib.LogDirError, match="No file system for 'nofs://bucket/x'"):
        writer_lib.open_run_writer("nofs://bucket/x")
