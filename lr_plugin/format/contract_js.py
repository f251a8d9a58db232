"""Writes the on-disk contract's constants as a JavaScript module for the frontend.

The frontend reads record kinds, plateau actions, tags and record fields that
``lr_plugin/format/metadata.py`` defines. Rather than spelling them again as
string literals, it imports them from ``frontend/src/api/contract.js``, which
this module generates from ``metadata``:

```
python -m lr_plugin.format.contract_js            # writes frontend/src/api/contract.js
python -m lr_plugin.format.contract_js --stdout   # prints it
```

The generated file is committed (the bundle builds without Python);
``tests/frontend/test_contract_js.py`` fails when it is stale.
"""

import argparse
import json
import pathlib
import sys

from lr_plugin.format import metadata

OUTPUT = pathlib.Path(__file__).resolve().parents[2] / "frontend" / "src" / "api" / "contract.js"
"""Where the generated module lives in a source checkout."""

COMMAND = "python -m lr_plugin.format.contract_js"
"""The command that regenerates OUTPUT; said in its header and in the staleness test."""

RECORD_FIELDS = {
    "RECORD_SESSION": metadata.SESSION_KEY,
    "RECORD_ACTION": "action",
    "RECORD_KIND": "kind",
    "RECORD_STEP": "step",
    "RECORD_EPOCH": "epoch",
    "RECORD_FIRST_STEP": "first_step",
    "RECORD_LAST_STEP": "last_step",
    "SESSION_START_STEP": "start_step",
    "SESSION_SUPERSEDED_FROM": "superseded_from",
}
"""Record fields the frontend reads to place and merge records (metadata's docstring names them)."""


def _identifier(value):
    return value.upper()


def _constant(name, value):
    return f"export const {name} = {json.dumps(value)};"


def _enum(name, values):
    """A frozen {IDENTIFIER: "value"} object and the frozen list of its values."""
    lines = [f"export const {name} = Object.freeze({{"]
    lines += [f"  {_identifier(value)}: {json.dumps(value)}," for value in values]
    lines.append("});")
    lines.append(f"export const {name}_LIST = Object.freeze({json.dumps(list(values))});")
    return lines


METADATA_CONSTANTS = (
    ("PLUGIN_NAME", "RUN_SUBDIR", "PAYLOAD_VERSION"),
    ("LEARNING_RATE_PREFIX", "PLANNED_PREFIX", "EPOCHS_TAG", "PLATEAU_TAG", "EVENTS_TAG",
     "SESSIONS_TAG", "SETUP_TAG", "LR_FINDER_TAG"),
    ("SESSION_BEGIN", "SESSION_END"),
)
"""Names of ``metadata`` written as they are, in groups (a blank line between)."""


def render():
    """The text of contract.js for the installed ``metadata``."""
    lines = [
        "// Generated from lr_plugin/format/metadata.py: do not edit.",
        f"// Regenerate with `{COMMAND}` (tests/frontend/test_contract_js.py checks it).",
    ]
    for group in METADATA_CONSTANTS:
        lines.append("")
        lines += [_constant(name, getattr(metadata, name)) for name in group]
    lines += [
        "",
        "/** What ReduceLROnPlateau decided at an epoch (a plateau record's `action`). */",
        *_enum("PLATEAU_ACTIONS", metadata.PLATEAU_ACTIONS),
        "",
        "/** An event record's `kind`. */",
        *_enum("EVENT_KINDS", metadata.EVENT_KINDS),
        "",
        *(_constant(name, value) for name, value in RECORD_FIELDS.items()),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Write lr_plugin's contract constants as frontend/src/api/contract.js.")
    parser.add_argument("--stdout", action="store_true", help="print the module instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
