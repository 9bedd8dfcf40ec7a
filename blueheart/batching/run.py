"""Badging folders: discover, plan outputs, run jobs on any executor, report.

Jobs carry paths, never decoded pixels, so a process pool and a Dask cluster run the same code.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from blueheart._version import __version__
from blueheart.batching.executors import WorkerPool, executor_for, worker_died
from blueheart.core.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    BlueheartError,
    OptionError,
    OutputExistsError,
    OutputWriteError,
    UnreadableImageError,
    destination_contains_source,
    destination_is_source,
    input_refused,
    not_a_report,
    one_line,
)
from blueheart.core.formats import SUFFIX_FORMATS, TEMP_SUFFIX, output_format, output_suffix
from blueheart.core.options import BadgeOptions, path_argument, resolve_options
from blueheart.io.imagefile import (
    check_output,
    file_identity,
    file_kind,
    looks_whole,
    make_folders,
    missing_folders,
    open_regular,
    remove_temp_files_of,
    write_atomic,
)
from blueheart.io.targets import NameKey, PlannedNames, name_key_in

Status = Literal["ok", "skipped", "failed"]

_MAX_CHUNK = 16
_CHUNK_BYTES = 1_000_000
LOCK_NAME = ".blueheart-batch"
"""The file a run holds locked in its destination; it stays there as the mark of a batch's
output folder, so that a later batch whose source holds that folder leaves it out."""
Identity = tuple[int, int]
"""(device, inode): the same file whatever the path (hard links, links, bind mounts)."""

_POLL_S = 0.2
"""How often a waiting run looks at its stop flag, in seconds."""
_LOCK_NOTE_BYTES = 4096
"""The most read back of what a run wrote into its lock file (one line of JSON)."""


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one file; paths as given on the command line joined with the
    relative path."""

    source: str
    output: str | None
    status: Status
    error: str | None = None
    reason: str | None = None
    """Why a ``skipped`` file was left alone: "exists", "not an image", "hidden", ..."""


@dataclass(frozen=True, slots=True)
class Job:
    """One file to badge: where it is, where its output goes, and the folder that output
    must stay inside. Plain strings: a plan of 100,000 jobs stays small."""

    source: str
    output: str
    destination: str
    replaces: Identity | None = None
    """The file at ``output`` when planned, which the job replaces (with ``overwrite``, or
    one cut short by a crash); None: there was none."""


@dataclass(frozen=True)
class Plan:
    """The jobs to run, the results already decided while planning (skips, clashes), and
    the identity of every input."""

    jobs: tuple[Job, ...]
    decided: tuple[Result, ...]
    inputs: frozenset[Identity] = frozenset()


@dataclass(frozen=True)
class Report:
    """Every file's result (sorted by source), with counts and the exit code the CLI uses."""

    results: tuple[Result, ...]
    interrupted: bool = False
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        # Results arrive in completion order; the report lists them by source.
        object.__setattr__(self, "results", tuple(sorted(self.results, key=lambda r: r.source)))
        counts = {"ok": 0, "skipped": 0, "failed": 0}
        for result in self.results:
            counts[result.status] += 1
        object.__setattr__(self, "counts", counts)

    @property
    def exit_code(self) -> int:
        """``EXIT_INTERRUPTED`` (130) if interrupted, ``EXIT_FAILED`` (1) if any file
        failed, else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.counts["failed"] else 0

    def summary(self) -> str:
        """``N ok, N skipped, N failed``."""
        return ", ".join(f"{count} {status}" for status, count in self.counts.items())

    def to_json(self) -> str:
        """The report in the documented JSON format.

        A name that is not UTF-8 (Python holds its bytes as lone surrogates) is written as
        ``\\udcXX`` escapes, which ``json.loads`` and ``os.fsencode`` turn back into the name."""
        document = {
            "results": [
                {
                    "source": r.source,
                    "output": r.output,
                    "status": r.status,
                    "error": r.error,
                    "reason": r.reason,
                }
                for r in self.results
            ],
            "counts": self.counts,
        }
        text = json.dumps(document, indent=2, ensure_ascii=False)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


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


ProgressCallback = Callable[[Result], None]
PlanCallback = Callable[[Plan], None]


def batch(
    source: str | Path,
    destination: str | Path,
    options: BadgeOptions | None = None,
    *,
    executor: Executor | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    planned: PlanCallback | None = None,
    overwrite: bool = False,
    report: str | Path | None = None,
    dry_run: bool = False,
    stop: threading.Event | None = None,
) -> Report:
    """Badge every image under ``source`` into ``destination``, mirroring relative paths.

    Non-images, hidden names and files that are not regular are skipped, unreadable images
    and folders failed (the batch goes on), existing outputs skipped unless ``overwrite``.

    The jobs run on ``executor``; without one, on ``workers`` processes (1: in this
    process) or on the Dask ``scheduler`` at that address ("local": a cluster of
    ``workers`` started for the run; see ``executor_for``). ``progress`` is called with
    each ``Result`` as it arrives: first those decided while planning, then, after
    ``planned`` has been called with the ``Plan``, those of the files badged. ``report``
    names a JSON report (``Report.to_json``) to write at the end: checked before anything is
    badged, it replaces only a previous report, or with ``overwrite`` a regular file that is
    not an input, and it is never where an output goes. ``dry_run`` stops after ``planned``,
    writing nothing.

    Once the workers (or the cluster) are ready, the run holds ``destination``'s lock (see
    ``destination_lock``; nothing is created before, and what it made is removed when the
    run is refused), removes the temporary files a killed run left there (and those of
    ``report``), then plans; after an interrupted run it removes its own. A dry run plans
    without the lock. Setting
    ``stop`` (from a signal handler, say), or ``KeyboardInterrupt``, stops the run: the
    files finished are kept and reported, and the report says ``interrupted``. Raises
    ``OptionError`` for a missing ``source``, a ``destination`` that is ``source`` or holds
    it or is in use by another run (or lies inside a folder in use by one), a ``report``
    that may not be written, or a ``scheduler`` that cannot be reached, ``UnreadableImageError``
    for a ``source`` that cannot be read and ``OutputWriteError`` for a ``report`` that cannot
    be checked (an I/O error), and ``TypeError`` for an argument of the wrong type
    (``source``, ``destination``, ``report``, ``options``).
    """
    source_path = path_argument("source", source)
    destination_path = path_argument("destination", destination)
    if report is not None:
        path_argument("report", report)
    resolved = resolve_options(options, {})
    report_path = Path(report) if report is not None else None
    if dry_run:
        plan = _checked_plan(source_path, destination_path, resolved, overwrite, report_path)
        _announce(plan.decided, progress)
        if planned:
            planned(plan)
        return Report(plan.decided)
    check_folders(source_path, destination_path)
    stop = stop if stop is not None else threading.Event()
    # The workers first: a scheduler that cannot be reached refuses the run before the
    # destination or its lock is made. The lock before the plan: two runs started together
    # into one folder (or one inside the other) never both plan to write it.
    with (
        _running_on(executor, workers, scheduler) as runner,
        destination_lock(destination_path) as hold,
    ):
        remove_stale_temp_files(destination_path)
        plan = _checked_plan(source_path, destination_path, resolved, overwrite, report_path)
        hold.refusable = False
        if report_path is not None:  # a killed run's half-written report, outside DEST
            remove_temp_files_of(report_path)
        results = list(plan.decided)
        _announce(plan.decided, progress)
        if planned:
            planned(plan)
        _run(plan.jobs, resolved, runner, overwrite, stop, results, progress)
        # Workers killed mid-photo (by a stop, by the kernel, or as survivors of a broken
        # pool) leave their hidden temp files; the run removes its own.
        remove_stale_temp_files(destination_path)
        outcome = Report(tuple(results), interrupted=stop.is_set())
        if report_path is not None:
            write_atomic(report_path, outcome.to_json().encode("utf-8"), overwrite=True)
    return outcome


def _checked_plan(
    source: Path, destination: Path, options: BadgeOptions, overwrite: bool, report: Path | None
) -> Plan:
    """The plan, with ``report`` checked against it."""
    plan = plan_batch(source, destination, options, overwrite=overwrite)
    if report is not None:
        check_report(report, plan, overwrite=overwrite)
    return plan


def _announce(results: Iterable[Result], progress: ProgressCallback | None) -> None:
    for result in results:
        if progress:
            progress(result)


def _running_on(
    executor: Executor | None, workers: int, scheduler: str | None
) -> contextlib.AbstractContextManager[Executor | None]:
    if executor is not None:
        return contextlib.nullcontext(executor)
    return executor_for(workers, scheduler)


def _run(
    jobs: tuple[Job, ...],
    options: BadgeOptions,
    executor: Executor | None,
    overwrite: bool,
    stop: threading.Event,
    results: list[Result],
    progress: ProgressCallback | None,
) -> None:
    """Run ``jobs``, adding each result to ``results``; a ``KeyboardInterrupt`` sets ``stop``."""
    try:
        for result in run_jobs(jobs, options, executor=executor, overwrite=overwrite, stop=stop):
            results.append(result)
            if progress:
                progress(result)
    except KeyboardInterrupt:
        stop.set()


def check_report(path: Path, plan: Plan, *, overwrite: bool) -> None:
    """Raise ``OptionError`` (field ``report``) unless a report may be written to ``path``.

    The report goes into an existing folder; it replaces a previous report (a re-run), or
    with ``overwrite`` any regular file, but never an input of ``plan``, a name where one of
    its outputs goes (folders compared by device and inode, so a link or a bind mount of the
    destination is seen through), a lock file, nor anything else.
    """
    folder = _status(path.parent, functools.partial(_cannot_write, path))
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


def check_folders(source: Path, destination: Path) -> None:
    """Raise ``OptionError`` unless ``source`` is a folder and ``destination`` is not it, nor
    holds it; compared by device and inode, so a bind mount or a link is seen through.

    ``UnreadableImageError`` if ``source`` cannot be read (an I/O error: not a usage error)."""
    found = _status(source, functools.partial(_cannot_read_source, source))
    if found is None or not stat.S_ISDIR(found.st_mode):
        what = "does not exist" if found is None else "is not a folder"
        raise OptionError("source", f"{source} {what}")
    into = _status(destination, functools.partial(_cannot_use, destination))
    if into is None:
        return
    if not stat.S_ISDIR(into.st_mode):
        raise OptionError("destination", f"{destination} exists and is not a folder")
    destination_identity = _identity(into)
    try:
        lineage = _lineage(source)
    except OSError as error:
        raise _cannot_read_source(source, error) from None
    if destination_identity == lineage[0]:
        raise destination_is_source()
    if destination_identity in lineage:
        raise destination_contains_source()


def _status(path: Path, failure: Callable[[OSError], Exception]) -> os.stat_result | None:
    """``path``'s status (links followed), None if nothing is there; ``failure(error)`` raised
    when that cannot be told (EIO, EACCES, a name too long)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise failure(error) from None


def _cannot_read_source(source: Path, error: OSError) -> UnreadableImageError:
    return UnreadableImageError(_cannot_read(source, error))


def _cannot_use(destination: Path, error: OSError) -> OptionError:
    """DEST cannot be used at all: a usage error, as when it cannot be created or locked."""
    return OptionError("destination", f"{destination}: cannot write ({error.strerror or error})")


def _cannot_write(path: Path, error: OSError) -> OutputWriteError:
    return OutputWriteError(f"{path}: cannot write ({error.strerror or error})")


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
        self.claimed: dict[str, Path] = {}

    def decide(self, shown: str, item: Found, output: Path) -> Job | Result:
        """The job for ``item``'s ``output``, or its result decided without badging."""
        if item.identity in self.files and file_identity(output) != item.identity:
            return Result(shown, None, "skipped", reason="a link to a file in the destination")
        first = self.claimed.setdefault(self.names.claim(str(output)), output)
        decision, replaces = _decide_output(
            output,
            first,
            self.inputs,
            overwrite=self.overwrite,
            foreign=self.in_other_batch(item.relative.parent),
        )
        if decision is None:
            return Job(shown, str(output), str(self.destination), replaces)
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
    output: Path, first: Path, inputs: frozenset[Identity], *, overwrite: bool, foreign: bool
) -> tuple[Decision | None, Identity | None]:
    """The decision for an output decided without badging (None: to badge), and the
    identity of the file a job badging it replaces (None: none). ``first``: the first output
    planned under the same name on the destination's file system (``output`` itself when none
    was before); ``foreign``: its folder is another batch's.

    An existing output is skipped (resume) unless ``overwrite``, or unless it is empty or
    cut short (``looks_whole``): a crash or a power cut left it, and it is badged again."""
    if foreign:
        return ("skipped", None, f"in another batch's output folder (holds {LOCK_NAME})"), None
    if first is not output:
        if str(first) == str(output):
            return ("failed", f"{output}: another input has this output name", None), None
        clash = f"{output}: clashes with {first}: one name on this file system"
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
    return None, _identity(found)


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
        return Found(path, path.relative_to(source), failed=_cannot_read(path, error))
    return Found(path, path.relative_to(source), skipped=reason) if reason else None


def _cannot_read(path: Path, error: OSError) -> str:
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
        return Found(path, relative, failed=_cannot_read(path, error))
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
    return None if _within(target.parent, source) else "link out of the source folder"


def _suffix(path: Path, kind: str, options: BadgeOptions) -> str:
    written = output_format(kind, options.format, needs_alpha=options.needs_alpha)
    return output_suffix(path.suffix, written)


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
            yield hold
        except BaseException as error:
            if made_lock and hold.refuses(error):
                with contextlib.suppress(OSError):
                    lock.unlink(missing_ok=True)
            raise
        finally:
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
        if _identity(lock.stat()) != _identity(found):
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


def _identity(found: os.stat_result) -> Identity:
    return found.st_dev, found.st_ino


def _remove_folders(made: list[Path]) -> None:
    """Remove the folders of ``made`` (outermost first) that are still empty."""
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _cannot_lock(lock: Path, error: OSError) -> OptionError:
    return OptionError("destination", f"cannot lock {lock} ({error.strerror or error})")


def _refuse_inside_a_running_batch(destination: Path) -> None:
    for folder in destination.resolve().parents:
        holder = _running_batch(folder / LOCK_NAME)
        if holder is not None:
            raise OptionError(
                "destination", f"{destination} is inside {folder}, in use by another run ({holder})"
            )


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


def run_jobs(
    jobs: Iterable[Job],
    options: BadgeOptions,
    *,
    executor: Executor | None,
    overwrite: bool,
    chunk_size: int | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Result]:
    """Run ``jobs`` on ``executor`` (None: here, one by one) and yield results as they come.

    Jobs travel in chunks (``chunk_size`` files, or by weight when None) so that small files
    do not drown in scheduling while large photos still spread over every worker; a
    ``WorkerPool`` gets one chunk more than it has workers at a time. When a worker dies (a
    pool's, replaced by ``WorkerPool``, or a Dask worker: ``KilledWorker``), the outputs the
    chunks it held wrote are ok and their other files run again one at a time: a file whose
    worker dies when it runs alone fails; the others go on. Any other failure of a chunk
    fails its files.

    When ``stop`` is set (a signal handler may set it), or on ``KeyboardInterrupt``: pending
    chunks are cancelled, the workers of a pool with ``kill_workers()`` killed, and the
    results already finished yielded, with every unfinished job whose output this run wrote
    as ``ok``; then the iteration ends (``KeyboardInterrupt`` propagates).
    """
    pending = list(jobs)
    if executor is None:
        for job in pending:
            if stop is not None and stop.is_set():
                return
            yield badge_job(job, options, overwrite)
        return
    workers = executor.workers if isinstance(executor, WorkerPool) else None
    runner = _Runner(executor, options, overwrite, workers + 1 if workers else None)
    yield from runner.run(_chunks(pending, chunk_size, workers or 1), stop or threading.Event())


class _Runner:
    """The state of one run on an executor: chunks waiting, suspects to isolate, futures."""

    def __init__(
        self, executor: Executor, options: BadgeOptions, overwrite: bool, window: int | None
    ) -> None:
        self.executor, self.options, self.overwrite, self.window = (
            executor, options, overwrite, window
        )  # fmt: skip
        self.waiting: deque[list[Job]] = deque()
        # Files held by a worker that died: each runs again alone, to find the one to blame.
        self.suspects: deque[Job] = deque()
        self.running: dict[Future[list[Result]], list[Job]] = {}
        self.alone: Future[list[Result]] | None = None

    def run(self, chunks: Iterable[list[Job]], stop: threading.Event) -> Iterator[Result]:
        self.waiting.extend(chunks)
        interrupted = False
        try:
            while (self.waiting or self.suspects or self.running) and not stop.is_set():
                yield from self._submit_more()
                finished, _ = wait(self.running, _POLL_S, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield from self._settle(future, self.running.pop(future))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._halt()
        yield from self._salvage()
        if interrupted:
            raise KeyboardInterrupt

    def _submit_more(self) -> Iterator[Result]:
        if self.suspects:
            if not self.running:
                yield from self._submit([self.suspects.popleft()], alone=True)
            return
        while self.waiting and (self.window is None or len(self.running) < self.window):
            yield from self._submit(self.waiting.popleft(), alone=False)

    def _submit(self, chunk: list[Job], *, alone: bool) -> Iterator[Result]:
        try:
            future = self.executor.submit(run_chunk, chunk, self.options, self.overwrite)
        except BrokenExecutor as error:  # an executor that does not replace its workers
            yield from _failed(chunk, _worker_failed(error))
            return
        self.running[future] = chunk
        self.alone = future if alone else None

    def _settle(self, future: Future[list[Result]], chunk: list[Job]) -> Iterator[Result]:
        try:
            results = future.result()
        except Exception as error:
            if not worker_died(error):  # the cluster failed
                yield from _failed(chunk, _worker_failed(error))
            elif future is self.alone:
                yield from _failed(chunk, "the worker badging it died (killed, or out of memory)")
            else:
                yield from self._suspect(chunk)
            return
        yield from results

    def _suspect(self, chunk: list[Job]) -> Iterator[Result]:
        """A chunk whose worker died: the outputs it wrote are ok, its other files suspects."""
        for job in chunk:
            if written_by_this_run(job):
                yield Result(job.source, job.output, "ok")
            else:
                self.suspects.append(job)

    def _halt(self) -> None:
        for future in self.running:
            future.cancel()
        kill_workers = getattr(self.executor, "kill_workers", None)
        if self.running and callable(kill_workers):
            kill_workers()

    def _salvage(self) -> Iterator[Result]:
        """After a stop: what finished, and what unfinished jobs wrote before it."""
        unfinished = [*self.suspects, *(job for chunk in self.waiting for job in chunk)]
        for future, chunk in self.running.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                yield from future.result()
            else:
                unfinished.extend(chunk)
        for job in unfinished:
            if written_by_this_run(job):
                yield Result(job.source, job.output, "ok")
        self.running.clear()


def written_by_this_run(job: Job) -> bool:
    """Whether ``job``'s output was written by this run, whose result never came back (its
    worker was stopped): a file is there that is not the one planned (``Job.replaces``).

    Known, not guessed from times (a clock may be off, a file may carry any time): every write
    makes a new file and renames it over the old one, which lives until then, so a written
    output is always another file; and under the lock, only this run writes there."""
    try:
        found = Path(job.output).lstat()
    except OSError:
        return False
    return _identity(found) != job.replaces


def _failed(chunk: list[Job], reason: str) -> Iterator[Result]:
    for job in chunk:
        yield Result(job.source, job.output, "failed", one_line(f"{job.source}: {reason}"))


def _worker_failed(error: BaseException) -> str:
    return f"worker failed: {type(error).__name__}: {error}"


def _chunks(jobs: list[Job], size: int | None, workers: int) -> Iterator[list[Job]]:
    """Jobs in chunks of ``size``, or by weight: up to 16 files or about 1 MB of input, so
    that small files travel together and large photos spread evenly over the workers.

    By weight, chunks shrink toward the end, to half of what is left for each of the
    ``workers``: a long last chunk would keep one worker busy while the others wait.
    """
    if size:
        yield from (jobs[start : start + size] for start in range(0, len(jobs), size))
        return
    weights = [_file_size(job.source) for job in jobs]
    left = sum(weights)
    chunk: list[Job] = []
    weight = 0
    for job, job_weight in zip(jobs, weights, strict=True):
        chunk.append(job)
        weight += job_weight
        if len(chunk) >= _MAX_CHUNK or weight >= min(_CHUNK_BYTES, left // (2 * workers)):
            yield chunk
            left -= weight
            chunk, weight = [], 0
    if chunk:
        yield chunk


def _file_size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def run_chunk(jobs: list[Job], options: BadgeOptions, overwrite: bool) -> list[Result]:
    """Badge a chunk of jobs in a worker; never raises for a bad file."""
    return [badge_job(job, options, overwrite) for job in jobs]


def badge_job(job: Job, options: BadgeOptions, overwrite: bool) -> Result:
    """Badge one file; every failure becomes a ``failed`` result with a one-line reason.

    A job runs only for an output that was missing when planned (or with ``overwrite``), so
    an output that exists when it runs was written by an earlier attempt of the same job (a
    Dask task run again after its worker died): ``ok``, not ``failed``.
    """
    from blueheart.io.files import badge_file

    output = Path(job.output)
    # A symbolic link inside DEST must not carry an output out of it.
    if not _within(output.parent, Path(job.destination)):
        reason = f"{job.output}: would be written outside {job.destination} (symbolic link)"
        return Result(job.source, job.output, "failed", reason)
    try:
        # A job replacing a file a crash cut short replaces it even without ``overwrite``.
        badge_file(job.source, output, options, overwrite=overwrite or job.replaces is not None)
    except OutputExistsError:
        return Result(job.source, job.output, "ok")
    except BlueheartError as error:
        # An option this file cannot take (an emblem that cannot fit) names the file too.
        reason = f"{job.source}: {error}" if isinstance(error, OptionError) else str(error)
        return Result(job.source, job.output, "failed", one_line(reason))
    except Exception as error:  # the batch goes on; the reason is kept, and the file named
        reason = f"{job.source}: unexpected {type(error).__name__}: {error}"
        return Result(job.source, job.output, "failed", one_line(reason))
    return Result(job.source, job.output, "ok")


def _within(folder: Path, root: Path) -> bool:
    """Whether ``folder``, links resolved, is ``root`` or lies below it."""
    resolved, resolved_root = folder.resolve(), root.resolve()
    return resolved == resolved_root or resolved_root in resolved.parents
