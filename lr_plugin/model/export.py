"""The export document, JSON or CSV: one writer for ``lr-plugin export`` and the tab's downloads.

Both are generators of text pieces, run by run and block by block of rates,
so a caller holds one block at a time (the command writes them to a file, the
plugin's ``/export`` route streams them), whatever the run's length.
"""

import csv
import io
import json

from lr_plugin.format import metadata
from lr_plugin.model import timeline

FORMATS = ("json", "csv")
CSV_HEADER = "run,optimizer,step,learning_rate\n"
_BLOCK = 65536  # points per piece of text


def pieces(timelines, export_format):
    """The export of ``{run name: timeline.Timeline}`` in ``export_format``, as text pieces."""
    if export_format == "json":
        return json_pieces(timelines)
    if export_format == "csv":
        return csv_pieces(timelines)
    raise ValueError(f"export_format must be one of {FORMATS}. Received: {export_format!r}")


def json_pieces(timelines):
    """The export document (README's "Export format"), compact: a long run has
    millions of points (pipe through ``python -m json.tool`` to read it)."""
    def dump(value):
        return json.dumps(timeline.clean(value), separators=(",", ":"), allow_nan=False)

    yield '{"version":%d,"runs":{' % timeline.TIMELINE_VERSION
    for run_index, (name, run) in enumerate(timelines.items()):
        yield ("," if run_index else "") + dump(name) + ":{"
        for key_index, key in enumerate(timeline.RATE_KEYS):
            yield ("," if key_index else "") + dump(key) + ":{"
            for index, optimizer in enumerate(run.series[key]):
                yield ("," if index else "") + dump(optimizer) + ":["
                first = True
                for steps, rates in _slices(run.blocks(key, optimizer)):
                    yield ("" if first else ",") + timeline.series_text(steps, rates)
                    first = False
                yield "]"
            yield "}"
        for tag in metadata.RECORD_TAGS:
            yield "," + dump(tag) + ":" + dump(run.records(tag))
        yield "}"
    yield "}}\n"


def csv_pieces(timelines):
    """One row per (run, optimizer, step): ``run,optimizer,step,learning_rate``."""
    yield CSV_HEADER
    for run, data in timelines.items():
        for optimizer in data.series["learning_rate"]:
            prefix = io.StringIO()
            csv.writer(prefix, lineterminator="").writerow([run, optimizer, ""])
            for steps, rates in _slices(data.blocks("learning_rate", optimizer)):
                yield timeline.csv_text(prefix.getvalue(), steps, rates)


def _slices(blocks, size=_BLOCK):
    """The non-empty (steps, rates) blocks cut to at most ``size`` points."""
    for steps, rates in blocks:
        for start in range(0, steps.size, size):
            yield steps[start:start + size], rates[start:start + size]
