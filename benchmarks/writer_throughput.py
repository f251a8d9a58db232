"""Section ``writer``: how fast ``RunWriter`` gets logged steps to disk, and their size.

Each repetition opens a writer on a fresh directory, calls ``add_rate`` once per
step with a Python float (as ``LearningRateMonitor`` does), ``flush`` every
1000 steps (the callbacks flush at epoch end and every 2 seconds), and
``close``: the time runs until the event file is closed on disk.
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
    return {
        "config": {"steps": steps, "repeats": repeats, "flush_every": FLUSH_EVERY,
                   "calls": "add_rate per step, flush per 1000 steps, close"},
        "seconds": common.summarize(seconds),
        "steps_per_second": throughput,
        "bytes_per_step": size,
        "rows": [
            common.row("writer", f"logged steps per second to disk ({steps:,} steps)", throughput,
                       "steps/s"),
            common.row("writer", "bytes on disk per logged step", size, "B"),
        ],
    }
