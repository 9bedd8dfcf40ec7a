"""The campaign page with an organiser's preset: its texts in two languages, its locks, its
campaign text on the clipboard, "place automatically" as the command line's auto rule."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from browsing import (
    assert_heart_at,
    catalogue,
    download,
    emblem_centre_point,
    emblem_on_screen,
    open_page,
    same_origin_only,
    screen_point,
    upload,
    wait_until,
)
from playwright.sync_api import Browser, Page, expect
from serving import Served

PRESET = """
crop = "circle"
position = "top-left"
size = 0.2

[page]
title = "Wear the Blue Heart at the booth"
message = "Together against human trafficking."
hashtag = "#BlueHeart"
link = "https://www.unodc.org/blueheart/"
lock = ["crop", "style"]

[page.fr]
title = "Portez le Cœur bleu au stand"
message = "Ensemble contre la traite des êtres humains."
"""
CAMPAIGN_TEXT = "Together against human trafficking. #BlueHeart https://www.unodc.org/blueheart/"


@pytest.fixture
def booth(browser: Browser, served: Served) -> Iterator[Page]:
    context = browser.new_context(
        locale="en-GB",
        viewport={"width": 1280, "height": 860},
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    with same_origin_only(page, served.origin):
        open_page(page, served)
        yield page
    context.close()


def test_the_presets_texts_and_locks_are_shown(booth: Page) -> None:
    expect(booth.locator("h1")).to_have_text("Wear the Blue Heart at the booth")
    assert booth.title() == "Wear the Blue Heart at the booth"
    expect(booth.locator("#message")).to_have_text("Together against human trafficking.")
    expect(booth.get_by_role("link", name="Learn more")).to_have_attribute(
        "href", "https://www.unodc.org/blueheart/"
    )
    for name, value in [("crop", "circle"), ("style", "heart")]:
        choice = booth.get_by_test_id(name)
        for radio in choice.locator("input").all():
            expect(radio).to_be_disabled()
        expect(choice.locator(f"input[value={value}]")).to_be_checked()
        expect(choice.get_by_text("Set by the campaign")).to_be_visible()
    expect(booth.get_by_test_id("size")).to_be_enabled()


def test_copy_puts_the_campaign_text_on_the_clipboard(booth: Page) -> None:
    booth.get_by_test_id("copy-text").click()
    expect(booth.get_by_test_id("copy-text")).to_have_text("Copied")
    assert booth.evaluate("navigator.clipboard.readText()") == CAMPAIGN_TEXT


def test_the_switcher_changes_the_language_and_the_campaigns_texts(booth: Page) -> None:
    booth.get_by_test_id("language").select_option("fr")
    expect(booth.locator("html")).to_have_attribute("lang", "fr")
    expect(booth.locator("h1")).to_have_text("Portez le Cœur bleu au stand")
    expect(booth.get_by_test_id("download")).to_have_text(catalogue("fr")["download"])
    assert booth.url.endswith("?lang=fr")
    booth.reload()
    expect(booth.locator("h1")).to_have_text("Portez le Cœur bleu au stand")
    # Spanish has no texts in the preset: the page's own strings, the preset's English ones.
    booth.get_by_test_id("language").select_option("es")
    expect(booth.get_by_test_id("download")).to_have_text(catalogue("es")["download"])
    expect(booth.locator("h1")).to_have_text("Wear the Blue Heart at the booth")


def test_the_presets_english_reads_left_to_right_on_the_arabic_page(booth: Page) -> None:
    # Arabic has no texts in the preset: its English sentences keep their own direction (the
    # full stop at their end, "#BlueHeart" after the message), in a right-to-left page.
    booth.get_by_test_id("language").select_option("ar")
    expect(booth.locator("html")).to_have_attribute("dir", "rtl")
    directions = booth.evaluate(
        "['title', 'message', 'campaign-text'].map("
        "(id) => getComputedStyle(document.getElementById(id)).direction)"
    )
    assert directions == ["ltr", "ltr", "ltr"]
    expect(booth.get_by_test_id("download")).to_have_text(catalogue("ar")["download"])


def test_locked_options_are_not_sent_and_auto_places_the_heart_as_the_cli_does(booth: Page) -> None:
    sent: list[str] = []
    booth.on("request", lambda request: sent.append(request.url))
    upload(booth)
    first = emblem_on_screen(booth)
    assert first[0] < 0.5 and first[1] < 0.5 and math.isclose(first[2], 0.2, abs_tol=0.003)

    booth.mouse.move(*emblem_centre_point(booth))
    booth.mouse.down()
    booth.mouse.move(*screen_point(booth, (0.6, 0.7)), steps=5)
    booth.mouse.up()
    moved = emblem_on_screen(booth)
    picture, name = download(booth)
    assert name == "nikon-d40-sideways-blueheart.png" and picture.size == (1080, 1080)
    assert_heart_at(picture, moved[:2], moved[2])

    # "Place automatically" is the command line's --position auto, as the server places it.
    with booth.expect_response(lambda answer: "/api/preview" in answer.url) as answered:
        booth.get_by_test_id("auto").click()
    wait_until(booth, "ready")
    assert "position=auto" in answered.value.url and "at=" not in answered.value.url
    left, top, right, bottom = map(float, answered.value.headers["blueheart-box"].split(","))
    placed = emblem_on_screen(booth)
    assert placed[:2] == pytest.approx(((left + right) / 2, (top + bottom) / 2), abs=0.002)
    assert placed != pytest.approx(first, abs=0.01)  # not the preset's corner again
    api = [url for url in sent if "/api/" in url and "campaign" not in url]
    assert api and not [url for url in api if "crop=" in url or "style=" in url]


def test_dragged_into_a_corner_the_heart_stays_in_the_circle_and_the_file_agrees(
    booth: Page,
) -> None:
    upload(booth)
    booth.mouse.move(*emblem_centre_point(booth))
    booth.mouse.down()
    booth.mouse.move(*screen_point(booth, (0.99, 0.99)), steps=5)
    booth.mouse.up()
    x, y, size = emblem_on_screen(booth)
    # Circle-safe: pushed back toward the centre along the diagonal, well inside the corner.
    assert 0.6 < x < 0.85 and math.isclose(x, y, abs_tol=0.01)
    picture, _ = download(booth)
    assert_heart_at(picture, (x, y), size)
