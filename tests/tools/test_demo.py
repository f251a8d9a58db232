"""`lr-plugin demo`: trains the demo's runs and serves TensorBoard with the LR Timeline tab."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from lr_plugin.format import reader
from lr_plugin.tools import lint


def lr_plugin_command(*args):
    return [sys.executable, "-c", "import sys; from lr_plugin.tools.cli import main; sys.exit(main())", *args]


@pytest.mark.slow
def test_demo_trains_every_kind_of_run_and_serves_the_tab(tmp_path):
    process = subprocess.Popen(
        lr_plugin_command("demo", "--logdir", str(tmp_path), "--port", "0", "--epochs", "12"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 300
        url = None
        while time.monotonic() < deadline and url is None:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            match = re.search(r"(http://127\.0\.0\.1:\d+/)#lr_timeline", line)
            url = match and match.group(1)
        assert url, "".join(output)[-3000:]
        text = "".join(output)
        assert "[4/4]" in text and "Trained 4 runs" in text  # progress was shown
        assert f"Writing the demo's runs to {tmp_path}" in text
        # Not a terminal: one line per epoch, no carriage returns.
        assert "\r" not in text and re.search(r"epoch +12/12", text)
        listing = json.load(urllib.request.urlopen(url + "data/plugins_listing", timeout=30))
        assert listing["lr_timeline"]["enabled"] is True
        assert listing["lr_timeline"]["tab_name"] == "LR Timeline"
        runs = json.load(urllib.request.urlopen(url + "data/plugin/lr_timeline/runs", timeout=30))
        assert sorted(r["run"] for r in runs["runs"]) == [
            "cosine_warmup/lr_timeline", "one_cycle_plateau/lr_timeline",
            "plateau/lr_timeline", "step_decay/lr_timeline"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    timelines = reader.read_timelines(str(tmp_path))
    plateau = timelines["plateau/lr_timeline"]
    assert len(plateau["plateau"]) == 12
    assert timelines["cosine_warmup/lr_timeline"]["planned"]["Adam"][0].size == 24 * 12
    assert timelines["one_cycle_plateau/lr_timeline"]["planned"]["Adam"][0].size == 24 * 12
    # lr_set only where the scheduler changed the rate.
    sets = timelines["step_decay/lr_timeline"]["events"]
    assert sets and {e["kind"] for e in sets} == {"lr_set"}
    assert all(e["lr"] != e["lr_before"] for e in sets)
    # The demo's runs are clean: lint finds no trap in any of them.
    assert lint.lint_logdir(str(tmp_path)) == {name: [] for name in timelines}
    for name in ("plateau", "cosine_warmup", "step_decay", "one_cycle_plateau"):
        assert {"lr_timeline", "train", "validation"} <= set(os.listdir(tmp_path / name))


def test_demo_rejects_bad_epochs():
    result = subprocess.run(lr_plugin_command("demo", "--epochs", "0", "--no-serve"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--epochs must be at least 1. Received --epochs=0" in result.stderr


def test_demo_checks_its_port_before_training():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(lr_plugin_command("demo", "--port", str(port)),
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Writing the demo's runs" not in result.stdout  # nothing was trained
