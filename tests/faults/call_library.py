"""A minimal front end over the library, for the fault harness: one library call, its errors
as one line each on stderr, exit 1 for a failed input, 2 for an ``OptionError`` (a run
refused: a DEST that cannot be locked, say); anything else escapes as a traceback.

    python -m call_library badge_file SOURCE OUTPUT [--overwrite]
    python -m call_library badge_bytes SOURCE OUTPUT [--overwrite]
    python -m call_library batch SRC DEST WORKERS REPORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import blueheart


def _bytes_call(source: str, output: str) -> None:
    """``badge_bytes``: the file is read and written here, outside the library."""
    data = Path(source).read_bytes()
    Path(output).write_bytes(blueheart.badge_bytes(data))


def main(call: str, *args: str) -> int:
    """Run ``call`` on ``args``; the exit code."""
    try:
        if call == "badge_file":
            blueheart.badge_file(args[0], args[1], overwrite="--overwrite" in args)
        elif call == "badge_bytes":
            _bytes_call(args[0], args[1])
        else:
            report = blueheart.batch(args[0], args[1], workers=int(args[2]), report=args[3])
            for result in report.results:
                if result.status == "failed":
                    print(f"failed: {result.error}", file=sys.stderr)
            return report.exit_code
    except blueheart.BlueheartError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except blueheart.OptionError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
