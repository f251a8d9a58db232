"""One validation layer: a payload or record that does not match the contract is
skipped with one warning naming run, tag, step and what was wrong; the rest is read."""

import json
import math

import numpy as np
import pytest
from tensorboard.compat.proto import tensor_pb2
from tensorboard.compat.proto import tensor_shape_pb2

from lr_plugin.format import metadata
from lr_plugin.format import reader
from lr_plugin.format import schema
from lr_plugin.format import writer as writer_lib
from lr_plugin.model import timeline


def tensor(dtype, shape, content=b"", **values):
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_content=content, tensor_shape=(
        tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in shape])))
    for field, items in values.items():
        getattr(proto, field).extend(items)
    return proto


@pytest.mark.parametrize("proto, message", [
    (tensor(3, [1, 2], np.zeros(2, "<i4").tobytes()), "dtype is 3"),
    (tensor(999, [1, 2]), "dtype is 999"),
    (tensor(2, [-3, 2], np.zeros(2).tobytes()), "negative dimension"),
    (tensor(2, [5, 2], np.zeros(2).tobytes()), r"needs 80 bytes; it holds 16"),
    (tensor(2, [10**12, 2]), r"needs 2000000000000 values; it holds 0"),
    (tensor(2, [10**12, 2], double_val=[0.5]), r"needs 2000000000000 values; it holds 1"),
    (tensor(7, [2], string_val=[b"[]"]), r"needs 2 strings; it holds 1"),
])
def test_a_tensor_that_does_not_fit_its_shape_is_refused_without_allocating(proto, message):
    with pytest.raises(schema.PayloadError, match=message):
        schema.decode_tensor(proto)


def test_tensors_decode_as_tensorboard_writes_them():
    from tensorboard.util import tensor_util

    rates = metadata.encode_rates([0, 1, 2], [0.1, float("nan"), 0.3])
    steps, values = schema.check_rates(schema.decode_tensor(tensor_util.make_tensor_proto(rates)))
    assert steps.tolist() == [0, 1, 2] and np.isnan(values[1])
    text = np.array(metadata.encode_records([{"epoch": 0}]), dtype=object)
    assert schema.load_records(schema.decode_tensor(tensor_util.make_tensor_proto(text))) == [
        {"epoch": 0}]


@pytest.mark.parametrize("array, message", [
    (np.zeros((2, 3)), r"shape \[n, 2\]"),
    (np.zeros(2), r"shape \[n, 2\]"),
    (np.array([[np.nan, 0.1]]), "whole numbers"),
    (np.array([[-1.0, 0.1]]), "whole numbers"),
    (np.array([[1.5, 0.1]]), "whole numbers"),
    (np.array([[2.0**60, 0.1]]), "whole numbers"),
    (np.array([[1, 2]], dtype=np.int32), r"or float \(version 1\) array"),
    (np.array(b"[]", dtype=object), r"or float \(version 1\) array"),
])
def test_rates_payloads_are_checked(array, message):
    with pytest.raises(schema.PayloadError, match=message):
        schema.check_rates(array)


@pytest.mark.parametrize("payload, message", [
    (b"{not json", "not JSON"),
    (b"\xff[", "not UTF-8"),
    (b'{"epoch": 1}', "must be a JSON list; received a dict"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (np.zeros((1, 2)), "must be one string"),
    (np.array([b"[]", b"[]"], dtype=object), "must be one string"),
    (3.5, "must be a JSON string"),
])
def test_records_payloads_are_checked(payload, message):
    with pytest.raises(schema.PayloadError, match=message):
        schema.load_records(payload)


@pytest.mark.parametrize("tag, record, message", [
    ("epochs", {"epoch": "warmup"}, "'epoch' must be a whole number; received 'warmup' (str)"),
    ("epochs", {"epoch": [1, 2]}, "'epoch' must be a whole number"),
    ("epochs", {"epoch": True}, "'epoch' must be a whole number"),
    ("epochs", {"epoch": -1}, "'epoch' must be >= 0"),
    ("epochs", {"epoch": 1, "metrics": {"loss": "low"}}, "'metrics' must be an object of numbers"),
    ("epochs", {"first_step": 0}, "'epoch' is missing"),
    ("epochs", {"epoch": 1, "extra": [[[[[[[[[[1]]]]]]]]]]}, "nested deeper than 8"),
    ("plateau", {"epoch": 1, "action": "panic"}, "'action' must be one of 'improved'"),
    ("plateau", {"epoch": 1, "action": "wait", "step": 2**53}, "'step' must be below 2**53"),
    ("events", {"kind": "reduce", "epoch": 1, "step": "5"}, "'step' must be a whole number"),
    ("events", {"kind": "reduce", "epoch": 1, "step": 5.5}, "'step' must be a whole number"),
    ("events", {"epoch": 1, "step": 5}, "'kind' is missing"),
    ("events", "reduce", "must be a JSON object; received 'reduce' (str)"),
    ("sessions", {"session": "a", "state": "begin", "start_step": 0}, "needs 'start_time'"),
    ("sessions", {"session": 1.5, "state": "end"}, "'session' must be a session id"),
    ("sessions", {"session": "a", "state": "paused"}, "'state' must be one of 'begin', 'end'"),
])
def test_records_that_break_the_schema_are_named(tag, record, message):
    problem = schema.check_record(tag, record)
    assert problem is not None and message in problem, problem


def test_records_the_callbacks_write_match_the_schema():
    assert schema.check_record("plateau", {
        "epoch": 0, "step": 9, "monitor": "val_loss", "mode": "min", "value": float("nan"),
        "best": None, "best_before": None, "threshold": None, "min_delta": 0.0, "wait": 0,
        "wait_before": 0, "patience": 2, "cooldown": 0, "cooldown_counter": 0, "factor": 0.5,
        "min_lr": 0.0, "action": "improved", "lr_before": 0.1, "lr_after": 0.1}) is None
    assert schema.check_record("events", {
        "kind": "cooldown_start", "epoch": 3, "step": 39, "cooldown": 2, "blocked_epochs": 1,
        "until_epoch": 4}) is None
    assert schema.check_record("epochs", {
        "epoch": 0, "first_step": 0, "last_step": 9, "learning_rate": None,
        "learning_rates": {}, "metrics": {"loss": float("inf")}, "start_time": 1.0,
        "end_time": 2.0, "session": "x"}) is None


def write_run(run_dir, bad_records):
    w = writer_lib.open_run_writer(run_dir)
    w.add_rates("SGD", range(10), [0.1] * 10)
    w.add_record("epochs", {"epoch": 1, "first_step": 0, "last_step": 9})
    for record in bad_records:  # the writer refuses them; its test seam writes them
        w._add_unchecked("epochs", record)
    w.add_record("events", {"kind": "reduce", "epoch": 1, "step": 9})
    w._add_unchecked("events", {"kind": "reduce", "epoch": 1, "step": "9"})
    w.flush(step=9)
    w.close()


def test_a_bad_record_beside_good_ones_is_skipped_with_one_warning_per_payload(tmp_path):
    write_run(tmp_path / "exp" / "lr_timeline", [{"epoch": "warmup"}, {"epoch": [1]}])
    with pytest.warns(schema.InvalidPayloadWarning) as caught:
        run = reader.read_timelines(str(tmp_path))["exp/lr_timeline"]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].startswith(
        "lr_timeline skipped data that does not match its format (run 'exp/lr_timeline', "
        "tag 'epochs', step 9): skipped 2 of 3 records; record 1: field 'epoch' must be")
    assert "tag 'events', step 9): skipped 1 of 2 records; record 1: field 'step'" in messages[1]
    assert [e["epoch"] for e in run["epochs"]] == [1]
    assert [e["step"] for e in run["events"]] == [9]
    assert run["learning_rate"]["SGD"][0].tolist() == list(range(10))


def test_a_newer_payload_version_is_skipped_with_one_warning_per_tag(tmp_path):
    import tb_helpers

    tb_helpers.write_future_version_run(tmp_path / "new")
    tb_helpers.write_future_version_run(tmp_path / "new")
    write_run(tmp_path / "old", [])
    with pytest.warns(schema.InvalidPayloadWarning, match="a newer lr_plugin wrote it") as caught:
        runs = reader.read_timelines(str(tmp_path))
    assert list(runs) == ["old"]
    assert len([w for w in caught if "newer" in str(w.message)]) == 1


def test_the_plugin_serves_the_rest_of_a_run_with_a_bad_record(tmp_path):
    import tb_helpers

    write_run(tmp_path / "exp" / "lr_timeline", [{"epoch": "warmup"}])
    with pytest.warns(schema.InvalidPayloadWarning):
        response = tb_helpers.make_client(tmp_path).get(
            "/data/plugin/lr_timeline/timeline?run=exp/lr_timeline")
    assert response.status_code == 200
    assert [e["epoch"] for e in response.json["epochs"]] == [1]
    assert response.json["points"] == {"SGD": 10}


def test_records_with_nan_keep_it_through_the_check():
    records, problems = schema.check_records("epochs", np.array(
        metadata.encode_records([{"epoch": 0, "metrics": {"loss": float("nan")}}]), dtype=object))
    assert problems == [] and math.isnan(records[0]["metrics"]["loss"])
    assert json.dumps(timeline.clean(records)) == '[{"epoch": 0, "metrics": {"loss": "NaN"}}]'
