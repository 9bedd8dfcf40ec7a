"""What the browser tests do on the page, through its data-testid hooks, and what they read back."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

try:
    import uvicorn  # noqa: F401  (blueheart serve needs the web extra)
    from playwright.sync_api import Page, expect
except ImportError as missing:
    if os.environ.get("CI"):
        raise  # CI must run the browser tests
    pytest.skip(
        f"{missing.name} is not installed: pip install -e '.[test]' for the browser tests",
        allow_module_level=True,
    )

from serving import Served

TESTS = Path(__file__).resolve().parents[1]
SIDEWAYS_PHOTO = TESTS / "data" / "nikon-d40-sideways.jpg"  # EXIF orientation 6, 960x638 stored
ASSETS = TESTS.parent / "assets"
CATALOGUES = TESTS.parent / "blueheart" / "web" / "static" / "i18n"
UN_BLUE_RGB = np.array([0x00, 0x9E, 0xDB])
BLUE_DISTANCE = 40  # per channel: the heart's anti-aliased edge and JPEG noise stay inside
REGENERATE = os.environ.get("BLUEHEART_REGENERATE") == "1"


def catalogue(code: str) -> dict[str, str]:
    return dict(json.loads((CATALOGUES / f"{code}.json").read_text(encoding="utf-8")))


ENGLISH = catalogue("en")


@contextmanager
def same_origin_only(page: Page, origin: str) -> Iterator[list[str]]:
    """Record every request the page makes; fail unless each goes to ``origin``."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    yield requested
    # blob: and data: URLs are the page's own memory, not requests to anyone.
    elsewhere = [url for url in requested if not url.startswith((origin + "/", "blob:", "data:"))]
    assert not elsewhere, elsewhere


def open_page(page: Page, served: Served) -> None:
    page.goto(served.url)
    expect(page.locator("body")).to_have_attribute("data-state", "empty")


def wait_until(page: Page, state: str) -> None:
    expect(page.locator("body")).to_have_attribute("data-state", state, timeout=30_000)


def upload(page: Page, photo: Path = SIDEWAYS_PHOTO) -> None:
    page.get_by_test_id("photo").set_input_files(photo)
    wait_until(page, "ready")


def preview_natural_size(page: Page) -> tuple[int, int]:
    size = page.get_by_test_id("preview").evaluate(
        "image => [image.naturalWidth, image.naturalHeight]"
    )
    return int(size[0]), int(size[1])


def emblem_on_screen(page: Page) -> tuple[float, float, float]:
    """The emblem's centre (x, y) and width, as fractions of the preview's width and height."""
    emblem = page.get_by_test_id("emblem").bounding_box()
    preview = page.get_by_test_id("preview").bounding_box()
    assert emblem and preview
    return (
        (emblem["x"] + emblem["width"] / 2 - preview["x"]) / preview["width"],
        (emblem["y"] + emblem["height"] / 2 - preview["y"]) / preview["height"],
        emblem["width"] / preview["width"],
    )


def screen_point(page: Page, at: tuple[float, float]) -> tuple[float, float]:
    """The viewport point at ``at`` (fractions) of the preview."""
    preview = page.get_by_test_id("preview").bounding_box()
    assert preview
    return preview["x"] + at[0] * preview["width"], preview["y"] + at[1] * preview["height"]


def emblem_centre_point(page: Page) -> tuple[float, float]:
    page.get_by_test_id("preview").scroll_into_view_if_needed()
    x, y, _ = emblem_on_screen(page)
    return screen_point(page, (x, y))


def download(page: Page, press: Any = None) -> tuple[Image.Image, str]:
    """Download the picture (by ``press()``, or a click on the button); the file, reopened."""
    with page.expect_download(timeout=30_000) as waiting:
        if press is None:
            page.get_by_test_id("download").click()
        else:
            press()
    saved = waiting.value
    path = saved.path()
    image = Image.open(io.BytesIO(Path(path).read_bytes()))
    image.load()
    return image, saved.suggested_filename


def heart_in(
    image: Image.Image, near: tuple[float, float], width: float
) -> tuple[tuple[float, float], np.ndarray]:
    """The centre (fractions) of the UN-blue pixels within a box of ``width`` (fraction of the
    image's width) around ``near``, and their median colour."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    height_px, width_px = pixels.shape[:2]
    reach = width * width_px
    left, right = (
        int(max(near[0] * width_px - reach, 0)),
        int(min(near[0] * width_px + reach, width_px)),
    )
    top, bottom = (
        int(max(near[1] * height_px - reach, 0)),
        int(min(near[1] * height_px + reach, height_px)),
    )
    window = pixels[top:bottom, left:right]
    blue = np.abs(window - UN_BLUE_RGB).max(axis=2) < BLUE_DISTANCE
    rows, columns = np.nonzero(blue)
    assert rows.size > 100, "no heart there"
    centre = (
        (left + (columns.min() + columns.max() + 1) / 2) / width_px,
        (top + (rows.min() + rows.max() + 1) / 2) / height_px,
    )
    return centre, np.median(window[blue], axis=0)


def assert_heart_at(image: Image.Image, at: tuple[float, float], width: float) -> None:
    """The file's heart is centred at ``at`` within 1 % of the side, and UN blue."""
    centre, colour = heart_in(image, at, width)
    assert abs(centre[0] - at[0]) <= 0.01 and abs(centre[1] - at[1]) <= 0.01, (centre, at)
    assert np.abs(colour - UN_BLUE_RGB).max() <= 6, colour


def keep_screenshot(page: Page, artifacts: Path, name: str, *, readme: bool = False) -> Path:
    """A screenshot kept under ``artifacts`` (and, for the ``readme``, as a JPEG in assets/
    when BLUEHEART_REGENERATE=1)."""
    # The viewport only: a full-page shot of an emulated phone is taken as a desktop would.
    path = artifacts / name
    page.screenshot(path=path)
    if readme and REGENERATE:
        page.screenshot(
            path=(ASSETS / name).with_suffix(".jpg"), type="jpeg", quality=82, scale="css"
        )
    return path


def overflowing_text(page: Page) -> list[str]:
    """Elements whose text is wider than their box, and whether the page scrolls sideways."""
    return list(
        page.evaluate(
            """() => {
              const found = [];
              if (document.documentElement.scrollWidth > window.innerWidth) found.push('page');
              for (const element of document.body.querySelectorAll('*')) {
                const style = getComputedStyle(element);
                if (!element.textContent.trim() || element.getClientRects().length === 0) continue;
                if (style.position === 'absolute' && element.offsetWidth <= 1) continue;
                if (element.scrollWidth > element.clientWidth + 1 && element.clientWidth > 0) {
                  found.push(element.tagName + '#' + element.id + ' ' + element.textContent.trim().slice(0, 40));
                }
              }
              return found;
            }"""
        )
    )
