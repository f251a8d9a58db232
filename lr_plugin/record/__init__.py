"""Keras callbacks that record what the learning rate really did.

- `LearningRateMonitor`: the rate every update applied, and per-epoch records.
- `ReduceLROnPlateau`: Keras' callback, plus a record of every decision; works
  with schedules too.
- `LearningRateScheduler`: Keras' callback, plus an event for every rate it sets.

This is the room that records what happened during `fit()`: the callbacks,
the recorder they share (`rate_recorder`), where a rate comes from
(`rate_sources`) and the checks of their arguments (`arguments`). Users
import the callbacks from `lr_plugin.callbacks` (or `lr_plugin`).
"""

from lr_plugin.record.learning_rate_monitor import LearningRateMonitor
from lr_plugin.record.learning_rate_scheduler import LearningRateScheduler
from lr_plugin.record.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = ["LearningRateMonitor", "LearningRateScheduler", "ReduceLROnPlateau"]
