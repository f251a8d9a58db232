"""The modules that claim not to need TensorFlow (or Keras) run with both unimportable."""

import subprocess
import sys
import textwrap

BLOCK = "import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"


def run_without_tensorflow(code):
    result = subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_entry_point_and_plugin_import_without_tensorflow():
    out = run_without_tensorflow("""
        import importlib.metadata as md
        (entry,) = [e for e in md.entry_points(group="tensorboard_plugins") if e.name == "lr_timeline"]
        loader = entry.load()
        import lr_plugin.serve.tb_plugin, lr_plugin.format.metadata, lr_plugin.model.downsample
        print(loader.__name__)
    """)
    assert out.strip() == "LrTimelineLoader"


def test_writer_reader_and_export_run_without_tensorflow(tmp_path):
    out = run_without_tensorflow(f"""
        from lr_plugin.format import writer
        from lr_plugin.tools import cli
        w = writer.open_run_writer({str(tmp_path / 'run' / 'lr_timeline')!r})
        w.add_rates("SGD", range(100), [0.1] * 100)
        w.add_record("events", {{"kind": "reduce", "epoch": 0, "step": 99}})
        w.close()
        code = cli.main(["export", {str(tmp_path)!r}, "--format", "csv", "-o", {str(tmp_path / 'o.csv')!r}])
        print(code)
    """)
    assert out.strip() == "0"
    assert len((tmp_path / "o.csv").read_text().splitlines()) == 101


def test_importing_the_package_loads_neither_tensorflow_nor_keras():
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys, lr_plugin, lr_plugin.serve.tb_loader, lr_plugin.format.writer, lr_plugin.format.reader;"
         "print('tensorflow' in sys.modules, 'keras' in sys.modules)"],
        capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "False"], result.stderr
