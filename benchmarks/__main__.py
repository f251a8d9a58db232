"""``python -m benchmarks``: runs every section, prints a markdown table, saves the JSON.

    python -m benchmarks                # everything (about 8 minutes), saves results/latest.json
    python -m benchmarks --quick        # tiny sizes, to check it runs (saves nothing)
    python -m benchmarks --only plugin  # one section (repeat --only for several)

Each section runs in its own Python process (``benchmarks/section.py``).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks import common
from benchmarks.section import SECTIONS

DEFAULT_OUT = os.path.join(common.REPO_ROOT, "benchmarks", "results", "latest.json")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="lr_plugin benchmarks: fit() overhead, writer throughput, plugin latency, "
                    "browser paint. Prints a markdown table; saves raw results as JSON.")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repetitions (seconds per section); saves nothing "
                             "unless --out is given")
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only this section (repeat for several)")
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON file")
    parser.add_argument("--out", default=None,
                        help="where to write the JSON results "
                             "(default: benchmarks/results/latest.json)")
    parser.add_argument("--threads", type=int, default=1,
                        help="TensorFlow intra- and inter-op threads in the fit section "
                             "(default 1)")
    return parser.parse_args(argv)


def run_in_subprocess(name, args, scratch):
    out = os.path.join(scratch, f"{name}.json")
    command = [sys.executable, "-m", "benchmarks.section", name, "--out", out,
               "--threads", str(args.threads), "--scratch", scratch]
    if args.quick:
        command.append("--quick")
    env = dict(os.environ)
    path = [common.REPO_ROOT, env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=common.REPO_ROOT, env=env)
    if os.path.exists(out):
        with open(out, encoding="utf-8") as handle:
            result = json.load(handle)
    else:
        result = {"error": f"the section's process exited with {completed.returncode} and wrote "
                           "no results (its output is above)", "rows": []}
    result["wall_s"] = time.perf_counter() - start
    return result


def main(argv=None):
    args = parse_args(argv)
    sections = [s for s in SECTIONS if not args.only or s in args.only]
    started = time.perf_counter()
    load_before = common.load_average()
    common.log(f"sections: {', '.join(sections)}{' (quick)' if args.quick else ''}; "
               f"load average {load_before}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="lr_bench_") as scratch:
        for name in sections:
            common.log(f"== {name}")
            results[name] = run_in_subprocess(name, args, scratch)
            if "error" in results[name]:
                common.log(f"{name} FAILED:\n{results[name]['error']}")
            elif "skipped" in results[name]:
                common.log(f"{name} skipped: {results[name]['skipped']}")
    rows = [r for name in sections for r in results[name].get("rows", [])]
    table = common.markdown_table(rows)
    machine = common.machine_description()
    report = {
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "machine": machine,
        "load_average": {"before": load_before, "after": common.load_average()},
        "total_s": time.perf_counter() - started,
        "table": table,
        "sections": results,
    }
    print(table)
    print()
    print(f"Machine: {machine['cpu_model']}, {machine['cpu_cores']} cores, "
          f"{(machine['ram_bytes'] or 0) / 2**30:.0f} GiB RAM; Python {machine['python']}, "
          f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}, "
          f"TensorBoard {machine['tensorboard']}; {machine['date']}; load average "
          f"{report['load_average']['before']} before, {report['load_average']['after']} after; "
          f"{report['total_s']:.0f} s in all.")
    for name in sections:
        if "skipped" in results[name]:
            print(f"{name}: skipped: {results[name]['skipped']}")
        note = results[name].get("config", {}).get("note")
        if note:
            print(f"{name}: {note}")
    out = args.out or (None if args.quick else DEFAULT_OUT)
    if out and not args.no_save:
        common.write_json(out, report)
        common.log(f"wrote {out}")
    failed = [name for name in sections if "error" in results[name]]
    if failed:
        common.log(f"failed sections: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
