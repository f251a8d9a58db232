"""``lr-plugin lint LOGDIR``: the learning-rate traps recorded trainings fell into.

The rules live in ``lr_plugin.model.traps``; this module reads the runs and
prints what they found. Exit code 1 when a finding is an error, else 0.
"""

import json

from lr_plugin.model import traps


def lint_logdir(logdir, run=None):
    """``{run name: [Finding]}`` for the runs under ``logdir`` (or one run).

    Raises:
        reader.LogDirNotFound: as ``lr-plugin export`` does.
    """
    from lr_plugin.format import reader

    return traps.lint_runs(reader.read_timelines(logdir, run=run))


def write_report(findings_by_run, output, fmt="text"):
    if fmt == "json":
        json.dump({name: [f.to_json() for f in findings]
                   for name, findings in findings_by_run.items()}, output, indent=1)
        output.write("\n")
        return
    for name, findings in findings_by_run.items():
        output.write(traps.format_findings(name, findings))
