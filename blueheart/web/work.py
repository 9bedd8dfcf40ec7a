"""The CPU work of a request, run in the pool, never on the event loop; and the pool itself.

The work functions take and return plain, picklable values (bytes, ``BadgeOptions``,
``Rendered``/``Refused``), so any ``concurrent.futures.Executor`` can run them: threads by
default (Pillow decodes, resizes and encodes without the GIL), processes if one wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from PIL import Image

import blueheart
from blueheart import (
    BadgeOptions,
    BlueheartError,
    EmblemDoesNotFitError,
    NotAnImageError,
    OptionError,
    TooManyPixelsError,
    UnsupportedFormatError,
)
from blueheart.web.limits import ServiceError, error_code, unavailable

P = ParamSpec("P")
T = TypeVar("T")
Job = tuple[Future[Any], Callable[[], Any]]

MEDIA_TYPES = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "AVIF": ("image/avif", "avif"),
    "GIF": ("image/gif", "gif"),
    "TIFF": ("image/tiff", "tif"),
    "BMP": ("image/bmp", "bmp"),
}


@dataclass(frozen=True)
class Rendered:
    """A file to answer with: its bytes, media type and extra headers."""

    body: bytes
    media_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """Why a photo could not be done: the HTTP status, the library's one-line reason and the
    stable error code."""

    status: int
    message: str
    code: str


def refusal(error: Exception) -> Refused:
    """A library error as an answer: 400 a bad option, 415 no image, 422 a bad one."""
    message = " ".join(str(error).split())
    if isinstance(error, EmblemDoesNotFitError):
        return Refused(422, message, "too-small")  # the options are fine; the image is small
    if isinstance(error, OptionError):
        return Refused(400, message, "bad-option")
    if isinstance(error, (NotAnImageError, UnsupportedFormatError)):
        return Refused(415, message, error_code(415))
    if isinstance(error, TooManyPixelsError):
        return Refused(422, message, "too-many-pixels")  # the page says the limit
    return Refused(422, message, error_code(422))


def _badge(data: bytes, options: BadgeOptions) -> Rendered:
    output = blueheart.badge_bytes(data, options)
    with Image.open(io.BytesIO(output)) as written:
        media_type, extension = MEDIA_TYPES[str(written.format)]
    disposition = f'attachment; filename="blueheart.{extension}"'
    return Rendered(output, media_type, {"Content-Disposition": disposition})


def _preview(data: bytes, options: BadgeOptions) -> Rendered:
    preview = blueheart.preview_bytes(data, options)
    headers = {
        "Blueheart-Box": ",".join(f"{value:.6f}" for value in preview.box),
        "Blueheart-Output-Size": "{}x{}".format(*preview.output_size),
    }
    return Rendered(preview.jpeg, "image/jpeg", headers)


WORK: dict[str, Callable[[bytes, BadgeOptions], Rendered]] = {
    "badge": _badge,
    "preview": _preview,
}


def do(kind: str, data: bytes, options: BadgeOptions) -> Rendered | Refused:
    """The ``kind`` of work (a key of ``WORK``) on one photo; the pool's one entry point."""
    try:
        return WORK[kind](data, options)
    except BlueheartError as error:
        # Returned, not raised: OptionError does not survive a trip through pickle.
        return refusal(error)


class WorkPool:
    """Runs the work on ``executor`` for at most ``capacity`` photos at once, each given
    ``timeout`` seconds from its submission, waiting included; one more is refused with 503
    and Retry-After.

    A photo takes its place once its upload is read (a slow client holds none) and holds it
    until its work ends, so the memory of the work is bounded by the capacity, never by the
    number of clients. Work that overruns its time is answered 503 at once but keeps its place
    until it really ends (a thread cannot be stopped), so the bound holds.
    """

    def __init__(self, executor: Executor, *, capacity: int, timeout: float) -> None:
        self.executor = executor
        self.capacity = capacity
        self.timeout = timeout
        self._taken = 0
        self._lock = threading.Lock()  # work that overran gives its place back from its thread

    def _take(self) -> None:
        with self._lock:
            if self._taken >= self.capacity:
                raise unavailable("too many photos at once")
            self._taken += 1

    def _give_back(self) -> None:
        with self._lock:
            self._taken -= 1

    async def run(
        self,
        kind: str,
        data: bytes,
        options: BadgeOptions,
        client_gone: asyncio.Future[None] | None = None,
    ) -> Rendered:
        """``do(kind, data, options)`` on the executor, within the time limit, in a place of
        the pool; no free place, a ``Refused`` outcome or an overrun become a
        ``ServiceError``. Work still waiting for a worker when ``client_gone`` ends is
        dropped: nobody would read its answer."""
        self._take()
        future = self.executor.submit(do, kind, data, options)
        if client_gone is not None:
            client_gone.add_done_callback(lambda _: future.cancel())
        try:
            outcome = await self._within_time(future)
        except asyncio.CancelledError:
            if client_gone is None or not client_gone.done() or client_gone.cancelled():
                raise
            # Cancelled by the client's leaving: an answer nobody reads ends the request.
            raise ServiceError(400, "the client went away", code="gone") from None
        finally:
            self._give_back()
        if isinstance(outcome, Refused):
            raise ServiceError(outcome.status, outcome.message, code=outcome.code)
        return outcome

    async def _within_time(self, future: Future[Rendered | Refused]) -> Rendered | Refused:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            if not future.cancel():
                # The work goes on in its thread: it keeps a place until it ends.
                self._take_for(future)
            raise unavailable(f"the photo took longer than {self.timeout:g} s") from None

    def _take_for(self, future: Future[Rendered | Refused]) -> None:
        with self._lock:
            self._taken += 1
        future.add_done_callback(lambda _: self._give_back())


class DaemonThreads(Executor):
    """At most ``workers`` threads that nothing waits for at exit, started as work comes.

    ``ThreadPoolExecutor``'s threads are joined when the interpreter exits, so a server told to
    stop stayed up as long as a decode ran (minutes for a hostile file). Photos are never
    stored: nothing is lost when the process ends with work unfinished.
    """

    def __init__(self, workers: int, *, name: str) -> None:
        self.workers, self.name = workers, name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((future, functools.partial(fn, *args, **kwargs)))
        with self._lock:
            if len(self._threads) < self.workers:
                name = f"{self.name}_{len(self._threads)}"
                thread = threading.Thread(target=self._work, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        """Run jobs until told to stop (a ``None``)."""
        while (job := self._jobs.get()) is not None:
            future, work = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as error:  # the caller gets it, as from any executor
                future.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the threads once they are idle; ``cancel_futures``: drop the work not begun."""
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while (job := self._jobs.get_nowait()) is not None:
                    job[0].cancel()
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        if wait:
            for thread in threads:
                thread.join()
