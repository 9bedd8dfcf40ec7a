"""Badging folders: discover, plan outputs, run jobs on any executor, report.

Jobs carry paths, never decoded pixels, so a process pool and a Dask cluster run the same code.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from blueheart.errors import BlueheartError, OptionError
from blueheart.formats import SUFFIX_FORMATS, TEMP_SUFFIX, output_format, output_suffix
from blueheart.options import BadgeOptions, Crop

Status = Literal["ok", "skipped", "failed"]

_MAX_CHUNK = 16
_CHUNK_BYTES = 1_000_000
_SCHEDULER_TIMEOUT_S = 10


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one file; paths as given on the command line joined with the
    relative path."""

    source: str
    output: str | None
    status: Status
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One file to badge: where it is, where its output goes, and the folder that output
    must stay inside. Plain strings: a plan of 100,000 jobs stays small."""

    source: str
    output: str
    destination: str


@dataclass(frozen=True)
class Plan:
    """The jobs to run and the results already decided while planning (skips, clashes)."""

    jobs: tuple[Job, ...]
    decided: tuple[Result, ...]


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
        """130 if interrupted, 1 if any file failed, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.counts["failed"] else 0

    def summary(self) -> str:
        """``N ok, N skipped, N failed``."""
        return ", ".join(f"{count} {status}" for status, count in self.counts.items())

    def to_json(self) -> str:
        """The report in the documented JSON format."""
        document = {
            "results": [
                {"source": r.source, "output": r.output, "status": r.status, "error": r.error}
                for r in self.results
            ],
            "counts": self.counts,
        }
        return json.dumps(document, indent=2, ensure_ascii=False)


ProgressCallback = Callable[[Result], None]


def batch(
    source: str | Path,
    destination: str | Path,
    options: BadgeOptions | None = None,
    *,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
) -> Report:
    """Badge every image under ``source`` into ``destination``, mirroring relative paths.

    Non-images are skipped, unreadable images failed (the batch goes on), existing outputs
    skipped unless ``overwrite``; temporary files a killed run left in ``destination`` are
    removed first. ``executor`` runs the jobs (None: in this process);
    ``progress`` is called with each ``Result`` as it arrives. Raises ``OptionError`` for a
    missing ``source`` or a ``destination`` that is ``source`` or contains it.
    """
    resolved = options if options is not None else BadgeOptions()
    plan = plan_batch(source, destination, resolved, overwrite=overwrite)
    remove_stale_temp_files(Path(destination))
    results = list(plan.decided)
    for result in results:
        if progress:
            progress(result)
    for result in run_jobs(plan.jobs, resolved, executor=executor, overwrite=overwrite):
        results.append(result)
        if progress:
            progress(result)
    return Report(tuple(results))


def check_folders(source: Path, destination: Path) -> None:
    """Raise ``OptionError`` unless ``source`` is a folder and ``destination`` is not it, nor
    holds it."""
    if not source.is_dir():
        what = "is not a folder" if source.exists() else "does not exist"
        raise OptionError("source", f"{source} {what}")
    real_source, real_destination = source.resolve(), destination.resolve()
    if real_source == real_destination:
        raise OptionError("destination", "DEST_DIR may not be SRC_DIR: inputs are never written")
    if real_destination in real_source.parents:
        raise OptionError("destination", "DEST_DIR may not contain SRC_DIR")
    if destination.exists() and not destination.is_dir():
        raise OptionError("destination", f"{destination} exists and is not a folder")


def plan_batch(
    source: str | Path, destination: str | Path, options: BadgeOptions, *, overwrite: bool
) -> Plan:
    """Walk ``source`` and decide each file's output, without reading any image."""
    source_path, destination_path = Path(source), Path(destination)
    check_folders(source_path, destination_path)
    jobs: list[Job] = []
    decided: list[Result] = []
    claimed: set[str] = set()
    shown_destination = str(destination_path)
    for path, relative in discover(source_path, destination_path):
        shown = str(source_path / relative)
        kind = SUFFIX_FORMATS.get(path.suffix.lower())
        if kind is None or path.name.startswith("._") or not _inside(path, source_path):
            decided.append(Result(shown, None, "skipped"))
            continue
        output = destination_path / relative.parent / (path.stem + _suffix(path, kind, options))
        shown_output = str(output)
        if shown_output in claimed:
            reason = f"{output}: another input has this output name"
            decided.append(Result(shown, shown_output, "failed", reason))
        elif output.exists() and not overwrite:
            decided.append(Result(shown, shown_output, "skipped"))
        else:
            jobs.append(Job(shown, shown_output, shown_destination))
        claimed.add(shown_output)
    return Plan(tuple(jobs), tuple(decided))


def find_images(folder: str | Path) -> list[Path]:
    """The image files below ``folder`` (by extension), sorted, links to folders not followed."""
    root = Path(folder)
    return [
        path
        for path, _ in discover(root)
        if path.suffix.lower() in SUFFIX_FORMATS and not path.name.startswith("._")
    ]


def discover(source: Path, destination: Path | None = None) -> Iterator[tuple[Path, Path]]:
    """(path, path relative to ``source``) of every file below ``source``, sorted, leaving
    out ``destination``'s subtree; symbolic links to folders are not followed."""
    skip = destination.resolve() if destination is not None else None
    for folder, subfolders, files in os.walk(source, followlinks=False):
        here = Path(folder)
        subfolders[:] = sorted(name for name in subfolders if (here / name).resolve() != skip)
        for name in sorted(files):
            path = here / name
            yield path, path.relative_to(source)


def _inside(path: Path, source: Path) -> bool:
    """A symbolic link counts only if it resolves to a file inside ``source``."""
    if not path.is_symlink():
        return True
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return target.is_file() and _within(target.parent, source)


def _suffix(path: Path, kind: str, options: BadgeOptions) -> str:
    written = output_format(kind, options.format, needs_alpha=options.crop is Crop.CIRCLE)
    return output_suffix(path.suffix, written)


def remove_stale_temp_files(destination: Path) -> int:
    """Delete the hidden temporary files a killed run left in ``destination``; how many."""
    removed = 0
    if not destination.is_dir():
        return removed
    for folder, _, files in os.walk(destination, followlinks=False):
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                (Path(folder) / name).unlink(missing_ok=True)
                removed += 1
    return removed


@contextlib.contextmanager
def executor_for(workers: int, scheduler: str | None = None) -> Iterator[Executor | None]:
    """The executor for ``workers`` processes, or for a Dask ``scheduler`` address.

    ``scheduler`` "local" starts a ``distributed.LocalCluster``; any other value is a
    scheduler address. One worker and no scheduler: None (run here). Raises ``OptionError``
    (field "scheduler") without the ``dask`` extra or when the scheduler cannot be reached.
    Pending work is cancelled on exit.
    """
    if scheduler:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise OptionError(
                "scheduler",
                "needs the dask extra "
                "(pip install '.[dask]' in a blueheart checkout, or pip install distributed)",
            ) from None
        try:
            cluster = (
                distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
                if scheduler == "local"
                else None
            )
            client = distributed.Client(cluster or scheduler, timeout=_SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as error:
            raise OptionError("scheduler", f"cannot reach {scheduler}: {error}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif workers == 1:
        yield None
    else:
        # Forked workers inherit what is imported here instead of importing it each.
        for module in ("blueheart.render", "blueheart.pipeline"):
            importlib.import_module(module)
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_leave_interrupts_to_parent)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _leave_interrupts_to_parent() -> None:
    # Ctrl-C reaches every process of the terminal's group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_jobs(
    jobs: Iterable[Job],
    options: BadgeOptions,
    *,
    executor: Executor | None,
    overwrite: bool,
    chunk_size: int | None = None,
) -> Iterator[Result]:
    """Run ``jobs`` on ``executor`` (None: here, one by one) and yield results as they come.

    Jobs travel in chunks (``chunk_size`` files, or by weight when None) so that small files
    do not drown in scheduling while large photos still spread over every worker. A chunk
    whose worker dies fails its files; the rest go on. On interruption, pending chunks are
    cancelled before the exception propagates.
    """
    pending = list(jobs)
    if executor is None:
        for job in pending:
            yield badge_job(job, options, overwrite)
        return
    chunks = {
        executor.submit(run_chunk, chunk, options, overwrite): chunk
        for chunk in _chunks(pending, chunk_size)
    }
    try:
        for future in as_completed(chunks):
            try:
                yield from future.result()
            except Exception as error:  # a worker died (memory, signal) or the cluster failed
                reason = _one_line(f"worker failed: {type(error).__name__}: {error}")
                yield from (
                    Result(job.source, job.output, "failed", reason) for job in chunks[future]
                )
    finally:
        for future in chunks:
            future.cancel()


def _chunks(jobs: list[Job], size: int | None) -> Iterator[list[Job]]:
    """Jobs in chunks of ``size``, or by weight: up to 16 files or about 1 MB of input, so
    that small files travel together and large photos spread evenly over the workers."""
    chunk: list[Job] = []
    weight = 0
    for job in jobs:
        chunk.append(job)
        weight += _file_size(job.source)
        full = len(chunk) >= size if size else len(chunk) >= _MAX_CHUNK or weight >= _CHUNK_BYTES
        if full:
            yield chunk
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
    """Badge one file; every failure becomes a ``failed`` result with a one-line reason."""
    from blueheart.render import badge_file

    output = Path(job.output)
    # A symbolic link inside DEST must not carry an output out of it.
    if not _within(output.parent, Path(job.destination)):
        reason = f"{job.output}: would be written outside {job.destination} (symbolic link)"
        return Result(job.source, job.output, "failed", reason)
    try:
        badge_file(job.source, output, options, overwrite=overwrite)
    except (BlueheartError, OptionError) as error:
        return Result(job.source, job.output, "failed", _one_line(str(error)))
    except Exception as error:  # the batch goes on; the reason is kept
        reason = f"unexpected {type(error).__name__}: {error}"
        return Result(job.source, job.output, "failed", _one_line(reason))
    return Result(job.source, job.output, "ok")


def _within(folder: Path, root: Path) -> bool:
    """Whether ``folder``, links resolved, is ``root`` or lies below it."""
    resolved, resolved_root = folder.resolve(), root.resolve()
    return resolved == resolved_root or resolved_root in resolved.parents


def _one_line(text: str) -> str:
    return " ".join(text.split())
