"""lr_plugin's benchmarks: ``python -m benchmarks`` (see ``--help``).

Four sections, each run in its own Python process so that one section's
imports, threads and memory cannot bias another:

- ``fit``: the cost of the callbacks in ``fit()`` (time per step, ratio to no callback).
- ``writer``: logged steps per second to disk, bytes on disk per logged step.
- ``plugin``: a real ``tensorboard`` process: load time, resident memory, latency
  of ``/timeline`` against TensorBoard's own ``/scalars`` route on the same series.
- ``browser``: headless Chromium, data received -> painted for the real bundle.

Timings are medians of alternated repetitions in one process, with their spread.
They are not part of the test run; ``tests/test_benchmarks_smoke.py`` only checks
that every section still runs (``--quick``).
"""
