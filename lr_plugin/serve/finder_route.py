"""The ``/finder`` route of the LR Timeline plugin: a run's LR range tests.

``GET /data/plugin/lr_timeline/finder?run=RUN`` answers the finder view of
``lr_plugin.model.finder`` (``{"version", "run", "sweeps": [...]}``); a run
without sweeps has an empty list. Reads only through the data provider.
"""

from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from werkzeug import wrappers

from lr_plugin.format import metadata
from lr_plugin.model import finder
from lr_plugin.model import timeline
from lr_plugin.serve import build_worker

_JSON = "application/json"


def finder_app(data_provider, written_tags):
    """The WSGI app of ``/finder`` (LR range tests) for a plugin's data provider.

    ``written_tags``: the plugin's ``bundles.WrittenTags``.
    """

    @wrappers.Request.application
    def serve_finder(request):
        run = request.args.get("run")
        if not run:
            return http_util.Respond(request, {"error": (
                "Missing query parameter 'run'. Pass one of the names that "
                "/data/plugin/lr_timeline/runs lists, e.g. ?run=my_log_dir/lr_timeline.")},
                _JSON, code=400)
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        payloads = _read(data_provider, written_tags, ctx, experiment, run)
        built = timeline.build_run(payloads, run=run)
        body = finder.build_finder(built[metadata.LR_FINDER_TAG], built["learning_rate"])
        body["run"] = run
        return http_util.Respond(request, body, _JSON)

    return serve_finder


def _read(data_provider, written_tags, ctx, experiment, run):
    """``{tag: [payload, ...]}`` of the run's lr_finder and learning-rate tags, and its bundles
    when they hold sweeps; nothing when the run has no sweep."""
    if data_provider is None:
        return {}
    listing = data_provider.list_tensors(
        ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
        run_tag_filter=provider.RunTagFilter(runs=[run]))
    readable = {tag: series for tag, series in listing.get(run, {}).items()
                if metadata.kind_of_tag(tag) is not None
                and metadata.is_readable(series.plugin_content)}
    in_bundles = written_tags.of(data_provider, ctx, experiment, {run: readable}).get(run, set())
    if metadata.LR_FINDER_TAG not in set(readable) | in_bundles:
        return {}
    tags = sorted(
        tag for tag in readable
        if tag in (metadata.LR_FINDER_TAG, metadata.BUNDLE_TAG)
        or tag.startswith(metadata.LEARNING_RATE_PREFIX)
    )
    return build_worker.read_tensors(data_provider, ctx, experiment, run, tags)
