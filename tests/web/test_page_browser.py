"""The campaign page in Chromium, with the default campaign: what a volunteer does, on a
computer, on a phone, with the keyboard alone, in Arabic; its errors; its accessibility."""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browsing import (
    ENGLISH,
    SIDEWAYS_PHOTO,
    assert_heart_at,
    catalogue,
    download,
    emblem_centre_point,
    emblem_on_screen,
    keep_screenshot,
    open_page,
    overflowing_text,
    preview_natural_size,
    same_origin_only,
    screen_point,
    upload,
    wait_until,
)
from helpers import photo, save
from PIL import Image, ImageOps
from playwright.sync_api import Browser, FileChooser, Page, Playwright, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from serving import Served
from test_hostile import png_bomb

AXE = Path(__file__).resolve().parent / "axe.min.js"  # axe-core 4.14.1, MPL-2.0 (axe.LICENSE)
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def desktop(page: Page, served: Served) -> Iterator[Page]:
    """A desktop browser tab on the served page; every request it makes stays on the server."""
    page.set_viewport_size(DESKTOP)
    with same_origin_only(page, served.origin):
        open_page(page, served)
        yield page


@pytest.fixture
def phone(browser: Browser, playwright: Playwright, served: Served) -> Iterator[Page]:
    """A Pixel 7 (412 px wide, touch), on the served page."""
    context = browser.new_context(**playwright.devices["Pixel 7"])
    page = context.new_page()
    with same_origin_only(page, served.origin):
        open_page(page, served)
        yield page
    context.close()


def drag(page: Page, to: tuple[float, float]) -> None:
    """Drag the emblem with the mouse, by its centre, to ``to`` (fractions of the preview)."""
    page.mouse.move(*emblem_centre_point(page))
    page.mouse.down()
    page.mouse.move(*screen_point(page, to), steps=8)
    page.mouse.up()


def touch_drag(page: Page, to: tuple[float, float]) -> None:
    """Drag the emblem with a finger, through Chromium's own touch events."""
    cdp = page.context.new_cdp_session(page)
    start, end = emblem_centre_point(page), screen_point(page, to)

    def touch(kind: str, point: tuple[float, float] | None) -> None:
        points = [] if point is None else [{"x": point[0], "y": point[1]}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", start)
    for step in range(1, 9):
        share = step / 8
        touch(
            "touchMove",
            (start[0] + (end[0] - start[0]) * share, start[1] + (end[1] - start[1]) * share),
        )
    touch("touchEnd", None)
    cdp.detach()


def test_a_sideways_phone_photo_is_upright_and_the_heart_lands_where_it_was_dropped(
    desktop: Page, artifacts: Path
) -> None:
    upload(desktop)
    # The photo is stored 960x638 and tagged "rotate 90 CW": the preview stands upright.
    upright = ImageOps.exif_transpose(Image.open(SIDEWAYS_PHOTO)).convert("RGB")
    width, height = preview_natural_size(desktop)
    assert (width, height) == (425, 640)
    shown = Image.open(io.BytesIO(desktop.get_by_test_id("preview").screenshot()))
    # The top half: the heart is in the bottom one.
    halves = [
        np.asarray(image.convert("L").resize((40, 60)), dtype=float)[:30]
        for image in (shown, upright)
    ]
    assert np.abs(halves[0] - halves[1]).mean() < 20

    drag(desktop, (0.45, 0.55))
    x, y, size = emblem_on_screen(desktop)
    assert math.isclose(x, 0.45, abs_tol=0.004) and math.isclose(y, 0.55, abs_tol=0.004)
    keep_screenshot(desktop, artifacts, "page-desktop.png", readme=True)

    picture, name = download(desktop)
    # Named after the photo, as the command line names it, and the page says so.
    assert name == "nikon-d40-sideways-blueheart.jpg" and picture.format == "JPEG"
    expect(desktop.get_by_test_id("done")).to_have_text(ENGLISH["saved"].format(name=name))
    expect(desktop.get_by_test_id("done")).to_be_in_viewport()
    assert picture.size == upright.size and "Orientation" not in str(picture.getexif())
    assert_heart_at(picture, (x, y), size)


def test_on_a_phone_a_finger_drags_the_heart_and_the_camera_is_offered(
    phone: Page, artifacts: Path
) -> None:
    camera = phone.get_by_test_id("camera")
    assert (
        camera.get_attribute("accept") == "image/*" and camera.get_attribute("capture") is not None
    )
    expect(phone.locator("label[for=camera]")).to_be_visible()

    upload(phone)
    phone.get_by_test_id("crop").locator("input[value=circle]").check()
    wait_until(phone, "ready")
    assert preview_natural_size(phone) == (640, 640)
    expect(phone.get_by_test_id("mask")).to_be_checked()

    touch_drag(phone, (0.4, 0.62))
    x, y, size = emblem_on_screen(phone)
    assert math.isclose(x, 0.4, abs_tol=0.005) and math.isclose(y, 0.62, abs_tol=0.005)
    phone.evaluate("window.scrollTo(0, 0)")  # the README's picture: the page as it opens
    keep_screenshot(phone, artifacts, "page-phone.png", readme=True)

    picture, name = download(phone)
    assert name == "nikon-d40-sideways-blueheart.png"
    assert picture.size == (1080, 1080) and picture.mode == "RGBA"
    assert picture.getpixel((0, 0))[3] == 0 and picture.getpixel((1079, 1079))[3] == 0
    assert_heart_at(picture, (x, y), size)


def focused(page: Page) -> str | None:
    return page.evaluate("document.activeElement.closest('[data-testid]')?.dataset.testid")


def tab_to(page: Page, testid: str, *, backwards: bool = False) -> None:
    for _ in range(40):
        if focused(page) == testid:
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    pytest.fail(f"Tab never reached {testid}")


def choose_with_space(page: Page) -> FileChooser:
    """The file chooser Space opens on the focused file input. A loaded machine has been
    seen to drop the first press (a keydown racing the page's start), so up to three."""
    for _ in range(2):
        with contextlib.suppress(PlaywrightTimeoutError):
            with page.expect_file_chooser(timeout=10_000) as choosing:
                page.keyboard.press("Space")
            return choosing.value
    with page.expect_file_chooser(timeout=10_000) as choosing:
        page.keyboard.press("Space")
    return choosing.value


def test_with_the_keyboard_alone(desktop: Page) -> None:
    tab_to(desktop, "photo")
    choose_with_space(desktop).set_files(SIDEWAYS_PHOTO)
    wait_until(desktop, "ready")

    tab_to(desktop, "crop")
    tab_to(desktop, "emblem", backwards=True)
    outline = desktop.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus ring shows
    before = emblem_on_screen(desktop)
    for key in ["ArrowLeft"] * 20 + ["ArrowUp"] * 10 + ["+"] * 5:
        desktop.keyboard.press(key)
    x, y, size = emblem_on_screen(desktop)
    # Steps are 1 % of the shorter side (the width here) and the emblem's side grows 1 % each.
    assert math.isclose(x, before[0] - 0.20, abs_tol=0.01) and y < before[1]
    assert math.isclose(size, before[2] + 0.05, abs_tol=0.004)
    assert desktop.get_by_test_id("size").input_value() == "30"

    tab_to(desktop, "download")
    picture, _ = download(desktop, press=lambda: desktop.keyboard.press("Enter"))
    assert_heart_at(picture, (x, y), size)


@pytest.mark.parametrize(
    "viewport", [DESKTOP, {"width": 360, "height": 780}], ids=["desktop", "phone"]
)
def test_arabic_reads_right_to_left_and_nothing_overflows(
    browser: Browser, served: Served, artifacts: Path, viewport: dict[str, int]
) -> None:
    context = browser.new_context(locale="ar-EG", viewport=viewport)
    page = context.new_page()
    with same_origin_only(page, served.origin):
        open_page(page, served)
        assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == [
            "rtl",
            "ar",
        ]
        expect(page.get_by_test_id("language")).to_have_value("ar")
        expect(page.get_by_test_id("download")).to_have_text(catalogue("ar")["download"])
        # The Arabic campaign text reads from the right: its message first, then "#BlueHeart".
        expect(page.locator("#campaign-text")).to_have_css("direction", "rtl")
        upload(page)
        logo, title = (page.locator(selector).bounding_box() for selector in (".brand img", "h1"))
        assert logo and title and logo["x"] > title["x"]  # mirrored: the heart before the title
        assert overflowing_text(page) == []
        keep_screenshot(page, artifacts, f"page-arabic-{viewport['width']}.png")
    context.close()


def test_every_request_goes_to_the_pages_own_server(page: Page, served: Served) -> None:
    with same_origin_only(page, served.origin) as requested:
        open_page(page, served)
        upload(page)
        download(page)
    paths = {url.removeprefix(served.origin).split("?")[0] for url in requested}
    assert {
        "/",
        "/app.js",
        "/page.css",
        "/api/campaign",
        "/i18n/en.json",
        "/api/preview",
        "/api/badge",
    } <= paths


def server_error(page: Page, served: Served, body: bytes) -> str:
    return str(page.request.post(served.url + "api/preview", data=body).json()["error"])


NOTES = ("notes.txt", b"Dear volunteers,\nthe booth opens at nine.\n", "error-not-photo")
BOMB = ("bomb.png", png_bomb(), "error-too-many-pixels")


@pytest.mark.parametrize(
    ("language", "bad"),
    [("en", NOTES), ("ar", NOTES), ("zh", NOTES), ("ru", NOTES), ("en", BOMB), ("ar", BOMB)],
    ids=["en-text", "ar-text", "zh-text", "ru-text", "en-bomb", "ar-bomb"],
)
def test_a_bad_file_says_so_in_one_line_of_the_pages_language_and_the_next_photo_works(
    desktop: Page, served: Served, tmp_path: Path, language: str, bad: tuple[str, bytes, str]
) -> None:
    name, body, message = bad
    desktop.get_by_test_id("language").select_option(language)
    expect(desktop.locator("html")).to_have_attribute("lang", language)
    path = tmp_path / name
    path.write_bytes(body)
    with desktop.expect_console_message(lambda line: "blueheart:" in line.text) as logged:
        desktop.get_by_test_id("photo").set_input_files(path)
    wait_until(desktop, "error")
    # The whole box is the page's language (the limit: the service's 100 megapixels); the
    # server's English line is for whoever reads the console.
    expected = catalogue(language)[message].format(limit=100)
    expect(desktop.get_by_test_id("error")).to_have_text(expected)
    assert server_error(desktop, served, body) in logged.value.text
    expect(desktop.get_by_test_id("download")).to_be_disabled()

    upload(desktop)
    expect(desktop.get_by_test_id("error")).to_be_hidden()
    expect(desktop.get_by_test_id("download")).to_be_enabled()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return [violation for violation in found if violation["impact"] in ("serious", "critical")]


def test_axe_finds_nothing_serious_in_any_state(desktop: Page, phone: Page, tmp_path: Path) -> None:
    found = {"empty": axe_violations(desktop)}
    text = tmp_path / "notes.txt"
    text.write_text("not a photo\n")
    desktop.get_by_test_id("photo").set_input_files(text)
    wait_until(desktop, "error")
    found["error"] = axe_violations(desktop)
    upload(desktop)
    found["preview"] = axe_violations(desktop)
    desktop.get_by_test_id("language").select_option("ar")
    expect(desktop.locator("html")).to_have_attribute("dir", "rtl")
    found["preview, Arabic"] = axe_violations(desktop)
    upload(phone)
    found["preview, phone"] = axe_violations(phone)
    assert found == {state: [] for state in found}


# -- what a first visit found (issue 23) --------------------------------------------------------

LAPTOP = {"width": 1280, "height": 800}
PHONE_390 = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


@pytest.fixture
def touch_phone(browser: Browser, served: Served) -> Iterator[Page]:
    """A 390x844 phone whose only pointer is a finger, on the served page."""
    context = browser.new_context(**PHONE_390, device_scale_factor=3)
    page = context.new_page()
    with same_origin_only(page, served.origin):
        open_page(page, served)
        yield page
    context.close()


@pytest.fixture
def landscape_photo(tmp_path: Path) -> Path:
    return save(photo(1500, 1000, seed=3), tmp_path / "Beach 2026.jpg", quality=90)


def choose_shape(page: Page, crop: str) -> None:
    page.get_by_test_id("crop").locator(f"input[value={crop}]").check()
    wait_until(page, "ready")


def test_share_is_hidden_where_files_cannot_be_shared(desktop: Page) -> None:
    upload(desktop)
    assert desktop.evaluate("typeof navigator.canShare") == "undefined"  # headless Chromium
    expect(desktop.get_by_test_id("share")).to_be_hidden()


def test_a_share_that_fails_says_so(desktop: Page, served: Served) -> None:
    # A browser that claims it can share files, then cannot.
    desktop.add_init_script(
        "navigator.canShare = () => true;"
        "navigator.share = () => Promise.reject(new DOMException('no target', 'DataError'));"
    )
    open_page(desktop, served)
    upload(desktop)
    desktop.get_by_test_id("share").click()
    wait_until(desktop, "error")
    expect(desktop.get_by_test_id("error")).to_have_text(ENGLISH["error-share"])


def test_a_new_shape_keeps_where_the_heart_was_put_and_the_avatar_choice(desktop: Page) -> None:
    upload(desktop)
    choose_shape(desktop, "circle")
    drag(desktop, (0.30, 0.30))
    put = emblem_on_screen(desktop)
    assert math.isclose(put[0], 0.30, abs_tol=0.004) and math.isclose(put[1], 0.30, abs_tol=0.004)
    desktop.get_by_test_id("mask").uncheck()

    choose_shape(desktop, "square")
    assert emblem_on_screen(desktop) == pytest.approx(put, abs=0.004)
    expect(desktop.get_by_test_id("mask")).not_to_be_checked()
    choose_shape(desktop, "none")
    choose_shape(desktop, "circle")
    assert emblem_on_screen(desktop) == pytest.approx(put, abs=0.004)
    expect(desktop.get_by_test_id("mask")).not_to_be_checked()
    expect(desktop.locator("#mask")).to_be_hidden()
    picture, _ = download(desktop)
    assert_heart_at(picture, put[:2], put[2])


def test_an_error_below_a_tall_photo_is_brought_into_view_and_focused(
    page: Page, served: Served, tmp_path: Path
) -> None:
    page.set_viewport_size(LAPTOP)
    open_page(page, served)
    upload(page)  # portrait: the preview is most of the window's height
    text = tmp_path / "notes.txt"
    text.write_text("not a photo\n")
    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_test_id("photo").set_input_files(text)
    wait_until(page, "error")
    expect(page.get_by_test_id("error")).to_be_in_viewport(ratio=1)
    expect(page.get_by_test_id("error")).to_be_focused()


def test_the_keyboard_hint_is_for_keyboards_only(desktop: Page, touch_phone: Page) -> None:
    upload(desktop)
    upload(touch_phone)
    expect(desktop.locator("#emblem-help")).to_have_text(
        ENGLISH["emblem-help"], use_inner_text=True
    )
    expect(touch_phone.locator("#emblem-help")).to_have_text(
        ENGLISH["emblem-help-touch"], use_inner_text=True
    )


def test_on_a_phone_a_landscape_photo_fills_its_box_and_a_shape_stays_in_view(
    touch_phone: Page, landscape_photo: Path, artifacts: Path
) -> None:
    upload(touch_phone, landscape_photo)
    drop, frame = (touch_phone.locator(s).bounding_box() for s in ("#drop", "#frame"))
    assert drop and frame and frame["width"] > frame["height"] * 1.4
    # Only the box's padding and border around the photo: no empty bands.
    assert drop["height"] - frame["height"] <= 32, (drop, frame)
    keep_screenshot(touch_phone, artifacts, "page-phone-landscape.png")

    touch_phone.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    touch_phone.get_by_test_id("crop").locator("input[value=square]").tap()
    wait_until(touch_phone, "ready")
    expect(touch_phone.locator("#frame")).to_be_in_viewport(ratio=1)
    keep_screenshot(touch_phone, artifacts, "page-phone-square.png")


def test_the_language_switcher_offers_the_languages_the_server_names(
    desktop: Page, served: Served
) -> None:
    languages = desktop.request.get(served.url + "api/campaign").json()["languages"]
    offered = desktop.get_by_test_id("language").evaluate(
        "select => [...select.options].map((o) => ({code: o.value, name: o.text, lang: o.lang}))"
    )
    assert offered == [
        {"code": entry["code"], "name": entry["name"], "lang": entry["code"]} for entry in languages
    ]


def test_keyboard_moves_are_announced_once_the_keys_rest(desktop: Page) -> None:
    upload(desktop)
    desktop.get_by_test_id("emblem").focus()
    desktop.evaluate(
        """() => {
          window.announced = [];
          const status = document.getElementById('status');
          new MutationObserver(() => announced.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
          // A held arrow key: twenty repeats at once, then the key rests.
          const emblem = document.getElementById('emblem');
          for (let i = 0; i < 20; i += 1) {
            emblem.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowLeft', bubbles: true}));
          }
        }"""
    )
    pattern = re.escape(ENGLISH["emblem-moved"])
    for name in ("x", "y", "size"):
        pattern = pattern.replace(re.escape(f"{{{name}}}"), r"(\d+)")
    status = desktop.locator("#status")
    expect(status).to_have_text(re.compile(pattern))
    said = re.fullmatch(pattern, status.inner_text())
    assert said
    x, y, size = emblem_on_screen(desktop)
    heard = [int(value) for value in said.groups()]
    # The size is of the shorter side (the width here).
    assert heard == pytest.approx([x * 100, y * 100, size * 100], abs=1)
    assert desktop.evaluate("announced") == [status.inner_text()]  # once, not twenty times
