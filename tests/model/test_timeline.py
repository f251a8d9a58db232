"""The timeline model streams rates: a run's records are held, its rate points are not."""

import os
import tracemalloc

import numpy as np

from lr_plugin.format import reader
from lr_plugin.format import writer as writer_lib
from lr_plugin.tools import cli

CHUNKS = 80
STEPS_PER_CHUNK = 2000


def write_long_run(run_dir):
    run_writer = writer_lib.open_run_writer(run_dir)
    for chunk in range(CHUNKS):
        steps = np.arange(chunk * STEPS_PER_CHUNK, (chunk + 1) * STEPS_PER_CHUNK)
        run_writer.add_rates("SGD", steps, 0.1 / (1 + steps))
        run_writer.add_record("epochs", {"epoch": chunk, "first_step": int(steps[0]),
                                         "last_step": int(steps[-1])})
        run_writer.flush(step=int(steps[-1]))
    run_writer.close()


def test_rates_are_read_back_one_chunk_at_a_time_in_step_order(tmp_path):
    write_long_run(tmp_path / "exp" / "lr_timeline")
    (resolved,) = reader.scan_timelines(str(tmp_path)).values()
    assert len(resolved.epochs) == CHUNKS
    blocks = list(resolved.blocks("learning_rate", "SGD"))
    assert [b[0].size for b in blocks] == [STEPS_PER_CHUNK] * CHUNKS
    steps = np.concatenate([b[0] for b in blocks])
    np.testing.assert_array_equal(steps, np.arange(CHUNKS * STEPS_PER_CHUNK))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), 0.1 / (1 + steps))


def test_export_memory_does_not_grow_with_the_number_of_rate_points(tmp_path):
    write_long_run(tmp_path / "exp" / "lr_timeline")
    total = CHUNKS * STEPS_PER_CHUNK
    for argv in (["--format", "json"], ["--format", "csv"]):
        tracemalloc.start()
        try:
            assert cli.main(["export", str(tmp_path), "-o", os.devnull, *argv]) == 0
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # Holding the points would take 16 bytes each as arrays, ~100 as Python lists.
        assert peak < total * 16 / 2, (argv, peak)
