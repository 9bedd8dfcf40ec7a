"""Real processes in tests: a ``blueheart batch`` started with faults in its workers, and
waiting on what the processes do (files appearing, children starting and ending)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def badge_file_that(action: str, name: str, marker: str | None) -> None:
    """Worker initializer: ``badge_file`` kills its worker (or hangs) on the file ``name``;
    with a ``marker`` path, only the first time."""
    import blueheart.io.badging

    original = blueheart.io.badging.badge_file

    def badge_file(source: Any, *args: Any, **kwargs: Any) -> None:
        first = marker is None or not Path(marker).exists()
        if Path(source).name == name and first:
            if marker is not None:
                Path(marker).touch()
            if action == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(3600)
        original(source, *args, **kwargs)

    blueheart.io.badging.badge_file = badge_file


def until(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """Return once ``condition()`` holds; fail, saying ``what`` never happened, after
    ``seconds``. (However slowly a loaded machine runs: never a fixed sleep.)"""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.01)


def wait_for(path: Path, seconds: float = 60) -> None:
    until(path.exists, f"{path} appearing", seconds)


def start_batch(
    source: Path,
    destination: Path,
    *extra: str,
    hang_on: str | None = None,
    faults: tuple[tuple[str, str, str | None], ...] = (),
    prelude: str = "",
    ignoring: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    """``blueheart batch`` in its own session; ``hang_on``: that file hangs its worker;
    ``faults``: ``badge_file_that``'s arguments, each; ``prelude``: code run before;
    ``ignoring``: signals it starts with ignored, as a shell's background job does Ctrl-C."""
    faults = (*faults, ("hang", hang_on, None)) if hang_on else faults
    prelude += "".join(
        f"from processes import badge_file_that; badge_file_that{fault!r}; " for fault in faults
    )
    entry = "from blueheart.__main__ import main; sys.argv[0] = 'blueheart'; main()"
    code = f"import sys; {prelude}{entry}"
    command = [sys.executable, "-c", code, "batch", str(source), str(destination), *extra]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}

    def ignore() -> None:
        for signum in ignoring:
            signal.signal(signum, signal.SIG_IGN)

    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=environment,
        preexec_fn=ignore,
    )


def wait_for_outputs(destination: Path, at_least: int, timeout: float = 120) -> None:
    """Until ``destination`` holds ``at_least`` outputs ``photo-*.jpg``."""

    def written() -> bool:
        return destination.exists() and len(list(destination.glob("photo-*.jpg"))) >= at_least

    until(written, f"{at_least} outputs", timeout)


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper that may not come)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(running(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False
