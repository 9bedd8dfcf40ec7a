"""The campaign page's files and what the API tells it: languages, texts, emblems.

No browser here (tests/web/ has those): the catalogues, the preset's [page] table, the
language chosen from Accept-Language, the emblem's picture and outline, the page's weight.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from PIL import Image

from blueheart import Style, emblem_svg
from blueheart.core.emblem import AUTO_RING
from blueheart.core.heart import silhouette
from blueheart.web import Campaign, PresetError, ServiceSettings, create_app, load_campaign
from blueheart.web.emblems import convex_hull
from blueheart.web.languages import LANGUAGES, NAMES, negotiate

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

STATIC = Path(__file__).resolve().parent.parent / "blueheart" / "web" / "static"
PAGE_WEIGHT_LIMIT = 100_000


def client(campaign: Campaign | None = None) -> TestClient:
    return TestClient(create_app(campaign or Campaign(), ServiceSettings()))


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("*", "en"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-DE, de;q=0.9, es;q=0.5, ru;q=0.7", "ru"),
        ("zh-Hant-TW", "zh"),
        ("AR-eg", "ar"),
        ("en;q=0.5, fr;q=0.5", "en"),
        ("fr;q=0, es", "es"),
        ("ru;q=bogus, es;q=0.1", "es"),
        ("ru;q=2, es;q=0.1", "es"),
        ("pt-BR, de", "en"),
    ],
)
def test_the_language_is_the_most_preferred_of_the_six(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_campaign_answers_the_language_from_accept_language() -> None:
    answer = client().get("/api/campaign", headers={"Accept-Language": "de, ar;q=0.8, fr;q=0.5"})
    info = answer.json()
    assert info["language"] == "ar"
    assert [entry["code"] for entry in info["languages"]] == list(LANGUAGES)
    assert [entry["name"] for entry in info["languages"]] == [NAMES[code] for code in LANGUAGES]
    assert [entry["code"] for entry in info["languages"] if entry["rtl"]] == ["ar"]


def test_page_translations_come_from_the_preset(tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text(
        '[page]\ntitle = "Wear the Blue Heart"\nhashtag = "#BlueHeart"\n'
        '[page.fr]\ntitle = "Portez le Cœur bleu"\nlink = "https://example.org/fr"\n'
        '[page.ar]\nmessage = "معًا ضد الاتجار بالبشر"\n',
        encoding="utf-8",
    )
    info = client(load_campaign(preset)).get("/api/campaign").json()
    assert info["page"] == {"title": "Wear the Blue Heart", "hashtag": "#BlueHeart"}
    assert info["translations"] == {
        "fr": {"title": "Portez le Cœur bleu", "link": "https://example.org/fr"},
        "ar": {"message": "معًا ضد الاتجار بالبشر"},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[page.fr]\ncolour = 'x'", "unknown key 'page.fr.colour'"),
        ("[page.fr]\ntitle = 3", "page.fr.title: expected text, got 3"),
        ("[page]\nfr = 3", "[page.fr] must be a table, got 3"),
        ("[page.fr]\nlink = 'ftp://x'", "page.fr.link: expected an http(s):// address, got 'ftp://x'"),
        ("[page.de]\ntitle = 'x'", "unknown key 'page.de'"),
    ],
)  # fmt: skip
def test_bad_translations_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text(text + "\n")
    with pytest.raises(PresetError) as raised:
        load_campaign(preset)
    assert str(raised.value) == f"{preset}: {message}"


def test_the_emblems_are_the_libraries_svg_with_the_campaigns_colour(tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text('color = "#112233"\n')
    app = client(load_campaign(preset))
    for style in Style:
        answer = app.get(f"/api/emblem?style={style.value}")
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert answer.text == emblem_svg(style=style, color="#112233")
    assert app.get("/api/emblem?style=star").json() == {
        "error": "style: expected one of heart, pin, got 'star'",
        "code": "bad-option",
    }
    # Like the other endpoints: an unknown or repeated option is a bad request.
    for query, error in [
        ("bogus=1", "bogus: no such option"),
        ("stlye=pin", "stlye: no such option (did you mean 'style'?)"),
        ("style=heart&style=pin", "style: given twice"),
    ]:
        answer = app.get(f"/api/emblem?{query}")
        assert (answer.status_code, answer.json()) == (400, {"error": error, "code": "bad-option"})


def test_a_custom_emblem_is_served_as_png_with_its_aspect(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (900, 300), (200, 0, 0, 255)).save(logo)
    preset = tmp_path / "campaign.toml"
    preset.write_text(f'emblem = "{logo}"\n')
    app = client(load_campaign(preset))
    emblems = app.get("/api/campaign").json()["emblems"]
    assert list(emblems) == ["custom"] and emblems["custom"]["aspect"] == 3.0
    answer = app.get(emblems["custom"]["url"])
    assert answer.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(answer.content)).size == (512, 171)


def test_the_pages_outline_holds_the_widest_heart_the_server_draws() -> None:
    outline = client().get("/api/campaign").json()["emblems"]["heart"]["outline"]
    points = silhouette(Style.HEART, AUTO_RING)
    assert len(outline) < len(points) / 5
    # The farthest point from anywhere is a corner of the hull: the circle test is unchanged.
    for probe in [(-2.0, 0.3), (0.5, 3.0), (1.7, -1.1), (0.5, 0.5), (4.0, 4.0)]:
        farthest = max(math.dist(probe, point) for point in points)
        assert max(math.dist(probe, point) for point in outline) == pytest.approx(farthest, 1e-4)


@pytest.mark.parametrize(
    ("points", "hull"),
    [
        ([], ()),
        ([(0.0, 0.0)], ((0.0, 0.0),)),
        ([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5), (0.5, 0)], ((0, 0), (1, 0), (1, 1), (0, 1))),
        ([(0, 0), (1, 1), (2, 2)], ((0, 0), (2, 2))),
    ],
)
def test_convex_hull(points: list[tuple[float, float]], hull: tuple[tuple[float, float]]) -> None:
    assert convex_hull(points) == hull


def catalogue(code: str) -> dict[str, str]:
    return dict(json.loads((STATIC / "i18n" / f"{code}.json").read_text(encoding="utf-8")))


def test_every_catalogue_has_every_key_and_the_same_placeholders() -> None:
    english = catalogue("en")
    assert english and all(isinstance(text, str) and text.strip() for text in english.values())
    for code in LANGUAGES:
        texts = catalogue(code)
        assert sorted(texts) == sorted(english), code
        for key, text in texts.items():
            placeholders = sorted(re.findall(r"\{\w+\}", text))
            assert placeholders == sorted(re.findall(r"\{\w+\}", english[key])), (code, key)
            assert text.strip(), (code, key)


def test_every_key_the_page_uses_is_in_the_english_catalogue() -> None:
    english = catalogue("en")
    used = set(re.findall(r'data-i18n(?:-[a-z]+)?="([\w-]+)"', (STATIC / "index.html").read_text()))
    for script in STATIC.glob("*.js"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w-]+)["']""", script.read_text()))
        used |= set(re.findall(r'"(error-[\w-]+)"', script.read_text()))  # ERROR_KEYS
    assert used and used <= english.keys(), sorted(used - english.keys())


class _PageText(HTMLParser):
    """The text a page shows before its script runs: text nodes and alt, aria-label, title."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.texts += [
            value for name, value in attrs if name in {"alt", "aria-label", "title"} and value
        ]

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(" ".join(data.split()))


def test_the_pages_english_is_in_en_json_only() -> None:
    # One source: index.html names the keys, and its language list is /api/campaign's.
    page = _PageText()
    page.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    english = set(catalogue("en").values())
    assert [text for text in page.texts if text in english] == []
    assert "option" not in page.tags


def test_the_logo_is_the_libraries_svg() -> None:
    assert (STATIC / "heart.svg").read_text() == emblem_svg(size=64)


def test_the_page_weighs_less_than_100_kb() -> None:
    files = [path for path in STATIC.rglob("*") if path.suffix in {".html", ".css", ".js", ".svg"}]
    assert {path.suffix for path in files} == {".html", ".css", ".js", ".svg"}
    assert sum(path.stat().st_size for path in files) < PAGE_WEIGHT_LIMIT


def test_the_static_files_are_package_data() -> None:
    pyproject = (STATIC.parents[2] / "pyproject.toml").read_text()
    assert re.search(r'"blueheart\.web" = \[[^\]]*"static/\*\*/\*"', pyproject)


def test_the_page_answers_in_the_six_languages() -> None:
    app = client()
    for code in LANGUAGES:
        answer = app.get(f"/i18n/{code}.json")
        assert answer.status_code == 200 and answer.json()["title"]
    assert app.get("/").headers["content-type"].startswith("text/html")
