"""Builds in a child process (serve/build_worker): what decides it, what comes back, what if it fails.

The end-to-end case, a real TensorBoard on the fast loader building every run in
a child, is in test_tensorboard_process.py.
"""

import logging
import pickle
import threading

import numpy as np
from tensorboard.data import provider

import tb_helpers
from lr_plugin.model import summary
from lr_plugin.serve import build_worker


def plateau_run_summary(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    tb_helpers.write_lr_run(
        run_dir, "SGD", 12, 25, lambda e: 0.1 * 0.5 ** (e // 4),
        metrics_of_epoch=lambda e: {"loss": 1.0 / (e + 1)},
        plateau_of_epoch=lambda e: {"action": "reduce" if e % 4 == 3 else "wait"},
        events_of_epoch=lambda e: [{"kind": "reduce"}] if e % 4 == 3 else [])
    from lr_plugin.format import reader

    return summary.RunSummary(reader.read_timelines(str(tmp_path))["exp/lr_timeline"])


def test_a_pickled_summary_answers_as_the_one_built(tmp_path):
    built = plateau_run_summary(tmp_path)
    built.answer("key", lambda: b"encoded")
    copy = pickle.loads(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
    for window in [(2000, None, None, None), (50, 40, 160, None), (2000, None, None, 200)]:
        ours, theirs = built.view(*window), copy.view(*window)
        assert ours.totals == theirs.totals and ours.record_counts == theirs.record_counts
        for key in ("learning_rate", "planned"):
            for name, (steps, rates, dtype) in ours.series[key].items():
                np.testing.assert_array_equal(steps, theirs.series[key][name][0])
                np.testing.assert_array_equal(rates, theirs.series[key][name][1])
                assert dtype == theirs.series[key][name][2]
    assert copy.plateau == built.plateau and copy.epochs == built.epochs
    # Not the answers encoded for requests; a lock of its own.
    assert copy.answer("key", lambda: b"again") == b"again"
    assert isinstance(copy._answers_lock, type(threading.Lock()))


class GrpcLikeProvider:
    """What worker_request looks at: a GrpcDataProvider's address."""

    _addr = "localhost:1"


def listing(max_step):
    return {"bundles": provider.TensorTimeSeries(
        max_step=max_step, max_wall_time=1.0, plugin_content=b"", description="",
        display_name="")}


def test_long_runs_on_the_fast_loader_go_to_a_child(monkeypatch):
    monkeypatch.delenv("LR_TIMELINE_WORKER_FROM_STEPS", raising=False)
    long_run = listing(build_worker.WORKER_FROM_STEPS)
    request = build_worker.worker_request(GrpcLikeProvider(), None, long_run, "exp1", "a/b")
    assert request == {"address": "localhost:1", "experiment": "exp1", "run": "a/b",
                       "tags": ["bundles"], "creds": "local"}
    short_run = listing(build_worker.WORKER_FROM_STEPS - 1)
    assert build_worker.worker_request(GrpcLikeProvider(), None, short_run, "", "a/b") is None
    # The Python loader's data lives in TensorBoard's process: no address, no child.
    assert build_worker.worker_request(object(), None, long_run, "", "a/b") is None
    monkeypatch.setenv("LR_TIMELINE_WORKER_FROM_STEPS", "-1")
    assert build_worker.worker_request(GrpcLikeProvider(), None, long_run, "", "a/b") is None
    monkeypatch.setenv("LR_TIMELINE_WORKER_FROM_STEPS", "0")
    assert build_worker.worker_request(GrpcLikeProvider(), None, listing(0), "", "a/b")


def test_a_bad_threshold_is_said_once_and_the_default_used(monkeypatch, caplog):
    monkeypatch.setenv("LR_TIMELINE_WORKER_FROM_STEPS", "lots")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            request = build_worker.worker_request(
                GrpcLikeProvider(), None, listing(build_worker.WORKER_FROM_STEPS), "", "a/b")
            assert request is not None
    assert caplog.text.count("LR_TIMELINE_WORKER_FROM_STEPS must be a whole number of steps") == 1
    assert "received 'lots'" in caplog.text


def test_a_child_that_fails_gives_the_build_back_to_the_process(caplog):
    # Nothing listens on port 1: the child cannot read, and exits with an error rather
    # than answer an empty run.
    request = {"address": "127.0.0.1:1", "experiment": "", "run": "exp/lr_timeline",
               "tags": ["bundles"], "creds": "local"}
    with caplog.at_level(logging.WARNING):
        assert build_worker.build_in_child(request, timeout=120) is None
    assert ("lr_timeline: building run 'exp/lr_timeline' in a child process failed "
            "(RuntimeError: exited with 1:") in caplog.text
    assert "building it in TensorBoard's process instead" in caplog.text


def test_summarize_empties_what_it_read(tmp_path):
    from lr_plugin.format import reader
    from lr_plugin.format import schema

    tb_helpers.write_lr_run(tmp_path / "r", "SGD", 2, 5, lambda e: 0.1)
    (path,) = reader.find_runs(str(tmp_path))["r"]
    payloads = {"bundles": [schema.decode_tensor(value.tensor)
                            for event in reader.read_event_file(path)
                            for value in event.summary.value]}
    run_summary = build_worker.summarize(payloads, "r")
    assert payloads == {}
    assert run_summary.series["learning_rate"]["SGD"].size == 10
    assert "findings" in run_summary.derived
