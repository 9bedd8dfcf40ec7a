"""The destination's lock: one run at a time in a folder (and in any folder inside it), and
the removal of the temporary files a killed run left there."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from blueheart._version import __version__
from blueheart.batching.records import stat_identity
from blueheart.core.errors import BlueheartError, OptionError
from blueheart.core.formats import TEMP_SUFFIX
from blueheart.io.atomic import make_folders, missing_folders

LOCK_NAME = ".blueheart-batch"
"""The file a run holds locked in its destination; it stays there as the mark of a batch's
output folder, so that a later batch whose source holds that folder leaves it out."""
IN_OTHER_BATCH = f"in another batch's output folder (holds {LOCK_NAME})"
"""Why a file whose output folder is another batch's is left alone."""


def other_batch_folder(folder: Path, destination: Path) -> Path | None:
    """The folder from ``folder`` up to (not including) ``destination`` that holds another
    batch's lock file, if one does: a run started into it after this run planned (through a
    bind mount, say) owns it now."""
    for here in (folder, *folder.parents):
        if here == destination or destination not in here.parents:
            return None
        if os.path.lexists(here / LOCK_NAME):
            return here
    return None


_LOCK_NOTE_BYTES = 4096
"""The most read back of what a run wrote into its lock file (one line of JSON)."""


_HELD: set[int] = set()
"""Descriptors of the locks this process holds. A worker forked while one is held would keep
it held (a lock goes with the open file, shared across a fork) until the worker ends: after the
run was killed, its lingering workers refused the re-run as "in use by another run"."""


def _close_held_locks() -> None:
    """In a process just forked: close the locks inherited (the parent keeps holding them)."""
    for descriptor in _HELD:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_held_locks)


@contextlib.contextmanager
def destination_lock(destination: Path) -> Iterator[LockHold]:
    """Hold ``destination`` for one run, creating it if needed.

    An exclusive lock (``flock``) on its ``LOCK_NAME`` file, which names the run (pid, host,
    start time); the lock goes with the process, so a killed run never leaves it held. The
    file stays after the run as the mark of a batch's output folder. Raises ``OptionError``
    (field "destination") naming the other run when one holds the lock or that of a folder
    holding ``destination`` (whose cleanup would take this run's temporary files for a killed
    run's), or when the file cannot be made or written (a full disk). Nothing is left when it
    raises, nor when the body raises ``OptionError``, or any ``BlueheartError`` until it sets
    the ``LockHold`` it is given ``refusable = False`` (a run refused before it started): the
    folders and lock file it made are removed.
    """
    _refuse_inside_a_running_batch(destination)
    lock = destination / LOCK_NAME
    hold = LockHold()
    try:
        made = missing_folders(destination)
    except OSError as error:
        raise _cannot_lock(lock, error) from None
    made_lock = False
    try:
        descriptor, made_lock = _take_lock(destination, lock)
        try:
            # Again, now that this run holds its lock: of two runs started together, one
            # into a folder inside the other's, the outer either holds its lock by now (and
            # this run stops) or takes it later and finds this one's lock in its plan.
            _refuse_inside_a_running_batch(destination)
            _note_run(descriptor, lock)
            _HELD.add(descriptor)
            yield hold
        except BaseException as error:
            if made_lock and hold.refuses(error):
                with contextlib.suppress(OSError):
                    lock.unlink(missing_ok=True)
            raise
        finally:
            _HELD.discard(descriptor)
            os.close(descriptor)
    except BaseException as error:
        if hold.refuses(error):
            _remove_folders(made)
        raise


@dataclass
class LockHold:
    """What a ``destination_lock`` holder says: whether the run may still be refused (it
    has written nothing yet)."""

    refusable: bool = True

    def refuses(self, error: BaseException) -> bool:
        """Whether ``error`` refuses the run: an ``OptionError``, or any blueheart error
        while the run is ``refusable`` (the report's folder cannot be read, say)."""
        return isinstance(error, OptionError) or (
            self.refusable and isinstance(error, BlueheartError)
        )


def _take_lock(destination: Path, lock: Path) -> tuple[int, bool]:
    """The descriptor of ``lock``, held exclusively, and whether this call made the file."""
    try:
        make_folders(destination)
        descriptor, made = _open_lock(lock)
    except OSError as error:
        raise _cannot_lock(lock, error) from None
    try:
        _hold(descriptor, lock)
    except BlockingIOError:
        holder = _holder(descriptor)
        os.close(descriptor)
        raise OptionError(
            "destination", f"{destination} is in use by another run ({holder})"
        ) from None
    except BaseException:
        os.close(descriptor)
        # Not above: the run holding the lock may have just opened the file made here.
        if made:
            with contextlib.suppress(OSError):
                lock.unlink()
        raise
    return descriptor, made


def _hold(descriptor: int, lock: Path) -> None:
    """Lock ``descriptor`` (``lock``'s) exclusively: ``BlockingIOError`` if another run holds
    it, ``OptionError`` if it cannot be (not a regular file, an I/O error)."""
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise OptionError("destination", f"{lock} is not a regular file")
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # A refused run removes the lock file it made: held, but no longer at its name.
        if stat_identity(lock.stat()) != stat_identity(found):
            raise BlockingIOError
    except FileNotFoundError:
        raise BlockingIOError from None
    except BlockingIOError:
        raise
    except OSError as error:
        raise _cannot_lock(lock, error) from None


def _open_lock(lock: Path) -> tuple[int, bool]:
    """A descriptor of ``lock``, made if missing, and whether this call made it."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        return os.open(lock, flags | os.O_CREAT | os.O_EXCL, 0o666), True
    except FileExistsError:
        return os.open(lock, flags), False


def _note_run(descriptor: int, lock: Path) -> None:
    """Write this run's note into the ``lock`` it holds; ``OptionError`` if it cannot (a
    full disk)."""
    note = _run_description().encode("utf-8")
    try:
        # The note first, then the length: a failed write leaves the previous note whole.
        os.pwrite(descriptor, note, 0)
        os.ftruncate(descriptor, len(note))
    except OSError as error:
        raise _cannot_lock(lock, error) from None


def _remove_folders(made: list[Path]) -> None:
    """Remove the folders of ``made`` (outermost first) that are still empty."""
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _cannot_lock(lock: Path, error: OSError) -> OptionError:
    return OptionError("destination", f"cannot lock {lock} ({error.strerror or error})")


def _refuse_inside_a_running_batch(destination: Path) -> None:
    here = destination.resolve()
    for path in (here, *other_paths(here)):
        for folder in path.parents:
            holder = _running_batch(folder / LOCK_NAME)
            if holder is not None:
                raise OptionError(
                    "destination",
                    f"{destination} is inside {folder}, in use by another run ({holder})",
                )


MOUNTINFO = Path("/proc/self/mountinfo")
"""Linux's table of this process's mounts: each one's device, root in it, and mount point."""


def other_paths(folder: Path) -> list[Path]:
    """The other paths of the absolute ``folder`` through the mounts of its file system: a
    bind mount shows a folder under a second path that no comparison of paths sees. None
    where the system has no mount table to read."""
    try:
        mounts = [_mount(line) for line in MOUNTINFO.read_text().splitlines()]
    except (OSError, IndexError, ValueError):
        return []
    here = str(folder)
    holding = [mount for mount in mounts if _within(here, mount[2])]
    if not holding:
        return []
    device, root, point = max(holding, key=lambda mount: len(mount[2]))
    inside = _joined(root, here[len(point.rstrip("/")) :])  # the folder's path in its device
    return [
        Path(_joined(other_point, inside[len(other_root.rstrip("/")) :]))
        for other_device, other_root, other_point in mounts
        if other_device == device and other_point != point and _within(inside, other_root)
    ]


def _mount(line: str) -> tuple[str, str, str]:
    """(device, root, mount point) of one line of ``MOUNTINFO``; names unescaped."""
    fields = line.split(" ")
    unescape = functools.partial(re.sub, r"\\([0-7]{3})", lambda code: chr(int(code[1], 8)))
    return fields[2], unescape(fields[3]), unescape(fields[4])


def _within(path: str, folder: str) -> bool:
    return folder == "/" or path == folder or path.startswith(folder.rstrip("/") + "/")


def _joined(folder: str, rest: str) -> str:
    return folder.rstrip("/") + rest if rest else folder


def _running_batch(lock: Path) -> str | None:
    """The run holding ``lock``, in words, or None if no run holds it (or there is none)."""
    try:
        descriptor = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        # A shared lock for a moment: taken only if no run holds the lock exclusively.
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(descriptor)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return None


def _run_description() -> str:
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    run = {"program": f"blueheart {__version__}", "pid": os.getpid(), "host": os.uname().nodename}
    return json.dumps({**run, "started": started}) + "\n"


def _holder(descriptor: int) -> str:
    """The run holding a lock, in words, from what it wrote into the lock file."""
    try:
        run = json.loads(os.pread(descriptor, _LOCK_NOTE_BYTES, 0))
        return f"pid {run['pid']} on {run['host']}, started {run['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a run that has not said which yet"


def remove_stale_temp_files(destination: Path) -> int:
    """Delete the hidden temporary files a killed run left in ``destination``; how many.

    Call it only under ``destination_lock``: a live run's temporary files look the same.
    Folders inside holding another batch's ``LOCK_NAME`` are left alone: that batch may be
    running, and cleans them itself when it next runs."""
    removed = 0
    for folder, subfolders, files in os.walk(destination, followlinks=False):
        subfolders[:] = [
            name for name in subfolders if not os.path.lexists(Path(folder, name, LOCK_NAME))
        ]
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):  # an I/O error: the next run tries again
                    (Path(folder) / name).unlink(missing_ok=True)
                    removed += 1
    return removed
