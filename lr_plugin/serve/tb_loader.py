"""TensorBoard's entry point for the LR Timeline plugin.

TensorBoard imports every ``tensorboard_plugins`` entry point at start and does
not catch import errors there, so this module imports only TensorBoard itself.
"""

from tensorboard.plugins import base_plugin

from lr_plugin.format import metadata


class LrTimelineLoader(base_plugin.TBLoader):
    """Loads the LR Timeline plugin and keeps every lr_timeline sample."""

    def fix_flags(self, flags):
        # TensorBoard keeps 10 samples per tag of an unknown plugin (100 on the
        # fast loader), which would drop rate chunks and plateau records. A
        # value the user passed with --samples_per_plugin still wins.
        samples = getattr(flags, "samples_per_plugin", None)
        if isinstance(samples, dict):
            samples.setdefault(metadata.PLUGIN_NAME, 0)

    def load(self, context):
        from lr_plugin.serve.tb_plugin import LrTimelinePlugin

        return LrTimelinePlugin(context)
