"""``batch()``: badging a folder into another, from the checks to the report."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from blueheart.batching.executors import executor_for
from blueheart.batching.folders import check_folders
from blueheart.batching.lock import LockHold, destination_lock, remove_stale_temp_files
from blueheart.batching.plan import plan_batch
from blueheart.batching.records import Job, Plan, Report, Result
from blueheart.batching.reportfile import check_report
from blueheart.batching.runner import run_jobs
from blueheart.core.options import BadgeOptions, path_argument, resolve_options
from blueheart.core.pipeline import faces_detector
from blueheart.io.atomic import remove_temp_files_of, write_atomic

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
    Jobs run on ``executor``, else on ``workers`` processes (1: here; at most
    ``executor_for``'s limit) or the Dask ``scheduler`` ("local": a cluster of ``workers``).
    ``progress`` gets each ``Result`` (those decided while planning first; ``planned`` gets
    the ``Plan`` before the files badged); ``report`` names a JSON report written at the end
    (checked first: it replaces only a previous report, or with ``overwrite`` a regular file
    that is no input or output); ``dry_run`` stops after ``planned``, writing nothing.
    The run holds ``destination``'s lock once the workers are ready (``destination_lock``),
    removes killed runs' temporary files, then plans. Setting ``stop``, or Ctrl-C, stops it:
    finished files are kept and reported, and the report says ``interrupted``. Raises
    ``OptionError`` (a missing ``source``; a ``destination`` that is or holds ``source``, or
    is in use; a ``report`` that may not be written; a ``scheduler`` out of reach; too many
    ``workers``), ``UnreadableImageError`` (``source`` unreadable), ``OutputWriteError`` (an
    I/O error checking ``report``) and ``TypeError`` (an argument of the wrong type).
    """
    request = _Request.of(source, destination, options, overwrite=overwrite, report=report)
    if dry_run:
        return _dry_run(request, progress, planned)
    check_folders(request.source, request.destination)
    stop = stop if stop is not None else threading.Event()
    # The workers first (an unreachable scheduler refuses the run before DEST is made), the
    # lock before the plan (two runs started together never both plan to write a folder).
    with (
        _running_on(executor, workers, scheduler) as runner,
        destination_lock(request.destination) as hold,
    ):
        plan = _plan_under_lock(request, hold)
        results = list(plan.decided)
        _start(plan, progress, planned)
        _run(plan.jobs, request.options, runner, request.overwrite, stop, results, progress)
        outcome = _finish(request, results, stop)
    return outcome


@dataclass(frozen=True)
class _Request:
    """What ``batch`` was asked, its arguments checked."""

    source: Path
    destination: Path
    options: BadgeOptions
    overwrite: bool
    report: Path | None

    @classmethod
    def of(
        cls,
        source: object,
        destination: object,
        options: BadgeOptions | None,
        *,
        overwrite: bool,
        report: str | Path | None,
    ) -> _Request:
        """The request, or a ``TypeError`` naming the argument of the wrong type."""
        source_path = path_argument("source", source)
        destination_path = path_argument("destination", destination)
        report_path = path_argument("report", report) if report is not None else None
        resolved = resolve_options(options, {})
        return cls(source_path, destination_path, resolved, overwrite, report_path)


def _dry_run(
    request: _Request, progress: ProgressCallback | None, planned: PlanCallback | None
) -> Report:
    """The plan announced, nothing written and no lock taken."""
    plan = _checked_plan(request)
    _start(plan, progress, planned)
    return Report(plan.decided, faces=faces_detector(request.options))


def _plan_under_lock(request: _Request, hold: LockHold) -> Plan:
    """Clean up after a killed run and plan; from here on the run is no longer refused."""
    remove_stale_temp_files(request.destination)
    plan = _checked_plan(request)
    hold.refusable = False
    if request.report is not None:  # a killed run's half-written report, outside DEST
        remove_temp_files_of(request.report)
    return plan


def _checked_plan(request: _Request) -> Plan:
    """The plan, with the report's path checked against it."""
    plan = plan_batch(
        request.source, request.destination, request.options, overwrite=request.overwrite
    )
    if request.report is not None:
        check_report(request.report, plan, overwrite=request.overwrite)
    return plan


def _start(plan: Plan, progress: ProgressCallback | None, planned: PlanCallback | None) -> None:
    """Announce the results decided while planning, then the plan."""
    _announce(plan.decided, progress)
    if planned:
        planned(plan)


def _finish(request: _Request, results: list[Result], stop: threading.Event) -> Report:
    """Remove this run's temp files, and write the report."""
    # Workers killed mid-photo (by a stop, by the kernel, or as survivors of a broken
    # pool) leave their hidden temp files; the run removes its own.
    remove_stale_temp_files(request.destination)
    outcome = Report(
        tuple(results), interrupted=stop.is_set(), faces=faces_detector(request.options)
    )
    if request.report is not None:
        write_atomic(request.report, outcome.to_json().encode("utf-8"), overwrite=True)
    return outcome


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
