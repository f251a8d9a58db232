"""The callbacks' import path: ``from lr_plugin.callbacks import ReduceLROnPlateau``.

They live in `lr_plugin.record` (the room that records what happened during
`fit()`); this module is the stable name users import, and it is not a
top-level `callbacks` module so it never shadows the `callbacks.py` of your
project.
"""

from lr_plugin.record import LearningRateMonitor
from lr_plugin.record import LearningRateScheduler
from lr_plugin.record import ReduceLROnPlateau

__all__ = ["LearningRateMonitor", "LearningRateScheduler", "ReduceLROnPlateau"]
