"""Runs the harness's commands fast: imports blueheart once, then forks a child per command,
as a fresh ``python -m`` would run it (its own session, the fault layer installed from the
environment it is given, stdout and stderr to files, the exit code it would give).

One request per line on stdin, one answer per line on stdout (JSON)::

    {"module": "blueheart", "argv": [...], "cwd": "...", "env": {...}, "out": "...", "err": "..."}
    {"returncode": 0}

A child that outlives ``timeout`` seconds is killed with its process group (-999).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

import blueheart_faults
import call_library

import blueheart.batching.batch
import blueheart.batching.sheet
import blueheart.cli.commands
import blueheart.io.badging
import blueheart.io.targets

HUNG = -999  # as faulting.HUNG
_POLL_S = 0.002


def _child(request: dict[str, Any]) -> int:
    """Run one command in this (forked) process; its exit code."""
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    for target, name, flags in ((0, os.devnull, os.O_RDONLY), (1, request["out"], os.O_WRONLY),
                                (2, request["err"], os.O_WRONLY)):  # fmt: skip
        descriptor = os.open(name, flags | os.O_CREAT | os.O_TRUNC * (target > 0), 0o600)
        os.dup2(descriptor, target)
        os.close(descriptor)
    if os.environ.get("BLUEHEART_FAULT_STATE"):
        blueheart_faults.install()
    sys.argv = [request["module"], *request["argv"]]
    try:
        if request["module"] == "call_library":
            return call_library.main(*request["argv"])
        blueheart.cli.commands.main()
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _wait(pid: int, timeout: float) -> int:
    """The child's exit code (minus the signal that killed it), or ``HUNG`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(_POLL_S)
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return HUNG


def serve(timeout: float) -> None:
    """Answer requests until stdin closes."""
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):  # a stream a fault broke
                        stream.flush()
                os._exit(code)
        returncode = _wait(pid, timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # workers the run left behind
        print(json.dumps({"returncode": returncode}), flush=True)


if __name__ == "__main__":
    serve(float(sys.argv[1]))
