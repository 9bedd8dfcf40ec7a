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


if REGENERATE:
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
