"""Dask worker preload for the LocalCluster a batch starts: leave Ctrl-C to the batch.

Ctrl-C reaches every process of the terminal's group; each worker would print its own
traceback while the batch, which decides what stops, writes its report.
"""

from __future__ import annotations

import logging
import signal
from typing import Any


def dask_setup(worker: Any) -> None:
    """Called by distributed in each worker process as it starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Its warnings are about tasks the batch cancelled when it was interrupted.
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)
