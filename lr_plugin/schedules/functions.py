"""Epoch functions for `LearningRateScheduler`: the tutorials' schedules, per epoch.

Each factory returns `fn(epoch, lr=None) -> float`, a plain Python float as
Keras' `LearningRateScheduler` requires (it rejects tensors and ints). The
rate depends on the epoch only; `lr`, the optimizer's current rate that the
callback passes, is accepted and ignored, so the same function works with
Keras' one- and two-argument calling conventions.

```python
scheduler = keras.callbacks.LearningRateScheduler(
    lr_plugin.schedules.step_decay(0.01, drop=0.5, epochs_drop=10))
model.fit(x, y, epochs=50, callbacks=[scheduler])
```

For a rate that changes at every step rather than every epoch, use the
schedule classes of `lr_plugin.schedules` as the optimizer's
`learning_rate` instead.
"""

import math

import numpy as np

from lr_plugin.schedules import _util


def step_decay(initial_lr, drop=0.5, epochs_drop=10, offset=0):
    """Multiply the rate by `drop` every `epochs_drop` epochs.

    `rate(epoch) = initial_lr * drop ** floor((epoch + offset) / epochs_drop)`.
    With `offset=0` (default) the first drop is at epoch `epochs_drop`, as in
    `initial_lr * drop ** (epoch // epochs_drop)`; `offset=1` gives the
    widespread `initial_lr * drop ** floor((1 + epoch) / epochs_drop)`,
    which drops one epoch earlier.

    Example:

    ```python
    fn = lr_plugin.schedules.step_decay(0.1, drop=0.5, epochs_drop=10)
    [fn(e) for e in (0, 9, 10, 20)]  # [0.1, 0.1, 0.05, 0.025]
    ```

    Args:
        initial_lr: Float >= 0. The rate of the first epochs.
        drop: Float > 0. The factor applied at each drop.
        epochs_drop: Int > 0. Epochs between drops.
        offset: Int >= 0. Added to the epoch before dividing.

    Returns:
        `fn(epoch, lr=None) -> float`.
    """
    initial_lr = _util.check_number("step_decay", "initial_lr", initial_lr, minimum=0.0)
    drop = _util.check_number("step_decay", "drop", drop, minimum=0.0, strict=True)
    epochs_drop = _util.check_steps("step_decay", "epochs_drop", epochs_drop)
    offset = _util.check_steps("step_decay", "offset", offset, allow_zero=True)

    def fn(epoch, lr=None):
        return float(initial_lr * drop ** math.floor((epoch + offset) / epochs_drop))

    return _named(fn, f"step_decay({initial_lr}, drop={drop}, epochs_drop={epochs_drop})")


def exponential_decay(initial_lr, k):
    """`rate(epoch) = initial_lr * exp(-k * epoch)`.

    The tutorials' `initial_lr * decay_rate ** epoch` is the same curve with
    `k = -log(decay_rate)`: `exponential_decay(0.01, k=-math.log(0.95))`.

    Example:

    ```python
    fn = lr_plugin.schedules.exponential_decay(0.1, k=0.1)
    fn(10)  # 0.1 * exp(-1) = 0.0367...
    ```

    Args:
        initial_lr: Float >= 0. The rate at epoch 0.
        k: Float >= 0. Decay per epoch.

    Returns:
        `fn(epoch, lr=None) -> float`.
    """
    initial_lr = _util.check_number("exponential_decay", "initial_lr", initial_lr, minimum=0.0)
    k = _util.check_number("exponential_decay", "k", k, minimum=0.0)

    def fn(epoch, lr=None):
        return float(initial_lr * math.exp(-k * epoch))

    return _named(fn, f"exponential_decay({initial_lr}, k={k})")


def time_based_decay(initial_lr, decay):
    """`rate(epoch) = initial_lr / (1 + decay * epoch)`.

    Per epoch. Keras 2's `SGD(decay=...)` applied the same formula per
    *step*; for that, use the `TimeBasedDecay` schedule as the optimizer's
    learning rate. A tutorial's `initial_lr / (1 + decay * epoch * epochs)`
    is `time_based_decay(initial_lr, decay * epochs)`.

    Example:

    ```python
    fn = lr_plugin.schedules.time_based_decay(0.01, decay=0.1)
    fn(10)  # 0.005
    ```

    Args:
        initial_lr: Float >= 0. The rate at epoch 0.
        decay: Float >= 0. Decay per epoch.

    Returns:
        `fn(epoch, lr=None) -> float`.
    """
    initial_lr = _util.check_number("time_based_decay", "initial_lr", initial_lr, minimum=0.0)
    decay = _util.check_number("time_based_decay", "decay", decay, minimum=0.0)

    def fn(epoch, lr=None):
        return float(initial_lr / (1.0 + decay * epoch))

    return _named(fn, f"time_based_decay({initial_lr}, decay={decay})")


def cosine_decay(initial_lr, epochs, alpha=0.0):
    """Half a cosine from `initial_lr` down to `alpha * initial_lr` over `epochs`.

    `rate(epoch) = initial_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha)`
    with `t = min(epoch, epochs) / epochs`: Keras' `CosineDecay`, per epoch.
    The last epoch of a `fit(epochs=epochs)` is `epochs - 1`, just above the
    floor.

    Example:

    ```python
    fn = lr_plugin.schedules.cosine_decay(0.1, epochs=100)
    fn(50)  # 0.05
    ```

    Args:
        initial_lr: Float >= 0. The rate at epoch 0.
        epochs: Int > 0. Epochs to decay over; later epochs keep the floor.
        alpha: Float in [0, 1]. The floor, as a fraction of `initial_lr`.

    Returns:
        `fn(epoch, lr=None) -> float`.
    """
    initial_lr = _util.check_number("cosine_decay", "initial_lr", initial_lr, minimum=0.0)
    epochs = _util.check_steps("cosine_decay", "epochs", epochs)
    alpha = _util.check_number("cosine_decay", "alpha", alpha, minimum=0.0, maximum=1.0)

    def fn(epoch, lr=None):
        fraction = min(epoch, epochs) / epochs
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return float(initial_lr * ((1.0 - alpha) * cosine + alpha))

    return _named(fn, f"cosine_decay({initial_lr}, epochs={epochs}, alpha={alpha})")


def warmup(schedule, warmup_epochs, initial_lr=0.0):
    """A linear warmup over `warmup_epochs` epochs, then `schedule`, shifted.

    The ramp climbs in equal steps from `initial_lr` (before epoch 0) to the
    schedule's first rate, reached at epoch `warmup_epochs`, where the
    schedule starts from its own epoch 0:

    ```python
    def fn(epoch):
        target = schedule(0)
        if epoch < warmup_epochs:
            return initial_lr + (target - initial_lr) * (epoch + 1) / (warmup_epochs + 1)
        return schedule(epoch - warmup_epochs)
    ```

    So no epoch trains at `initial_lr` (0 by default). Per step, use the
    `LinearWarmup` schedule instead.

    Example:

    ```python
    fn = lr_plugin.schedules.warmup(
        lr_plugin.schedules.step_decay(0.1, drop=0.5, epochs_drop=10),
        warmup_epochs=4)
    [fn(e) for e in range(6)]  # [0.02, 0.04, 0.06, 0.08, 0.1, 0.1]
    ```

    Args:
        schedule: A float (constant after the warmup) or an epoch function
            `fn(epoch)` / `fn(epoch, lr)` returning a float.
        warmup_epochs: Int >= 0. Epochs of warmup (0: the schedule itself).
        initial_lr: Float >= 0. Where the ramp starts.

    Returns:
        `fn(epoch, lr=None) -> float`.
    """
    if not callable(schedule):
        schedule = _util.check_number("warmup", "schedule", schedule, minimum=0.0)
    warmup_epochs = _util.check_steps("warmup", "warmup_epochs", warmup_epochs, allow_zero=True)
    initial_lr = _util.check_number("warmup", "initial_lr", initial_lr, minimum=0.0)

    def after(epoch, lr):
        if not callable(schedule):
            return schedule
        return call_epoch_function(schedule, epoch, lr, "warmup(schedule)")

    def fn(epoch, lr=None):
        if epoch < warmup_epochs:
            target = after(0, lr)
            return float(initial_lr + (target - initial_lr) * (epoch + 1) / (warmup_epochs + 1))
        return float(after(epoch - warmup_epochs, lr))

    return _named(fn, f"warmup({getattr(schedule, '__name__', schedule)}, "
                      f"warmup_epochs={warmup_epochs})")


def call_epoch_function(fn, epoch, lr, what="schedule"):
    """Calls an epoch function as Keras' LearningRateScheduler does; checks the result.

    `fn(epoch, lr)`, then `fn(epoch)` if that raises TypeError.

    Raises:
        ValueError: when the result is not a Python or NumPy float, naming
            the call and the value received.
    """
    try:
        value = fn(epoch, lr)
        call = f"{what}({epoch}, {lr!r})"
    except TypeError as two_argument_error:
        try:
            value = fn(epoch)
            call = f"{what}({epoch})"
        except TypeError:
            if lr is None:
                raise ValueError(
                    f"{what}({epoch}, lr) needs the optimizer's learning rate: pass "
                    "learning_rate=<the optimizer's initial rate>."
                ) from two_argument_error
            raise
    return check_epoch_rate(value, call)


def check_epoch_rate(value, call):
    """`value` as a float if Keras' LearningRateScheduler would accept it, else ValueError."""
    if isinstance(value, (float, np.float32, np.float64)):
        return float(value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        hint = (" (a tensor or array: wrap the expression in float(...), or use "
                "math.exp for tf.math.exp)")
    elif isinstance(value, int) and not isinstance(value, bool):
        hint = " (an int: return a float, e.g. 1.0 rather than 1)"
    else:
        hint = ""
    raise ValueError(
        f"{call} should return a Python or NumPy float, as Keras' "
        f"LearningRateScheduler requires. Received: {value!r}{hint}"
    )


def _named(fn, description):
    fn.__name__ = fn.__qualname__ = description.split("(", 1)[0]
    fn.__doc__ = f"Epoch function {description}: fn(epoch, lr=None) -> float."
    return fn
