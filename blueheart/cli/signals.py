"""The command line's own process: the signals that stop a run, and the decoders' chatter
kept off the terminal. Front-end plumbing; the library never touches either."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C, and the SIGTERM of ``docker stop``, systemd and CI: both stop a command alike."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM outside a batch's run: the command ends with "Interrupted." (130).

    Not a ``KeyboardInterrupt``, for which Click prints an empty line first; a
    ``BaseException``, so that no ``except Exception`` takes it for a failure.
    """


def interrupt(signalled: threading.Event) -> Callable[[int, Any], None]:
    """A handler that sets ``signalled``, then raises ``Interrupted``.

    Python only reports an exception raised where it cannot propagate (in an at-fork
    callback as a pool forks its workers, in a destructor) and goes on: ``signalled`` keeps
    the signal for the batch, which stops at once when its run starts.
    """

    def handle(signum: int, frame: Any) -> None:
        signalled.set()
        raise Interrupted

    return handle


def take_stop_signals(handler: Any) -> None:
    """Handle Ctrl-C and SIGTERM with ``handler`` from now on, but for one the process was
    started with ignored (see ``handling``)."""
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, handler)


@contextlib.contextmanager
def handling(signals: tuple[int, ...], handler: Any) -> Iterator[None]:
    """Handle ``signals`` with ``handler`` inside the block (when Python lets this thread:
    only the main thread may), as before after it.

    A signal the process was started with ignored stays ignored: a shell starts background
    jobs with Ctrl-C ignored, and ``nohup`` does the same for hang-ups.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = [number for number in signals if signal.getsignal(number) is not signal.SIG_IGN]
    previous = {number: signal.signal(number, handler) for number in handled}
    try:
        yield
    finally:
        for number, former in previous.items():
            signal.signal(number, former)


def stop_on_first_signal(stop: threading.Event) -> Callable[[int, Any], None]:
    """A handler for Ctrl-C and SIGTERM: the first asks the run to stop (it writes its
    report) and hushes a cluster's logs (``hush_cluster_logs``); a second one interrupts at
    once."""

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        hush_cluster_logs()

    return handle


CLUSTER_LOGGERS = ("distributed", "tornado")
"""The loggers of Dask's client, scheduler and workers, and of the event loop they run on."""


def hush_cluster_logs() -> None:
    """From now on, drop whatever the handlers of Dask's and Tornado's loggers would print.

    A run stopped on a cluster cancels its work, and they log each cancelled task, with
    tracebacks, until the cluster is closed; the run's summary says what happened.
    """
    manager = logging.Logger.manager
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in CLUSTER_LOGGERS:
            for handler in logger.handlers:
                handler.addFilter(_drop)


def _drop(record: logging.LogRecord) -> bool:
    return False


def serial_maths() -> None:
    """Ask numpy's BLAS for one thread, before numpy is imported (a setting the user made
    stands). blueheart does no matrix work; OpenBLAS would start a thread per core at import
    that spins for a while, taking CPU from the batch workers on the other cores (30 ms of
    CPU a run of 50 social-size photos). Only in blueheart's own process, as below."""
    for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


def quiet_libraries() -> None:
    """Keep stderr to blueheart's one line per error: what the decoders' C libraries print
    (libtiff gives dozens of lines for one damaged file) goes to the null device, and Pillow's
    warnings about damage it works around are ignored.

    Only here, in blueheart's own process: the library never touches file descriptor 2 or
    the warning filters, which belong to its host. Python's ``sys.stderr`` moves to a copy of
    the descriptor; batch workers started from this process inherit the same arrangement.
    """
    warnings.simplefilter("ignore")
    try:
        terminal = os.dup(2)
        sink = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    os.dup2(sink, 2)
    os.close(sink)
    sys.stderr = os.fdopen(
        terminal, "w", encoding=sys.stderr.encoding, errors="backslashreplace", buffering=1
    )
