"""The service's limits, and reading an upload into memory within them.

The body is read as a stream with a byte counter: nothing touches the disk, a declared
Content-Length over the limit is refused before a byte is read, and a body that grows over it
is refused as soon as it does, without reading on. Uploads being read count against a budget
of bytes, all requests together, not against the places of the work: a client that sends
slowly holds only the bytes it has sent. Answers count against the same budget until they are
sent, a chunk at a time: a client that stops reading is dropped, and its answer freed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from blueheart import OptionError

MB = 1_000_000
SERVICE_MAX_PIXELS = 100_000_000
"""The service's default pixel limit: phones' 12 to 50 MP photos pass, and what one request may
cost stays a fraction of the library's default (200 MP photos are rare on a volunteer page)."""
RETRY_AFTER_S = 1
SEND_CHUNK = 64 * 1024
"""Bytes of an answer handed to the server at once: what a client that stops reading leaves in
the server's buffers, besides the budget."""
ERROR_CODES = {
    400: "bad-request", 404: "not-found", 405: "method-not-allowed", 408: "stalled",
    413: "too-large", 415: "not-a-photo", 422: "unreadable", 500: "internal", 503: "busy",
}  # fmt: skip
"""Each status's stable error code, for pages to say in their language what went wrong;
kinds of failure that share a status have their own (``bad-option``, ``too-small``,
``too-many-pixels``)."""


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ServiceSettings:
    """The limits of one service process.

    ``max_upload``: bytes a photo may have; ``max_pixels``: pixels (checked from the header);
    ``workers``: photos badged at once (threads; default: the cores); ``queue``: uploaded
    photos waiting for a worker beyond those, more are answered 503 (None: three per worker,
    a burst's worth); ``upload_memory``: bytes of uploads being read and of answers being
    sent at once, all requests together, a chunk or an answer past it is answered 503 (None:
    ``capacity`` uploads of ``max_upload``); ``work_timeout``: seconds a photo may take from
    the end of its upload, waiting for a worker included; ``read_timeout``: seconds an upload
    may pause, or a client take nothing of its answer; ``upload_timeout``: seconds an upload,
    or taking an answer, may last in all.
    """

    max_upload: int = 40 * MB
    max_pixels: int = SERVICE_MAX_PIXELS
    workers: int = field(default_factory=_cores)
    queue: int | None = None
    upload_memory: int | None = None
    work_timeout: float = 30.0
    read_timeout: float = 15.0
    upload_timeout: float = 120.0

    @property
    def capacity(self) -> int:
        """Uploaded photos admitted at once: waiting for a worker or being badged."""
        return self.workers + (3 * self.workers if self.queue is None else self.queue)

    @property
    def upload_budget(self) -> int:
        """Bytes of uploads being read at once, all requests together."""
        return self.capacity * self.max_upload if self.upload_memory is None else self.upload_memory


class ServiceError(Exception):
    """A request the service refuses: its HTTP status, a one-line reason (English, for people
    who read logs) and a stable ``code`` (default: the status's in ``ERROR_CODES``)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.code = code or error_code(status)


def error_code(status: int) -> str:
    """The stable error code of an HTTP ``status``."""
    return ERROR_CODES.get(status, "failed")


def unavailable(reason: str) -> ServiceError:
    """The 503 for a service too busy for this photo now."""
    return ServiceError(
        503, f"{reason}; try again in a moment", {"Retry-After": str(RETRY_AFTER_S)}
    )


class UploadMemory:
    """The bytes of uploads being read and of answers being sent, all requests together,
    within ``limit``.

    Only the event loop reads uploads and sends answers, so no lock is needed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def hold(self, size: int, what: str = "uploads") -> None:
        """Count ``size`` more bytes, or raise the 503 (too many ``what`` at once) when they
        would pass the limit."""
        if self.held + size > self.limit:
            raise unavailable(f"too many {what} at once")
        self.held += size

    def release(self, size: int) -> None:
        self.held -= size


def too_large(limit: int) -> ServiceError:
    """The 413 for a body over ``limit`` bytes."""
    return ServiceError(413, f"the upload is larger than the limit of {limit / MB:g} MB")


def check_declared_length(request: Request, limit: int) -> None:
    """Refuse a request whose Content-Length is malformed (400) or over ``limit`` (413)."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        # OptionError's wording clips the echoed value.
        refused = OptionError("Content-Length", f"expected a number of bytes, got {declared!r}")
        raise ServiceError(400, str(refused))
    if int(declared) > limit:
        raise too_large(limit)


async def read_body(request: Request, settings: ServiceSettings, memory: UploadMemory) -> bytes:
    """The request's body, counted as it arrives; 413 once it passes ``max_upload``, 408 when
    it pauses longer than ``read_timeout`` or takes longer than ``upload_timeout`` in all, 503
    when its bytes would pass what ``memory`` has left. They count there until it is read."""
    check_declared_length(request, settings.max_upload)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.upload_timeout
    chunks: list[bytes] = []
    received = 0
    stream = request.stream()
    try:
        while True:
            wait = min(settings.read_timeout, deadline - loop.time())
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), max(wait, 0.0))
            except StopAsyncIteration:
                break
            if received + len(chunk) > settings.max_upload:
                raise too_large(settings.max_upload)
            memory.hold(len(chunk))
            received += len(chunk)
            chunks.append(chunk)
    except asyncio.TimeoutError:
        raise ServiceError(408, "the upload stalled; send the photo again") from None
    except ClientDisconnect:
        raise ServiceError(400, "the upload was cut off") from None
    finally:
        memory.release(received)
        await stream.aclose()
    return b"".join(chunks)


class HeldResponse(Response):
    """An answer whose bytes count against ``memory`` from its making (503 when they do not
    fit) until it is sent, ``SEND_CHUNK`` bytes at a time. A client that takes nothing for
    ``read_timeout`` seconds, or has not taken it all after ``upload_timeout``, is dropped (the
    server closes the connection) and its bytes freed."""

    def __init__(
        self,
        body: bytes,
        memory: UploadMemory,
        settings: ServiceSettings,
        *,
        media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        memory.hold(len(body), "downloads")
        super().__init__(body, media_type=media_type, headers=headers)
        self.memory, self.settings = memory, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._send_within_time(send)
        finally:
            self.memory.release(len(self.body))

    async def _send_within_time(self, send: Send) -> None:
        """Send the answer; stop, the answer unfinished, when the client stops taking it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.upload_timeout
        start = {"type": "http.response.start", "status": self.status_code}
        for message in itertools.chain([{**start, "headers": self.raw_headers}], self._pieces()):
            wait = min(self.settings.read_timeout, deadline - loop.time())
            try:
                await asyncio.wait_for(send(message), max(wait, 0.0))
            except asyncio.TimeoutError:
                return  # uvicorn closes a connection whose answer is left unfinished

    def _pieces(self) -> Iterator[Message]:
        """The body's messages, ``SEND_CHUNK`` bytes each, sliced only as they are sent."""
        size = len(self.body)
        for offset in range(0, max(size, 1), SEND_CHUNK):
            end = offset + SEND_CHUNK
            yield {
                "type": "http.response.body",
                "body": self.body[offset:end],
                "more_body": end < size,
            }
