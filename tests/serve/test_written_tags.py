"""/runs learns a bundled run's tags from its last point (serve/bundles.WrittenTags)."""

import numpy as np
import pytest
from tensorboard.data import provider

from lr_plugin.format import metadata
from lr_plugin.format import schema
from lr_plugin.serve import bundles


def series(max_step):
    return provider.TensorTimeSeries(max_step=max_step, max_wall_time=1.0, plugin_content=b"",
                                     description="", display_name="")


class LastPoints:
    """A data provider holding one last bundle per run; counts its reads."""

    def __init__(self, last_bundles, error=None):
        self.last_bundles, self.error, self.reads = last_bundles, error, []

    def read_tensors(self, ctx, experiment_id, plugin_name, downsample, run_tag_filter):
        assert downsample == 1 and run_tag_filter.tags == frozenset([metadata.BUNDLE_TAG])
        self.reads.append(sorted(run_tag_filter.runs))
        if self.error:
            raise self.error
        return {run: {metadata.BUNDLE_TAG: [provider.TensorDatum(
            step=9, wall_time=1.0, numpy=bundle)]} for run, bundle in self.last_bundles.items()
            if run in run_tag_filter.runs}


def bundle(tags):
    return metadata.encode_bundle([], [("sessions", [{"session": "s", "state": "end",
                                                       "end_step": 9, "end_time": 1.0}])], tags)


def test_tags_come_from_the_last_bundle_and_are_read_again_only_when_the_run_changes():
    data = LastPoints({"a": bundle({"learning_rate/SGD", "plateau", "sessions"}),
                       "b": bundle({"planned/Adam", "learning_rate/Adam", "sessions"})})
    written = bundles.WrittenTags()
    listing = {"a": {"bundles": series(9)}, "b": {"bundles": series(9)}, "old": {"epochs": series(9)}}
    first = written.of(data, None, "", listing)
    assert first == {"a": {"learning_rate/SGD", "plateau", "sessions"},
                     "b": {"planned/Adam", "learning_rate/Adam", "sessions"}, "old": set()}
    assert written.of(data, None, "", listing) == first
    listing["b"] = {"bundles": series(19)}  # new data in b only
    written.of(data, None, "", listing)
    assert data.reads == [["a", "b"], ["b"]]


def test_a_read_that_fails_or_a_damaged_bundle_gives_no_tags_and_one_warning():
    listing = {"a": {"bundles": series(9)}}
    failing = LastPoints({}, error=RuntimeError("data server gone"))
    with pytest.warns(schema.InvalidPayloadWarning, match="could not read its last point "
                                                          r"\(RuntimeError: data server gone\)"):
        assert bundles.WrittenTags().of(failing, None, "", listing) == {"a": set()}
    damaged = LastPoints({"a": np.frombuffer(b"LRTB\x07" + bytes(7), np.uint8)})
    with pytest.warns(schema.InvalidPayloadWarning, match="layout version 7"):
        assert bundles.WrittenTags().of(damaged, None, "", listing) == {"a": set()}
