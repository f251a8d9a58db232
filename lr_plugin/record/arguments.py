"""The checks of the arguments the lr_plugin callbacks share, with Keras-style messages."""

import os

import numpy as np

UPDATE_FREQS = ("batch", "epoch")


def validate_update_freq(update_freq, owner="LearningRateMonitor"):
    """Returns the record interval in steps (0 = once per epoch)."""
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return 0
    if isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool):
        if update_freq >= 1:
            return int(update_freq)
    raise ValueError(
        f"{owner} expects update_freq to be 'batch', 'epoch' or a positive "
        f"integer number of steps. Received update_freq={update_freq!r}"
    )


def validate_log_dir(log_dir, owner, required=True):
    """Returns ``log_dir`` as a str path (None where allowed and given).

    Raises:
        ValueError: for None where a directory is required, anything that is
            not a str or os.PathLike of str (bytes, numbers), or an empty path.
    """
    if log_dir is None and not required:
        return None
    hint = ("Pass the path of a directory, the same you give Keras' TensorBoard "
            "callback, e.g. log_dir=\"logs\"")
    if not required:
        hint += ", or log_dir=None to record nothing"
    if log_dir is None or isinstance(log_dir, bytes) or not isinstance(
            log_dir, (str, os.PathLike)):
        raise ValueError(f"{owner} expects log_dir to be a str or os.PathLike path. "
                         f"Received log_dir={log_dir!r}. {hint}.")
    path = os.fspath(log_dir)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{owner} expects log_dir to be a non-empty str path. "
                         f"Received log_dir={log_dir!r}. {hint}.")
    return path


def validate_count(value, name, owner):
    """Returns ``value`` as an int >= 0 (patience, cooldown, verbose)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{owner} expects {name} to be an integer >= 0. "
                         f"Received {name}={value!r} of type {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{owner} does not support a negative {name}. "
                         f"Received {name}={value}")
    return int(value)
