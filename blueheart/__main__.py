"""The ``blueheart`` command, and ``python -m blueheart``.

Its first instruction takes Ctrl-C and SIGTERM, before the command line's imports (Click,
numpy, Pillow: a tenth of a second or more), so that from then on both end in "Interrupted."
and exit 130, never in a traceback or in the signal's own exit status.
"""

from __future__ import annotations

import signal
import sys
import threading

from blueheart.cli.signals import Interrupted, interrupt, take_stop_signals
from blueheart.core.errors import EXIT_INTERRUPTED


def main() -> None:
    """Console-script entry point."""
    signalled = threading.Event()
    take_stop_signals(interrupt(signalled))
    try:
        from blueheart.cli.commands import main as command_line

        command_line(signalled)
    except (Interrupted, KeyboardInterrupt):
        print("Interrupted.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        # The outcome is decided and the workers are gone: a signal now would only break
        # the interpreter's exit with a traceback, or end it with the signal's own status.
        take_stop_signals(signal.SIG_IGN)


if __name__ == "__main__":
    main()
