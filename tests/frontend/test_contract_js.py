"""frontend/src/api/contract.js is what lr_plugin/format/contract_js.py generates from metadata.py.

The frontend spells no record kind, plateau action or tag of its own: it imports
them from that generated module. These tests fail when metadata.py changed and
the module was not regenerated, and say the command that regenerates it.
"""

import subprocess
import sys

from lr_plugin.format import contract_js
from lr_plugin.format import metadata


def test_committed_contract_js_is_the_generated_one():
    committed = contract_js.OUTPUT.read_text(encoding="utf-8")
    assert committed == contract_js.render(), (
        f"{contract_js.OUTPUT} is stale: metadata.py changed since it was generated. "
        f"Run `{contract_js.COMMAND}` and commit the result (then rebuild the bundle: "
        "cd frontend && npm run build)."
    )


def test_contract_js_spells_every_plateau_action_and_event_kind_of_metadata():
    text = contract_js.render()
    for value in metadata.PLATEAU_ACTIONS + metadata.EVENT_KINDS:
        assert f'  {value.upper()}: "{value}",' in text
    assert f'export const PLUGIN_NAME = "{metadata.PLUGIN_NAME}";' in text
    assert f"export const PAYLOAD_VERSION = {metadata.PAYLOAD_VERSION};" in text
    assert text.startswith("// Generated from lr_plugin/format/metadata.py: do not edit.\n")


def test_the_command_prints_the_module():
    result = subprocess.run(
        [sys.executable, "-m", "lr_plugin.format.contract_js", "--stdout"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert result.stdout == contract_js.render()
