"""Every constructor argument of the three callbacks is checked, with or without
log_dir, and a bad one raises a Keras-style ValueError: what was received, what to do."""

import pathlib

import pytest

from lr_plugin.callbacks import LearningRateMonitor
from lr_plugin.callbacks import LearningRateScheduler
from lr_plugin.callbacks import ReduceLROnPlateau


def keep(epoch, lr):
    return lr


BUILDERS = {
    "LearningRateMonitor": lambda **kwargs: LearningRateMonitor(**{"log_dir": "logs", **kwargs}),
    "ReduceLROnPlateau": lambda **kwargs: ReduceLROnPlateau(**kwargs),
    "LearningRateScheduler": lambda **kwargs: LearningRateScheduler(keep, **kwargs),
}


@pytest.mark.parametrize("owner", sorted(BUILDERS))
@pytest.mark.parametrize("log_dir, received", [
    (123, "Received log_dir=123"),
    (b"logs", "Received log_dir=b'logs'"),
    ("", "Received log_dir=''"),
])
def test_a_log_dir_that_is_not_a_path_is_refused(owner, log_dir, received):
    with pytest.raises(ValueError, match=rf"{owner} expects log_dir to be a (non-empty )?str"):
        BUILDERS[owner](log_dir=log_dir)
    with pytest.raises(ValueError, match=f"{received}. Pass the path of a directory"):
        BUILDERS[owner](log_dir=log_dir)


def test_the_monitor_needs_a_log_dir():
    with pytest.raises(ValueError, match=r"LearningRateMonitor expects log_dir to be a str or "
                                         r"os.PathLike path. Received log_dir=None. Pass the path"):
        LearningRateMonitor(log_dir=None)


@pytest.mark.parametrize("owner", ["ReduceLROnPlateau", "LearningRateScheduler"])
def test_log_dir_none_records_nothing_and_a_path_like_is_kept_as_str(owner, tmp_path):
    assert BUILDERS[owner](log_dir=None).log_dir is None
    assert BUILDERS[owner](log_dir=pathlib.Path(tmp_path)).get_config()["log_dir"] == str(tmp_path)


@pytest.mark.parametrize("owner", sorted(BUILDERS))
@pytest.mark.parametrize("log_dir", [None, "logs"])
def test_update_freq_is_checked_with_or_without_log_dir(owner, log_dir):
    if owner == "LearningRateMonitor" and log_dir is None:
        pytest.skip("the monitor always has a log_dir")
    with pytest.raises(ValueError, match=rf"{owner} expects update_freq to be 'batch', 'epoch' or a "
                                         r"positive integer number of steps. Received update_freq='often'"):
        BUILDERS[owner](log_dir=log_dir, update_freq="often")


@pytest.mark.parametrize("kwargs, message", [
    (dict(patience="3"), "expects patience to be an integer >= 0. Received patience='3' of type str"),
    (dict(patience=2.5), "expects patience to be an integer >= 0. Received patience=2.5"),
    (dict(cooldown="1"), "expects cooldown to be an integer >= 0. Received cooldown='1'"),
    (dict(verbose=None), "expects verbose to be an integer >= 0. Received verbose=None"),
    (dict(factor="0.5"), "expects factor to be a float. Received factor='0.5' of type str"),
    (dict(min_delta=None), "expects min_delta to be a float. Received min_delta=None"),
    (dict(min_lr="0"), "expects min_lr to be a float. Received min_lr='0'"),
    (dict(min_lr=-0.1), "does not support a negative min_lr. Received min_lr=-0.1"),
    (dict(monitor=3), "expects monitor to be the name of a metric, a str. Received monitor=3"),
])
@pytest.mark.parametrize("log_dir", [None, "logs"])
def test_plateau_arguments_are_checked_with_or_without_log_dir(kwargs, message, log_dir):
    with pytest.raises(ValueError, match="ReduceLROnPlateau " + message.replace(".", r"\.")):
        ReduceLROnPlateau(log_dir=log_dir, **kwargs)


def test_plateau_keeps_keras_factor_message():
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau does not support a factor >= 1.0. "
                                         r"Received factor=1.5"):
        ReduceLROnPlateau(factor=1.5)


def test_scheduler_and_monitor_arguments():
    with pytest.raises(ValueError, match=r"LearningRateScheduler expects schedule to be a function "
                                         r"of the epoch .* Received schedule=0.1"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match=r"LearningRateScheduler expects verbose to be an integer "
                                         r">= 0. Received verbose='yes'"):
        LearningRateScheduler(keep, verbose="yes")
    with pytest.raises(ValueError, match=r"LearningRateMonitor expects write_planned to be True or "
                                         r"False. Received write_planned='no'"):
        LearningRateMonitor("logs", write_planned="no")
