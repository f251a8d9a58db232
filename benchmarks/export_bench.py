"""Export benchmark: ``lr-plugin export`` of a long run, time and peak memory.

Run as a script (not a test)::

    PYTHONPATH=. python benchmarks/export_bench.py [--steps 5000000] [--dir DIR] [--repeat 3]

Writes a run of ``--steps`` steps with the writer API (one rate chunk and one
epoch record per 10,000 steps, as the callbacks flush at epoch end; rates
rounded to float32, as the optimizer applies and the callbacks record them),
then runs the command in a subprocess per case, ``--repeat`` times, and
reports the medians (min–max) of wall time, of steps per second of the
child's CPU seconds (user + system: on a shared machine they vary less than
wall time) and of its peak resident memory
(``resource.getrusage(RUSAGE_CHILDREN)``, one fresh process per run so the
peak is that run's).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS_PER_CHUNK = 10_000


def cosine(chunk, steps):
    """A different rate at every step, as under a cosine schedule (float32, as applied)."""
    return (0.01 * (0.5 + 0.5 * np.cos(np.pi * chunk / steps))).astype(np.float32)


def step_decay(chunk, steps):
    """A rate halved every 10% of the run, as under a step decay or ReduceLROnPlateau."""
    return (0.01 * 0.5 ** (chunk * 10 // steps)).astype(np.float32)


def write_run(run_dir, steps, rates_of=cosine):
    from lr_plugin.format import metadata
    from lr_plugin.format import writer

    run_writer = writer.open_run_writer(run_dir)
    run_writer.add_record(metadata.SESSIONS_TAG, {
        "session": "bench", "state": "begin", "start_step": 0,
        "start_time": time.time() - 1, "host": "bench", "pid": os.getpid()})
    for epoch, first in enumerate(range(0, steps, STEPS_PER_CHUNK)):
        chunk = np.arange(first, min(first + STEPS_PER_CHUNK, steps))
        rates = rates_of(chunk, steps)
        run_writer.add_rates("SGD", chunk, rates)
        run_writer.add_record(metadata.EPOCHS_TAG, {
            "epoch": epoch, "first_step": int(chunk[0]), "last_step": int(chunk[-1]),
            "learning_rate": float(rates[-1]), "metrics": {"loss": 1.0 / (epoch + 1)},
            "session": "bench"})
        run_writer.flush(step=int(chunk[-1]))
    run_writer.close()


def measure(command):
    """(wall seconds, CPU seconds, peak RSS in MB, return code) of one child process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO_ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    script = (
        "import resource, subprocess, sys, time, json\n"
        "start = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "seconds = time.perf_counter() - start\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "cpu = usage.ru_utime + usage.ru_stime\n"
        "print(json.dumps([seconds, cpu, usage.ru_maxrss / 1024, code]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *command], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5_000_000)
    parser.add_argument("--dir", help="where to write (and reuse) the run; default: a temp dir")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (default: 3)")
    args = parser.parse_args(argv)
    base = args.dir or tempfile.mkdtemp(prefix="lr_export_bench_")
    big = os.path.join(base, f"cosine32_{args.steps}")
    decay = os.path.join(base, f"decay32_{args.steps}")
    small = os.path.join(base, "small")
    if not os.path.isdir(big):
        write_run(os.path.join(big, "exp", "lr_timeline"), args.steps)
    if not os.path.isdir(decay):
        write_run(os.path.join(decay, "exp", "lr_timeline"), args.steps, step_decay)
    if not os.path.isdir(small):
        write_run(os.path.join(small, "exp", "lr_timeline"), 1000)
    cli = [sys.executable, "-m", "lr_plugin.tools.cli"]
    cases = [
        ("export --help", cli + ["export", "--help"], None),
        ("export small run (1000 steps)", cli + ["export", small], 1000),
        (f"json, {args.steps} steps, cosine", cli + ["export", big], args.steps),
        (f"csv, {args.steps} steps, cosine", cli + ["export", big, "--format", "csv"], args.steps),
        (f"json, {args.steps} steps, step decay", cli + ["export", decay], args.steps),
        (f"csv, {args.steps} steps, step decay", cli + ["export", decay, "--format", "csv"],
         args.steps),
    ]
    print(f"{'case':<36} {'wall s':>17} {'CPU s':>17} {'steps/CPU s':>25} "
          f"{'peak MB':>13} {'rc':>3}")
    for name, command, steps in cases:
        runs = [measure(command) for _ in range(args.repeat)]
        wall, cpu, peak, codes = zip(*runs)
        rates = [steps / c for c in cpu] if steps else None
        print(f"{name:<36} {_spread(wall, '.2f'):>17} {_spread(cpu, '.2f'):>17} "
              f"{_spread(rates, ',.0f') if rates else '-':>25} {_spread(peak, '.0f'):>13} "
              f"{max(codes):>3}", flush=True)


def _spread(values, spec):
    """``median (min–max)`` of values."""
    ordered = sorted(values)
    middle = ordered[len(ordered) // 2] if len(ordered) % 2 else (
        (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2)
    return f"{middle:{spec}} ({ordered[0]:{spec}}–{ordered[-1]:{spec}})"

if __name__ == "__main__":
    main()
