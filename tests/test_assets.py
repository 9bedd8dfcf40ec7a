"""The committed artwork is exactly what the code generates.

Regenerate with ``BLUEHEART_REGENERATE=1 python -m pytest tests/test_assets.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blueheart import apply_badge, emblem_svg, render_emblem

ASSETS = Path(__file__).resolve().parent.parent / "assets"
REGENERATE = os.environ.get("BLUEHEART_REGENERATE") == "1"


def _before_after() -> Image.Image:
    before = Image.open(ASSETS / "grace-hopper.jpg")
    before.load()
    after = apply_badge(before)
    avatar = apply_badge(before, crop="circle", output_size=before.width)
    gap = 16
    canvas = Image.new("RGB", (before.width * 3 + gap * 2, before.height), "white")
    canvas.paste(before, (0, 0))
    canvas.paste(after, (before.width + gap, 0))
    canvas.paste(avatar, (2 * (before.width + gap), (before.height - avatar.height) // 2), avatar)
    return canvas


def _circle_safe_demo() -> Image.Image:
    """The naive corner placement and circle-safe placement, each under a platform's mask."""
    from blueheart.core.crop import apply_circle_mask

    portrait = Image.open(ASSETS / "grace-hopper.jpg")
    portrait.load()
    tiles = [
        apply_circle_mask(apply_badge(portrait, crop="square", output_size=300, circle_safe=safe))
        for safe in (False, True)
    ]
    canvas = Image.new("RGBA", (2 * 300 + 24, 300), (255, 255, 255, 255))
    for index, tile in enumerate(tiles):
        canvas.alpha_composite(tile, (index * 324, 0))
    return canvas.convert("RGB")


def _auto_demo() -> Image.Image:
    """The default corner next to ``--position auto`` on a portrait whose subject fills the
    bottom right (the cameraman photo, mirrored)."""
    portrait = Image.open(Path(__file__).resolve().parent / "data" / "cameraman.jpg")
    scene = (
        portrait.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).crop((0, 0, 512, 420))
    )
    tiles = [apply_badge(scene, size=0.3, position=p) for p in ("bottom-right", "auto")]
    canvas = Image.new("RGB", (2 * 512 + 16, 420), "white")
    for index, tile in enumerate(tiles):
        canvas.paste(tile, (index * 528, 0))
    return canvas.resize((canvas.width // 2, canvas.height // 2), Image.Resampling.LANCZOS)


if REGENERATE:
    _circle_safe_demo().save(ASSETS / "circle-safe.png")
    _auto_demo().save(ASSETS / "auto-position.jpg", quality=88)
    (ASSETS / "heart.svg").write_text(emblem_svg(size=512), encoding="utf-8")
    render_emblem(512).save(ASSETS / "heart-512.png")
    render_emblem(512, style="pin").save(ASSETS / "pin-512.png")
    _before_after().save(ASSETS / "before-after.jpg", quality=88)


def test_heart_svg_is_what_the_code_generates() -> None:
    assert (ASSETS / "heart.svg").read_text(encoding="utf-8") == emblem_svg(size=512)


@pytest.mark.parametrize(("name", "style"), [("heart-512.png", "heart"), ("pin-512.png", "pin")])
def test_png_renders_are_what_the_code_generates(name: str, style: str) -> None:
    committed = np.asarray(Image.open(ASSETS / name))
    assert (committed == np.asarray(render_emblem(512, style=style))).all()


def test_sample_photo_and_its_attribution_are_shipped() -> None:
    assert Image.open(ASSETS / "grace-hopper.jpg").size == (512, 600)
    attribution = (ASSETS / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "grace-hopper.jpg" in attribution and "public domain" in attribution.lower()
