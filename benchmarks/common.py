"""What every section shares: statistics, the machine description, processes, the table."""

import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from importlib import metadata as importlib_metadata

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(message):
    """Progress goes to stderr: stdout is the table."""
    print(f"[benchmarks {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Statistics.


def summarize(samples):
    """Median and spread of repeated measurements (the samples are kept too)."""
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no samples")
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return {
        "median": statistics.median(values),
        "min": values[0],
        "max": values[-1],
        "q1": q1,
        "q3": q3,
        "n": len(values),
        "samples": [float(v) for v in samples],
    }


def rotated(items, round_index):
    """``items`` starting at position ``round_index``: alternates who goes first."""
    items = list(items)
    k = round_index % len(items)
    return items[k:] + items[:k]


# The machine.


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes():
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(distribution):
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None


def _git(*args):
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.rstrip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine_description():
    """CPU, cores, RAM, versions, date: what a reader needs to compare numbers."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": usable,
        "ram_bytes": _ram_bytes(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow") or _version("tensorflow-cpu"),
        "keras": _version("keras"),
        "tensorboard": _version("tensorboard"),
        "tensorboard_data_server": _version("tensorboard-data-server"),
        "numpy": _version("numpy"),
        "lr_plugin": _version("lr_plugin"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        # Files changed since that commit (the measured code may differ from it).
        "git_changed": [
            line.strip() for line in
            (_git("status", "--porcelain", "--untracked-files=no") or "").splitlines()],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# Processes.


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def _status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def resident_memory(pid):
    """Resident memory of ``pid`` and its descendants (TensorBoard's data server is one).

    Returns {"rss_bytes", "peak_rss_bytes", "processes", "rss_bytes_by_process"}: VmRSS and VmHWM from
    /proc (psutil, when installed, reads the same numbers).
    """
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        pending.extend(_children(current))
    return {
        "rss_bytes": sum(_status_kib(p, "VmRSS") for p in pids) * 1024,
        "peak_rss_bytes": sum(_status_kib(p, "VmHWM") for p in pids) * 1024,
        "processes": len(pids),
        # pid's own first, then its descendants' (TensorBoard, then its data server).
        "rss_bytes_by_process": [_status_kib(p, "VmRSS") * 1024 for p in pids],
    }


def directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


# The table.


def row(section, measure, stats=None, unit="", value=None, target=None, met=None, scale=1.0,
        digits=3):
    """One line of the results table.

    ``stats`` (from summarize) gives the median and its min-max spread;
    ``value`` is a single number instead. ``scale`` converts to ``unit``.
    """
    if stats is not None:
        median = stats["median"] * scale
        spread = f"{_fmt(stats['min'] * scale, digits)}\u2013{_fmt(stats['max'] * scale, digits)}"
        n = stats["n"]
    else:
        median, spread, n = (None if value is None else value * scale), "", None
    return {
        "section": section,
        "measure": measure,
        "median": median,
        "spread": spread,
        "n": n,
        "unit": unit,
        "target": target,
        "met": met,
        "digits": digits,
    }


def _fmt(value, digits=3):
    if value is None:
        return "\u2013"
    if isinstance(value, str):
        return value
    magnitude = abs(value)
    if magnitude >= 10_000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def markdown_table(rows):
    lines = [
        "| section | measure | median | spread (min\u2013max) | n | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        median = _fmt(r["median"], r.get("digits", 3))
        if r["unit"] and r["median"] is not None:
            median = f"{median} {r['unit']}"
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append(
            f"| {r['section']} | {r['measure']} | {median} | {r['spread']} | "
            f"{r['n'] or ''} | {r['target'] or ''} | {met} |"
        )
    return "\n".join(lines)


def write_json(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=False)
        handle.write("\n")
