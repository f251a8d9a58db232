"""The columnar /timeline answer: same data as JSON, in the documented layout, decoded by the frontend."""

import json
import shutil
import struct
import subprocess

import numpy as np
import pytest

import tb_helpers
from lr_plugin.model import summary
from lr_plugin.model import timeline
from lr_plugin.serve import columnar

PLUGIN = "/data/plugin/lr_timeline"
N = 30_000


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("logdir")
    steps = np.arange(N)
    # float32 actual rates (as Keras applies them) with a NaN; a float64 planned rate.
    actual = (0.1 * 0.5 ** (steps // 10_000)).astype(np.float32).astype(np.float64)
    actual[12_345] = np.nan
    planned = 0.1 * np.cos(steps / N) + 1e-9
    run_writer = tb_helpers.writer.open_run_writer(root / "exp" / "lr_timeline")
    for chunk in np.array_split(steps, 30):
        run_writer.add_rates("SGD", chunk, actual[chunk])
        run_writer.add_rates("SGD", chunk, planned[chunk], planned=True)
        run_writer.add_record("epochs", {"epoch": int(chunk[0] // 1000), "first_step": int(chunk[0]),
                                         "last_step": int(chunk[-1]), "metrics": {"loss": 1.0}})
        run_writer.flush(step=int(chunk[-1]))
    run_writer.close()
    return tb_helpers.make_client(root)


def get(client, headers=None, **query):
    response = client.get(PLUGIN + "/timeline", query_string=dict(run="exp/lr_timeline", **query),
                          headers=headers or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def raw_header(body):
    """The JSON header of a columnar body, as sent."""
    magic, version, header_length, reserved = struct.unpack_from("<4sIII", body)
    assert (magic, version, reserved) == (b"LRTC", columnar.FORMAT_VERSION, 0)
    return json.loads(body[16:16 + header_length])


def decode(body):
    """Reads the layout of docs/HTTP_API.md: preamble, JSON header, columns.

    Metrics come back as the JSON answer writes them: ``[epoch, step, value]``
    points, null for NaN epochs and steps, "NaN" strings for values.
    """
    header = raw_header(body)
    header_length = struct.unpack_from("<I", body, 8)[0]

    def array(column, part):
        spec = column[part]
        assert spec["offset"] % 8 == 0 and spec["offset"] >= 16 + header_length
        dtype = {"float64": "<f8", "float32": "<f4"}[spec["type"]]
        return np.frombuffer(body, dtype, column["length"], spec["offset"])

    series = {}
    for column in header.pop("columns"):
        arrays = [array(column, "steps"), array(column, "rates")]
        series.setdefault(column["series"], {})[column["optimizer"]] = (arrays, column["rates"]["type"])
    assert "metrics" not in header
    header["metrics"] = {}
    for column in header.pop("metric_columns"):
        assert column["epochs"]["type"] == column["steps"]["type"] == "float64"
        epochs, steps, values = (array(column, part).tolist() for part in ("epochs", "steps", "values"))
        header["metrics"][column["metric"]] = [
            [None if np.isnan(e) else int(e), None if np.isnan(s) else int(s), timeline.json_number(v)]
            for e, s, v in zip(epochs, steps, values)
        ]
    return header, series


@pytest.mark.parametrize("query", [{}, {"start": "12000", "end": "12999"}, {"since": "29000"},
                                   {"downsample": "7"}])
def test_columnar_and_json_answers_hold_the_same_timeline(client, query):
    as_json = json.loads(get(client, **query).get_data(as_text=True))
    response = get(client, headers={"Accept": columnar.CONTENT_TYPE}, **query)
    assert response.headers["Content-Type"] == columnar.CONTENT_TYPE
    header, series = decode(response.get_data())
    for key in ("learning_rate", "planned"):
        expected = as_json.pop(key)["SGD"]
        (steps, rates), rate_type = series[key]["SGD"]
        assert rate_type == ("float32" if key == "learning_rate" else "float64")
        assert steps.tolist() == [s for s, _ in expected]
        # JSON writes a float32 rate as its shortest text (0.1): equal as float32.
        dtype = np.float32 if rate_type == "float32" else np.float64
        np.testing.assert_array_equal(np.asarray(rates, dtype),
                                      np.asarray([float(r) for _, r in expected], dtype))
    assert header == as_json


def metric_view(metrics):
    """A TimelineView holding only ``metrics`` ({name: [[epoch, step, value], ...]}), as the plugin encodes them."""
    view = summary.TimelineView(last_step=None)
    view.metrics = {name: [json.dumps(timeline.clean(p), separators=(",", ":"), allow_nan=False)
                           for p in points] for name, points in metrics.items()}
    return view


def test_metrics_travel_as_columns_with_nan_infinities_and_empty_series():
    metrics = {
        "batch_loss": [[None, 0, 0.5], [None, 1, float("nan")], [None, None, 0.25], [None, 3, float("inf")]],
        "loss": [[0, 999, 0.1], [1, 1999, float("-inf")]],  # 0.1 is no float32: float64
        "val_loss": [],
    }
    header, _ = decode(columnar.columnar_body({"run": "r"}, metric_view(metrics)))
    assert header["metrics"] == {name: [timeline.clean(p) for p in points] for name, points in metrics.items()}
    assert list(header["metrics"]) == ["batch_loss", "loss", "val_loss"]
    raw = raw_header(columnar.columnar_body({"run": "r"}, metric_view(metrics)))
    assert [(c["metric"], c["length"], c["values"]["type"]) for c in raw["metric_columns"]] == [
        ("batch_loss", 4, "float32"), ("loss", 2, "float64"), ("val_loss", 0, "float32")]


def test_metric_values_are_exact_whatever_their_width():
    values = [0.1, 1 / 3, 1e-300, 2.0 ** -149, 123456789.125]
    header, _ = decode(columnar.columnar_body(
        {"run": "r"}, metric_view({"m": [[None, i, v] for i, v in enumerate(values)]})))
    assert [v for _, _, v in header["metrics"]["m"]] == values


def test_a_metric_field_that_is_not_a_number_travels_as_nan():
    view = metric_view({"m": [[None, 1, 0.5], [None, 2, 0.25]]})
    view.metrics["m"].append('[true,3,"high"]')
    header, _ = decode(columnar.columnar_body({"run": "r"}, view))
    assert header["metrics"]["m"] == [[None, 1, 0.5], [None, 2, 0.25], [None, 3, "NaN"]]


def test_json_answer_keeps_metrics_as_points():
    body = json.loads(columnar.json_body({"run": "r"}, metric_view({"loss": [[0, 9, float("nan")]]})))
    assert body["metrics"] == {"loss": [[0, 9, "NaN"]]}


def test_format_parameter_chooses_the_encoding(client):
    assert get(client, format="columnar").get_data()[:4] == b"LRTC"
    forced = get(client, headers={"Accept": columnar.CONTENT_TYPE}, format="json")
    assert forced.headers["Content-Type"].startswith("application/json")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_frontend_decoder_reads_the_plugin_answer(client, tmp_path):
    body = get(client, format="columnar", start="12900", end="13100").get_data()
    path = tmp_path / "timeline.bin"
    path.write_bytes(body)
    script = (
        "import { readFileSync } from 'node:fs';"
        f"import {{ decodeColumnar }} from '{tb_helpers.REPO_ROOT}/frontend/src/api/columnar.js';"
        f"const bytes = readFileSync('{path}');"
        "const t = decodeColumnar(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));"
        "const s = t.learning_rate.SGD;"
        "const m = t.metrics.loss;"
        "console.log(JSON.stringify({run: t.run, epochs: t.epochs.length, type: s.rates.constructor.name,"
        " loss: [Array.from(m.epochs), Array.from(m.steps), Array.from(m.values)],"
        " steps: Array.from(s.steps), rates: Array.from(s.rates, r => Number.isNaN(r) ? 'NaN' : r)}));"
    )
    result = subprocess.run(["node", "--input-type=module", "-e", script],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    decoded = json.loads(result.stdout)
    expected = json.loads(get(client, start="12900", end="13100").get_data(as_text=True))
    assert decoded["run"] == "exp/lr_timeline" and decoded["type"] == "Float32Array"
    assert decoded["epochs"] == len(expected["epochs"])
    assert expected["metrics"]["loss"] == [[12, 12999, 1.0]]
    assert decoded["loss"] == [[12], [12999], [1.0]]
    assert decoded["steps"] == [s for s, _ in expected["learning_rate"]["SGD"]]
    np.testing.assert_array_equal(
        np.asarray([float(r) for r in decoded["rates"]], np.float32),
        np.asarray([float(r) for _, r in expected["learning_rate"]["SGD"]], np.float32))
