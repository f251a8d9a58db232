"""Section ``writer``: how fast ``RunWriter`` gets logged steps to disk, and their size.

Each repetition opens a writer on a fresh directory, calls ``add_rate`` once per
step with a Python float that is a float32 value (as ``LearningRateMonitor``
does: Keras applies float32 rates), ``flush`` every 1000 steps (the callbacks
flush at epoch end and every 2 seconds), and ``close``: the time runs until the
event file is closed on disk. ``layout_sizes`` writes once more with the other
layouts of a rates payload: float64 rates (a schedule evaluated on the host),
steps with gaps (explicit steps). ``version_ratio`` times the same writes with
the version 2 payload (uncompressed, what lr_plugin wrote before version 3),
the two alternated in one process: on a shared machine the ratio says more
than two runs of this section. ``chunk_cost`` times what the writer does with
one epoch's chunk of 1000 steps (encode, tensor proto, serialize), version 3
against version 2, alternated.

Records (one epoch and one plateau record per epoch) are checked against the
schema before they are buffered; ``record_cost`` times ``add_record`` against
the writer's unchecked test seam in the same process, which is what adding a
record cost before the check.
"""

import contextlib
import functools
import math
import os
import time

from benchmarks import common

FLUSH_EVERY = 1000


def cosine_rates(steps, peak=0.01, warmup=1000, float32=True):
    """A different rate at every step: linear warmup, then cosine decay; float32
    values unless ``float32`` is False."""
    import numpy as np

    rates = []
    for step in range(steps):
        if step < warmup:
            rates.append(peak * (step + 1) / warmup)
        else:
            progress = (step - warmup) / max(1, steps - warmup)
            rates.append(peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))))
    return np.float32(rates).tolist() if float32 else rates


def encode_rates_version_1(steps, rates):
    """The rates payload lr_plugin wrote before version 2: float64 [n, 2] (step, rate)."""
    import numpy as np

    return np.stack([np.asarray(steps, np.float64), np.asarray(rates, np.float64)], axis=1)


@contextlib.contextmanager
def payload_writer(version):
    """The writer writes rates payloads of ``version`` (1, 2 or 3, the default) inside this block."""
    from lr_plugin.format import metadata

    encode = metadata.encode_rates
    older = {1: encode_rates_version_1, 2: functools.partial(encode, layout_version=2)}
    metadata.encode_rates = older.get(version, encode)
    try:
        yield
    finally:
        metadata.encode_rates = encode


def version_ratio(scratch, rates, rounds):
    """Seconds of ``write_once``, ``(version 3 samples, version 2 samples)``, alternated."""
    samples = {3: [], 2: []}
    for index in range(rounds):
        for version in common.rotated(list(samples), index):
            with payload_writer(version):
                samples[version].append(write_once(
                    os.path.join(scratch, f"v{version}_{index}"), rates)[0])
    return samples[3], samples[2]


def chunk_cost(rates, rounds, repeats=200):
    """Microseconds per 1000-step chunk (encode, tensor proto, serialize: the writer's
    work per epoch of 1000 steps), ``{version: samples}`` for 3 and 2, alternated."""
    import numpy as np
    from tensorboard.util import tensor_util

    from lr_plugin.format import metadata

    steps, rates = np.arange(FLUSH_EVERY), np.asarray(rates[:FLUSH_EVERY], np.float64)
    samples = {3: [], 2: []}
    for index in range(rounds):
        for version in common.rotated(list(samples), index):
            start = time.perf_counter()
            for _ in range(repeats):
                payload = metadata.encode_rates(steps, rates, layout_version=version)
                tensor_util.make_tensor_proto(payload).SerializeToString()
            samples[version].append((time.perf_counter() - start) / repeats * 1e6)
    return samples


def write_once(run_dir, rates, steps=None):
    """``(seconds, bytes on disk per step)`` of writing ``rates`` at ``steps``
    (default 0, 1, 2, ...)."""
    from lr_plugin.format import writer

    start = time.perf_counter()
    run_writer = writer.open_run_writer(run_dir)
    add_rate = run_writer.add_rate
    for step, rate in zip(steps or range(len(rates)), rates):
        add_rate("SGD", step, rate)
        if (step + 1) % FLUSH_EVERY == 0:
            run_writer.flush(step=step)
    run_writer.close()
    elapsed = time.perf_counter() - start
    return elapsed, common.directory_bytes(run_dir) / len(rates)


def layout_sizes(scratch, steps):
    """Bytes on disk per step of the other layouts: ``{name: bytes}``."""
    float64 = cosine_rates(steps, float32=False)
    gaps = [step + step // 7 for step in range(steps)]  # one step in eight not logged
    return {
        "float64 rates (a host-evaluated schedule)":
            write_once(os.path.join(scratch, "float64"), float64)[1],
        "float32 rates, steps with gaps (explicit steps)":
            write_once(os.path.join(scratch, "gaps"), cosine_rates(steps), gaps)[1],
    }


PLATEAU_RECORD = {
    "epoch": 3, "step": 399, "monitor": "val_loss", "mode": "min", "value": 0.41,
    "best": 0.4, "best_before": 0.4, "threshold": 0.3999, "min_delta": 1e-4, "wait": 2,
    "wait_before": 1, "patience": 5, "cooldown": 0, "cooldown_counter": 0, "factor": 0.1,
    "min_lr": 0.0, "action": "wait", "lr_before": 0.01, "lr_after": 0.01,
}
EPOCH_RECORD = {
    "epoch": 3, "first_step": 300, "last_step": 399, "learning_rate": 0.01,
    "learning_rates": {"SGD": 0.01}, "metrics": {"loss": 0.5, "val_loss": 0.41},
    "start_time": 1.7e9, "end_time": 1.7e9 + 10,
}


def record_cost(run_dir, rounds=7, count=2000):
    """Microseconds per buffered record, ``(checked, unchecked)`` samples, alternated."""
    from lr_plugin.format import metadata
    from lr_plugin.format import writer

    run_writer = writer.open_run_writer(run_dir)
    run_writer.begin_session("bench", 0)
    ways = {"checked": run_writer.add_record, "unchecked": run_writer._add_unchecked}
    samples = {name: [] for name in ways}
    for index in range(rounds):
        for name in common.rotated(list(ways), index):
            add = ways[name]
            start = time.perf_counter()
            for _ in range(count // 2):
                add(metadata.EPOCHS_TAG, EPOCH_RECORD)
                add(metadata.PLATEAU_TAG, PLATEAU_RECORD)
            samples[name].append((time.perf_counter() - start) / count * 1e6)
            run_writer.flush(step=index)
    run_writer.release()
    return samples["checked"], samples["unchecked"]


def run(quick=False, scratch=None, steps=None, repeats=None):
    steps = steps or (5_000 if quick else 1_000_000)
    repeats = repeats or (2 if quick else 7)
    rates = cosine_rates(steps)
    write_once(os.path.join(scratch, "writer", "warmup"), rates[: min(steps, 20_000)])
    seconds, bytes_per_step = [], []
    for index in range(repeats):
        elapsed, size = write_once(os.path.join(scratch, "writer", f"r{index}"), rates)
        seconds.append(elapsed)
        bytes_per_step.append(size)
        common.log(f"writer: repeat {index + 1}/{repeats}: {steps / elapsed:,.0f} steps/s, "
                   f"{size:.2f} bytes/step")
    throughput = common.summarize([steps / s for s in seconds])
    size = common.summarize(bytes_per_step)
    checked, unchecked = record_cost(os.path.join(scratch, "writer", "records"),
                                     rounds=3 if quick else 7)
    ratio = common.summarize([c / u for c, u in zip(checked, unchecked)])
    layouts = layout_sizes(os.path.join(scratch, "writer", "layouts"), min(steps, 100_000))
    version_3, version_2 = version_ratio(os.path.join(scratch, "writer", "versions"),
                                         rates, 3 if quick else 7)
    versions = common.summarize([v3 / v2 for v3, v2 in zip(version_3, version_2)])
    chunks = {version: common.summarize(samples) for version, samples in
              chunk_cost(rates, 3 if quick else 7).items()}
    return {
        "config": {"steps": steps, "repeats": repeats, "flush_every": FLUSH_EVERY,
                   "calls": "add_rate per step, flush per 1000 steps, close"},
        "seconds": common.summarize(seconds),
        "steps_per_second": throughput,
        "bytes_per_step": size,
        "bytes_per_step_of_layouts": layouts,
        "seconds_version_3_over_version_2": versions,
        "chunk_us": chunks,
        "record_us": {"checked": common.summarize(checked),
                      "unchecked": common.summarize(unchecked), "ratio": ratio},
        "rows": [
            common.row("writer", f"logged steps per second to disk ({steps:,} steps)", throughput,
                       "steps/s"),
            common.row("writer", "bytes on disk per logged step (float32 rates, one per step)",
                       size, "B"),
            *(common.row("writer", f"bytes on disk per logged step, {name}", value=value,
                         unit="B") for name, value in layouts.items()),
            common.row("writer", "write time, version 3 payloads / version 2 (alternated, "
                       "same process)", versions, "x"),
            *(common.row("writer", f"one 1000-step chunk, version {version}: encode, tensor "
                         "proto, serialize (alternated)", stats, "us")
              for version, stats in chunks.items()),
            common.row("writer", "add_record, schema-checked (epoch and plateau records)",
                       common.summarize(checked), "us"),
            common.row("writer", "add_record checked / unchecked (the cost before the check)",
                       ratio, "x"),
        ],
    }
