"""Where a batch's JSON report may be written: checked against the plan before anything is
badged."""

from __future__ import annotations

import functools
import json
import stat
from collections.abc import Iterator
from pathlib import Path

from blueheart.batching.folders import path_status
from blueheart.batching.lock import LOCK_NAME
from blueheart.batching.records import Identity, Plan
from blueheart.core.errors import (
    BlueheartError,
    OptionError,
    OutputWriteError,
    input_refused,
    not_a_report,
)
from blueheart.io.atomic import check_output, file_identity
from blueheart.io.reading import open_regular


def is_report(path: Path) -> bool:
    """Whether ``path`` names a regular file holding a report in this format (a previous
    run's)."""
    try:
        with open_regular(path, str(path)) as handle:
            if handle.read(1) != b"{":
                return False
            document = json.loads(b"{" + handle.read())
    except (OSError, ValueError, BlueheartError):
        return False
    return isinstance(document, dict) and {"results", "counts"} <= document.keys()


def check_report(path: Path, plan: Plan, *, overwrite: bool) -> None:
    """Raise ``OptionError`` (field ``report``) unless a report may be written to ``path``.

    The report goes into an existing folder; it replaces a previous report (a re-run), or
    with ``overwrite`` any regular file, but never an input of ``plan``, a name where one of
    its outputs goes (folders compared by device and inode, so a link or a bind mount of the
    destination is seen through), a lock file, nor anything else.
    """
    folder = path_status(path.parent, functools.partial(_cannot_write, path))
    if folder is None or not stat.S_ISDIR(folder.st_mode):
        missing = "does not exist" if folder is None else "is not a folder"
        raise OptionError("report", f"{path.parent} {missing}")
    if file_identity(path) in plan.inputs:
        raise OptionError("report", input_refused(path, same_file=True))
    source = _source_writing(path, plan)
    if source is not None:
        raise OptionError(
            "report", f"{path} is where the output of {source} goes; give the report its own name"
        )
    if path.name == LOCK_NAME:
        raise OptionError("report", f"{path} is the lock file of a batch's output folder")
    try:
        existing = check_output(path, overwrite=True)
    except BlueheartError as error:
        if isinstance(error.__cause__, OSError):
            raise  # an I/O error asking: the report cannot be written (not a usage error)
        raise OptionError("report", str(error)) from None
    # An empty file there is what a power cut makes of a report written without fsync.
    if existing and existing.st_size and not overwrite and not is_report(path):
        raise not_a_report(path)


def _source_writing(path: Path, plan: Plan) -> str | None:
    """The input whose planned output is ``path`` (a file in an existing folder), if any."""
    folder = file_identity(path.parent)
    folders: dict[Path, Identity | None] = {}
    for source, output in _planned_outputs(plan):
        output_path = Path(output)
        if output_path.name != path.name:
            continue
        if output_path.parent not in folders:
            folders[output_path.parent] = file_identity(output_path.parent)
        if folders[output_path.parent] == folder:
            return source
    return None


def _planned_outputs(plan: Plan) -> Iterator[tuple[str, str]]:
    """(source, output) for every output ``plan`` names, to write or decided."""
    for job in plan.jobs:
        yield job.source, job.output
    for result in plan.decided:
        if result.output is not None:
            yield result.source, result.output


def _cannot_write(path: Path, error: OSError) -> OutputWriteError:
    return OutputWriteError(f"{path}: cannot write ({error.strerror or error})")
