"""Resident memory of TensorBoard's data server holding rates of each payload layout.

Run as a script (not a section; issue 13)::

    PYTHONPATH=. python -m benchmarks.compact_memory [--steps 1000000 10000000] [--repeats 3]
        [--versions 2 3]

For each size, writes one run per layout of a float32 cosine (the rates Keras
applies) with ``RunWriter``, one chunk per 1000 steps as the callbacks flush
at epoch end: version 3 (compressed, written now), version 2 (uncompressed) and,
if asked, version 1 (float64 [n, 2]); older layouts through the writer's
encoder swapped for theirs (``writer_throughput.payload_writer``). Then, in
each round, layouts alternated, it starts ``tensorboard --load_fast=true`` on
one run, waits until ``/timeline`` counts every step, and reads the resident
memory (VmRSS) of the data server (TensorBoard's descendants) and of
TensorBoard itself.
"""

import argparse
import os
import statistics
import tempfile
import time
import urllib.parse

import numpy as np

from benchmarks import common
from benchmarks import plugin_latency
from benchmarks.writer_throughput import payload_writer

STEPS_PER_CHUNK = 1000


def write_run(run_dir, steps, layout):
    from lr_plugin.format import writer

    rates = plugin_latency.rate_schedule(steps).astype(np.float32).astype(np.float64)
    with payload_writer(layout):
        run_writer = writer.open_run_writer(run_dir)
        for first in range(0, steps, STEPS_PER_CHUNK):
            chunk = np.arange(first, min(first + STEPS_PER_CHUNK, steps))
            run_writer.add_rates("Adam", chunk, rates[chunk])
            run_writer.flush(step=int(chunk[-1]))
        run_writer.close()
    return common.directory_bytes(run_dir)


def measure(logdir, run, steps, scratch):
    """``{"server_mb", "tensorboard_mb", "load_s"}`` of one fresh TensorBoard on ``logdir``."""
    server = plugin_latency.TensorBoard(logdir, "true", scratch)
    path = ("/data/plugin/lr_timeline/timeline?run=" + urllib.parse.quote(run, safe="")
            + "&downsample=2000")
    try:
        server.wait_until(lambda: server.get_json(path)["points"].get("Adam") == steps,
                          f"{steps:,} steps served", interval=0.5)
        load_s = server.elapsed()
        time.sleep(2)  # let the data server finish its reload pass
        memory = server.memory()["rss_bytes_by_process"]
        return {"server_mb": sum(memory[1:]) / 1e6, "tensorboard_mb": memory[0] / 1e6,
                "load_s": load_s}
    finally:
        server.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--versions", type=int, nargs="+", choices=(1, 2, 3), default=[2, 3])
    parser.add_argument("--dir", help="where to write (and reuse) the runs; default: a temp dir")
    args = parser.parse_args(argv)
    if not plugin_latency.fast_loader_available():
        raise SystemExit("tensorboard_data_server has no binary here: nothing to measure.")
    base = args.dir or tempfile.mkdtemp(prefix="lr_compact_memory_")
    print(f"load average before: {os.getloadavg()}", flush=True)
    for steps in args.steps:
        samples = {version: [] for version in args.versions}
        for layout in samples:
            logdir = os.path.join(base, f"v{layout}_{steps}")
            if not os.path.isdir(logdir):
                size = write_run(os.path.join(logdir, "run", "lr_timeline"), steps, layout)
                print(f"version {layout}, {steps:,} steps: {size / steps:.2f} bytes/step on disk",
                      flush=True)
        for index in range(args.repeats):
            for layout in common.rotated(list(samples), index):
                logdir = os.path.join(base, f"v{layout}_{steps}")
                result = measure(logdir, "run/lr_timeline", steps, base)
                samples[layout].append(result)
                print(f"version {layout}, {steps:,} steps, round {index + 1}: data server "
                      f"{result['server_mb']:.1f} MB, TensorBoard {result['tensorboard_mb']:.1f} "
                      f"MB, served whole at {result['load_s']:.1f} s", flush=True)
        for layout, results in samples.items():
            for key in ("server_mb", "tensorboard_mb", "load_s"):
                values = [r[key] for r in results]
                print(f"SUMMARY version {layout} {steps} {key}: median "
                      f"{statistics.median(values):.1f}, min {min(values):.1f}, "
                      f"max {max(values):.1f}, n {len(values)}", flush=True)
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
