"""Planning a batch: each input's output decided from the walk, without reading any image."""

from __future__ import annotations

import contextlib
import functools
import os
import stat
from collections.abc import Callable
from pathlib import Path

from blueheart.batching.folders import check_folders
from blueheart.batching.lock import IN_OTHER_BATCH, LOCK_NAME
from blueheart.batching.records import Identity, Job, Plan, Result, Status, stat_identity
from blueheart.batching.walk import Found, discover
from blueheart.core.errors import input_refused
from blueheart.core.formats import SUFFIX_FORMATS, output_format, output_suffix
from blueheart.core.options import BadgeOptions
from blueheart.io.atomic import file_identity
from blueheart.io.targets import NameKey, PlannedNames, name_key_in
from blueheart.io.whole import looks_whole


def plan_batch(
    source: str | Path,
    destination: str | Path,
    options: BadgeOptions,
    *,
    overwrite: bool,
    name_key: NameKey | None = None,
) -> Plan:
    """Walk ``source`` and decide each file's output, without reading any image.

    Outputs are compared as ``destination``'s file system compares names (``name_key``;
    None: found by ``targets.name_key_in``): of two inputs whose outputs would be one file
    there (``IMG.JPG`` and ``img.jpg`` on a case-insensitive drive), the second in the walk's
    order fails, on every run. An input that is a file of ``destination`` (a link into it)
    is skipped. An output that would go into another batch's output folder inside
    ``destination`` (one holding a ``LOCK_NAME``) is skipped: that folder is the other
    batch's to write and clean.
    """
    source_path, destination_path = Path(source), Path(destination)
    check_folders(source_path, destination_path)
    found = list(discover(source_path, destination_path))
    inputs = frozenset(item.identity for item in found if item.identity)
    key = functools.partial(name_key_in, destination_path) if name_key is None else lambda: name_key
    outputs = _Outputs(destination_path, inputs, overwrite, PlannedNames(key))
    jobs: list[Job] = []
    decided: list[Result] = []
    for item in found:
        shown = str(source_path / item.relative)
        if item.identity is None:
            decided.append(item.result(shown))
            continue
        kind = SUFFIX_FORMATS[item.path.suffix.lower()]
        output = (
            destination_path
            / item.relative.parent
            / (item.path.stem + _suffix(item.path, kind, options))
        )
        outcome = outputs.decide(shown, item, output)
        if isinstance(outcome, Job):
            jobs.append(outcome)
        else:
            decided.append(outcome)
    return Plan(tuple(jobs), tuple(decided), inputs)


class _Outputs:
    """What planning knows of the destination: its files, other batches' folders in it,
    and the outputs claimed so far, by the name its file system sees."""

    def __init__(
        self, destination: Path, inputs: frozenset[Identity], overwrite: bool, names: PlannedNames
    ) -> None:
        self.destination, self.inputs, self.overwrite, self.names = (
            destination, inputs, overwrite, names
        )  # fmt: skip
        self.files = _files_below(destination)
        self.in_other_batch = _in_other_batch(destination)
        self.claimed: dict[str, tuple[Path, str]] = {}
        """Each output name claimed so far: its first output and the input shown for it."""

    def decide(self, shown: str, item: Found, output: Path) -> Job | Result:
        """The job for ``item``'s ``output``, or its result decided without badging."""
        if item.identity in self.files and file_identity(output) != item.identity:
            return Result(shown, None, "skipped", reason="a link to a file in the destination")
        first = self.claimed.setdefault(self.names.claim(str(output)), (output, shown))
        decision, replaces = _decide_output(
            output,
            shown,
            first,
            self.inputs,
            overwrite=self.overwrite,
            foreign=self.in_other_batch(item.relative.parent),
        )
        if decision is None:
            return Job(shown, str(output), str(self.destination), replaces, item.identity)
        return Result(shown, str(output), *decision)


def _files_below(folder: Path) -> frozenset[Identity]:
    """The identities of the files below ``folder`` (links not followed); none if it is not
    there."""
    found: set[Identity] = set()
    for here, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile, or a name too long
                status = os.lstat(Path(here, name))
                found.add((status.st_dev, status.st_ino))
    return frozenset(found)


def _in_other_batch(destination: Path) -> Callable[[Path], bool]:
    """Whether a folder, relative to ``destination``, is or lies inside another batch's
    output folder there (``destination``'s own lock is this run's)."""

    @functools.cache
    def inside(relative: Path) -> bool:
        if relative == relative.parent:  # destination itself
            return False
        return inside(relative.parent) or os.path.lexists(destination / relative / LOCK_NAME)

    return inside


Decision = tuple[Status, str | None, str | None]
"""(status, error, reason) of a file decided without badging it."""


def _decide_output(
    output: Path,
    shown: str,
    first: tuple[Path, str],
    inputs: frozenset[Identity],
    *,
    overwrite: bool,
    foreign: bool,
) -> tuple[Decision | None, Identity | None]:
    """The decision for an output decided without badging (None: to badge), and the
    identity of the file a job badging it replaces (None: none). ``shown``: the input, as
    the report names it; ``first``: the first output
    planned under the same name on the destination's file system (``output`` itself when none
    was before) and its input; ``foreign``: its folder is another batch's.

    An existing output is skipped (resume) unless ``overwrite``, or unless it is empty or
    cut short (``looks_whole``): a crash or a power cut left it, and it is badged again."""
    if foreign:
        return ("skipped", None, IN_OTHER_BATCH), None
    first_output, first_input = first
    if first_output is not output:
        if str(first_output) == str(output):
            taken = f"{shown}: its output {output} is {first_input}'s; rename one of the two"
            return ("failed", taken, None), None
        clash = f"{output}: clashes with {first_output}: one name on this file system"
        return ("failed", clash, None), None
    try:
        found = output.lstat()
    except FileNotFoundError:
        return None, None
    except OSError as error:  # a name over the file system's limit, a file where a folder goes
        return ("failed", f"{output}: cannot write ({error.strerror or error})", None), None
    if not overwrite and (not stat.S_ISREG(found.st_mode) or looks_whole(output)):
        return ("skipped", None, "exists"), None
    if file_identity(output) in inputs:
        return ("failed", input_refused(output, same_file=True), None), None
    return None, stat_identity(found)


def _suffix(path: Path, kind: str, options: BadgeOptions) -> str:
    written = output_format(kind, options.format, needs_alpha=options.needs_alpha)
    return output_suffix(path.suffix, written)
