"""Badging folders: discover, plan outputs, run jobs on any executor, report.

Jobs carry paths, never decoded pixels, so a process pool and a Dask cluster run the same code.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from blueheart.errors import BlueheartError, OptionError, OutputExistsError
from blueheart.formats import SUFFIX_FORMATS, TEMP_SUFFIX, output_format, output_suffix
from blueheart.options import BadgeOptions, Crop

Status = Literal["ok", "skipped", "failed"]

_MAX_CHUNK = 16
_CHUNK_BYTES = 1_000_000
_SCHEDULER_TIMEOUT_S = 10
# How often a waiting run looks at its stop flag, and a worker without Linux's
# parent-death signal at its parent.
_POLL_S = 0.2
_PARENT_POLL_S = 1.0
_PR_SET_PDEATHSIG = 1
# File systems stamp times from a coarse clock, up to a tick behind time.time_ns().
_CLOCK_SLACK_NS = 50_000_000

P = ParamSpec("P")
T = TypeVar("T")


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
    scheduler address, which must answer within 10 s. Several workers and no scheduler: a
    ``WorkerPool``; one worker and no scheduler: None (run here). Raises ``OptionError``
    (field "scheduler") without the ``dask`` extra or when the scheduler cannot be reached.
    On exit pending work is cancelled; on an exception the pool's workers are killed rather
    than waited for.
    """
    if scheduler:
        with _dask_executor(workers, scheduler) as executor:
            yield executor
    elif workers == 1:
        yield None
    else:
        # Forked workers inherit what is imported here instead of importing it each.
        for module in ("blueheart.render", "blueheart.pipeline"):
            importlib.import_module(module)
        with WorkerPool(workers) as pool:
            yield pool


@contextlib.contextmanager
def _dask_executor(workers: int, scheduler: str) -> Iterator[Executor]:
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise OptionError(
            "scheduler", "needs the dask extra: pip install 'blueheart[dask]'"
        ) from None
    cluster = (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, preload=["blueheart._dask"]
        )
        if scheduler == "local"
        else None
    )
    client = _dask_client(distributed, cluster or scheduler, scheduler)

    def close() -> None:
        # A cluster closing under an interrupted run logs every cancelled task; the run's
        # own summary says what happened.
        with _quiet_logger("distributed"):
            client.close()
            if cluster is not None:
                cluster.close()

    try:
        # Workers of our own cluster stop with the run; a shared cluster's are not ours to stop.
        yield _ClusterExecutor(client.get_executor(), close if cluster is not None else None)
    finally:
        close()


class _ClusterExecutor(Executor):
    """A Dask client's executor, with ``kill_workers()`` when the cluster is this run's."""

    def __init__(self, executor: Executor, stop_cluster: Callable[[], None] | None) -> None:
        self._executor, self._stop_cluster = executor, stop_cluster

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """As ``Executor.submit``."""
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As ``Executor.shutdown``."""
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill_workers(self) -> None:
        """Stop this run's cluster; a shared one keeps running what it has started."""
        if self._stop_cluster is not None:
            self._stop_cluster()


def _dask_client(distributed: Any, address: Any, shown: str) -> Any:
    """A connected ``distributed.Client``, or ``OptionError`` within the timeout: the
    client's own timeout does not cover a server that accepts and then stays silent."""
    connected: Future[Any] = Future()

    def connect() -> None:
        try:
            connected.set_result(distributed.Client(address, timeout=_SCHEDULER_TIMEOUT_S))
        except BaseException as error:  # handed to the waiting caller
            connected.set_exception(error)

    # A daemon thread: one stuck in a silent server's handshake must not keep the process.
    threading.Thread(target=connect, name="blueheart-dask-connect", daemon=True).start()
    try:
        return connected.result(timeout=_SCHEDULER_TIMEOUT_S)
    except TimeoutError:
        reason = f"no answer within {_SCHEDULER_TIMEOUT_S} s"
    except OSError as error:
        reason = str(error) or type(error).__name__
    except Exception as error:  # it answered, but not as a Dask scheduler (HTTP, say)
        reason = f"not a Dask scheduler ({type(error).__name__})"
    raise OptionError("scheduler", _one_line(f"cannot reach {shown}: {reason}"))


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


class WorkerPool(Executor):
    """``workers`` processes that die with this process, leave Ctrl-C and SIGTERM to it,
    and are replaced when one dies (killed, or out of memory).

    A process pool whose worker dies is broken for good; this one starts a fresh pool at the
    next ``submit``. ``initializer(*initargs)`` runs in each worker after blueheart's own
    set-up. Leaving a ``with`` block on an exception kills the workers instead of waiting
    for them.
    """

    def __init__(
        self,
        workers: int,
        *,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.workers = workers
        self._setup = (os.getpid(), initializer, initargs)
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, initializer=_start_worker, initargs=self._setup)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)``; a broken pool is replaced first."""
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenExecutor:
            self._pool.shutdown(wait=False)
            self._pool = self._start()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As ``Executor.shutdown``."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill_workers(self) -> None:
        """Cancel pending work and kill every worker now, without waiting for any."""
        processes = list((self._pool._processes or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()
        for process in processes:
            process.join()

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        if kind is None:
            self.shutdown(wait=True, cancel_futures=True)
        else:
            self.kill_workers()
        return None


def _start_worker(parent: int, initializer: Callable[..., object] | None, initargs: Any) -> None:
    _leave_interrupts_to_parent()
    _die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def _leave_interrupts_to_parent() -> None:
    # Ctrl-C reaches every process of the terminal's group, and systemd's SIGTERM every
    # process of the unit: the parent decides what stops, and kills its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _die_with_parent(parent: int) -> None:
    """Make this worker end when ``parent`` does, even when it is killed outright."""
    if not _kernel_kills_orphans():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if not _alive(parent):  # it died before the kernel was told
        os._exit(1)


def _kernel_kills_orphans() -> bool:
    """Linux: ask for SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while _alive(parent):
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the number belongs to another user's process now
        return False
    return True


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
    ``WorkerPool`` gets one chunk more than it has workers at a time. When a worker dies, the
    pool is replaced (``WorkerPool``) and the files of the chunks it held run again one at a
    time: a file whose worker dies when it runs alone fails; the others go on. Any other
    failure of a chunk fails its files.

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
    window = executor.workers + 1 if isinstance(executor, WorkerPool) else None
    runner = _Runner(executor, options, overwrite, window)
    yield from runner.run(_chunks(pending, chunk_size), stop or threading.Event())


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
        self.since = time.time_ns()

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
        except BrokenExecutor:
            if future is self.alone:
                yield from _failed(chunk, "the worker badging it died (killed, or out of memory)")
            else:
                self.suspects.extend(chunk)
            return
        except Exception as error:  # the cluster failed, or a worker died too often (Dask)
            yield from _failed(chunk, _worker_failed(error))
            return
        yield from results

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
            if written_by_this_run(Path(job.output), self.overwrite, self.since):
                yield Result(job.source, job.output, "ok")
        self.running.clear()


def written_by_this_run(output: Path, overwrite: bool, since_ns: int) -> bool:
    """Whether ``output``, planned as missing (or to be replaced with ``overwrite``), was
    written by this run: it exists, and with ``overwrite`` it changed after ``since_ns``."""
    try:
        changed = output.stat().st_mtime_ns
    except OSError:
        return False
    return not overwrite or changed >= since_ns - _CLOCK_SLACK_NS


def _failed(chunk: list[Job], reason: str) -> Iterator[Result]:
    for job in chunk:
        yield Result(job.source, job.output, "failed", _one_line(f"{job.source}: {reason}"))


def _worker_failed(error: BaseException) -> str:
    return f"worker failed: {type(error).__name__}: {error}"


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
    """Badge one file; every failure becomes a ``failed`` result with a one-line reason.

    A job runs only for an output that was missing when planned (or with ``overwrite``), so
    an output that exists when it runs was written by an earlier attempt of the same job (a
    Dask task run again after its worker died): ``ok``, not ``failed``.
    """
    from blueheart.render import badge_file

    output = Path(job.output)
    # A symbolic link inside DEST must not carry an output out of it.
    if not _within(output.parent, Path(job.destination)):
        reason = f"{job.output}: would be written outside {job.destination} (symbolic link)"
        return Result(job.source, job.output, "failed", reason)
    try:
        badge_file(job.source, output, options, overwrite=overwrite)
    except OutputExistsError:
        return Result(job.source, job.output, "ok")
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
