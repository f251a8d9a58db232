"""Payloads exactly as written, before the timeline model checks or resolves anything."""

import os


def read_payloads(run_dir):
    """``{tag: [decoded payload, ...]}`` of one run directory, in written order."""
    from lr_plugin.format import metadata
    from lr_plugin.format import reader

    from tensorboard.util import tensor_util

    files = sorted(os.path.join(run_dir, f) for f in os.listdir(run_dir) if "tfevents" in f)
    decoded = {}
    for path in files:
        for event in reader.read_event_file(path):
            for value in event.summary.value if event.HasField("summary") else ():
                if value.metadata.plugin_data.plugin_name not in ("", metadata.PLUGIN_NAME):
                    continue
                kind = metadata.kind_of_tag(value.tag)
                if kind is None:
                    continue
                payload = tensor_util.make_ndarray(value.tensor)
                if kind == metadata.KIND_RECORDS:
                    decoded.setdefault(value.tag, []).extend(metadata.decode_records(payload))
                else:
                    decoded.setdefault(value.tag, []).append(metadata.decode_rates(payload))
    return decoded
