"""The ``blueheart`` command, and ``python -m blueheart``.

Its first instruction takes Ctrl-C and SIGTERM, before the command line's imports (Click,
numpy, Pillow: a tenth of a second or more), so that from then on both end in "Interrupted."
and exit 130, never in a traceback or in the signal's own exit status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from blueheart.cli.signals import Interrupted, interrupt, take_stop_signals
from blueheart.core.errors import EXIT_INTERRUPTED


def main() -> None:
    """Console-script entry point."""
    signalled = threading.Event()
    take_stop_signals(interrupt(signalled))
    code: object = 0
    try:
        from blueheart.cli.commands import main as command_line

        command_line(signalled)
    except SystemExit as done:
        code = done.code
    except (Interrupted, KeyboardInterrupt):
        code = _interrupted()
    except Exception:
        if not signalled.is_set():
            raise
        # The signal's Interrupted, wrapped by the code it landed in: Python 3.11 makes one
        # raised in a class's ``__set_name__`` (``import platform``) a RuntimeError.
        code = _interrupted()
    finally:
        # The outcome is decided and the workers are gone: a signal now would only break
        # the interpreter's exit with a traceback, or end it with the signal's own status.
        take_stop_signals(signal.SIG_IGN)
    _exit(code)


def _interrupted() -> int:
    print("Interrupted.", file=sys.stderr)
    return EXIT_INTERRUPTED


def _exit(code: object) -> None:
    """End the process with ``code`` (as ``sys.exit`` takes it), its output flushed, without
    the interpreter's teardown: its hooks would wake a process pool already killed (an
    "Exception ignored" traceback on stderr after a Ctrl-C) or wait for threads still
    decoding (a stopped server). Every file was written, synced and closed by now."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


if __name__ == "__main__":
    main()
