"""How many worker processes a run may start on this machine.

Apart from the executors so that the command line, which states the bound in its ``--jobs``
option, starts without importing the process machinery (``multiprocessing`` alone is some
15 ms of every command's start-up, ``--version`` and ``badge`` included).
"""

from __future__ import annotations

import os

WORKERS_PER_CORE = 4
"""Worker processes a run may start per core: more only share the cores and take memory (a
preset's jobs = 100000 started processes until the memory ran out)."""


def max_workers() -> int:
    """The most worker processes a run on this machine may start."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)
