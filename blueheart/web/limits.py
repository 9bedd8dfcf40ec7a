"""The service's limits, and reading an upload into memory within them.

The body is read as a stream with a byte counter: nothing touches the disk, a declared
Content-Length over the limit is refused before a byte is read, and a body that grows over it
is refused as soon as it does, without reading on. Uploads being read count against a budget
of bytes, all requests together, not against the places of the work: a client that sends
slowly holds only the bytes it has sent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect, Request

from blueheart.core.errors import clipped

MB = 1_000_000
SERVICE_MAX_PIXELS = 100_000_000
"""The service's default pixel limit: phones' 12 to 50 MP photos pass, and what one request may
cost stays a fraction of the library's default (200 MP photos are rare on a volunteer page)."""
RETRY_AFTER_S = 1
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
    a burst's worth); ``upload_memory``: bytes of uploads being read at once, all requests
    together, a chunk past it is answered 503 (None: ``capacity`` uploads of ``max_upload``);
    ``work_timeout``: seconds a photo may take from the end of its upload, waiting for a
    worker included; ``read_timeout``: seconds an upload may pause; ``upload_timeout``:
    seconds an upload may take in all.
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
    """The bytes of uploads being read, all requests together, within ``limit``.

    Only the event loop reads uploads, so no lock is needed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def hold(self, size: int) -> None:
        """Count ``size`` more bytes, or raise the 503 when they would pass the limit."""
        if self.held + size > self.limit:
            raise unavailable("too many uploads at once")
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
        raise ServiceError(
            400, f"Content-Length: expected a number of bytes, got {clipped(repr(declared))}"
        )
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
