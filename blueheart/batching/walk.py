"""The walk of a source folder: its inputs, and what is left out and why (also the contact
sheet's)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from blueheart.batching.lock import LOCK_NAME
from blueheart.batching.records import Identity, Result
from blueheart.core.formats import SUFFIX_FORMATS
from blueheart.io.atomic import file_identity
from blueheart.io.reading import file_kind


def find_images(folder: str | Path) -> list[Path]:
    """The image files below ``folder`` (by extension), sorted, leaving out what a batch
    would leave out: hidden names, files that are not regular, links out of ``folder``,
    folder links and previous batches' output folders."""
    return [item.path for item in discover(Path(folder)) if item.identity]


@dataclass(frozen=True, slots=True)
class Found:
    """A file the walk found: an input (its ``identity`` set), or a file or folder left out
    with the reason why (``skipped``, or ``failed`` when it could not be read)."""

    path: Path
    relative: Path
    identity: Identity | None = None
    skipped: str | None = None
    failed: str | None = None

    def result(self, shown: str) -> Result:
        """The result of a file or folder left out, shown as ``shown``."""
        if self.failed:
            return Result(shown, None, "failed", self.failed)
        return Result(shown, None, "skipped", reason=self.skipped)


def discover(source: Path, destination: Path | None = None) -> Iterator[Found]:
    """Every file below ``source`` and every folder left out, sorted by folder then name.

    Inputs are regular files named like images; the rest say why they are left out: hidden
    names (starting with "."), not an image, links out of ``source``, files that are not
    regular (FIFOs, sockets, devices), folder links (not followed), folders holding a
    previous batch's ``LOCK_NAME``, folders that cannot be read. ``destination``'s subtree
    is left out silently.
    """
    left_out = file_identity(destination) if destination is not None else None
    unreadable: list[OSError] = []
    for folder, subfolders, files in os.walk(source, onerror=unreadable.append):
        yield from _unreadable_folders(unreadable, source)
        here = Path(folder)
        kept = []
        for name in sorted(subfolders):
            path = here / name
            if left_out is not None and file_identity(path) == left_out:
                continue
            found = _examine_folder(path, source)
            if found is None:
                kept.append(name)
            else:
                yield found
        subfolders[:] = kept
        for name in sorted(files):
            yield _examine(here / name, source)
    yield from _unreadable_folders(unreadable, source)


def _unreadable_folders(errors: list[OSError], source: Path) -> Iterator[Found]:
    while errors:
        error = errors.pop(0)
        path = Path(error.filename)
        reason = f"{path}: cannot read the folder ({error.strerror or error})"
        yield Found(path, path.relative_to(source), failed=reason)


def _examine_folder(path: Path, source: Path) -> Found | None:
    """None for a folder to walk, else why it is left out."""
    try:
        reason = _folder_left_out(path)
    except OSError as error:  # a path longer than the system's limit (PATH_MAX)
        return Found(path, path.relative_to(source), failed=cannot_read(path, error))
    return Found(path, path.relative_to(source), skipped=reason) if reason else None


def cannot_read(path: Path, error: OSError) -> str:
    """The one-line reason ``path`` cannot be read."""
    return f"{path}: cannot read ({error.strerror or error})"


def _folder_left_out(path: Path) -> str | None:
    if path.name.startswith("."):
        return "hidden"
    if path.is_symlink():
        return "link to a folder (not followed)"
    with contextlib.suppress(OSError):  # a folder that cannot be read fails in the walk
        (path / LOCK_NAME).lstat()
        return f"a previous batch's output folder (holds {LOCK_NAME})"
    return None


def _examine(path: Path, source: Path) -> Found:
    """An input, or the reason ``path`` is left out; only a regular file is an input."""
    relative = path.relative_to(source)
    try:
        reason = _file_left_out(path, source)
        found = None if reason else path.stat()
    except OSError as error:  # removed meanwhile, not allowed, or a path over PATH_MAX
        return Found(path, relative, failed=cannot_read(path, error))
    if found is None:
        return Found(path, relative, skipped=reason)
    if not stat.S_ISREG(found.st_mode):
        return Found(path, relative, skipped=f"not a regular file ({file_kind(found.st_mode)})")
    return Found(path, relative, identity=(found.st_dev, found.st_ino))


def _file_left_out(path: Path, source: Path) -> str | None:
    if path.name.startswith("."):
        return "hidden"
    if path.suffix.lower() not in SUFFIX_FORMATS:
        return "not an image"
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken link"
    return None if is_within(target.parent, source) else "link out of the source folder"


def is_within(folder: Path, root: Path) -> bool:
    """Whether ``folder``, links resolved, is ``root`` or lies below it."""
    resolved, resolved_root = folder.resolve(), root.resolve()
    return resolved == resolved_root or resolved_root in resolved.parents
