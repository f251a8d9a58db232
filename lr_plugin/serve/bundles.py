"""What a run holds, from its last bundle alone (see "Bundles" in ``lr_plugin.format.metadata``).

Runs written with bundles have one tag, ``bundles``; the ``/runs`` listing
(optimizers, plateau decisions, a planned series) and the ``/finder`` route
(does the run have LR range tests?) need the tags inside. Every bundle lists
every tag its writer wrote, so reading the run's last point answers it: one
point per run, read again only when the run's listing changes.
"""

import threading

from tensorboard.data import provider

from lr_plugin.format import metadata
from lr_plugin.format import schema
from lr_plugin.serve import cache


class WrittenTags:
    """``{run: set of tags}`` written inside each run's bundles, from its last bundle."""

    def __init__(self):
        self._known = {}  # (experiment, run) -> (cache.fingerprint of its bundles, tags)
        self._lock = threading.Lock()

    def of(self, data_provider, ctx, experiment, listing):
        """The tags in the bundles of each run of ``listing`` (``{run: {tag: TensorTimeSeries}}``).

        Runs without bundles map to an empty set. A last bundle that cannot be
        read gives an empty set, with one warning (and is tried again next time).
        """
        result, stale = {}, {}
        with self._lock:
            for run, series_by_tag in listing.items():
                series = series_by_tag.get(metadata.BUNDLE_TAG)
                if series is None:
                    result[run] = set()
                    continue
                fingerprint = cache.fingerprint({metadata.BUNDLE_TAG: series})
                known = self._known.get((experiment, run))
                if known is not None and known[0] == fingerprint:
                    result[run] = known[1]
                else:
                    stale[run] = fingerprint
        if stale:
            try:
                # downsample=1: both loaders always keep a series' last point.
                read = data_provider.read_tensors(
                    ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
                    downsample=1, run_tag_filter=provider.RunTagFilter(
                        runs=sorted(stale), tags=[metadata.BUNDLE_TAG]))
            except Exception as error:  # the listing is still served, without these tags
                for run in stale:
                    schema.warn_skipped(run, metadata.BUNDLE_TAG, None, "TensorBoard could not "
                                        f"read its last point ({type(error).__name__}: {error})"[:300])
                    result[run] = set()
                return result
            for run, fingerprint in stale.items():
                data = read.get(run, {}).get(metadata.BUNDLE_TAG, [])
                tags = _tags_of(run, data[-1]) if data else set()
                result[run] = tags
                with self._lock:
                    self._known[(experiment, run)] = (fingerprint, tags)
        return result


def _tags_of(run, datum):
    try:
        return set(metadata.bundle_tags(datum.numpy))
    except ValueError as error:
        schema.warn_skipped(run, metadata.BUNDLE_TAG, datum.step, str(error))
        return set()
