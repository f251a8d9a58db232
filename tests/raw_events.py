"""Payloads exactly as written, before the timeline model checks or resolves anything."""

import os


def written_parts(run_dir):
    """Yields ``(event, tag, payload array)`` of every lr_timeline payload of one run
    directory in written order, each part of a bundle as a payload of its own tag."""
    from lr_plugin.format import metadata
    from lr_plugin.format import reader

    from tensorboard.util import tensor_util

    files = sorted(os.path.join(run_dir, f) for f in os.listdir(run_dir) if "tfevents" in f)
    for path in files:
        for event in reader.read_event_file(path):
            for value in event.summary.value if event.HasField("summary") else ():
                if value.metadata.plugin_data.plugin_name not in ("", metadata.PLUGIN_NAME):
                    continue
                kind = metadata.kind_of_tag(value.tag)
                payload = tensor_util.make_ndarray(value.tensor)
                if kind == metadata.KIND_BUNDLE:
                    for tag, part in metadata.decode_bundle(payload)[0]:
                        yield event, tag, part
                elif kind is not None:
                    yield event, value.tag, payload


def read_payloads(run_dir):
    """``{tag: [decoded payload, ...]}`` of one run directory, in written order."""
    from lr_plugin.format import metadata

    decoded = {}
    for _, tag, payload in written_parts(run_dir):
        if metadata.kind_of_tag(tag) == metadata.KIND_RECORDS:
            decoded.setdefault(tag, []).extend(metadata.decode_records(payload))
        else:
            decoded.setdefault(tag, []).append(metadata.decode_rates(payload))
    return decoded
