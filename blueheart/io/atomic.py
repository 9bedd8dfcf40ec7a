"""Writing outputs whole or not at all, and durably: temporary files, publishing, folders."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from blueheart.core.errors import OutputExistsError, OutputWriteError, output_exists
from blueheart.core.formats import TEMP_SUFFIX
from blueheart.io.reading import file_kind

_NAME_MAX = 255
"""Bytes in one file name on the usual file systems, when the folder cannot tell."""
_TEMP_RANDOM = 8
"""Random characters between a temporary file's prefix and its suffix."""
_TEMP_ATTEMPTS = 100
"""Random names tried before giving up: each clashes only with a file of the same name."""


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names, links followed; None if there is none.

    Two paths name the same file exactly when these match, whatever the paths say: hard
    links, symbolic links, bind mounts, a folder shared twice into a container.
    """
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def check_output(path: Path, *, overwrite: bool) -> os.stat_result | None:
    """The ``lstat`` of an existing ``path`` that may be replaced, or None if it is free.

    Only regular files are ever replaced (never a device, FIFO, folder or link), and only
    with ``overwrite``. Raises ``OutputExistsError`` or ``OutputWriteError``.
    """
    try:
        existing = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _write_error(path, error) from error
    if not stat.S_ISREG(existing.st_mode):
        raise OutputWriteError(
            f"{path}: is {file_kind(existing.st_mode)}; only regular files are replaced"
        )
    if not overwrite:
        raise output_exists(path)
    return existing


def write_atomic(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file in the same folder, durably.

    Readers never see half a file, and a crash leaves at most a ``.*.blueheart-tmp`` file
    (its name shortened to fit the file system's limit). The file is synced before it takes
    its name and the folder after (and every folder made, in its parent): once this returns,
    a power cut leaves the whole file; before, the old one (or none) or the whole new one.
    Only a regular file is ever replaced, and only with ``overwrite``; without it an existing
    ``path`` is never replaced, even one created meanwhile (``OutputExistsError``). Other
    failures raise ``OutputWriteError`` and leave nothing behind, but for a failed sync of the
    folder: the new file, whole, keeps its name, not yet known to survive a power cut.
    """
    check_output(path, overwrite=overwrite)
    try:
        make_folders(path.parent)
        descriptor, temp = _create_temp(path)
    except OSError as error:
        raise _write_error(path, error) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            # The bytes reach the disk before the name does: a power cut after the rename
            # must not leave the name on an empty or partly written file.
            os.fsync(handle.fileno())
        _publish(temp, path, overwrite=overwrite)
        sync_folder(path.parent)
    except OutputExistsError:
        temp.unlink(missing_ok=True)
        raise
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise _write_error(path, error) from error
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def missing_folders(folder: Path) -> list[Path]:
    """``folder`` and the folders above it that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def make_folders(folder: Path) -> None:
    """``folder.mkdir(parents=True, exist_ok=True)``, with each folder made synced into its
    parent, so that a power cut cannot lose the folder of a file synced in it."""
    for made in missing_folders(folder):
        try:
            made.mkdir()
        except FileExistsError:
            if not made.is_dir():
                raise
        # Synced even when another process made it a moment ago: it may not have synced yet.
        sync_folder(made.parent)


def sync_folder(folder: Path) -> None:
    """``fsync`` ``folder``: the names made, replaced or removed in it survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    except OSError as error:
        # Some file systems cannot sync a folder (EINVAL): they keep names as they can.
        if error.errno != errno.EINVAL:
            raise
    finally:
        os.close(descriptor)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new hidden temporary file beside ``path``, open for writing, and its path.

    Made with the mode any new file gets (0o666 less the umask, applied by the system), so
    the output has the permissions a plain write would give it; the umask is never read (it
    can only be read by changing it, which other threads would see)."""
    prefix = _temp_prefix(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(_TEMP_ATTEMPTS):
        temp = path.parent / f"{prefix}{secrets.token_hex(_TEMP_RANDOM // 2)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def remove_temp_files_of(path: Path) -> None:
    """Delete the temporary files a killed ``write_atomic`` of ``path`` left beside it (only
    that name's: call it where no other run writes ``path``)."""
    prefix = _temp_prefix(path)
    length = len(prefix) + _TEMP_RANDOM + len(TEMP_SUFFIX)
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            name = entry.name
            if len(name) == length and name.startswith(prefix) and name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink(missing_ok=True)


def _temp_prefix(path: Path) -> str:
    """``.<name>.``, the name cut so that the temporary name fits the folder's limit."""
    try:
        name_max = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = _NAME_MAX
    budget = name_max - len(f"..{TEMP_SUFFIX}") - _TEMP_RANDOM
    name = path.name
    while len(os.fsencode(name)) > budget:
        name = name[:-1]
    return f".{name}."


def _write_error(path: Path, error: OSError) -> OutputWriteError:
    return OutputWriteError(f"{path}: cannot write ({error.strerror or error})")


def _publish(temp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        # Checked again just before: a device or FIFO put there meanwhile stays.
        check_output(path, overwrite=True)
        temp.replace(path)
        return
    try:
        # A hard link fails if the name exists: no-clobber even against a concurrent writer.
        os.link(temp, path)
    except FileExistsError:
        raise output_exists(path) from None
    except OSError:
        if check_output(path, overwrite=True) is not None:
            raise output_exists(path) from None
        temp.replace(path)
        return
    temp.unlink()
