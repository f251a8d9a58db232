"""Training sessions: a rerun, a crash and a resume into one log_dir show what happened.

Runs are written with the writer API as the callbacks write sessions, then read
by export (event files) and by the plugin (TensorBoard's data provider); both
must give the same, newest-wins answer.
"""

import numpy as np
import pytest
from session_helpers import write_session

import tb_helpers
from lr_plugin.format import reader
from lr_plugin.model import sessions as sessions_lib
from lr_plugin.model import timeline

RUN = "exp/lr_timeline"


def exported(logdir):
    return timeline.to_json_run(reader.read_timelines(str(logdir))[RUN])


def served(logdir):
    response = tb_helpers.make_client(logdir).get(
        f"/data/plugin/lr_timeline/timeline?run={RUN}&downsample=1000000")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def both(logdir):
    """The export and the plugin's answer, after checking they agree."""
    export, body = exported(logdir), served(logdir)
    for key in ("learning_rate", "planned", "epochs", "plateau", "events", "sessions"):
        assert body[key] == export[key], key
    return export


def rates(run):
    return {step: rate for step, rate in run["learning_rate"]["SGD"]}


def test_a_rerun_from_step_0_replaces_the_earlier_training(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    write_session(run_dir, "first", 0, epochs=5, steps_per_epoch=10, rate=lambda s: 0.1,
                  reduce_at=(1, 3))
    second = write_session(run_dir, "second", 0, epochs=3, steps_per_epoch=10,
                           rate=lambda s: 0.05)
    run = both(tmp_path)
    assert rates(run) == second
    assert [(e["epoch"], e["session"]) for e in run["epochs"]] == [
        (0, "second"), (1, "second"), (2, "second")]
    assert [p["session"] for p in run["plateau"]] == ["second"] * 3
    assert run["events"] == []  # the first training's reductions are not this one's
    assert [(s["session"], s["start_step"], s["end_step"], s["superseded_from"])
            for s in run["sessions"]] == [("first", 0, 49, 0), ("second", 0, 29, None)]


def test_a_crash_then_a_resume_from_a_checkpoint_keeps_what_came_before_it(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    first = write_session(run_dir, "crashed", 0, epochs=5, steps_per_epoch=10,
                          rate=lambda s: 0.1, reduce_at=(1, 4), crashed=True)
    resumed = write_session(run_dir, "resumed", 30, epochs=3, steps_per_epoch=10,
                            first_epoch=3, rate=lambda s: 0.02, reduce_at=(4,))
    run = both(tmp_path)
    expected = {s: r for s, r in first.items() if s < 30}
    expected.update(resumed)
    assert rates(run) == expected
    assert [(e["epoch"], e["session"]) for e in run["epochs"]] == [
        (0, "crashed"), (1, "crashed"), (2, "crashed"),
        (3, "resumed"), (4, "resumed"), (5, "resumed")]
    assert [(e["epoch"], e["step"], e["session"]) for e in run["events"]] == [
        (1, 19, "crashed"), (4, 49, "resumed")]
    assert run["sessions"][0]["end_step"] is None  # it never ended
    assert run["sessions"][0]["superseded_from"] == 30


def test_an_epoch_that_straddles_the_new_start_is_dropped_with_its_session(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    write_session(run_dir, "a", 0, epochs=3, steps_per_epoch=10, rate=lambda s: 0.1)
    write_session(run_dir, "b", 25, epochs=1, steps_per_epoch=10, first_epoch=2,
                  rate=lambda s: 0.3)
    run = both(tmp_path)
    assert [(e["epoch"], e["first_step"], e["session"]) for e in run["epochs"]] == [
        (0, 0, "a"), (1, 10, "a"), (2, 25, "b")]
    assert [r for s, r in run["learning_rate"]["SGD"] if 20 <= s < 25] == [0.1] * 5
    assert [s for s, _ in run["learning_rate"]["SGD"]] == list(range(35))


def test_a_session_that_starts_after_the_last_step_extends_the_run(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    first = write_session(run_dir, "a", 0, epochs=2, steps_per_epoch=10, rate=lambda s: 0.1,
                          reduce_at=(1,))
    second = write_session(run_dir, "b", 20, epochs=2, steps_per_epoch=10, first_epoch=2,
                           rate=lambda s: 0.05, reduce_at=(3,))
    run = both(tmp_path)
    assert rates(run) == {**first, **second}
    assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2, 3]
    assert [e["step"] for e in run["events"]] == [19, 39]
    assert [s["superseded_from"] for s in run["sessions"]] == [None, None]


def test_a_second_fit_in_one_process_that_restarts_epochs_keeps_both_in_session_order(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    write_session(run_dir, "a", 0, epochs=2, steps_per_epoch=10, rate=lambda s: 0.1)
    write_session(run_dir, "b", 20, epochs=2, steps_per_epoch=10, rate=lambda s: 0.05)
    run = both(tmp_path)
    assert [(e["epoch"], e["first_step"]) for e in run["epochs"]] == [
        (0, 0), (1, 10), (0, 20), (1, 30)]


def test_the_later_session_wins_a_step_both_kept(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    write_session(run_dir, "a", 0, epochs=2, steps_per_epoch=10, rate=lambda s: 0.1,
                  planned_steps=range(40))
    write_session(run_dir, "b", 20, epochs=2, steps_per_epoch=10, rate=lambda s: 0.05,
                  planned_steps=range(40))
    run = both(tmp_path)
    assert run["planned"]["SGD"] == [[s, 0.05] for s in range(40)]


def test_data_without_session_marks_is_one_session(tmp_path):
    run_dir = tmp_path / "exp" / "lr_timeline"
    write_session(run_dir, None, 0, epochs=3, steps_per_epoch=10, rate=lambda s: 0.1,
                  with_session_ids=False)
    write_session(run_dir, None, 20, epochs=2, steps_per_epoch=10, first_epoch=2,
                  rate=lambda s: 0.2, with_session_ids=False)
    run = exported(tmp_path)
    assert rates(run) == {s: 0.1 if s < 20 else 0.2 for s in range(40)}
    assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2, 3]  # epoch 2: the last written
    assert run["epochs"][2]["first_step"] == 20
    assert run["sessions"] == []


def test_rate_chunks_belong_to_the_session_that_began_last_before_them():
    marks = [
        {"session": "b", "state": "begin", "start_step": 0, "start_time": 200.0},
        {"session": "a", "state": "begin", "start_step": 0, "start_time": 100.0},
        {"session": "a", "state": "end", "end_step": 9, "end_time": 150.0},
    ]
    resolved = sessions_lib.Sessions(marks)
    assert [resolved.rank_at(t) for t in (50.0, 100.0, 199.9, 200.0, 1e9)] == [-1, 0, 0, 1, 1]
    assert resolved.rank_of_record({"session": "b"}) == 1
    assert resolved.rank_of_record({"session": "lost"}) == sessions_lib.UNMARKED
    assert resolved.rank_of_record({}) == sessions_lib.UNMARKED
    assert [resolved.cutoff(r) for r in (-1, 0, 1)] == [0, 0, np.inf]
    assert [s["session"] for s in resolved.to_json()] == ["a", "b"]


def test_two_real_trainings_into_one_log_dir_show_only_the_second(tmp_path, weight_trace):
    import keras
    from conftest import linear_probe, probe_data

    from lr_plugin.callbacks import LearningRateMonitor

    x, y = probe_data(steps_per_epoch=6)
    first = linear_probe(0.1)
    first.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
              callbacks=[LearningRateMonitor(log_dir=tmp_path / "exp")])
    second = linear_probe(keras.optimizers.schedules.ExponentialDecay(0.05, 1, 0.9))
    second.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
               callbacks=[LearningRateMonitor(log_dir=tmp_path / "exp"), weight_trace.callback])
    run = exported(tmp_path)
    if not run["sessions"]:
        pytest.skip("The callbacks write no 'sessions' records on this branch yet "
                    "(the writer's session marks arrive with the writer branch).")
    steps = [s for s, _ in run["learning_rate"]["SGD"]]
    applied = np.array([r for _, r in run["learning_rate"]["SGD"]])
    assert steps == list(range(12))
    np.testing.assert_allclose(applied, weight_trace.applied_rates(), rtol=1e-6)
    assert [e["epoch"] for e in run["epochs"]] == [0, 1]
    assert len(run["sessions"]) == 2 and run["sessions"][0]["superseded_from"] == 0
