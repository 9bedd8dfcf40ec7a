"""Where ``blueheart badge`` writes: every input's output, decided before anything is written."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import stat
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from blueheart.core.errors import OptionError, OutputWriteError, input_refused
from blueheart.core.formats import SUFFIX_FORMATS, TEMP_SUFFIX, badged_name, named_format
from blueheart.core.options import BadgeOptions
from blueheart.io.atomic import file_identity

_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)
NameKey = Callable[[str], str]
"""A name (or path) to the key two names share exactly when a file system takes them for one
file."""


def badge_targets(
    inputs: Sequence[str | Path], output: str | None, options: BadgeOptions
) -> list[Path]:
    """The output path of each of ``inputs``, in order.

    ``output`` None: "<stem>-blueheart<ext>" beside each input. ``output`` a folder (it ends
    with a slash, exists as a folder, or there are several inputs and it has no image
    extension): that name inside it, the folder created when written. Otherwise, for one
    input, ``output`` itself, whose extension must name a format blueheart writes.
    Raises ``OptionError`` (field ``destination``) when several inputs would go to one file,
    two inputs to one output, or an output would be an input; nothing has been written then.
    """
    sources = [Path(name) for name in inputs]
    if output == "":
        raise OptionError("destination", "the output's name is empty")
    if output is not None and not _is_folder(output, len(sources)):
        if len(sources) > 1:
            raise OptionError(
                "destination",
                f"{output}: names one file, but there are {len(sources)} inputs; "
                "give a folder (end it with /)",
            )
        named_format(Path(output), options.format, needs_alpha=options.needs_alpha)
        targets = [Path(output)]
    else:
        targets = [
            (Path(output) if output is not None else source.parent)
            / badged_name(source, options.format, needs_alpha=options.needs_alpha)
            for source in sources
        ]
    _check_distinct(sources, targets)
    return targets


def _is_folder(output: str, count: int) -> bool:
    if output.endswith(_SEPARATORS) or _names_a_folder(Path(output)):
        return True
    return count > 1 and Path(output).suffix.lower() not in SUFFIX_FORMATS


def _names_a_folder(path: Path) -> bool:
    """Whether ``path`` is an existing folder; ``OutputWriteError`` if that cannot be told."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as error:  # EACCES, EIO, a name too long: the output cannot be written
        raise OutputWriteError(f"{path}: cannot write ({error.strerror or error})") from None


def _check_distinct(sources: list[Path], targets: list[Path]) -> None:
    """No two inputs share an output (as the output folder's file system compares names), and
    no output is an input (by path, or by device and inode: a hard link, a bind mount)."""
    inputs = {source.resolve(): source for source in sources}
    identities = {file_identity(source) for source in sources} - {None}
    planned: dict[object, PlannedNames] = {}
    source_of: dict[tuple[object, str], Path] = {}
    for source, target in zip(sources, targets, strict=True):
        if target.resolve() in inputs or file_identity(target) in identities:
            same_file = target.resolve() not in inputs
            raise OptionError("destination", input_refused(target, same_file=same_file))
        folder = target.parent.resolve()
        where = file_identity(folder) or folder
        names = planned.setdefault(where, PlannedNames(functools.partial(name_key_in, folder)))
        first = (where, names.claim(target.name))
        if first in source_of:
            raise OptionError(
                "destination",
                f"{source_of[first]} and {source} would both be written to {target}; "
                "badge them into different folders",
            )
        source_of[first] = source


class PlannedNames:
    """The names planned in one folder (or, for a batch, below it), compared as its file
    system compares names. Only two names that differ by case or Unicode form alone are
    asked of the file system (``key``, a probe, made once): almost no run makes one."""

    def __init__(self, key: Callable[[], NameKey]) -> None:
        self.key = functools.cache(key)
        self.similar: dict[str, list[str]] = {}

    def claim(self, name: str) -> str:
        """The name planned first that is one file with ``name`` (``name`` itself if none)."""
        similar = self.similar.setdefault(_loosest_key(name), [])
        for earlier in similar:
            if earlier == name or self.key()(earlier) == self.key()(name):
                return earlier
        similar.append(name)
        return name


def _loosest_key(name: str) -> str:
    """``name``'s key on a file system folding both case and Unicode forms: names that any
    file system may take for one share it."""
    return fold_name(name, folds_case=True, normalises=True)


def name_key_in(folder: Path) -> NameKey:
    """How the file system holding ``folder`` (or, while it does not exist, its nearest
    existing parent) compares names: a function from a name (or a path below ``folder``) to
    a key that two names share when that file system takes them for one file.

    Found with hidden probe files, each made and removed at once (a killed run's are temp
    files, removed by the next batch): a case-insensitive file system (exFAT and FAT USB
    drives, SMB shares, macOS) folds case, and some (macOS) also take the composed and
    decomposed forms of an accented letter for one. Where a probe cannot be made (read-only,
    an I/O error), the file system is taken to fold: names that may be one file are taken for
    one, which fails an input instead of losing one.
    """
    folds_case = _takes_for_one(folder, "case", str.upper)
    normalises = _takes_for_one(folder, "\u00e9", functools.partial(unicodedata.normalize, "NFD"))
    return functools.partial(fold_name, folds_case=folds_case, normalises=normalises)


def fold_name(name: str, *, folds_case: bool, normalises: bool) -> str:
    """``name``'s key on a file system that folds case and/or Unicode normal forms.

    Case is folded fully (``casefold``): a few names a file system keeps apart (``ß`` and
    ``ss``) are taken for one, which fails an input instead of losing one."""
    if normalises:
        name = unicodedata.normalize("NFC", name)
    if folds_case:
        name = name.casefold()
    return unicodedata.normalize("NFC", name) if normalises else name


def _nearest_folder(folder: Path) -> Path:
    """``folder``, or while it does not exist its nearest existing parent."""
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate
    return Path(folder.anchor or ".")


def _takes_for_one(folder: Path, mark: str, variant: NameKey) -> bool:
    """Whether the file system of ``folder`` (see ``_nearest_folder``) finds a probe file
    under ``variant`` of its name; True where it cannot be told."""
    probe = Path(f".blueheart-probe-{secrets.token_hex(8)}-{mark}{TEMP_SUFFIX}")
    try:
        probe = _nearest_folder(folder) / probe
        other = probe.with_name(variant(probe.name))
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        # By name, not by inode: FUSE file systems number each name they are asked for.
        return os.path.lexists(other)
    except (OSError, ValueError):  # read-only, an I/O error, a name this file system refuses
        return True
    finally:
        _remove_probe(probe)


def _remove_probe(probe: Path) -> None:
    """Remove ``probe`` however the probe ended, again if a Ctrl-C lands as it is removed;
    one that stays (an I/O error, a kill) is a hidden temp file: the next batch there
    removes it."""
    try:
        probe.unlink(missing_ok=True)
    except OSError:
        pass
    except BaseException:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        raise
