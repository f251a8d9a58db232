"""Writes training sessions into a run directory with the public writer API, as
the callbacks write them (contract: lr_plugin/format/metadata.py, "Training sessions").

Each session opens its own RunWriter (a new event file, as a new process would),
writes its begin mark, one rate chunk, epoch record, plateau record and
optionally an event per epoch, its end mark unless it crashed, and closes.
"""

import os
import socket
import time

import numpy as np

from lr_plugin.format import metadata
from lr_plugin.format import writer as writer_lib


def write_session(run_dir, session, start_step, epochs, steps_per_epoch, rate, first_epoch=0,
                  reduce_at=(), crashed=False, planned_steps=None, with_session_ids=True):
    """Writes one session; returns ``{step: rate}`` of the rates it wrote.

    Args:
        session: the session id.
        start_step: the optimizer step the training starts at.
        epochs: how many epochs it trains; they are numbered from ``first_epoch``.
        rate: ``step -> rate``.
        reduce_at: epochs whose end has a "reduce" plateau decision and event.
        crashed: leave out the end mark (the training died).
        planned_steps: if given, also write the planned series over these steps.
        with_session_ids: stamp records with the session id (False: data
            written before sessions existed; no marks either).
    """
    run_writer = writer_lib.open_run_writer(run_dir)
    stamp = {metadata.SESSION_KEY: session} if with_session_ids else {}
    if with_session_ids:
        run_writer.add_record(metadata.SESSIONS_TAG, {
            metadata.SESSION_KEY: session, "state": metadata.SESSION_BEGIN,
            "start_step": start_step, "start_time": time.time(),
            "host": socket.gethostname(), "pid": os.getpid()})
    if planned_steps is not None:
        run_writer.add_rates("SGD", planned_steps, [rate(s) for s in planned_steps], planned=True)
    written = {}
    step = start_step
    for epoch in range(first_epoch, first_epoch + epochs):
        steps = np.arange(step, step + steps_per_epoch)
        rates = [rate(int(s)) for s in steps]
        run_writer.add_rates("SGD", steps, rates)
        written.update(zip(steps.tolist(), rates))
        last = int(steps[-1])
        run_writer.add_record(metadata.EPOCHS_TAG, dict(
            stamp, epoch=epoch, first_step=step, last_step=last, learning_rate=rates[-1],
            metrics={"loss": 1.0 / (epoch + 1)}))
        action = "reduce" if epoch in reduce_at else "wait"
        run_writer.add_record(metadata.PLATEAU_TAG, dict(
            stamp, epoch=epoch, step=last, action=action, lr_before=rates[-1],
            lr_after=rates[-1] / 2 if action == "reduce" else rates[-1]))
        if action == "reduce":
            run_writer.add_record(metadata.EVENTS_TAG, dict(
                stamp, kind="reduce", epoch=epoch, step=last, lr_before=rates[-1],
                lr_after=rates[-1] / 2))
        run_writer.flush(step=last)
        step = last + 1
    if with_session_ids and not crashed:
        run_writer.add_record(metadata.SESSIONS_TAG, {
            metadata.SESSION_KEY: session, "state": metadata.SESSION_END,
            "end_step": step - 1, "end_time": time.time()})
    run_writer.close()
    return written
