"""Keras callbacks that record what the learning rate really did.

- `LearningRateMonitor`: the rate every update applied, and per-epoch records.
- `ReduceLROnPlateau`: Keras' callback, plus a record of every decision; works
  with schedules too.
- `LearningRateScheduler`: Keras' callback, plus an event for every rate it sets.

They live in `lr_plugin.callbacks`, not in a top-level `callbacks` module, so
they never shadow (or get shadowed by) the `callbacks.py` of your project.
"""

from lr_plugin.callbacks.learning_rate_monitor import LearningRateMonitor
from lr_plugin.callbacks.learning_rate_scheduler import LearningRateScheduler
from lr_plugin.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = ["LearningRateMonitor", "LearningRateScheduler", "ReduceLROnPlateau"]
