"""blueheart serve: the HTTP API, private and bounded, black-box through ASGI and a real uvicorn.

Exact ASGI calls check what is read of a body and when; Starlette's TestClient the answers;
a real server (the CLI command, on 127.0.0.1) the temp folder, the logs and raw sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest

pytest.importorskip("starlette")
from exiftool import FILE_GROUPS, every_tag, needs_exiftool
from helpers import NEEDS_SHARED_PHOTOS, P3_PROFILE, SHARED_PHOTOS, UN_BLUE_RGB, camera_exif, photo
from PIL import ExifTags, Image
from processes import until
from test_header_limits import SRGB_PROFILE, repeated_scans_jpeg, webp_with_profile
from test_hostile import LOCATION_MARKERS, XMP, located_exif, png_bomb

import blueheart
from blueheart import BadgeOptions, Length
from blueheart.core.detector import detector_version
from blueheart.web import Campaign, PresetError, ServiceSettings, create_app, load_campaign
from blueheart.web.app import SECURITY_HEADERS
from blueheart.web.params import option_texts, parse_options

with warnings.catch_warnings():
    # Starlette 1.x would rather have httpx2 than httpx; both work.
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

REGRESSIONS = Path(__file__).resolve().parents[1] / "fuzz-regressions"
PHONE_PHOTO = SHARED_PHOTOS / "camera" / "phone-12mp-p01.jpg"
CAMERA_PHOTO = Path(__file__).resolve().parents[1] / "data" / "Nikon-D3100.jpg"


def jpeg(width: int = 400, height: int = 300, **params: Any) -> bytes:
    buffer = io.BytesIO()
    photo(width, height).save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


@functools.cache
def large_jpeg() -> bytes:
    return jpeg(3000, 2000)


def client(campaign: Campaign | None = None, **settings: Any) -> TestClient:
    app = create_app(campaign or Campaign(), ServiceSettings(**settings))
    return TestClient(app, raise_server_exceptions=False)


def assert_error(
    response: Any, status: int, message: str | None = None, *, code: str | None = None
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error, error_code = response.json()["error"], response.json()["code"]
    assert isinstance(error, str) and "\n" not in error and "Traceback" not in error
    assert isinstance(error_code, str) and error_code
    if message is not None:
        assert error == message
    if code is not None:
        assert error_code == code


# -- raw ASGI: what is read of a body, and when --------------------------------------------------


class Upload:
    """An ASGI request's body as the server pulls it, piece by piece; ``stall`` never ends it.

    Its events say where the server is, so a test waits for that moment, never for a time:
    ``stalled`` (it waits for more of the body), ``read`` (it has the whole body and listens
    for the client's leaving, its work admitted), ``answering`` (its answer is held, unread).
    """

    def __init__(self, parts: Sequence[bytes], *, stall: bool = False) -> None:
        self.parts, self.stall, self.pulled = list(parts), stall, 0
        self.release = asyncio.Event() if stall else None
        self.gone = asyncio.Event()  # the client stays until it is set
        self.stalled, self.read, self.answering = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if self.release is not None and self.pulled == len(self.parts):
            self.stalled.set()
            await self.release.wait()  # the rest comes once released (if ever)
            self.release = None
        if self.pulled < len(self.parts):
            self.pulled += 1
            more = self.pulled < len(self.parts) or self.release is not None
            return {"type": "http.request", "body": self.parts[self.pulled - 1], "more_body": more}
        self.read.set()
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def all_set(events: Sequence[asyncio.Event]) -> None:
    """Until every one of ``events`` is set (or fail after 30 s)."""
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), 30)


async def call(
    app: Any,
    path: str,
    upload: Upload,
    headers: dict[str, str] | None = None,
    *,
    reading: asyncio.Event | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """The app's answer to ``upload``; ``reading``: the client takes the answer's body only
    once it is set (if ever)."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": route, "raw_path": route.encode(), "root_path": "",
        "query_string": query.encode(), "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if reading is not None and message["type"] == "http.response.body":
            upload.answering.set()
            await reading.wait()
        sent.append(message)

    await app(scope, upload.receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    if reading is not None and not reading.is_set():
        return start["status"], {}, b""  # dropped before a byte of the body was taken
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_an_honest_content_length_over_the_limit_is_refused_before_reading() -> None:
    app = create_app(Campaign(), ServiceSettings(max_upload=1000))
    upload = Upload([b"x" * 100])
    status, headers, body = asyncio.run(
        call(app, "/api/badge", upload, {"content-length": str(2 * 10**9)})
    )
    assert status == 413 and upload.pulled == 0
    assert json.loads(body) == {
        "error": "the upload is larger than the limit of 0.001 MB",
        "code": "too-large",
    }
    assert headers["cache-control"] == "no-store"


def test_a_body_growing_over_the_limit_is_refused_without_reading_on() -> None:
    app = create_app(Campaign(), ServiceSettings(max_upload=1000))
    upload = Upload([b"x" * 400] * 10)  # chunked: no Content-Length
    status, _, _ = asyncio.run(call(app, "/api/badge", upload))
    assert status == 413 and upload.pulled == 3


def test_a_stalled_upload_is_answered_408() -> None:
    app = create_app(Campaign(), ServiceSettings(read_timeout=0.2))
    started = time.monotonic()
    status, _, body = asyncio.run(call(app, "/api/badge", Upload([b"\xff\xd8"], stall=True)))
    assert status == 408 and time.monotonic() - started < 5
    assert json.loads(body) == {
        "error": "the upload stalled; send the photo again",
        "code": "stalled",
    }


def test_a_full_queue_is_answered_503_with_retry_after_then_serves_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    original = blueheart.badge_bytes

    def held(data: bytes, options: BadgeOptions) -> bytes:
        release.wait(10)
        return original(data, options)

    monkeypatch.setattr(blueheart, "badge_bytes", held)
    app = create_app(Campaign(), ServiceSettings(workers=1, queue=1))
    photo_bytes = jpeg()

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        uploads = [Upload([photo_bytes]) for _ in range(2)]
        admitted = [asyncio.ensure_future(call(app, "/api/badge", upload)) for upload in uploads]
        await all_set([upload.read for upload in uploads])  # one badged, one waiting
        refused = await call(app, "/api/badge", Upload([photo_bytes]))
        release.set()
        finished = await asyncio.gather(*admitted)
        after = await call(app, "/api/badge", Upload([photo_bytes]))
        return [refused, *finished, after]

    refused, *admitted, after = asyncio.run(scenario())
    assert refused[0] == 503 and refused[1]["retry-after"] == "1"
    assert json.loads(refused[2]) == {
        "error": "too many photos at once; try again in a moment",
        "code": "busy",
    }
    assert [answer[0] for answer in admitted] == [200, 200] and after[0] == 200


def test_work_whose_client_left_while_it_waited_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ten clients that uploaded and left were all badged, and the next one waited for them.
    release, badged = threading.Event(), []
    original = blueheart.badge_bytes

    def held(data: bytes, options: BadgeOptions) -> bytes:
        badged.append(len(data))
        release.wait(10)
        return original(data, options)

    monkeypatch.setattr(blueheart, "badge_bytes", held)
    app = create_app(Campaign(), ServiceSettings(workers=1, queue=2))
    first, left = jpeg(), jpeg(300, 200)

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        working = asyncio.ensure_future(call(app, "/api/badge", Upload([first])))
        while not badged:
            await asyncio.sleep(0.01)
        gone = Upload([left])
        gone.gone.set()  # uploaded, then closed the connection
        skipped = await call(app, "/api/badge", gone)
        release.set()
        return [await working, skipped, await call(app, "/api/badge", Upload([first]))]

    working, _, after = asyncio.run(scenario())
    assert working[0] == 200 and after[0] == 200
    assert badged == [len(first), len(first)]  # never the photo of the client that left


def test_slow_uploads_take_no_place_of_the_work() -> None:
    # Eight clients trickling their photos once filled every place (2 workers x 4) for 120 s.
    app = create_app(Campaign(), ServiceSettings(workers=1, queue=1))
    photo_bytes = jpeg()

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        slow = [Upload([photo_bytes[:100]], stall=True) for _ in range(8)]
        held = [asyncio.ensure_future(call(app, "/api/badge", upload)) for upload in slow]
        await all_set([upload.stalled for upload in slow])  # all eight uploading
        served = [await call(app, f"/api/{kind}", Upload([photo_bytes]))
                  for kind in ("badge", "preview", "badge")]  # fmt: skip
        for upload in slow:
            upload.parts.append(photo_bytes[100:])
            assert upload.release is not None
            upload.release.set()
        return [*served, *await asyncio.gather(*held)]

    answers = asyncio.run(scenario())
    assert [answer[0] for answer in answers[:3]] == [200, 200, 200]
    statuses = [answer[0] for answer in answers[3:]]
    # The eight, once sent, compete for the two places: at least two are served.
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 2


def test_uploads_share_a_budget_of_bytes_and_give_it_back() -> None:
    photo_bytes = jpeg()
    app = create_app(Campaign(), ServiceSettings(upload_memory=len(photo_bytes) + 100))

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        half = len(photo_bytes) // 2
        stalled = Upload([photo_bytes[:half]], stall=True)
        # Small answers: they count against the budget too, until sent.
        holding = asyncio.ensure_future(call(app, "/api/badge?output_size=64", stalled))
        await all_set([stalled.stalled])  # half the budget held by bytes really sent
        refused = await call(app, "/api/badge", Upload([photo_bytes[:200], photo_bytes[200:]]))
        stalled.parts.append(photo_bytes[half:])
        assert stalled.release is not None
        stalled.release.set()
        finished = await holding
        after = await call(app, "/api/badge?output_size=64", Upload([photo_bytes]))
        return [refused, finished, after]

    refused, finished, after = asyncio.run(scenario())
    assert refused[0] == 503 and refused[1]["retry-after"] == "1"
    assert json.loads(refused[2]) == {
        "error": "too many uploads at once; try again in a moment",
        "code": "busy",
    }
    assert finished[0] == 200 and after[0] == 200


def test_answers_nobody_reads_count_against_the_budget_and_are_dropped() -> None:
    # Unread answers were held whole until their clients closed: 1.6 GB for 40 clients.
    photo_bytes = jpeg()
    answer = len(client().post("/api/badge?format=png", content=photo_bytes).content)
    settings = ServiceSettings(upload_memory=answer + len(photo_bytes) // 2, read_timeout=0.5)
    app = create_app(Campaign(), settings)

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        never, upload = asyncio.Event(), Upload([photo_bytes])
        unread = asyncio.ensure_future(call(app, "/api/badge?format=png", upload, reading=never))
        await all_set([upload.answering])  # badged, and waiting for its client to read
        refused = await call(app, "/api/badge", Upload([photo_bytes]))
        dropped = await asyncio.wait_for(unread, 30)
        after = await call(app, "/api/badge?format=png", Upload([photo_bytes]))
        return [refused, dropped, after]

    refused, dropped, after = asyncio.run(scenario())
    assert refused[0] == 503 and json.loads(refused[2])["code"] == "busy"
    assert dropped[0] == 200 and dropped[2] == b""
    assert after[0] == 200 and len(after[2]) == answer


# -- the API through Starlette's TestClient -------------------------------------------------------


def test_campaign_answers_the_presets_defaults_locks_and_page(tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text(
        'position = "top-left"\nsize = "120px"\ncrop = "circle"\noutput-size = 720\n'
        "at = [0.3, 0.7]\n"
        '[page]\ntitle = "Wear the Blue Heart"\nmessage = "Against trafficking"\n'
        'hashtag = "#BlueHeart"\nlink = "https://www.unodc.org/blueheart/"\n'
        'lock = ["style", "color"]\n'
    )
    campaign = load_campaign(preset)
    answer = client(campaign, max_upload=5_000_000, max_pixels=10**6).get("/api/campaign")
    assert answer.status_code == 200
    info = answer.json()
    assert (
        info["defaults"] | {"position": "top-left", "size": "120px", "crop": "circle"}
        == (info["defaults"])
    )
    assert info["defaults"]["output_size"] == "720" and info["defaults"]["at"] == "0.3,0.7"
    assert info["locked"] == ["color", "style"]
    assert info["page"] == {
        "title": "Wear the Blue Heart", "message": "Against trafficking",
        "hashtag": "#BlueHeart", "link": "https://www.unodc.org/blueheart/",
    }  # fmt: skip
    assert info["limits"]["max_upload"] == 5_000_000 and info["limits"]["max_pixels"] == 10**6


def test_preview_answers_a_small_jpeg_and_the_emblems_box() -> None:
    answer = client().post("/api/preview?crop=circle&position=top-left", content=jpeg(900, 600))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "JPEG" and image.size == (640, 640)
    assert answer.headers["blueheart-output-size"] == "1080x1080"
    left, top, right, bottom = map(float, answer.headers["blueheart-box"].split(","))
    assert 0 < left < right < 0.5 and 0 < top < bottom < 0.5


@pytest.mark.skipif(not PHONE_PHOTO.exists(), reason=NEEDS_SHARED_PHOTOS)
def test_preview_of_a_12_megapixel_photo_is_at_most_640() -> None:
    answer = client().post("/api/preview", content=PHONE_PHOTO.read_bytes())
    assert answer.status_code == 200
    assert max(Image.open(io.BytesIO(answer.content)).size) == 640
    assert answer.headers["blueheart-output-size"] == "2048x1536"  # the download's bound


@pytest.mark.parametrize(
    ("query", "media_type", "size"),
    [
        ("", "image/jpeg", (400, 300)),
        ("crop=square", "image/jpeg", (1080, 1080)),
        ("crop=circle", "image/png", (1080, 1080)),
        ("crop=circle&format=webp&output_size=200", "image/webp", (200, 200)),
    ],
)
def test_badge_answers_the_file_as_an_attachment(
    query: str, media_type: str, size: tuple[int, int]
) -> None:
    answer = client().post(f"/api/badge?{query}", content=jpeg())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    extension = media_type.split("/")[1].replace("jpeg", "jpg")
    assert answer.headers["content-disposition"] == f'attachment; filename="blueheart.{extension}"'
    assert Image.open(io.BytesIO(answer.content)).size == size


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels and holds none."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in ((b"IHDR", header), (b"IDAT", zlib.compress(b"\0")), (b"IEND", b""))
    )


@pytest.mark.parametrize(
    ("query", "preset", "size"),
    [
        ("", "", (2048, 1365)),
        ("output_size=3000", "", (3000, 2000)),
        ("", "output-size = 2500\n", (2500, 1667)),
        ("crop=square", "", (1080, 1080)),
    ],
)
def test_a_download_is_at_most_2048_px_unless_a_size_is_set(
    tmp_path: Path, query: str, preset: str, size: tuple[int, int]
) -> None:
    config = tmp_path / "campaign.toml"
    config.write_text(preset)
    test = client(load_campaign(config))
    answer = test.post(f"/api/badge?{query}", content=large_jpeg())
    assert answer.status_code == 200 and Image.open(io.BytesIO(answer.content)).size == size
    preview = test.post(f"/api/preview?{query}", content=large_jpeg())
    assert preview.headers["blueheart-output-size"] == "{}x{}".format(*size)


@pytest.mark.parametrize("kind", ["avif", "webp"])
def test_the_slow_encoders_get_a_bounded_picture(kind: str) -> None:
    # A PNG of zeros is small whatever its size: 15800 px square once made 3.9 GB each.
    buffer = io.BytesIO()
    Image.new("RGBA", (4000, 4000)).save(buffer, "PNG")
    answer = client().post(f"/api/badge?format={kind}", content=buffer.getvalue())
    assert answer.status_code == 200 and answer.headers["content-type"] == f"image/{kind}"
    assert Image.open(io.BytesIO(answer.content)).size == (2048, 2048)


def test_the_services_pixel_limit_is_100_megapixels() -> None:
    assert ServiceSettings().max_pixels == 100_000_000
    test = client()
    assert test.get("/api/campaign").json()["limits"]["max_pixels"] == 100_000_000
    assert_error(test.post("/api/badge", content=png_header(12000, 10000)), 422,
                 "input: 12000x10000 is 120,000,000 pixels, over the limit of 100,000,000")  # fmt: skip
    help_text = " ".join(run_cli("serve", "--help").stdout.split())
    assert "[default: 100000000," in help_text


@needs_exiftool
@pytest.mark.parametrize("query", ["", "crop=circle", "format=webp", "format=avif"])
def test_a_download_keeps_no_metadata_but_the_icc_profile(tmp_path: Path, query: str) -> None:
    answer = client().post(f"/api/badge?{query}", content=CAMERA_PHOTO.read_bytes())
    assert answer.status_code == 200
    output = tmp_path / "download"
    output.write_bytes(answer.content)
    tags = every_tag(output)
    boxes = {"QuickTime", "Meta"}  # an AVIF's structure: brands, sizes, colour primaries
    assert {key.split(":")[0] for key in tags} <= FILE_GROUPS | boxes, sorted(tags)
    downloaded = Image.open(io.BytesIO(answer.content))
    assert not downloaded.getexif() and "xmp" not in downloaded.info
    # A photo's colour space is kept: the ICC profile is all that passes.
    data = jpeg(exif=camera_exif().tobytes(), icc_profile=P3_PROFILE, xmp=XMP)
    profiled = Image.open(io.BytesIO(client().post(f"/api/badge?{query}", content=data).content))
    assert profiled.info["icc_profile"] == P3_PROFILE and not profiled.getexif()


def test_a_query_takes_a_colour_without_its_hash_and_pixels_with_px() -> None:
    query = urlencode({"color": "00aa55", "output_size": "200px", "at": "0.5,0.5",
                       "size": "40px", "ring": "0", "format": "png"})  # fmt: skip
    answer = client().post(f"/api/badge?{query}", content=jpeg())
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content)).convert("RGB")
    assert image.size == (200, 150) and image.getpixel((100, 75)) == (0x00, 0xAA, 0x55)


def test_at_from_the_query_lands_where_asked() -> None:
    query = urlencode({"at": "0.25,0.5", "size": "60px", "ring": "0", "format": "png"})
    answer = client().post(f"/api/badge?{query}", content=jpeg())
    pixels = np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGB"))
    assert tuple(pixels[150, 100]) == UN_BLUE_RGB


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("size=2", "size: expected a fraction from 0 to 1, got 2"),
        ("size=big", "size: expected a fraction like 0.25 or pixels like 200px, got 'big'"),
        ("at=0.5", "at: expected X,Y as fractions of the width and height, got '0.5'"),
        ("at=0.5,2", "at: expected x and y from 0 to 1, got (0.5, 2.0)"),
        ("position=middle", "position: expected one of top-left, top, top-right, left, center, "
                            "right, bottom-left, bottom, bottom-right, auto, got 'middle'"),
        ("bogus=1", "bogus: no such option"),
        ("posiiton=auto", "posiiton: no such option (did you mean 'position'?)"),
        ("output-sise=200", "output_sise: no such option (did you mean 'output_size'?)"),
        ("size=0.2&size=0.3", "size: given twice"),
        ("emblem=/etc/passwd", "emblem: no such option"),
        ("keep_metadata=true", "keep_metadata: no such option"),
        ("max_pixels=1", "max_pixels: no such option"),
        ("output_size=5000", "output_size: expected at most 4096 px, got 5000"),
        ("output_size=5000px", "output_size: expected at most 4096 px, got 5000"),
        ("output_size=big", "output_size: expected a whole number of pixels such as 1080 or "
                            "1080px, got 'big'"),
        ("color=blue", "color: expected a colour as #RRGGBB, got 'blue'"),
        ("crop=circle&format=jpeg", "format: a circle crop needs transparent corners, which "
                                    "JPEG cannot store; choose png, webp or avif"),
        ("style=pin", "style: set by the campaign; it cannot be changed"),
        ("quality=0", "quality: expected a whole number from 1 to 100 or keep, got 0"),
        ("ring=0.3", "ring: expected a fraction from 0 to 0.25 or auto, got 0.3"),
    ],
)  # fmt: skip
def test_bad_and_locked_options_are_400_with_one_line(query: str, message: str) -> None:
    campaign = Campaign(locked=frozenset({"style"}))
    for endpoint in ("badge", "preview"):
        assert_error(
            client(campaign).post(f"/api/{endpoint}?{query}", content=jpeg()), 400, message
        )


def test_errors_echo_at_most_100_characters_of_a_value() -> None:
    # A 10,000-character option value or name once came back whole in the error.
    long = "a" * 10_000
    test = client()
    for query, start, end in [
        (f"position={long}", "position: expected one of top-left,", f", got '{long[:99]}..."),
        (f"{long}=1", long[:100] + "...: no such option", "no such option"),
        (f"size=0.1&at=0.5,{long}", "at: expected X,Y", f", got '0.5,{long[:95]}..."),
    ]:
        error = test.post(f"/api/badge?{query}", content=jpeg()).json()["error"]
        assert error.startswith(start) and error.endswith(end) and len(error) < 300
    style = test.get(f"/api/emblem?style={long}").json()["error"]
    assert style.endswith(f", got '{long[:99]}...")
    with pytest.raises(blueheart.OptionError, match=r", got 'a{99}\.\.\.$"):
        BadgeOptions(position=long)  # type: ignore[arg-type]


def test_headers_on_every_answer_and_no_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, options: BadgeOptions) -> bytes:
        raise RuntimeError("a bug, with a secret path /home/me")

    test = client()
    answers = [
        test.get("/"), test.get("/api/campaign"), test.get("/nope"), test.get("/api/badge"),
        test.post("/api/badge?size=9", content=jpeg()), test.post("/api/badge", content=b""),
        test.post("/api/preview", content=jpeg()),
    ]  # fmt: skip
    monkeypatch.setattr(blueheart, "badge_bytes", broken)
    crashed = test.post("/api/badge", content=jpeg())
    assert_error(crashed, 500, "internal error")
    for answer in [*answers, crashed]:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value, (answer.request.url, name)
        assert "set-cookie" not in answer.headers
    assert [a.status_code for a in answers] == [200, 200, 404, 405, 400, 415, 200]


def test_other_methods_are_404_on_unknown_paths_and_405_on_the_pages_files() -> None:
    test = client()
    for method in ("POST", "PUT", "DELETE"):
        assert_error(test.request(method, "/nope", content=b"x"), 404, "not found")
        assert_error(test.request(method, "/api/nope"), 404, "not found")
        for known in ("/", "/index.html", "/api/badge" if method != "POST" else "/api/emblem"):
            assert_error(test.request(method, known), 405, "method not allowed")


def test_the_page_has_no_inline_script_or_style() -> None:
    page = client().get("/").text
    assert page.startswith("<!doctype html>")
    scripts = re.findall(r"<script\b[^>]*>", page, re.IGNORECASE)
    assert all("src=" in tag for tag in scripts) and "<style" not in page.lower()
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.IGNORECASE)  # no onclick=...


def hostile_uploads() -> dict[str, bytes]:
    good = jpeg()
    uploads = {path.name: path.read_bytes() for path in sorted(REGRESSIONS.iterdir())}
    uploads.update({
        "empty": b"", "text": b"GIF89a, or so it says", "truncated": good[: len(good) // 2],
        "header-only": good[:600], "png-bomb": png_bomb(), "random": os.urandom(5000),
    })  # fmt: skip
    return uploads


@pytest.mark.parametrize(("name", "data"), list(hostile_uploads().items()))
def test_hostile_uploads_get_an_answer_and_the_next_photo_works(name: str, data: bytes) -> None:
    test = client(work_timeout=15)
    for endpoint in ("badge", "preview"):
        answer = test.post(f"/api/{endpoint}", content=data)
        if answer.status_code != 200:
            assert_error(answer, answer.status_code)
            assert answer.status_code in (415, 422), answer.text
        assert test.post(f"/api/{endpoint}", content=jpeg()).status_code == 200


def test_an_animation_over_its_own_limit_is_not_said_as_the_pixel_limit() -> None:
    # With --max-pixels 250000000 the page said "250 megapixels at most" of an animation of
    # 120 megapixels in all: animations have their own limit, 100 million.
    frames = [Image.new("P", (1000, 1000), index % 2) for index in range(120)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    animation = buffer.getvalue()
    roomy = client(max_pixels=250_000_000)
    assert_error(roomy.post("/api/badge", content=animation), 422, code="unreadable")
    assert_error(client().post("/api/badge", content=animation), 422, code="too-many-pixels")


def test_expected_statuses_for_the_classic_bad_uploads() -> None:
    test = client()
    assert_error(test.post("/api/badge", content=b""), 415, "input: empty file", code="not-a-photo")
    assert_error(test.post("/api/badge", content=b"hello"), 415,
                 "input: not an image blueheart can read", code="not-a-photo")  # fmt: skip
    assert_error(test.post("/api/badge", content=png_bomb()), 422, code="too-many-pixels")
    assert_error(test.post("/api/badge", content=jpeg()[:3000]), 422, code="unreadable")
    # Over a limit that is not the pixels': the page said "N megapixels at most" for them.
    oversized_profile = webp_with_profile(SRGB_PROFILE + bytes(4 << 20))
    assert_error(test.post("/api/badge", content=oversized_profile), 422, code="unreadable")
    assert_error(test.post("/api/badge", content=repeated_scans_jpeg(150)), 422, code="unreadable")
    assert_error(test.post("/api/badge?size=1.0&margin=0", content=jpeg(8, 8)), 422,
                 code="too-small")  # fmt: skip
    # The page says these in its language from the code; the English line is for the log.
    assert_error(test.post("/api/badge?size=big", content=jpeg()), 400, code="bad-option")
    assert_error(test.get("/nowhere.js"), 404, code="not-found")


def test_no_location_reaches_a_download() -> None:
    data = jpeg(exif=located_exif().tobytes(), xmp=XMP, comment=b"Paris, Rue X")
    for query in ("", "crop=circle", "format=webp"):
        answer = client().post(f"/api/badge?{query}", content=data)
        assert answer.status_code == 200
        assert not any(marker in answer.content for marker in LOCATION_MARKERS)
        exif = Image.open(io.BytesIO(answer.content)).getexif()
        assert ExifTags.IFD.GPSInfo not in exif
    preview = client().post("/api/preview", content=data).content
    assert not any(marker in preview for marker in LOCATION_MARKERS)
    assert not Image.open(io.BytesIO(preview)).getexif()


def test_heic_uploads_work_with_the_heif_extra() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(photo(320, 240)).save(buffer, quality=90)
    answer = client().post("/api/badge", content=buffer.getvalue())
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"


def test_the_event_loop_never_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def spy(original: Any) -> Any:
        def in_a_worker(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                seen.append("event loop")
            except RuntimeError:
                seen.append(threading.current_thread().name)
            return original(*args, **kwargs)

        return in_a_worker

    monkeypatch.setattr(blueheart, "badge_bytes", spy(blueheart.badge_bytes))
    monkeypatch.setattr(blueheart, "preview_bytes", spy(blueheart.preview_bytes))
    test = client()
    assert test.post("/api/badge", content=jpeg()).status_code == 200
    assert test.post("/api/preview", content=jpeg()).status_code == 200
    assert len(seen) == 2 and all(name.startswith("blueheart") for name in seen)


def test_work_over_the_time_limit_is_503_and_keeps_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    original = blueheart.badge_bytes

    def slow(data: bytes, options: BadgeOptions) -> bytes:
        release.wait(10)
        return original(data, options)

    monkeypatch.setattr(blueheart, "badge_bytes", slow)
    test = client(workers=1, queue=0, work_timeout=0.2)
    answer = test.post("/api/badge", content=jpeg())
    assert_error(answer, 503, "the photo took longer than 0.2 s; try again in a moment")
    assert answer.headers["retry-after"] == "1"
    # The overrunning work still holds the only place: memory stays bounded.
    assert_error(test.post("/api/badge", content=jpeg()), 503)
    release.set()
    monkeypatch.setattr(blueheart, "badge_bytes", original)
    # The place comes back once the overrunning work really ends, on its own thread.
    until(lambda: test.post("/api/badge", content=jpeg()).status_code == 200, "a place freed")


def test_a_process_pool_serves_the_same_answers() -> None:
    with ProcessPoolExecutor(1) as processes:
        app = create_app(Campaign(), ServiceSettings(), executor=processes)
        test = TestClient(app)
        threads = client().post("/api/badge?crop=circle", content=jpeg())
        answer = test.post("/api/badge?crop=circle", content=jpeg())
        assert answer.status_code == 200 and answer.content == threads.content
        assert_error(test.post("/api/badge?size=1.0&margin=0", content=jpeg(8, 8)), 422)


# -- options as text, and presets ---------------------------------------------------------------


def test_option_texts_read_back_as_the_same_options() -> None:
    options = BadgeOptions(
        position="top", size=Length.px(120), margin=0.1, offset=(Length.px(-4), 0.02),
        at=(0.25, 0.75), circle_safe=False, opacity=0.5, style="pin", ring=0.1,
        color="#112233", crop="circle", focus="auto", output_size=800, format="webp",
        background="#000000", quality=70,
    )  # fmt: skip
    for original in (options, BadgeOptions()):
        texts = {k: v for k, v in option_texts(original).items() if v is not None}
        assert BadgeOptions(**parse_options(texts.items())) == original


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus = 1", "unknown key 'bogus'"),
        ("keep-metadata = true", "'keep-metadata': the service never keeps the location; it has no such key"),
        ("strip-metadata = false", "'strip-metadata': downloads always keep nothing but the ICC profile; it has no such key"),
        ("max_pixels = 5", "'max_pixels': the limit is the server's: use blueheart serve --max-pixels"),
        ("size = 3", "size: expected a fraction from 0 to 1, got 3"),
        ('emblem = "/no/such/file.png"', "emblem: expected an image file's path, got '/no/such/file.png'"),
        ("page = 3", "[page] must be a table, got 3"),
        ("[page]\ncolour = 'x'", "unknown key 'page.colour'"),
        ("[page]\ntitel = 'x'", "unknown key 'page.titel' (did you mean 'page.title'?)"),
        ("sise = 0.2", "unknown key 'sise' (did you mean 'size'?)"),
        ("[page]\ntitle = 3", "page.title: expected text, got 3"),
        ("[page]\nlink = 'javascript:alert(1)'", "page.link: expected an http(s):// address, got 'javascript:alert(1)'"),
        ("[page]\nlock = ['sise']", "page.lock: no such option 'sise'"),
        ("[page]\nlock = 'size'", "page.lock: expected a list of option names, got 'size'"),
        ("size = ", None),
    ],
)  # fmt: skip
def test_bad_presets_are_one_line_errors(tmp_path: Path, text: str, message: str | None) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text(text + "\n")
    with pytest.raises(PresetError) as raised:
        load_campaign(preset)
    assert str(raised.value).startswith(f"{preset}: ") and "\n" not in str(raised.value)
    if message is not None:
        assert str(raised.value) == f"{preset}: {message}"


@pytest.mark.parametrize("link", ["HTTPS://example.org/", "Http://example.org/x"])
def test_a_presets_link_scheme_is_case_insensitive(tmp_path: Path, link: str) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text(f"[page]\nlink = '{link}'\n")
    assert load_campaign(preset).page["link"] == link


# -- the command, and a real server on 127.0.0.1 -------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blueheart", *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_serve_with_a_bad_preset_is_a_one_line_usage_error(tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text("colour = 'red'\n")
    result = run_cli("serve", "--config", str(preset))
    assert result.returncode == 2
    assert result.stderr == f"Error: {preset}: unknown key 'colour' (did you mean 'color'?)\n"


@pytest.mark.parametrize("size", ["40", "999"])
def test_serve_with_a_byte_size_missing_its_unit_is_a_usage_error(size: str) -> None:
    # --max-upload 40 (the MB forgotten) would start and then refuse every photo.
    result = run_cli("serve", "--max-upload", size, "--port", "1")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '--max-upload': '{size}' is {size} bytes, too few; "
        f"give a unit, such as {size}MB"
    )


def test_serve_on_a_port_in_use_is_a_one_line_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stdout == ""  # nothing claims to serve
    assert result.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_serve_without_the_web_extra_names_it(tmp_path: Path) -> None:
    # A module named starlette that cannot be imported stands for a missing extra.
    (tmp_path / "starlette").mkdir()
    (tmp_path / "starlette" / "__init__.py").write_text("raise ImportError(name='starlette')\n")
    result = run_cli("serve", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr == (
        "Error: blueheart serve needs the web extra: pip install '.[web]' in a blueheart checkout\n"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    def __init__(self, port: int, log: Path, temp: Path) -> None:
        self.port, self.log, self.temp = port, log, temp

    def request(self, raw: bytes, *, timeout: float = 10) -> bytes:
        """Send ``raw`` and read one answer: its head, then Content-Length bytes of body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as connection:
            connection.sendall(raw)
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += connection.recv(65536)
            head, _, body = answer.partition(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
            while len(body) < length:
                body += connection.recv(65536)
            return head + b"\r\n\r\n" + body

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as connection:
            connection.sendall(head + body)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status = int(answer.split(b" ", 2)[1])
        return status, answer.partition(b"\r\n\r\n")[2]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    temp = folder / "tmp"
    temp.mkdir()
    log = folder / "server.log"
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "blueheart", "serve", "--port", str(port),
             "--max-upload", "5MB"],
            stdout=output, stderr=subprocess.STDOUT,
            env={**os.environ, "TMPDIR": str(temp), "TMP": str(temp), "TEMP": str(temp)},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            yield LiveServer(port, log, temp)
        finally:
            server.terminate()
            server.wait(10)


def test_live_server_answers_and_prints_its_address(live: LiveServer) -> None:
    status, body = live.post("/api/badge?crop=circle", jpeg())
    assert status == 200 and Image.open(io.BytesIO(body)).size == (1080, 1080)
    assert f"Serving the Blue Heart at http://127.0.0.1:{live.port}/" in live.log.read_text()
    # The organiser learns whether "Place automatically" sees faces.
    assert f"\nfaces: {detector_version()}\n" in live.log.read_text()


def test_live_server_refuses_a_2_gb_content_length_at_once(live: LiveServer) -> None:
    started = time.monotonic()
    answer = live.request(
        b"POST /api/badge HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000000000\r\n\r\n"
        + b"\xff\xd8" * 100
    )
    assert answer.startswith(b"HTTP/1.1 413 ") and time.monotonic() - started < 5
    assert b'{"error":"the upload is larger than the limit of 5 MB","code":"too-large"}' in answer
    assert live.post("/api/preview", jpeg())[0] == 200


def test_live_server_keeps_serving_while_clients_stall(live: LiveServer) -> None:
    # More stalled uploads than the work has places: they hold only the bytes they sent.
    with contextlib.ExitStack() as stack:
        for _ in range(ServiceSettings().capacity + 1):
            stalled = stack.enter_context(
                socket.create_connection(("127.0.0.1", live.port), timeout=10)
            )
            stalled.sendall(
                b"POST /api/badge HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
            )
            stalled.sendall(jpeg()[:1000])
        assert live.post("/api/badge", jpeg())[0] == 200
        assert live.post("/api/preview", jpeg())[0] == 200


def test_live_server_leaves_no_temp_file_and_logs_no_photo(live: LiveServer) -> None:
    located = jpeg(exif=located_exif().tobytes(), xmp=XMP, comment=b"Paris, Rue X")
    uploads = [located, jpeg(1200, 900), b"", located[:2000], png_bomb(), *(
        path.read_bytes() for path in sorted(REGRESSIONS.iterdir())
    )]  # fmt: skip
    for data in uploads:
        for path in ("/api/badge?crop=circle", "/api/preview", "/api/badge?format=webp"):
            status, _ = live.post(path, data)
            assert status in (200, 415, 422)
    assert list(live.temp.iterdir()) == []
    log = live.log.read_bytes()
    assert not any(marker in log for marker in LOCATION_MARKERS)
    assert located[200:232] not in log and b"\xff\xd8\xff" not in log
    assert b"Traceback" not in log


STUCK_SERVER = """
import pathlib, sys, threading
import blueheart
from blueheart.__main__ import main
started = pathlib.Path(sys.argv.pop(1))

def stuck(data, options):
    started.touch()
    threading.Event().wait()  # a decode that never ends

blueheart.badge_bytes = stuck
main()
"""


@pytest.mark.parametrize("stop", ["SIGTERM"])
def test_a_stopped_server_exits_0_while_a_decode_still_runs(tmp_path: Path, stop: str) -> None:
    # The pool's threads were joined at exit: the server stayed up until SIGKILL.
    started, port, log = tmp_path / "started", free_port(), tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", STUCK_SERVER, str(started), "serve", "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            with contextlib.closing(socket.socket()) as photo_client:
                while True:
                    try:
                        photo_client.connect(("127.0.0.1", port))
                        break
                    except OSError:
                        assert server.poll() is None and time.monotonic() < deadline
                        time.sleep(0.1)
                body = jpeg()
                photo_client.sendall(
                    b"POST /api/badge HTTP/1.1\r\nHost: x\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                while not started.exists():
                    assert server.poll() is None and time.monotonic() < deadline
                    time.sleep(0.1)
                server.send_signal(getattr(signal, stop))
                # Within the work timeout (30 s), when the photo gets its 503, not never.
                assert server.wait(90) == 0, log.read_text()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


# -- faces: the service's auto is the library's ----------------------------------------------


def test_place_automatically_keeps_the_heart_off_a_face(monkeypatch: pytest.MonkeyPatch) -> None:
    from blueheart.core import pipeline
    from blueheart.core.faces import Face

    def box_of(answer: Any) -> tuple[float, ...]:
        return tuple(map(float, answer.headers["blueheart-box"].split(",")))

    data, query = jpeg(600, 600), "/api/preview?position=auto&circle_safe=false"
    quiet = box_of(client().post(query, content=data))
    # A face where the heart went, in px of the photo (the box is in fractions of it).
    face = Face(tuple(v * 600 for v in quiet), 0.9)  # type: ignore[arg-type]
    monkeypatch.setattr(pipeline, "detect_faces", lambda image: (face,))
    moved = box_of(client().post(query, content=data))
    left, top, right, bottom = (v * 600 for v in moved)
    grown = face.grown()
    assert right <= grown[0] or grown[2] <= left or bottom <= grown[1] or grown[3] <= top
