"""Training sessions: which data of a run directory is what happened.

One rule, used by export, replay and the TensorBoard plugin (the contract is in
``lr_plugin/format/metadata.py``, "Training sessions"):

- Sessions are ordered by ``start_time``.
- A session that starts at step s supersedes every earlier session's rates,
  epoch records, plateau records and events at steps >= s (a rerun into the
  same log_dir from step 0 replaces everything; a crash followed by a resume
  from a checkpoint replaces what came after the checkpoint).
- A session that starts after its predecessor's last step extends it: nothing
  is superseded.
- Records are placed at their step: ``step`` for plateau records and events,
  ``last_step`` for epoch records. An epoch record that straddles s (it began
  before s and ended at or after it) is dropped with its session's later data:
  its metrics were measured on the training that was replaced.
- A record is a session's by its ``"session"`` id; a rates chunk is the
  session's of its run directory that began last at or before the chunk's
  wall time.
- Data without session marks (written before sessions existed, or whose
  session's begin mark is lost) is one session that began before all others.
- Where two sessions both kept a step (a planned series written from step 0 by
  each), the later session's value wins.
"""

import bisect
import math

from lr_plugin.format import metadata

UNMARKED = -1
"""Rank of the data that belongs to no known session (it began before all others)."""


class Sessions:
    """The sessions of one run directory, resolved.

    Args:
        marks: the run's ``sessions`` records (validated), in written order.
    """

    def __init__(self, marks):
        begins, ends = {}, {}
        for mark in marks:
            target = begins if mark["state"] == metadata.SESSION_BEGIN else ends
            target.setdefault(mark[metadata.SESSION_KEY], mark)
        ordered = sorted(begins.values(), key=lambda m: (m["start_time"], m["start_step"]))
        self._rank = {m[metadata.SESSION_KEY]: rank for rank, m in enumerate(ordered)}
        self._start_times = [m["start_time"] for m in ordered]
        starts = [m["start_step"] for m in ordered]
        # cutoff[rank + 1]: the first step a later session took over (inf if none).
        self._cutoff = [math.inf] * (len(ordered) + 1)
        for rank in range(len(ordered) - 1, -1, -1):
            self._cutoff[rank] = min(starts[rank], self._cutoff[rank + 1])
        self._ordered = ordered
        self._ends = ends

    def __len__(self):
        return len(self._ordered)

    def rank_of_record(self, record):
        """The rank of the session that wrote ``record`` (UNMARKED if none is known)."""
        return self._rank.get(record.get(metadata.SESSION_KEY), UNMARKED)

    def rank_at(self, wall_time):
        """The rank of the session that began last at or before ``wall_time``."""
        if wall_time is None:
            return UNMARKED
        return bisect.bisect_right(self._start_times, wall_time) - 1

    def cutoff(self, rank):
        """The first step a later session took over from session ``rank`` (inf if none)."""
        return self._cutoff[rank + 1]

    def keeps(self, rank, step):
        """Whether data of session ``rank`` at ``step`` is what happened.

        A record without a step counts as at its session's start.
        """
        if step is None:
            step = self._ordered[rank]["start_step"] if rank >= 0 else 0
        return step < self.cutoff(rank)

    def to_json(self):
        """``[{session, start_step, start_time, host, pid, end_step, end_time,
        superseded_from}, ...]`` in start order; ``end_*`` null for a session that
        did not end (it crashed or still runs), ``superseded_from`` the step from
        which a later session replaced its data (null when none did: no later
        session, or the next one began after this one's end_step)."""
        result = []
        for rank, begin in enumerate(self._ordered):
            end = self._ends.get(begin[metadata.SESSION_KEY], {})
            cutoff = self.cutoff(rank)
            result.append({
                metadata.SESSION_KEY: begin[metadata.SESSION_KEY],
                "start_step": begin["start_step"],
                "start_time": begin["start_time"],
                "host": begin.get("host"),
                "pid": begin.get("pid"),
                "end_step": end.get("end_step"),
                "end_time": end.get("end_time"),
                "superseded_from": None if cutoff == math.inf or (
                    end.get("end_step") is not None and cutoff > end["end_step"]) else int(cutoff),
            })
        return result


def record_step(tag, record):
    """The step a record is placed at for supersession (None if it has none)."""
    if tag == metadata.EPOCHS_TAG:
        last = record.get("last_step")
        return last if last is not None else record.get("first_step")
    return record.get("step")
