"""Running a plan's jobs here or on any executor, in chunks, surviving killed workers."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from pathlib import Path

from blueheart.batching.executors import WorkerPool, worker_died
from blueheart.batching.lock import IN_OTHER_BATCH, other_batch_folder
from blueheart.batching.records import Job, Result, stat_identity
from blueheart.batching.walk import is_within
from blueheart.core.errors import BlueheartError, OptionError, OutputExistsError, one_line
from blueheart.core.options import BadgeOptions

_MAX_CHUNK = 16
_CHUNK_BYTES = 1_000_000

_POLL_S = 0.2
"""How often a waiting run looks at its stop flag, in seconds."""


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
    return stat_identity(found) != job.replaces


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
    from blueheart.io.badging import badge_file

    output = Path(job.output)
    # A symbolic link inside DEST must not carry an output out of it.
    if not is_within(output.parent, Path(job.destination)):
        reason = f"{job.output}: would be written outside {job.destination} (symbolic link)"
        return Result(job.source, job.output, "failed", reason)
    if other_batch_folder(output.parent, Path(job.destination)) is not None:
        return Result(job.source, job.output, "skipped", reason=IN_OTHER_BATCH)
    try:
        # A job replacing a file a crash cut short replaces it even without ``overwrite``.
        badge_file(
            job.source,
            output,
            options,
            overwrite=overwrite or job.replaces is not None,
            source_identity=job.identity,
        )
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
