"""Runs one section in this process and writes its results as JSON.

``python -m benchmarks`` starts one such process per section; run it by hand to
debug a section: ``python -m benchmarks.section writer --quick --out /tmp/w.json``.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import traceback

SECTIONS = ("fit", "writer", "plugin", "browser")


def run_section(name, quick, scratch, threads):
    if name == "fit":
        from benchmarks import fit_overhead

        return fit_overhead.run(quick=quick, scratch=scratch, threads=threads)
    if name == "writer":
        from benchmarks import writer_throughput

        return writer_throughput.run(quick=quick, scratch=scratch)
    if name == "plugin":
        from benchmarks import plugin_latency

        return plugin_latency.run(quick=quick, scratch=scratch)
    if name == "browser":
        from benchmarks import browser_paint

        return browser_paint.run(quick=quick, scratch=scratch)
    raise ValueError(f"unknown section {name!r}; use one of {SECTIONS}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.section")
    parser.add_argument("name", choices=SECTIONS)
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scratch", default=None, help="directory for logs (default: a temp dir)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"lr_bench_{args.name}_", dir=args.scratch) as scratch:
        try:
            result = run_section(args.name, args.quick, scratch, args.threads)
            code = 0
        except Exception:
            result = {"error": traceback.format_exc(), "rows": []}
            code = 1
    result["section_s"] = time.perf_counter() - start
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    if code:
        print(result["error"], file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
