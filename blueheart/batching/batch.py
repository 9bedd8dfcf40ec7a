"""``batch()``: badging a folder into another, from the checks to the report."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from pathlib import Path

from blueheart.batching.executors import executor_for
from blueheart.batching.folders import check_folders
from blueheart.batching.lock import destination_lock, remove_stale_temp_files
from blueheart.batching.plan import plan_batch
from blueheart.batching.records import Job, Plan, Report, Result
from blueheart.batching.reportfile import check_report
from blueheart.batching.runner import run_jobs
from blueheart.core.options import BadgeOptions, path_argument, resolve_options
from blueheart.io.imagefile import remove_temp_files_of, write_atomic

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
