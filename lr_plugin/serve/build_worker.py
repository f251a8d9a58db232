"""Builds a long run's summary in a child process, so that TensorBoard's heap never holds the build.

Building the summary of a run of millions of steps makes hundreds of thousands
of short-lived small Python objects (its records, its rate chunks). CPython
hands its 1 MiB arenas of small objects back to the system only when every
object in them is gone, and the few objects anything else makes meanwhile
(TensorBoard's own requests) keep many of them: TensorBoard stayed 25-50 MB
above the summary itself after building a 10M-step run. With the fast loader
the data lives in TensorBoard's data server, which any process may read: a
child reads the run there, builds the summary, hands it back pickled (NumPy
arrays and bytes: a few large allocations), and exits with its heap.

Used for runs of at least ``WORKER_FROM_STEPS`` steps on the fast loader; any
failure (no data server address, a child that cannot start, crashes or runs
past ``TIMEOUT_S``) falls back to building in TensorBoard's process, with one
log line. ``python -m lr_plugin.serve.build_worker`` is the child: a JSON
request on stdin, the pickled summary on stdout.
"""

import functools
import json
import logging
import os
import pickle
import subprocess
import sys
import warnings

from tensorboard.data import provider

from lr_plugin.format import metadata
from lr_plugin.format import schema
from lr_plugin.model import summary
from lr_plugin.model import timeline
from lr_plugin.model import traps

WORKER_FROM_STEPS = 200_000
"""Runs whose last step is at least this build in a child (smaller ones take milliseconds).
The environment variable ``LR_TIMELINE_WORKER_FROM_STEPS`` overrides it (``-1``: never)."""

TIMEOUT_S = 600
"""A child that has not answered by then is stopped, and the build is done in process."""

READ_ALL_TENSORS = 10**9
"""Every point the loader kept: a dropped bundle would be a hole in the timeline."""

_logger = logging.getLogger(__name__)


def read_payloads(data_provider, ctx, experiment, run, tags):
    """``{tag: [TensorDatum, ...]}`` of the run's lr_timeline tags, for ``summarize``.

    The data provider converts tensors itself and raises on a malformed
    one; such a tag is skipped with one warning and the others are read.
    """
    try:
        return read_tensors(data_provider, ctx, experiment, run, sorted(tags))
    except Exception:  # MemoryError too: TensorBoard trusts a tensor's declared shape
        result = {}
    for tag in sorted(tags):
        try:
            result.update(read_tensors(data_provider, ctx, experiment, run, [tag]))
        except Exception as error:
            schema.warn_skipped(run, tag, None, "TensorBoard could not read its tensors "
                                f"({type(error).__name__}: {error})"[:300])
    return result


def read_tensors(data_provider, ctx, experiment, run, tags):
    """``{tag: [TensorDatum, ...]}`` of ``tags`` of the run, every point; raises as the provider does."""
    result = data_provider.read_tensors(
        ctx,
        experiment_id=experiment,
        plugin_name=metadata.PLUGIN_NAME,
        downsample=READ_ALL_TENSORS,
        run_tag_filter=provider.RunTagFilter(runs=[run], tags=tags),
    )
    # The writer keeps event steps increasing, so step order is written order.
    return dict(result.get(run, {}))


def summarize(payloads, run):
    """The ``RunSummary`` of a run's payloads (``read_payloads``), with its lint findings.

    Empties ``payloads``: a build frees what it read before the summary's
    lasting objects are made.
    """
    built = timeline.build_run(payloads, run=run)
    payloads.clear()
    # Derived once per data change (as the facts of Keras' plateau rule,
    # which RunSummary derives): the run's lint findings.
    findings = [finding.to_json() for finding in traps.lint_run(built)]
    run_summary = summary.RunSummary(built)
    run_summary.set_derived({"findings": findings})
    return run_summary


def worker_request(data_provider, flags, listing, experiment, run):
    """The child's request for ``run``, or None when it is built in process.

    ``listing``: ``{tag: TensorTimeSeries}`` of the run.
    """
    address = getattr(data_provider, "_addr", None)  # a GrpcDataProvider's (the fast loader)
    if not isinstance(address, str) or not address:
        return None
    threshold = _worker_from_steps()
    if threshold < 0 or max((s.max_step for s in listing.values()), default=0) < threshold:
        return None
    creds = getattr(flags, "grpc_creds_type", None)  # a grpc_util.ChannelCredsType
    return {"address": address, "experiment": experiment, "run": run, "tags": sorted(listing),
            "creds": getattr(creds, "value", creds) or "local"}


def _worker_from_steps():
    return _threshold(os.environ.get("LR_TIMELINE_WORKER_FROM_STEPS", "").strip())


@functools.lru_cache(maxsize=8)  # a bad value is said once, not at every build
def _threshold(value):
    try:
        return int(value) if value else WORKER_FROM_STEPS
    except ValueError:
        _logger.warning("lr_timeline: LR_TIMELINE_WORKER_FROM_STEPS must be a whole number of "
                        "steps (-1: never); received %r, using %d.", value, WORKER_FROM_STEPS)
        return WORKER_FROM_STEPS


def build_in_child(request, timeout=TIMEOUT_S):
    """The ``RunSummary`` a child process builds for ``request``; None (logged) when it fails.

    The child's warnings (payloads skipped as damaged) are warned again here.
    """
    try:
        child = subprocess.run(
            [sys.executable, "-m", __name__], input=json.dumps(request).encode("utf-8"),
            capture_output=True, timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        if child.returncode != 0:
            raise RuntimeError(f"exited with {child.returncode}: "
                               f"{child.stderr.decode('utf-8', 'replace')[-1000:]}")
        answer = pickle.loads(child.stdout)
    except Exception as error:  # anything: the build goes on in process
        _logger.warning("lr_timeline: building run %r in a child process failed (%s: %s); "
                        "building it in TensorBoard's process instead.", request.get("run"),
                        type(error).__name__, str(error)[:1000])
        return None
    for message in answer["warnings"]:
        warnings.warn(message, schema.InvalidPayloadWarning, stacklevel=2)
    return answer["summary"]


def _child_main():
    import grpc
    from tensorboard import context
    from tensorboard.data import grpc_provider
    from tensorboard.util import grpc_util

    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    # As TensorBoard connects to its data server (server_ingester), a whole run per answer.
    credentials, options = grpc_util.ChannelCredsType(request["creds"]).channel_config()
    options.append(("grpc.max_receive_message_length", 1024 * 1024 * 1024))
    channel = grpc.secure_channel(request["address"], credentials, options=options)
    data_provider = grpc_provider.GrpcDataProvider(request["address"],
                                                   grpc_provider.make_stub(channel))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", schema.InvalidPayloadWarning)
        # Strict: a read that fails here (the data server gone, a tensor it cannot
        # convert) ends the child, and TensorBoard's process reads leniently instead.
        payloads = read_tensors(data_provider, context.RequestContext(), request["experiment"],
                                 request["run"], request["tags"])
        run_summary = summarize(payloads, request["run"])
    messages = [str(w.message) for w in caught if issubclass(w.category, schema.InvalidPayloadWarning)]
    pickle.dump({"summary": run_summary, "warnings": messages}, sys.stdout.buffer,
                protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    _child_main()
