"""The checks of a batch's source and destination folders before anything is made."""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable
from pathlib import Path

from blueheart.batching.records import Identity, stat_identity
from blueheart.batching.walk import cannot_read
from blueheart.core.errors import (
    OptionError,
    UnreadableImageError,
    destination_contains_source,
    destination_is_source,
)


def check_folders(source: Path, destination: Path) -> None:
    """Raise ``OptionError`` unless ``source`` is a folder and ``destination`` is not it, nor
    holds it; compared by device and inode, so a bind mount or a link is seen through.

    ``UnreadableImageError`` if ``source`` cannot be read (an I/O error: not a usage error)."""
    found = path_status(source, functools.partial(_cannot_read_source, source))
    if found is None or not stat.S_ISDIR(found.st_mode):
        what = "does not exist" if found is None else "is not a folder"
        raise OptionError("source", f"{source} {what}")
    into = path_status(destination, functools.partial(_cannot_use, destination))
    if into is None:
        return
    if not stat.S_ISDIR(into.st_mode):
        raise OptionError("destination", f"{destination} exists and is not a folder")
    destination_identity = stat_identity(into)
    try:
        lineage = _lineage(source)
    except OSError as error:
        raise _cannot_read_source(source, error) from None
    if destination_identity == lineage[0]:
        raise destination_is_source()
    if destination_identity in lineage:
        raise destination_contains_source()


def path_status(path: Path, failure: Callable[[OSError], Exception]) -> os.stat_result | None:
    """``path``'s status (links followed), None if nothing is there; ``failure(error)`` raised
    when that cannot be told (EIO, EACCES, a name too long)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise failure(error) from None


def _cannot_read_source(source: Path, error: OSError) -> UnreadableImageError:
    return UnreadableImageError(cannot_read(source, error))


def _cannot_use(destination: Path, error: OSError) -> OptionError:
    """DEST cannot be used at all: a usage error, as when it cannot be created or locked."""
    return OptionError("destination", f"{destination}: cannot write ({error.strerror or error})")


def _lineage(folder: Path) -> list[Identity]:
    """The identities of ``folder`` and of every folder above it, up to the root, found by
    ``..`` as the kernel sees it (through mounts), not by the path's text."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    descriptor = os.open(folder, flags)
    lineage: list[Identity] = []
    try:
        while True:
            found = os.fstat(descriptor)
            identity = (found.st_dev, found.st_ino)
            if lineage and identity == lineage[-1]:
                return lineage
            lineage.append(identity)
            parent = os.open("..", flags, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = parent
    finally:
        os.close(descriptor)
