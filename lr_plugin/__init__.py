"""lr_plugin: what the learning rate really did during ``fit()``.

- ``lr_plugin.callbacks`` (also ``lr_plugin`` itself): LearningRateMonitor,
  ReduceLROnPlateau, LearningRateScheduler.
- ``lr_plugin.schedules``: the tutorials' schedules as serializable Keras schedules.
- ``lr_plugin.preview``: a schedule's planned rates, without training.
- ``lr_plugin.find_lr``: an LR range test, drawn in the tab (docs/LR_FINDER.md).
- ``lr-plugin export LOGDIR``: every recorded point as JSON or CSV.

The package's rooms follow the data: ``record`` (callbacks) -> ``format``
(contract, writer, reader) -> ``model`` (timeline) -> ``serve`` (TensorBoard
plugin) -> ``static`` (frontend); ``tools`` (CLI) and ``schedules`` beside them.

Importing this package is cheap and needs neither TensorFlow nor Keras:
TensorBoard imports the plugin's entry point at start.
"""

__version__ = "0.1.0"


_CALLBACKS = ("LearningRateMonitor", "ReduceLROnPlateau", "LearningRateScheduler")


def __getattr__(name):
    # Keras-dependent parts load on first use, not on import.
    if name in _CALLBACKS:
        from lr_plugin import callbacks

        return getattr(callbacks, name)
    if name == "preview":
        from lr_plugin.schedules.preview import preview

        return preview
    if name == "find_lr":
        from lr_plugin.tools.lr_finder import find_lr

        return find_lr
    if name in ("callbacks", "schedules"):
        import importlib

        return importlib.import_module(f"lr_plugin.{name}")
    raise AttributeError(f"module 'lr_plugin' has no attribute {name!r}")
