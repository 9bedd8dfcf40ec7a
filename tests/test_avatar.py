"""Profile pictures: square and circle crops, circle-safe placement, auto position and focus,
automatic contrast, the contact sheet."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import UN_BLUE_RGB, photo
from PIL import Image

from blueheart import OptionError, apply_badge, badge_bytes, contact_sheet
from blueheart.core.options import Position

DATA = Path(__file__).resolve().parent / "data"

# Face boxes (left, top, right, bottom) drawn by hand on the test portraits, hair to chin.
FACES = {
    "grace-hopper.jpg": (155, 125, 365, 345),
    "astronaut.jpg": (160, 20, 275, 170),
    "cameraman.jpg": (155, 60, 260, 205),
}
GREY = (128, 128, 128)
ANCHORS = [p.value for p in Position if p not in (Position.AUTO, Position.CENTER)]


def changed_pixels(before: Image.Image, after: Image.Image) -> np.ndarray:
    a = np.asarray(before.convert("RGB")).astype(int)
    b = np.asarray(after.convert("RGB")).astype(int)
    return np.abs(a - b).max(axis=2) > 0


def outside_circle(size: int, margin: float = 0.0) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] + 0.5
    return np.hypot(x - size / 2, y - size / 2) > size / 2 - margin


# -- crops and sizes ------------------------------------------------------------------------


def test_square_crop_keeps_the_centre_and_output_size_scales() -> None:
    out = apply_badge(photo(400, 200), crop="square", output_size=120)
    assert out.size == (120, 120)


def test_output_size_without_crop_is_the_longer_side() -> None:
    assert apply_badge(photo(400, 200), output_size=100).size == (100, 50)
    assert apply_badge(photo(40, 20), output_size=100).size == (100, 50)


@pytest.mark.parametrize(
    ("size", "crop", "expected"),
    [
        ((400, 200), "none", (100, 50)),
        ((80, 40), "none", (80, 40)),
        ((100, 60), "none", (100, 60)),
        ((400, 200), "square", (100, 100)),
        ((300, 60), "circle", (60, 60)),
    ],
)
def test_output_size_without_enlarge_only_shrinks(
    size: tuple[int, int], crop: str, expected: tuple[int, int]
) -> None:
    assert apply_badge(photo(*size), crop=crop, output_size=100, enlarge=False).size == expected


def test_focus_auto_keeps_the_subject_in_frame() -> None:
    rng = np.random.default_rng(1)
    scene = np.full((200, 600, 3), 90, dtype=np.uint8)
    scene[40:160, 460:580] = rng.integers(0, 255, (120, 120, 3))  # the subject, far right
    picture = Image.fromarray(scene)
    centred = apply_badge(picture, crop="square", opacity=0.0)
    focused = apply_badge(picture, crop="square", focus="auto", opacity=0.0)
    assert np.asarray(centred).std() < 1  # the centre square misses the subject
    assert np.asarray(focused)[40:160].std() > 40


def test_focus_auto_on_a_one_pixel_image() -> None:
    pixel = Image.new("RGB", (1, 1), GREY)
    out = apply_badge(pixel, crop="square", focus="auto", margin=0, circle_safe=False)
    assert out.size == (1, 1)
    # A circle one pixel wide cannot hold a heart: a clear error, not a clipped heart.
    with pytest.raises(OptionError, match=r"^size: .* inside the circle of a 1x1 image"):
        apply_badge(pixel, crop="square", focus="auto", margin=0)


def test_circle_crop_has_transparent_corners_and_an_opaque_middle() -> None:
    out = apply_badge(photo(300, 200), crop="circle")
    alpha = np.asarray(out)[..., 3]
    assert out.mode == "RGBA" and out.size == (200, 200)
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    assert alpha[100, 100] == 255
    assert 0 < alpha[100, 0] < 255 or alpha[100, 0] == 255  # anti-aliased rim


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_the_corners_a_circle_hides_keep_nothing_of_the_photo(fmt: str) -> None:
    # A tool that drops the alpha channel must not show what the crop removed.
    source = photo(300, 200)
    data = io.BytesIO()
    source.save(data, "JPEG", quality=95)
    out = Image.open(io.BytesIO(badge_bytes(data.getvalue(), crop="circle", format=fmt)))
    pixels = np.asarray(out.convert("RGBA")).astype(int)
    hidden = pixels[..., 3] == 0
    assert hidden.sum() > 0.2 * hidden.size  # the corners
    if fmt == "png":
        assert not pixels[hidden][:, :3].any()
    else:  # lossy WebP fills them from the visible rim, not from the photo
        cropped = np.asarray(source)[:, 50:250].astype(int)
        assert np.abs(pixels[hidden][:, :3] - cropped[hidden]).mean() > 50


def test_circle_crop_from_a_jpeg_is_written_as_png(tmp_path: Path) -> None:
    source = tmp_path / "me.jpg"
    photo(300, 200).save(source)
    written = Image.open(io.BytesIO(badge_bytes(source.read_bytes(), crop="circle")))
    assert written.format == "PNG" and written.mode == "RGBA"


def test_png_outputs_use_the_fastest_deflate_level() -> None:
    # zlib's default level spent 0.46 s of a 0.51 s 1080 px circle avatar: the zlib header of
    # the first IDAT chunk says which level wrote it (FLEVEL 0, "fastest": 0x78 0x01).
    source = io.BytesIO()
    photo(640, 480).save(source, "JPEG")
    data = badge_bytes(source.getvalue(), crop="circle", output_size=300)
    idat = data.index(b"IDAT")
    assert data[idat + 4 : idat + 6] == b"\x78\x01"


def test_smaller_jpeg_outputs_decode_at_a_reduced_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "big.jpg"
    photo(2400, 1600).save(source, quality=90)
    from PIL import JpegImagePlugin

    requests: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: Image.Image, mode: str | None, size: tuple[int, int] | None) -> object:
        requests.append(size or (0, 0))
        return original(self, mode, size)  # type: ignore[arg-type]

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = Image.open(io.BytesIO(badge_bytes(source.read_bytes(), crop="square", output_size=400)))
    assert out.size == (400, 400)
    assert requests and min(requests[0]) >= 400 and max(requests[0]) < 2400


# -- circle-safe ---------------------------------------------------------------------------------


@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("size", [0.15, 0.25, 0.4])
@pytest.mark.parametrize(("style", "ring"), [("heart", 0.06), ("heart", 0.25), ("pin", 0.0)])
def test_no_emblem_pixel_lies_outside_the_circle_of_a_square_output(
    anchor: str, size: float, style: str, ring: float
) -> None:
    plain = Image.new("RGB", (400, 400), GREY)
    out = apply_badge(plain, position=anchor, size=size, style=style, ring=ring)
    changed = changed_pixels(plain, out)
    assert changed.any()
    assert not (changed & outside_circle(400, margin=0.04 * 400)).any()


@pytest.mark.parametrize("anchor", ["top-left", "bottom-right"])
def test_circle_crops_keep_the_whole_heart(anchor: str) -> None:
    plain = Image.new("RGB", (500, 300), GREY)
    out = apply_badge(plain, crop="circle", position=anchor, ring=0.1)
    rgba = np.asarray(out)
    visible = rgba[..., 3] == 255
    blue = (np.abs(rgba[..., :3].astype(int) - UN_BLUE_RGB).max(axis=2) <= 2) & visible
    white = (rgba[..., :3] == 255).all(axis=2) & visible
    heart_and_ring = blue | white
    assert heart_and_ring.any()
    assert not (heart_and_ring & outside_circle(300, margin=1)).any()


def test_no_circle_safe_puts_the_heart_in_the_corner() -> None:
    plain = Image.new("RGB", (400, 400), GREY)
    out = apply_badge(plain, circle_safe=False)
    assert (changed_pixels(plain, out) & outside_circle(400)).any()


def test_non_square_photos_are_not_circle_safe_by_default() -> None:
    plain = Image.new("RGB", (600, 400), GREY)
    changed = changed_pixels(plain, apply_badge(plain))
    rows, cols = np.nonzero(changed)
    assert cols.max() >= 600 - 16 - 2 and rows.max() >= 400 - 16 - 2


# -- auto position -------------------------------------------------------------------------------


def intersects(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(changed_pixels(before, after))
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


@pytest.mark.parametrize("name", sorted(FACES))
@pytest.mark.parametrize("size", [0.2, 0.25, 0.3])
def test_auto_position_does_not_cover_the_face(name: str, size: float) -> None:
    portrait = Image.open(DATA / name).convert("RGB")
    out = apply_badge(portrait, position="auto", size=size)
    assert not intersects(changed_box(portrait, out), FACES[name])


def test_auto_position_is_deterministic() -> None:
    portrait = Image.open(DATA / "astronaut.jpg")
    assert (
        apply_badge(portrait, position="auto").tobytes()
        == apply_badge(portrait, position="auto").tobytes()
    )


def test_auto_position_avoids_the_busy_side() -> None:
    rng = np.random.default_rng(3)
    scene = np.full((300, 300, 3), 200, dtype=np.uint8)
    scene[150:, 150:] = rng.integers(0, 255, (150, 150, 3))  # busy bottom-right
    scene[:150, 150:] = rng.integers(0, 255, (150, 150, 3))  # busy top-right
    picture = Image.fromarray(scene)
    box = changed_box(picture, apply_badge(picture, position="auto", circle_safe=False))
    assert box[2] <= 150


# -- automatic contrast --------------------------------------------------------------------------


def white_pixels_in_box(image: Image.Image) -> int:
    rgb = np.asarray(image.convert("RGB"))
    return int((rgb == 255).all(axis=2).sum())


def test_ring_widens_on_a_un_blue_sky() -> None:
    sky = Image.new("RGB", (600, 400), (20, 150, 215))
    auto = white_pixels_in_box(apply_badge(sky))
    plain = white_pixels_in_box(apply_badge(sky, ring=0.06))
    assert auto > 1.5 * plain


@pytest.mark.parametrize("colour", [(245, 245, 242), (30, 30, 30), (200, 60, 40)])
def test_ring_stays_as_set_where_the_blue_stands_out(colour: tuple[int, int, int]) -> None:
    wall = Image.new("RGB", (600, 400), colour)
    assert apply_badge(wall).tobytes() == apply_badge(wall, ring=0.06).tobytes()


def test_a_ring_set_by_hand_is_never_changed() -> None:
    sky = Image.new("RGB", (600, 400), (20, 150, 215))
    assert white_pixels_in_box(apply_badge(sky, ring=0.0)) == 0


# -- contact sheet -------------------------------------------------------------------------------


def test_contact_sheet_masks_each_thumbnail_with_a_circle(tmp_path: Path) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"{index}.png"
        Image.new("RGB", (300, 200), (200, 30, 30)).save(path)
        paths.append(path)
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    sheet = contact_sheet([*paths, tmp_path / "bad.jpg"], cell=100, columns=3)
    assert sheet.size == (8 + 3 * 108, 8 + 2 * (108 + 14))  # the unreadable file has a tile
    pixels = np.asarray(sheet).astype(int)
    centre, corner = pixels[58, 58], pixels[10, 10]
    assert tuple(centre) == (200, 30, 30)
    assert abs(corner[0] - corner[1]) < 60  # outside the circle: dimmed toward grey
