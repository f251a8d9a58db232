"""A run with every kind of record, written through the public writer; shared by suites."""

import numpy as np

from lr_plugin.format import writer as writer_lib


def write_full_run(run_dir):
    w = writer_lib.open_run_writer(run_dir)
    w.add_rates("SGD", range(0, 6), [0.1, 0.1, 0.1, 0.05, 0.05, float("nan")])
    w.add_rate("Adam_head", 0, 1e-3)
    w.add_rates("SGD", range(0, 10), np.linspace(0.1, 0.01, 10), planned=True)
    w.add_record("epochs", {"epoch": 0, "first_step": 0, "last_step": 2, "learning_rate": 0.1,
                            "learning_rates": {"SGD": 0.1}, "metrics": {"loss": 0.5, "val_loss": float("inf")}})
    w.add_record("plateau", {"epoch": 0, "step": 2, "monitor": "val_loss", "value": float("inf"),
                             "best": None, "wait": 0, "patience": 1, "cooldown_counter": 0,
                             "action": "improved", "lr_before": 0.1, "lr_after": 0.1})
    w.add_record("events", {"kind": "reduce", "epoch": 1, "step": 5, "lr_before": 0.1, "lr_after": 0.05})
    w.flush(step=3)
    w.add_rates("SGD", [6, 7], [0.01, 0.01])
    w.add_record("events", {"kind": "cooldown_end", "epoch": 2, "step": 7})
    w.close()
    return w
