"""The ASGI app: the campaign page's static files and its HTTP API.

Stateless: each request carries its photo and its options, and leaves nothing behind, so any
number of processes or machines serve the same campaign. Every answer carries the security
headers; every failure is JSON ``{"error": "<one line>", "code": "<stable code>"}`` with its
status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blueheart import PREVIEW_SIDE, BadgeOptions, Hint, OptionError, Policy
from blueheart.web.campaign import Campaign
from blueheart.web.emblems import PageEmblem, page_emblems
from blueheart.web.languages import LANGUAGES, NAMES, RIGHT_TO_LEFT, negotiate
from blueheart.web.limits import (
    HeldResponse,
    ServiceError,
    ServiceSettings,
    UploadMemory,
    check_declared_length,
    read_body,
)
from blueheart.web.params import (
    CROP_OUTPUT_SIDE,
    MAX_OUTPUT_SIDE,
    UNCROPPED_OUTPUT_SIDE,
    option_texts,
    parse_options,
    with_output_side,
)
from blueheart.web.work import DaemonThreads, WorkPool

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # Same origin only, no inline scripts or styles; previews are shown from blob: URLs.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    campaign: Campaign, settings: ServiceSettings, *, executor: Executor | None = None
) -> ASGIApp:
    """The service for ``campaign`` within ``settings``' limits.

    The photos' work runs on ``executor`` (default: ``settings.workers`` threads that the
    process's exit does not wait for, shut down with the app); ``settings.capacity`` uploaded
    photos are admitted at once; uploads being read and answers being sent are held within
    ``settings.upload_budget`` bytes. Downloads keep no metadata but the ICC profile.
    """
    own_executor = executor is None
    pool = WorkPool(
        executor or DaemonThreads(settings.workers, name="blueheart"),
        capacity=settings.capacity,
        timeout=settings.work_timeout,
    )
    api = _Api(campaign, settings, pool)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if own_executor:
            pool.executor.shutdown(wait=False, cancel_futures=True)

    app = Starlette(
        routes=[
            # Under their own mount, so that a wrong method is a 405, not the page's 404.
            Mount(
                "/api",
                routes=[
                    Route("/campaign", api.campaign_info, methods=["GET"]),
                    Route("/emblem", api.emblem, methods=["GET"]),
                    Route("/preview", api.preview, methods=["POST"]),
                    Route("/badge", api.badge, methods=["POST"]),
                ],
            ),
            Mount("/", PageFiles(directory=STATIC, html=True)),
        ],
        exception_handlers={
            ServiceError: _service_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    return SecurityHeaders(app)


class _Api:
    """The HTTP API's endpoints for one campaign: what they share, and one method each."""

    def __init__(self, campaign: Campaign, settings: ServiceSettings, pool: WorkPool) -> None:
        self.campaign, self.settings, self.pool = campaign, settings, pool
        self.defaults = campaign.options.replace(
            max_pixels=settings.max_pixels, metadata=Policy.STRIP
        )
        self.uploads = UploadMemory(settings.upload_budget)
        self.emblems = page_emblems(campaign.options)

    async def campaign_info(self, request: Request) -> Response:
        info = _campaign_json(self.campaign, self.defaults, self.settings, self.emblems)
        info["language"] = negotiate(request.headers.get("accept-language"))
        return JSONResponse(info)

    async def emblem(self, request: Request) -> Response:
        chosen = self.emblems[_emblem_style(request.query_params.multi_items(), self.emblems)]
        return Response(chosen.picture, media_type=chosen.media_type)

    async def preview(self, request: Request) -> Response:
        return await self._photo(request, "preview")

    async def badge(self, request: Request) -> Response:
        return await self._photo(request, "badge")

    async def _photo(self, request: Request, kind: str) -> Response:
        pairs = request.query_params.multi_items()
        options = _request_options(self.defaults, self.campaign.locked, pairs)
        check_declared_length(request, self.settings.max_upload)
        data = await read_body(request, self.settings, self.uploads)
        client_gone = asyncio.ensure_future(_disconnected(request))
        try:
            rendered = await self.pool.run(kind, data, options, client_gone)
        finally:
            client_gone.cancel()
        return HeldResponse(
            rendered.body,
            self.uploads,
            self.settings,
            media_type=rendered.media_type,
            headers=rendered.headers,
        )


async def _disconnected(request: Request) -> None:
    """Return once the client of ``request``, whose body has been read, has gone."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _emblem_style(asked: list[tuple[str, str]], emblems: Mapping[str, PageEmblem]) -> str:
    """The style ``/api/emblem`` is asked for (the first of ``emblems`` when none)."""
    for key, _ in asked:
        if key != "style":
            unknown = OptionError.no_such_option(key, ["style"])
            raise ServiceError(400, str(unknown), code="bad-option")
    if len(asked) > 1:
        raise ServiceError(400, "style: given twice", code="bad-option")
    name = asked[0][1] if asked else next(iter(emblems))
    if name not in emblems:
        expected = f"expected one of {', '.join(emblems)}, got {name!r}"
        raise ServiceError(400, str(OptionError("style", expected)), code="bad-option")
    return name


def query_words(hint: Hint) -> str | None:
    """A hint in the query string's words: a missing value is its word (``keep``, ``auto``),
    not the library's ``None (keep)``; the others as the library says them."""
    return str(hint.value) if hint.form == "unset" else None


def _request_options(
    defaults: BadgeOptions, locked: frozenset[str], pairs: Iterable[tuple[str, str]]
) -> BadgeOptions:
    try:
        fields = parse_options(pairs)
        for name in sorted(fields.keys() & locked):
            raise OptionError(name, "set by the campaign; it cannot be changed")
        return with_output_side(defaults.replace(**fields))
    except OptionError as error:
        message = " ".join(error.say(query_words).split())
        raise ServiceError(400, message, code="bad-option") from None


def _campaign_json(
    campaign: Campaign,
    defaults: BadgeOptions,
    settings: ServiceSettings,
    emblems: Mapping[str, PageEmblem],
) -> dict[str, Any]:
    return {
        "defaults": option_texts(defaults),
        "locked": sorted(campaign.locked),
        "page": dict(campaign.page),
        "translations": {code: dict(texts) for code, texts in campaign.translations.items()},
        "languages": [
            {"code": code, "name": NAMES[code], "rtl": code in RIGHT_TO_LEFT} for code in LANGUAGES
        ],
        "emblems": {
            name: {
                "url": f"api/emblem?style={name}",
                "aspect": round(emblem.aspect, 6),
                "outline": [[round(x, 5), round(y, 5)] for x, y in emblem.outline],
            }
            for name, emblem in emblems.items()
        },
        "limits": {
            "max_upload": settings.max_upload,
            "max_pixels": settings.max_pixels,
            "preview_side": PREVIEW_SIDE,
            "crop_output_side": CROP_OUTPUT_SIDE,
            "uncropped_output_side": UNCROPPED_OUTPUT_SIDE,
            "max_output_side": MAX_OUTPUT_SIDE,
        },
    }


def _error(error: ServiceError) -> Response:
    body = {"error": error.message, "code": error.code}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def _service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return _error(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return _error(ServiceError(error.status_code, str(error.detail).lower(), error.headers))


async def _internal_error(request: Request, error: Exception) -> Response:
    # The server's log has the traceback; the client gets one line.
    return _error(ServiceError(500, "internal error"))


class PageFiles(StaticFiles):
    """The page's static files; a method other than GET or HEAD is 405 on a file that exists
    and 404 elsewhere (it was 405 on any path, as if every path were a file)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] in ("GET", "HEAD"):
            return await super().get_response(path, scope)
        await super().get_response(path, {**scope, "method": "HEAD"})  # 404: no such file
        raise HTTPException(405, headers={"Allow": "GET, HEAD"})


class SecurityHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every answer, errors and static files too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
