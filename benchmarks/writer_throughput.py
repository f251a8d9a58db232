"""Section ``writer``: how fast ``RunWriter`` gets logged steps to disk, and their size.

Each repetition opens a writer on a fresh directory, calls ``add_rate`` once per
step with a Python float (as ``LearningRateMonitor`` does), ``flush`` every
1000 steps (the callbacks flush at epoch end and every 2 seconds), and
``close``: the time runs until the event file is closed on disk.

Records (one epoch and one plateau record per epoch) are checked against the
schema before they are buffered; ``record_cost`` times ``add_record`` against
the writer's unchecked test seam in the same process, which is what adding a
record cost before the check.
"""

import math
import os
import time

from benchmarks import common

FLUSH_EVERY = 1000


def cosine_rates(steps, peak=0.01, warmup=1000):
    """A different rate at every step: linear warmup, then cosine decay."""
    rates = []
    for step in range(steps):
        if step < warmup:
            rates.append(peak * (step + 1) / warmup)
        else:
            progress = (step - warmup) / max(1, steps - warmup)
            rates.append(peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))))
    return rates


def write_once(run_dir, rates):
    from lr_plugin.format import writer

    steps = len(rates)
    start = time.perf_counter()
    run_writer = writer.open_run_writer(run_dir)
    add_rate = run_writer.add_rate
    for step, rate in enumerate(rates):
        add_rate("SGD", step, rate)
        if (step + 1) % FLUSH_EVERY == 0:
            run_writer.flush(step=step)
    run_writer.close()
    elapsed = time.perf_counter() - start
    return elapsed, common.directory_bytes(run_dir) / steps


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
    return {
        "config": {"steps": steps, "repeats": repeats, "flush_every": FLUSH_EVERY,
                   "calls": "add_rate per step, flush per 1000 steps, close"},
        "seconds": common.summarize(seconds),
        "steps_per_second": throughput,
        "bytes_per_step": size,
        "record_us": {"checked": common.summarize(checked),
                      "unchecked": common.summarize(unchecked), "ratio": ratio},
        "rows": [
            common.row("writer", f"logged steps per second to disk ({steps:,} steps)", throughput,
                       "steps/s"),
            common.row("writer", "bytes on disk per logged step", size, "B"),
            common.row("writer", "add_record, schema-checked (epoch and plateau records)",
                       common.summarize(checked), "us"),
            common.row("writer", "add_record checked / unchecked (the cost before the check)",
                       ratio, "x"),
        ],
    }
