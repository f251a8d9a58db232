"""Learning-rate schedules of the tutorials, as serializable Keras schedules.

Schedules (give one to the optimizer: `SGD(learning_rate=StepDecay(...))`;
the rate then changes at every step, is saved with the model and needs no
callback). Each is a `keras.optimizers.schedules.LearningRateSchedule`
computing with `keras.ops`, so it runs on every backend:

- `StepDecay`: times `drop_rate` every N steps or epochs.
- `TimeBasedDecay`: `lr0 / (1 + decay * step)`, Keras 2's `SGD(decay=...)`.
- `LinearWarmup`: a linear ramp in front of any schedule.
- `CyclicLR`: Smith's triangular / triangular2 / exp_range cycles.
- `OneCycle`: the 1cycle policy, as PyTorch's `OneCycleLR`.
- `CosineRestartsWarmup`: warmup, then SGDR.
- `ScaledSchedule`: a schedule times a scale that `ReduceLROnPlateau` lowers.

`lr_plugin.schedules.functions` has the same ideas as epoch functions for
`LearningRateScheduler` (`step_decay`, `exponential_decay`,
`time_based_decay`, `cosine_decay`, `warmup`). `schedule_values`, `preview`
and `planned_rates` give the rates without training. docs/SCHEDULES.md has
the formulas and the tutorials' equivalents.

Import this package before `keras.models.load_model` of a model saved with
one of these schedules: importing registers them.
"""

from lr_plugin.schedules import functions
from lr_plugin.schedules.cosine_restarts_warmup import CosineRestartsWarmup
from lr_plugin.schedules.cyclic_lr import CyclicLR
from lr_plugin.schedules.evaluate import schedule_values
from lr_plugin.schedules.linear_warmup import LinearWarmup
from lr_plugin.schedules.one_cycle import OneCycle
from lr_plugin.schedules.preview import PlannedRates
from lr_plugin.schedules.preview import planned_rates
from lr_plugin.schedules.preview import preview
from lr_plugin.schedules.scaled_schedule import ScaledSchedule
from lr_plugin.schedules.step_decay import StepDecay
from lr_plugin.schedules.time_based_decay import TimeBasedDecay

__all__ = [
    "CosineRestartsWarmup",
    "CyclicLR",
    "LinearWarmup",
    "OneCycle",
    "PlannedRates",
    "ScaledSchedule",
    "StepDecay",
    "TimeBasedDecay",
    "functions",
    "planned_rates",
    "preview",
    "schedule_values",
]
