"""The LR Timeline TensorBoard plugin: HTTP routes that serve learning-rate timelines.

(Over 400 lines: one TBPlugin class holds every route, as TensorBoard's plugins
do; the routes' logic lives in model/ and serve/ modules, what stays here is
request parsing and the Keras-scalar alignment the routes share.)

Reads only through ``context.data_provider`` (``context.multiplexer`` is None on
TensorBoard's fast loader), so it works with ``--load_fast`` true and false.
Imports neither TensorFlow nor Keras. The routes, their parameters and the
pairing with Keras' ``train``/``validation`` runs are described in
``docs/HTTP_API.md``.
"""

import os
import re

from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from lr_plugin.format import metadata
from lr_plugin.format import schema
from lr_plugin.model import export
from lr_plugin.model import timeline
from lr_plugin.serve import build_worker
from lr_plugin.serve import bundles
from lr_plugin.serve import cache
from lr_plugin.serve import columnar
from lr_plugin.serve import finder_route
from lr_plugin.serve import scalars

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")
"""Directory of the frontend files served under ``/static/`` (``index.js`` too)."""

DEFAULT_DOWNSAMPLE = 2000
"""Points per rate series that ``/timeline`` returns when no ``downsample`` is given."""

MIN_DOWNSAMPLE = 2
MAX_DOWNSAMPLE = 1_000_000

SCALARS_PLUGIN_NAME = "scalars"
"""Plugin name of the scalars Keras' TensorBoard callback writes."""

TRAIN_SUBDIR = "train"
VALIDATION_SUBDIR = "validation"

_READ_ALL_SCALARS = 100_000

_JSON = "application/json"
_CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".txt": "text/plain",
}
_DOWNSAMPLE_PATTERN = re.compile(r"[0-9]{1,9}")
_EVALUATION_TAG = re.compile(r"evaluation_(.+)_vs_iterations")


class LrTimelinePlugin(base_plugin.TBPlugin):
    """Serves each run's learning rate, plateau decisions, events and losses."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context):
        """Instantiates the plugin from TensorBoard's ``base_plugin.TBContext``."""
        self._data_provider = context.data_provider
        self._flags = context.flags
        self._cache = cache.RunCache()
        self._written_tags = bundles.WrittenTags()
        # Listings (each a gRPC call on the fast loader) reused within one reload.
        self._listings = cache.RecentListings(cache.listing_reuse_seconds(context.flags))
        cache.prepare_for_builds()

    def get_plugin_apps(self):
        return {
            "/index.js": self._serve_index_js,
            "/static/*": self._serve_static,
            "/runs": self._serve_runs,
            "/timeline": self._serve_timeline,
            "/replay": self._serve_replay,
            "/export": self._serve_export,
            "/scalar_tags": self._serve_scalar_tags,
            "/scalar": self._serve_scalar,
            "/finder": finder_route.finder_app(self._data_provider, self._written_tags),
        }

    def is_active(self):
        # TensorBoard enables the tab when list_plugins reports one of
        # data_plugin_names(); this fallback would only cost a data read.
        return False

    def data_plugin_names(self):
        # "scalars" too, so the tab is enabled (and can say how to record
        # rates) for a log dir that has only Keras' own summaries.
        return (metadata.PLUGIN_NAME, SCALARS_PLUGIN_NAME)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(
            es_module_path="/index.js", tab_name="LR Timeline"
        )

    # Static files.

    @wrappers.Request.application
    def _serve_index_js(self, request):
        return self._respond_file(request, "index.js")

    @wrappers.Request.application
    def _serve_static(self, request):
        prefix = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME
        relative = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
        return self._respond_file(request, relative)

    def _respond_file(self, request, relative):
        path = static_file_path(relative)
        if path is None:
            return _error(
                request,
                404,
                f"No file {relative!r} among the LR Timeline plugin's static "
                "files. Reinstall lr_plugin if index.js is missing.",
            )
        with open(path, "rb") as handle:
            contents = handle.read()
        return http_util.Respond(request, contents, _content_type(path))

    # Data.

    @wrappers.Request.application
    def _serve_runs(self, request):
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        listing = self._lr_timeline_listing(ctx, experiment)
        tags_by_run = {run: set(series_by_tag) for run, series_by_tag in listing.items()}
        in_bundles = self._written_tags.of(self._data_provider, ctx, experiment, listing)
        scalar_runs = self._scalar_tags(ctx, experiment)
        runs = []
        for run in sorted(tags_by_run):
            tags = tags_by_run[run] | in_bundles[run]
            name, train_run, validation_run = paired_runs(run, scalar_runs)
            runs.append(
                {
                    "run": run,
                    "name": name,
                    "optimizers": _optimizers(tags),
                    "has_plateau": metadata.PLATEAU_TAG in tags,
                    "has_planned": any(t.startswith(metadata.PLANNED_PREFIX) for t in tags),
                    "train_run": train_run,
                    "validation_run": validation_run,
                }
            )
        runs.extend(scalars.keras_only_runs(tags_by_run, scalar_runs, metadata.RUN_SUBDIR))
        return http_util.Respond(request, {"runs": runs}, _JSON)

    @wrappers.Request.application
    def _serve_timeline(self, request):
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        run = request.args.get("run")
        if not run:
            return _error(
                request,
                400,
                "Missing query parameter 'run'. Pass one of the names that "
                "/data/plugin/lr_timeline/runs lists, e.g. ?run=my_log_dir/lr_timeline.",
            )
        max_points, problem = _parse_downsample(request.args.get("downsample"))
        window, window_problem = cache.parse_window(request.args)
        encoding, format_problem = columnar.negotiate(request)
        if problem or window_problem or format_problem:
            return _error(request, 400, problem or window_problem or format_problem)
        listing = self._lr_timeline_listing(ctx, experiment)
        if run not in listing:
            scalar_runs = self._scalar_tags(ctx, experiment)
            legacy = scalars.keras_only_runs(listing, scalar_runs, metadata.RUN_SUBDIR)
            if any(entry["run"] == run for entry in legacy):
                return self._keras_only_timeline(request, ctx, experiment, run, scalar_runs)
            return _error(
                request,
                404,
                f"No learning-rate data for run {run!r}. Runs with data: "
                f"{_some(sorted(listing))}. Reload if training has just started.",
            )

        # Rebuilt only when the provider reports new data for the run.
        builds_before = self._cache.builds
        run_summary = self._run_summary(ctx, experiment, run, listing)
        scalar_runs = self._scalar_tags(ctx, experiment)
        name, train_run, validation_run = paired_runs(run, scalar_runs)
        companions = self._companion_fingerprint(ctx, experiment, train_run, validation_run)
        metrics = run_summary.metrics(
            companions,
            lambda: self._metrics(
                ctx, experiment, run_summary.epochs, scalar_runs, train_run, validation_run
            ),
        )

        computed = []

        def encode():
            computed.append(True)
            view = run_summary.view(
                max_points, window.start, window.end, window.since, metrics=metrics
            )
            head = {
                "version": timeline.TIMELINE_VERSION,
                "run": run,
                "name": name,
                "train_run": train_run,
                "validation_run": validation_run,
                "points": view.totals["learning_rate"],
                "planned_points": view.totals["planned"],
                "window": window.to_json(),
                "last_step": view.last_step,
                "points_in_window": view.in_window["learning_rate"],
                "planned_points_in_window": view.in_window["planned"],
                "record_counts": dict(view.record_counts, metrics=view.metric_counts),
            }
            if encoding == "columnar":
                return columnar.columnar_body(head, view)
            return columnar.json_body(head, view).encode("utf-8")

        # Unchanged data and query: the same bytes (the page polls every 30 s).
        body = run_summary.answer(
            (max_points, window.start, window.end, window.since, encoding,
             name, train_run, validation_run, companions),
            encode,
        )
        self._cache.refresh_size((experiment, run))
        if computed or self._cache.builds != builds_before:
            cache.release_freed_memory()
        content_type = columnar.CONTENT_TYPE if encoding == "columnar" else _JSON
        return http_util.Respond(request, body, content_type)

    def _companion_fingerprint(self, ctx, experiment, train_run, validation_run):
        """What the Keras scalars of the paired runs are now, to know when metrics change."""
        runs = [r for r in (train_run, validation_run) if r]
        if not runs:
            return ()
        listing = self._scalar_listing(ctx, experiment)
        return tuple((r, cache.fingerprint(listing.get(r, {}))) for r in runs)

    @wrappers.Request.application
    def _serve_replay(self, request):
        from lr_plugin.serve import whatif

        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        run = request.args.get("run")
        listing = self._lr_timeline_listing(ctx, experiment)
        if not run or run not in listing:
            return _error(request, 404 if run else 400,
                          f"Pass ?run= with a run that has plateau records. Received: {run!r}.")
        # The run /timeline holds: a what-if form sends a request per change.
        builds_before = self._cache.builds
        run_summary = self._run_summary(ctx, experiment, run, listing)
        try:
            body = whatif.replay_body(run, run_summary.plateau, request.args,
                                      planned=run_summary.planned)
        except whatif.BadQuery as error:
            return _error(request, 400, str(error))
        finally:
            if self._cache.builds != builds_before:
                cache.release_freed_memory()
        return http_util.Respond(request, body, _JSON)

    def _run_summary(self, ctx, experiment, run, listing):
        """The run's cached ``RunSummary``, built when the provider reports new data for it."""

        def build():
            request = build_worker.worker_request(
                self._data_provider, self._flags, listing[run], experiment, run)
            run_summary = build_worker.build_in_child(request) if request else None
            if run_summary is None:
                payloads = build_worker.read_payloads(
                    self._data_provider, ctx, experiment, run, set(listing[run]))
                run_summary = build_worker.summarize(payloads, run)
            return run_summary

        return self._cache.get((experiment, run), cache.fingerprint(listing[run]), build)

    def _keras_only_timeline(self, request, ctx, experiment, run, scalar_runs):
        """The timeline of a log_dir only Keras' TensorBoard callback wrote: its
        per-epoch ``epoch_learning_rate`` and its losses, on the epoch axis."""
        name, validation_run = scalars.keras_only_pair(run, scalar_runs)
        body = {
            "version": timeline.TIMELINE_VERSION, "run": run, "name": name,
            "train_run": run, "validation_run": validation_run,
            "learning_rate": {}, "points": {}, "planned": {}, "planned_points": {},
            "keras_only": scalars.KERAS_ONLY_NOTE,
        }
        for key in metadata.RECORD_TAGS:
            body[key] = []
        body["metrics"] = self._metrics(ctx, experiment, [], scalar_runs, run, validation_run)
        body["epoch_learning_rate"] = [
            [epoch, value] for epoch, _, value in body["metrics"].pop("learning_rate", [])]
        body["findings"] = []
        return http_util.Respond(request, body, _JSON)

    @wrappers.Request.application
    def _serve_export(self, request):
        """Every point of the runs named by ``?run=`` (repeatable), as ``lr-plugin
        export`` writes them (``format=json``, the default, or ``csv``), streamed."""
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        runs = request.args.getlist("run")
        export_format = request.args.get("format", "json")
        if export_format not in export.FORMATS:
            return _error(request, 400, f"Query parameter 'format' must be one of "
                                        f"{', '.join(export.FORMATS)}. Received: {export_format[:40]!r}.")
        tags_by_run = self._lr_timeline_tags(ctx, experiment)
        missing = [run for run in runs if run not in tags_by_run]
        if not runs or missing:
            return _error(request, 404 if missing else 400,
                          f"Pass ?run= (repeatable) with runs /runs lists. Received: {runs!r}; "
                          f"runs with learning-rate data: {_some(sorted(tags_by_run))}.")
        timelines = {run: timeline.resolve_run(build_worker.read_payloads(
                         self._data_provider, ctx, experiment, run, tags_by_run[run]), run=run)
                     for run in runs}
        # Named as the tab names the run (its /runs "name"), made safe for a file system.
        name = paired_runs(runs[0], self._scalar_tags(ctx, experiment))[0] if len(runs) == 1 else "runs"
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"
        file_name = f"{safe}.lr_timeline.{export_format}"
        content_type = "text/csv; charset=utf-8" if export_format == "csv" else _JSON
        return wrappers.Response(
            (piece.encode("utf-8") for piece in export.pieces(timelines, export_format)),
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{file_name}"',
                     "X-Content-Type-Options": "nosniff"})

    def _run_or_error(self, request, ctx, experiment):
        """``(run, its lr_timeline tags, None)`` or ``(None, None, error response)``."""
        run = request.args.get("run")
        tags_by_run = self._lr_timeline_tags(ctx, experiment)
        if not run or run not in tags_by_run:
            return None, None, _error(
                request, 404 if run else 400,
                f"Pass ?run= with one of the runs /runs lists. Received: {run!r}.")
        return run, tags_by_run[run], None

    @wrappers.Request.application
    def _serve_scalar_tags(self, request):
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        run, _, error = self._run_or_error(request, ctx, experiment)
        if error:
            return error
        tags = scalars.companion_tags(run, metadata.RUN_SUBDIR, self._scalar_tags(ctx, experiment))
        return http_util.Respond(request, {"run": run, "scalars": tags}, _JSON)

    @wrappers.Request.application
    def _serve_scalar(self, request):
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        run, tags, error = self._run_or_error(request, ctx, experiment)
        if error:
            return error
        scalar_run, tag = request.args.get("scalar_run"), request.args.get("tag")
        listed = scalars.companion_tags(run, metadata.RUN_SUBDIR, self._scalar_tags(ctx, experiment))
        match = [s for s in listed if (s["run"], s["tag"]) == (scalar_run, tag)]
        if not match:
            return _error(request, 404, f"No scalar {tag!r} in run {scalar_run!r} beside {run!r}; "
                                        "/scalar_tags lists them.")
        data = self._data_provider.read_scalars(
            ctx, experiment_id=experiment, plugin_name=SCALARS_PLUGIN_NAME,
            downsample=_READ_ALL_SCALARS,
            run_tag_filter=provider.RunTagFilter(runs=[scalar_run], tags=[tag]),
        ).get(scalar_run, {}).get(tag, [])
        epochs = timeline.build_run(build_worker.read_payloads(
            self._data_provider, ctx, experiment, run, tags))["epochs"]
        how = match[0]["alignment"]
        offset = _batch_step_offset(epochs, {tag: data}) if how == "batch" else None
        points = scalars.aligned_points(data, how, epochs, offset)
        body = {"run": run, "scalar_run": scalar_run, "tag": tag, "alignment": how,
                "points": [[e, s, timeline.json_number(v)] for e, s, v in points]}
        return http_util.Respond(request, body, _JSON)

    def _lr_timeline_tags(self, ctx, experiment):
        """``{run: set of readable lr_timeline tags}``, runs without any left out."""
        listing = self._lr_timeline_listing(ctx, experiment)
        return {run: set(series_by_tag) for run, series_by_tag in listing.items()}

    def _lr_timeline_listing(self, ctx, experiment):
        """``{run: {readable tag: TensorTimeSeries}}``, runs without any left out."""
        if self._data_provider is None:
            return {}
        listing = self._listings.get(
            (experiment, "tensors"),
            lambda: self._data_provider.list_tensors(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME
            ),
        )
        result = {}
        for run, series_by_tag in listing.items():
            readable = {}
            for tag, series in series_by_tag.items():
                if metadata.kind_of_tag(tag) is None:
                    continue
                if metadata.is_readable(series.plugin_content):
                    readable[tag] = series
                else:
                    schema.warn_skipped(run, tag, None, "a newer lr_plugin wrote it (payload "
                                        f"version above {metadata.PAYLOAD_VERSION}) or its "
                                        "metadata is damaged; upgrade lr_plugin to read it")
            if readable:
                result[run] = readable
        return result

    def _scalar_tags(self, ctx, experiment):
        """``{run: set of scalar tags}`` of the scalars plugin (Keras' summaries)."""
        listing = self._scalar_listing(ctx, experiment)
        return {run: set(series_by_tag) for run, series_by_tag in listing.items()}

    def _scalar_listing(self, ctx, experiment):
        """``{run: {tag: ScalarTimeSeries}}`` of the scalars plugin."""
        if self._data_provider is None:
            return {}
        return self._listings.get(
            (experiment, "scalars"),
            lambda: self._data_provider.list_scalars(
                ctx, experiment_id=experiment, plugin_name=SCALARS_PLUGIN_NAME
            ),
        )

    def _metrics(self, ctx, experiment, epochs, scalar_runs, train_run, validation_run):
        """``{metric: [[epoch, step, value], ...]}`` aligned to optimizer steps."""
        metrics = {}
        recorded = set()  # (metric, epoch) our epoch records already have
        last_step = {}
        for record in epochs:
            epoch = record.get("epoch")
            last_step[epoch] = _int_or_none(record.get("last_step"))
            values = record.get("metrics")
            for name, value in sorted(values.items() if isinstance(values, dict) else ()):
                if _is_number(value):
                    metrics.setdefault(name, []).append(
                        [epoch, last_step[epoch], timeline.json_number(value)]
                    )
                    recorded.add((name, epoch))

        keras_series = self._read_keras_scalars(
            ctx, experiment, scalar_runs, train_run, validation_run
        )
        epoch_of_last_step = {s: e for e, s in last_step.items() if s is not None}
        batch_offset = _batch_step_offset(epochs, keras_series.get((train_run, "batch")))
        for (run, family), series_by_name in keras_series.items():
            for name, data in series_by_name.items():
                points = metrics.setdefault(name, [])
                for datum in data:
                    summary_step, value = int(datum.step), float(datum.value)
                    if family == "epoch":  # Keras writes the epoch as the step
                        if (name, summary_step) in recorded:
                            continue
                        points.append([summary_step, last_step.get(summary_step), value])
                    elif family == "batch":
                        step = None if batch_offset is None else summary_step - 1 + batch_offset
                        points.append([None, step, value])
                    else:  # evaluation: logged at optimizer.iterations, one past the last step
                        step = summary_step - 1
                        points.append([epoch_of_last_step.get(step), step, value])
        return {
            name: [[e, s, timeline.json_number(v)] for e, s, v in sorted(points, key=_point_order)]
            for name, points in sorted(metrics.items())
            if points
        }

    def _read_keras_scalars(self, ctx, experiment, scalar_runs, train_run, validation_run):
        """``{(run, family): {metric: [ScalarDatum]}}`` of Keras' TensorBoard callback.

        family is "epoch" (``epoch_<m>``; ``val_<m>`` from the validation run),
        "batch" (``batch_<m>`` in train) or "evaluation"
        (``evaluation_<m>_vs_iterations`` in validation).
        """
        wanted = {}  # (run, tag) -> (family, metric)
        for tag in scalar_runs.get(train_run, ()) if train_run else ():
            if tag.startswith("epoch_"):
                wanted[train_run, tag] = ("epoch", tag[len("epoch_") :])
            elif tag.startswith("batch_"):
                wanted[train_run, tag] = ("batch", tag)
        for tag in scalar_runs.get(validation_run, ()) if validation_run else ():
            evaluation = _EVALUATION_TAG.fullmatch(tag)
            if tag.startswith("epoch_"):
                wanted[validation_run, tag] = ("epoch", "val_" + tag[len("epoch_") :])
            elif evaluation:
                wanted[validation_run, tag] = ("evaluation", "evaluation_" + evaluation.group(1))
        if not wanted:
            return {}
        result = self._data_provider.read_scalars(
            ctx,
            experiment_id=experiment,
            plugin_name=SCALARS_PLUGIN_NAME,
            downsample=_READ_ALL_SCALARS,
            run_tag_filter=provider.RunTagFilter(
                runs=sorted({run for run, _ in wanted}), tags=sorted({t for _, t in wanted})
            ),
        )
        series = {}
        for (run, tag), (family, name) in sorted(wanted.items()):
            data = result.get(run, {}).get(tag)
            if data:
                series.setdefault((run, family), {})[name] = data
        return series


def paired_runs(run, scalar_runs):
    """``(name, train_run, validation_run)`` of an lr_timeline run.

    The callbacks write to ``<log_dir>/lr_timeline`` and Keras' TensorBoard
    callback with the same log_dir to ``<log_dir>/train`` and
    ``<log_dir>/validation``; ``name`` is that log_dir as a run name ("." for
    TensorBoard's logdir itself). A companion is None unless it has scalars.
    """
    parent, _, leaf = run.rpartition("/")
    if leaf != metadata.RUN_SUBDIR:
        return run, None, None
    companions = []
    for subdir in (TRAIN_SUBDIR, VALIDATION_SUBDIR):
        companion = f"{parent}/{subdir}" if parent else subdir
        companions.append(companion if companion in scalar_runs else None)
    return (parent or "."), companions[0], companions[1]


def static_file_path(relative):
    """Absolute path of a file under STATIC_DIR, or None if absent or outside it."""
    if not relative:
        return None
    root = os.path.realpath(STATIC_DIR)
    try:
        path = os.path.realpath(os.path.join(root, relative))
        inside = os.path.commonpath([root, path]) == root
        return path if inside and path != root and os.path.isfile(path) else None
    except (ValueError, OSError):  # NUL bytes, mixed drives, unreadable paths
        return None


def _content_type(path):
    extension = os.path.splitext(path)[1].lower()
    return _CONTENT_TYPES.get(extension, "application/octet-stream")


def _error(request, code, message):
    return http_util.Respond(request, {"error": message}, _JSON, code=code)


def _parse_downsample(value):
    """``(max_points, None)``, or ``(None, message)`` when the value is bad."""
    if value is None:
        return DEFAULT_DOWNSAMPLE, None
    if _DOWNSAMPLE_PATTERN.fullmatch(value):
        number = int(value)
        if MIN_DOWNSAMPLE <= number <= MAX_DOWNSAMPLE:
            return number, None
    shown = value if len(value) <= 40 else value[:40] + "..."
    return None, (
        f"Query parameter 'downsample' must be a whole number from {MIN_DOWNSAMPLE} "
        f"to {MAX_DOWNSAMPLE} (points per learning-rate series). Received: {shown!r}. "
        f"Leave it out for {DEFAULT_DOWNSAMPLE}."
    )


def _some(names, limit=20):
    shown = ", ".join(repr(name) for name in names[:limit]) or "none"
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _optimizers(tags):
    names = set()
    for tag in tags:
        for prefix in (metadata.LEARNING_RATE_PREFIX, metadata.PLANNED_PREFIX):
            if tag.startswith(prefix):
                names.add(tag[len(prefix) :])
    return sorted(names)


def _batch_step_offset(epochs, batch_series):
    """Optimizer step of Keras' batch 1, or None when the mapping cannot be trusted.

    Keras counts ``batch_*`` steps from 1 per ``fit()`` call, one per callback
    call, while optimizer steps count updates. They line up (batch b is step
    first_step + b - 1) with steps_per_execution=1 and a single fit() call;
    then the epoch records are contiguous and the last logged batch lies
    within one logging interval of the last optimizer step.
    """
    if not epochs or not batch_series:
        return None
    spans = [
        (_int_or_none(r.get("first_step")), _int_or_none(r.get("last_step"))) for r in epochs
    ]
    if any(first is None or last is None or last < first for first, last in spans):
        return None
    for (_, previous_last), (first, _) in zip(spans, spans[1:]):
        if first != previous_last + 1:
            return None
    total = spans[-1][1] - spans[0][0] + 1
    for data in batch_series.values():
        steps = [datum.step for datum in data]
        interval = min((b - a for a, b in zip(steps, steps[1:])), default=1)
        if not total - max(interval, 1) < steps[-1] <= total:
            return None
    return spans[0][0]


def _int_or_none(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _point_order(point):
    epoch, step, _ = point
    return (epoch is None, epoch or 0, step is None, step or 0)
