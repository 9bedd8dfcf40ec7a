"""A fault-injecting file system layer for blueheart's processes, in the manner of SQLite's
test VFS: every operation on a file under one folder is counted, logged, and the Nth one
fails with a chosen errno, or is where the machine "loses power".

Loaded by ``sitecustomize`` (this folder on ``PYTHONPATH``) when ``BLUEHEART_FAULT_STATE``
is set, so the CLI and every worker process it forks run under it. Settings, from the
environment:

``BLUEHEART_FAULT_ROOT``   only operations on paths under this folder count
``BLUEHEART_FAULT_STATE``  a folder for the shared counter (``counter``) and the log (``log``)
``BLUEHEART_FAULT_AT``     the operation to act on, counting from 1 (0: count and log only)
``BLUEHEART_FAULT_PATH``   if set, count (for ``AT``) only operations on this path, relative
                           to the root, temporary names as ``.<name>.*.blueheart-tmp``: the
                           same point whatever the order in which parallel workers run
``BLUEHEART_FAULT_ERRNO``  ``EIO``, ``ENOSPC``... that operation raises; ``EINTR``: a Ctrl-C
                           lands during it (Python retries EINTR itself, so what a program
                           sees is the SIGINT handler's effect); ``CRASH``: the process group
                           is SIGKILLed just after the Nth *changing* operation

The counter is shared by every process of the run (a POSIX lock on a file: workers forked
from the CLI count on the same line). Each operation is one JSON line in the log:
``{"n": 12, "m": 4, "pid": 1234, "op": "write", "path": "...", "to": null}``, ``m`` counting
the changing operations (writes, fsyncs, names made or removed); the run's last lines say
``FAULT`` or ``CRASH`` where it acted. Reads of Python's own modules never pass through
here (the import system calls ``posix`` directly).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import io
import json
import os
import re
import signal
import struct
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

CHANGING = frozenset(
    {"write", "fsync", "create", "mkdir", "rename", "link", "unlink", "rmdir", "truncate"}
)
"""Operations that change what is on disk: the crash points."""

_real: dict[str, Any] = {}
_fd_paths: dict[int, str] = {}
"""Descriptors opened on paths under the root, and those paths."""
_settings: dict[str, Any] = {}
_TEMP = re.compile(r"(^|/)(\.[^/]*\.)[^./]+(\.blueheart-tmp)$")
_PROBE = re.compile(r"(\.blueheart-probe-)[0-9a-f]{16}(-)", re.IGNORECASE)
"""The random part of the hidden files that probe how a folder compares names."""


def _under_root(path: Any) -> str | None:
    """``path`` made absolute if it lies under the root, else None."""
    if isinstance(path, int) or path is None:
        return _fd_paths.get(path) if isinstance(path, int) else None
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        return None
    absolute = os.path.normpath(os.path.join(os.getcwd(), name))
    root = _settings["root"]
    return absolute if absolute == root or absolute.startswith(root + os.sep) else None


def _next_counts(changing: bool, matching: bool) -> tuple[int, int, int, int]:
    """Advance the run's shared counters: all operations, changing ones, and the same two of
    the operations on ``BLUEHEART_FAULT_PATH``; their new values."""
    descriptor = _settings["counter_fd"]
    fcntl.lockf(descriptor, fcntl.LOCK_EX)
    try:
        counts = struct.unpack("<4Q", _real["pread"](descriptor, 32, 0).ljust(32, b"\0"))
        steps = (1, int(changing), int(matching), int(changing and matching))
        counts = tuple(count + step for count, step in zip(counts, steps, strict=True))
        _real["pwrite"](descriptor, struct.pack("<4Q", *counts), 0)
    finally:
        fcntl.lockf(descriptor, fcntl.LOCK_UN)
    return counts  # type: ignore[return-value]


def shown(path: str) -> str:
    """``path`` relative to the root, a temporary name without its random part."""
    if not path:
        return ""
    relative = os.path.relpath(path, _settings["root"])
    return _PROBE.sub(r"\1*\2", _TEMP.sub(r"\1\2*\3", relative))


def _log(entry: dict[str, Any]) -> None:
    line = json.dumps(entry, ensure_ascii=True) + "\n"
    _real["write"](_settings["log_fd"], line.encode("ascii"))


def _operation(
    op: str, path: str, to: str | None = None, given: tuple[Any, ...] = ()
) -> Callable[[], None]:
    """Count one operation on ``path`` and act on it if it is the chosen one.

    Raises the chosen error before the operation happens, naming the file as the system call
    would (``given``: the names the caller passed; none for a call on a descriptor); returns
    what to do after it (a crash point kills the process group once the operation is done)."""
    chosen = _settings["path"]
    key = shown(path)
    matching = chosen is None or key == chosen
    count, changes, matched, matched_changes = _next_counts(op in CHANGING, matching)
    _log(
        {"n": count, "m": changes, "pid": os.getpid(), "op": op, "path": path, "to": to, "key": key}
    )
    counted = (count, changes) if chosen is None else (matched, matched_changes)
    at, action = _settings["at"], _settings["action"]
    if action == "CRASH":
        if matching and op in CHANGING and counted[1] == at:
            return lambda: _crash(count)
        return _nothing
    if not matching or counted[0] != at:
        return _nothing
    _log({"n": count, "pid": os.getpid(), "op": "FAULT", "path": path, "to": action})
    if action == "EINTR":
        os.killpg(os.getpgrp(), signal.SIGINT)
        return _nothing
    code = getattr(errno, action)
    names = [os.fspath(name) for name in given]
    raise OSError(code, os.strerror(code), *names[:1], *([None, *names[1:]] if names[1:] else []))


@contextlib.contextmanager
def _attempt(
    op: str, path: str, to: str | None = None, given: tuple[Any, ...] = ()
) -> Iterator[None]:
    """Count the operation the block makes (see ``_operation``); a crash point fires after
    it whether it succeeded or not (a ``mkdir`` of an existing folder is a point too)."""
    after = _operation(op, path, to, given)
    try:
        yield
    finally:
        after()


def _nothing() -> None:
    """Nothing to do after this operation."""


def _crash(count: int) -> None:
    """The power goes after operation ``count``: every process of the run dies at once."""
    _log({"n": count, "pid": os.getpid(), "op": "CRASH", "path": "", "to": None})
    os.killpg(os.getpgrp(), signal.SIGKILL)


class FaultyFileIO(io.FileIO):
    """``io.FileIO`` whose reads and writes (the system calls under the buffers) are counted."""

    fault_path = ""

    def readinto(self, buffer: Any) -> Any:
        _operation("read", self.fault_path)()
        return super().readinto(buffer)

    def readall(self) -> bytes:
        _operation("read", self.fault_path)()
        return super().readall()

    def read(self, size: int = -1) -> Any:
        _operation("read", self.fault_path)()
        return super().read(size)

    def write(self, data: Any) -> Any:
        with _attempt("write", self.fault_path):
            return super().write(data)

    def truncate(self, size: int | None = None) -> int:
        with _attempt("truncate", self.fault_path):
            return super().truncate(size)

    def close(self) -> None:
        if not self.closed:
            _fd_paths.pop(self.fileno(), None)
        super().close()


_BUFFERED = {"r": io.BufferedReader, "w": io.BufferedWriter, "a": io.BufferedWriter}


def _open(file: Any, mode: str = "r", buffering: int = -1, encoding: str | None = None,
          errors: str | None = None, newline: str | None = None, closefd: bool = True,
          opener: Any = None) -> Any:  # fmt: skip
    """``open`` over a counted ``FaultyFileIO`` for files under the root."""
    path = _under_root(file)
    if path is None:
        return _real["open"](file, mode, buffering, encoding, errors, newline, closefd, opener)
    raw_mode = mode.replace("b", "").replace("t", "")
    creates = any(flag in raw_mode for flag in "wax")
    counted = _attempt("create" if creates else "open", path, given=(file,))
    # A descriptor already open (os.fdopen) was counted when it was opened.
    with contextlib.nullcontext() if isinstance(file, int) else counted:
        raw = FaultyFileIO(file, raw_mode, closefd, opener=opener)
    raw.fault_path = path
    _fd_paths[raw.fileno()] = path
    if buffering == 0:
        return raw
    size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
    kind = io.BufferedRandom if "+" in raw_mode else _BUFFERED[raw_mode.strip("+x")[:1] or "w"]
    buffered = kind(raw, size)
    if "b" in mode:
        return buffered
    return io.TextIOWrapper(buffered, encoding, errors, newline, line_buffering=buffering == 1)


def _wrap_path_call(name: str, op: str) -> None:
    """Count ``os.<name>(path, ...)`` as ``op`` when the path lies under the root."""
    real = _real[name] = getattr(os, name)

    def call(path: Any, *args: Any, **kwargs: Any) -> Any:
        found = _under_root(path) if kwargs.get("dir_fd") is None else None
        if found is None:
            return real(path, *args, **kwargs)
        with _attempt(op, found, given=(path,)):
            return real(path, *args, **kwargs)

    setattr(os, name, call)


def _wrap_two_path_call(name: str, op: str) -> None:
    """Count ``os.<name>(source, target)`` (rename, link) when either lies under the root."""
    real = _real[name] = getattr(os, name)

    def call(source: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        found, to = _under_root(source), _under_root(target)
        if found is None and to is None:
            return real(source, target, *args, **kwargs)
        with _attempt(op, found or "", to, given=(source, target)):
            return real(source, target, *args, **kwargs)

    setattr(os, name, call)


def _wrap_fd_call(name: str, op: str) -> None:
    """Count ``os.<name>(fd, ...)`` as ``op`` on a descriptor opened under the root."""
    real = _real[name] = getattr(os, name)

    def call(descriptor: Any, *args: Any, **kwargs: Any) -> Any:
        found = _fd_paths.get(descriptor) if isinstance(descriptor, int) else None
        if found is None:
            return real(descriptor, *args, **kwargs)
        with _attempt(op, found):
            return real(descriptor, *args, **kwargs)

    setattr(os, name, call)


def _os_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: Any = None) -> int:
    """``os.open``, counted (as ``create`` when it may make the file), its descriptor tracked."""
    found = _under_root(path) if dir_fd is None else None
    if found is None:
        return int(_real["os_open"](path, flags, mode, dir_fd=dir_fd))
    with _attempt("create" if flags & os.O_CREAT else "open", found, given=(path,)):
        descriptor = int(_real["os_open"](path, flags, mode, dir_fd=dir_fd))
        _fd_paths[descriptor] = found
        return descriptor


def _os_close(descriptor: int) -> None:
    _fd_paths.pop(descriptor, None)
    _real["close"](descriptor)


_PATH_CALLS = {
    "stat": "stat", "lstat": "stat", "scandir": "scandir", "listdir": "scandir",
    "mkdir": "mkdir", "unlink": "unlink", "remove": "unlink", "rmdir": "rmdir",
    "chmod": "chmod", "truncate": "truncate",
}  # fmt: skip
_FD_CALLS = {
    "read": "read", "pread": "read", "write": "write", "pwrite": "write", "fsync": "fsync",
    "fdatasync": "fsync", "fstat": "stat", "fchmod": "chmod", "ftruncate": "truncate",
}  # fmt: skip


def install() -> None:
    """Put the counting layer under ``os``, ``open`` and ``io.open`` of this process."""
    state = os.environ["BLUEHEART_FAULT_STATE"]
    _settings["root"] = os.path.normpath(os.path.abspath(os.environ["BLUEHEART_FAULT_ROOT"]))
    _settings["at"] = int(os.environ.get("BLUEHEART_FAULT_AT", "0"))
    _settings["action"] = os.environ.get("BLUEHEART_FAULT_ERRNO", "EIO")
    _settings["path"] = os.environ.get("BLUEHEART_FAULT_PATH") or None
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    _settings["counter_fd"] = os.open(os.path.join(state, "counter"), flags, 0o600)
    log_flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    _settings["log_fd"] = os.open(os.path.join(state, "log"), log_flags, 0o600)
    _real["write"], _real["close"] = os.write, os.close
    _real["pread"], _real["pwrite"] = os.pread, os.pwrite
    _real["open"], _real["os_open"] = io.open, os.open
    for name, op in _PATH_CALLS.items():
        _wrap_path_call(name, op)
    for name, op in _FD_CALLS.items():
        _wrap_fd_call(name, op)
    for name in ("rename", "replace", "link"):
        _wrap_two_path_call(name, "link" if name == "link" else "rename")
    os.open, os.close = _os_open, _os_close  # type: ignore[assignment]
    builtins.open = io.open = _open  # type: ignore[assignment]
    # tempfile keeps no reference of its own: mkstemp's os.open goes through the layer.
    assert tempfile._os is os  # type: ignore[attr-defined]
