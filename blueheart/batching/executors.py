"""Where a batch's jobs run: a pool of worker processes that survives killed workers and
dies with its parent, or a Dask cluster; both are ``concurrent.futures.Executor``s."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
)
from typing import Any, ParamSpec, TypeVar

from blueheart.batching.cores import WORKERS_PER_CORE, max_workers
from blueheart.batching.heap import keep_freed_buffers, release_excess_heap
from blueheart.core.errors import OptionError, one_line

SCHEDULER_TIMEOUT_S = 10
"""How long a Dask scheduler has to answer, in seconds."""
_PARENT_POLL_S = 1.0
"""How often a worker without Linux's parent-death signal looks at its parent, in seconds."""
_PR_SET_PDEATHSIG = 1

P = ParamSpec("P")
T = TypeVar("T")


@contextlib.contextmanager
def executor_for(workers: int, scheduler: str | None = None) -> Iterator[Executor | None]:
    """The executor for ``workers`` processes, or for a Dask ``scheduler`` address.

    ``scheduler`` "local" starts a ``distributed.LocalCluster``; any other value is a
    scheduler address, which must answer within 10 s. Several workers and no scheduler: a
    ``WorkerPool``; one worker and no scheduler: None (run here). Raises ``OptionError``
    (field "scheduler") without the ``dask`` extra or when the scheduler cannot be reached,
    and (field "workers") for more local workers than ``max_workers()``. On exit pending
    work is cancelled; on an exception the pool's workers are killed rather than waited for.
    """
    local = scheduler in (None, "local")
    if local and workers > max_workers():
        raise OptionError(
            "workers",
            f"expected at most {max_workers()} worker processes ({WORKERS_PER_CORE} per core), "
            f"got {workers}",
        )
    if scheduler:
        with _dask_executor(workers, scheduler) as executor:
            yield executor
    elif workers == 1:
        yield None
    else:
        # Forked workers inherit what is imported here instead of importing it each.
        for module in ("blueheart.io.badging", "blueheart.core.pipeline"):
            importlib.import_module(module)
        with WorkerPool(workers) as pool:
            yield pool


@contextlib.contextmanager
def _dask_executor(workers: int, scheduler: str) -> Iterator[Executor]:
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise OptionError(
            "scheduler",
            "needs the dask extra "
            "(pip install '.[dask]' in a blueheart checkout, or pip install distributed)",
        ) from None
    cluster = _local_cluster(distributed, workers) if scheduler == "local" else None
    try:
        client = _dask_client(distributed, cluster or scheduler, scheduler)
    except BaseException:  # unreachable, or interrupted: the cluster goes with the run
        if cluster is not None:
            _close_quietly(cluster)
        raise

    closing = threading.Event()

    def close() -> None:
        # Once only, and bounded: a second Ctrl-C that lands in the middle of closing must
        # not start a second close, which waited forever for the first.
        if closing.is_set():
            return
        closing.set()
        _close_quietly(client)
        if cluster is not None:
            _close_quietly(cluster)

    try:
        # Workers of our own cluster stop with the run; a shared cluster's are not ours to stop.
        yield _ClusterExecutor(client.get_executor(), close if cluster is not None else None)
    finally:
        close()


def worker_died(error: BaseException) -> bool:
    """Whether ``error`` says the worker running a task died: a broken process pool, or Dask's
    ``KilledWorker`` (recognised only when ``distributed`` is loaded: a task of a cluster
    that raises it loaded it)."""
    distributed = sys.modules.get("distributed")
    killed: Any = getattr(distributed, "KilledWorker", ()) if distributed else ()
    return isinstance(error, (BrokenExecutor, killed))


def _local_cluster(distributed: Any, workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` processes, started on a thread of its own.

    Starting takes seconds. Interrupted in the middle (Ctrl-C, SIGTERM), the cluster was left
    half-built: its pieces logged some 30 lines of ``AssertionError: Status.init`` at exit,
    and its workers outlived the batch. Here the interrupt waits for the start to end, closes
    what it made, and goes on; a second one does not wait.
    """
    started: Future[Any] = Future()

    def start() -> None:
        try:
            # No retries of a task whose worker died: the batch runs such a task's files
            # again itself, one at a time, to find the one that kills (run_jobs).
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                preload=["blueheart.batching.dask_worker"],
                scheduler_kwargs={"allowed_failures": 0},
            )  # fmt: skip
        except BaseException as error:  # handed to the waiting caller
            started.set_exception(_without_tracebacks(error))
        else:
            started.set_result(cluster)

    threading.Thread(target=start, name="blueheart-dask-cluster", daemon=True).start()
    try:
        return started.result()
    except BaseException:
        if not (started.done() and started.exception() is not None):
            # Interrupted: the start ends on its thread, and what it made is closed.
            with contextlib.suppress(Exception):
                _close_quietly(started.result())
        raise


def _close_quietly(closable: Any) -> None:
    """Close a Dask client or cluster within the timeout, without its logs: closing under
    an interrupted run, it logs every cancelled task; the run's own summary says what
    happened."""
    with _quiet_logger("distributed"):
        closable.close(timeout=SCHEDULER_TIMEOUT_S)


def _without_tracebacks(error: BaseException) -> BaseException:
    """``error`` and the exceptions chained to it, their tracebacks (and so frames) dropped."""
    link: BaseException | None = error
    while link is not None:
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return error


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
            client = distributed.Client(address, timeout=SCHEDULER_TIMEOUT_S)
        except BaseException as error:  # handed to the waiting caller
            failure = _without_tracebacks(error)
        else:
            connected.set_result(client)
            return
        # A Client that failed to start is left in reference cycles. Collected later, in
        # whatever thread the collector runs, its __del__ takes distributed's loop lock and
        # deadlocks a cluster that is starting there (seen in this test suite); here, it
        # cannot. Its frames went with the tracebacks.
        gc.collect()
        connected.set_exception(failure)

    # A daemon thread: one stuck in a silent server's handshake must not keep the process.
    threading.Thread(target=connect, name="blueheart-dask-connect", daemon=True).start()
    try:
        return connected.result(timeout=SCHEDULER_TIMEOUT_S)
    except TimeoutError:
        reason = f"no answer within {SCHEDULER_TIMEOUT_S} s"
    except OSError as error:
        reason = str(error) or type(error).__name__
    except Exception as error:  # it answered, but not as a Dask scheduler (HTTP, say)
        reason = f"not a Dask scheduler ({type(error).__name__})"
    raise OptionError("scheduler", one_line(f"cannot reach {shown}: {reason}"))


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
            return self._pool.submit(_run_task, fn, *args, **kwargs)
        except BrokenExecutor:
            # The broken pool's surviving workers hold work it already gave up on, and
            # ignore the SIGTERM Python sends them: left alone, one blocked the exit.
            _kill_workers_of(self._pool)
            self._pool = self._start()
            return self._pool.submit(_run_task, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As ``Executor.shutdown``."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill_workers(self) -> None:
        """Cancel pending work and kill every worker now, without waiting for any."""
        _kill_workers_of(self._pool)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        if kind is not None:
            self.kill_workers()
            return None
        try:
            self.shutdown(wait=True, cancel_futures=True)
        except BaseException:  # a second Ctrl-C while the workers finish
            self.kill_workers()
            raise
        return None


def _kill_workers_of(pool: ProcessPoolExecutor) -> None:
    """Cancel ``pool``'s pending work and kill its workers (SIGKILL: they ignore SIGTERM)."""
    processes = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join()


def _start_worker(parent: int, initializer: Callable[..., object] | None, initargs: Any) -> None:
    _leave_interrupts_to_parent()
    _die_with_parent(parent)
    keep_freed_buffers()
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


def _run_task(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one task in a worker, then hand back the heap it left free beyond the limit."""
    try:
        return fn(*args, **kwargs)
    finally:
        release_excess_heap()


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
