"""The image layer's sequence (``blueheart.core.pipeline``) on small images made in code:
upright output, working modes, the emblem's box alone changed and UN blue, the crop and the
output's size, and the checks made before any pixel: room for the emblem, the output's pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import (
    STORE_FOR_ORIENTATION,
    UN_BLUE_RGB,
    blue_fraction,
    camera_exif,
    default_box,
    heart_pixels,
    photo,
)
from PIL import Image

from blueheart.core.errors import EmblemDoesNotFitError, OptionError, OutputTooLargeError
from blueheart.core.options import BadgeOptions, Crop
from blueheart.core.pipeline import (
    badge_frame,
    check_output_size,
    check_room,
    framed_frame,
    output_too_small,
)
from blueheart.core.units import Length

TOLERANCE = 3
"""How far (per channel, 0-255) the heart's pixels may be from UN blue."""


def badged(
    frame: Image.Image, options: BadgeOptions | None = None, *, keep_cmyk: bool = False
) -> Image.Image:
    """``frame`` through ``badge_frame``: the badged image."""
    return badge_frame(frame, options or BadgeOptions(), keep_cmyk=keep_cmyk).image


def outside(box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """A mask of the pixels outside ``box`` on an image of ``size``."""
    left, top, right, bottom = box
    mask = np.ones((size[1], size[0]), dtype=bool)
    mask[top:bottom, left:right] = False
    return mask


# -- badge_frame: pixels ------------------------------------------------------------------------


def test_heart_is_un_blue_and_nothing_outside_its_box_changes() -> None:
    source = photo(320, 240)
    result = badged(source)
    box = default_box(source.size)
    assert result.size == source.size and result.mode == "RGB"
    heart = heart_pixels(result, box).astype(int)
    assert np.abs(heart - UN_BLUE_RGB).max() <= TOLERANCE
    mask = outside(box, source.size)
    assert np.array_equal(np.asarray(result)[mask], np.asarray(source)[mask])


def test_the_callers_frame_is_left_as_it_was() -> None:
    source = photo(200, 150)
    before = np.asarray(source).copy()
    badged(source)
    assert np.array_equal(np.asarray(source), before)


def test_the_box_follows_the_position() -> None:
    source = photo(300, 200)
    result = badged(source, BadgeOptions(position="top-left"))
    box = default_box(source.size, position="top-left")
    assert box[0] < 150 and box[1] < 100
    heart = heart_pixels(result, box).astype(int)
    assert np.abs(heart - UN_BLUE_RGB).max() <= TOLERANCE
    mask = outside(box, source.size)
    assert np.array_equal(np.asarray(result)[mask], np.asarray(source)[mask])


def test_output_is_upright() -> None:
    viewed = photo(100, 200)
    store = STORE_FOR_ORIENTATION[6]
    assert store is not None
    stored = viewed.transpose(store)  # kept sideways, EXIF orientation 6 turns it back
    buffer = io.BytesIO()
    stored.save(buffer, "PNG", exif=camera_exif(6, gps=False))
    result = badged(Image.open(buffer))
    assert result.size == viewed.size
    box = default_box(viewed.size)
    assert np.abs(heart_pixels(result, box).astype(int) - UN_BLUE_RGB).max() <= TOLERANCE
    mask = outside(box, viewed.size)
    assert np.array_equal(np.asarray(result)[mask], np.asarray(viewed)[mask])


# -- badge_frame: modes -------------------------------------------------------------------------


def test_grayscale_becomes_colour_with_a_blue_heart() -> None:
    source = photo(240, 180).convert("L")
    result = badged(source)
    assert result.mode == "RGB" and result.size == source.size
    box = default_box(source.size)
    assert np.abs(heart_pixels(result, box).astype(int) - UN_BLUE_RGB).max() <= TOLERANCE
    mask = outside(box, source.size)
    grey = np.asarray(source)[mask]
    for channel in range(3):
        assert np.array_equal(np.asarray(result)[..., channel][mask], grey)


def test_rgba_keeps_its_transparency_outside_the_heart() -> None:
    source = photo(240, 180).convert("RGBA")
    alpha = np.full((180, 240), 255, dtype=np.uint8)
    alpha[:, :60] = 0  # a transparent band on the left, far from the bottom-right emblem
    alpha[:20, :] = 90
    source.putalpha(Image.fromarray(alpha))
    result = badged(source)
    assert result.mode == "RGBA"
    box = default_box(source.size)
    mask = outside(box, source.size)
    assert np.array_equal(np.asarray(result)[..., 3][mask], alpha[mask])
    assert np.array_equal(np.asarray(result)[mask], np.asarray(source)[mask])
    heart = heart_pixels(result, box).astype(int)  # composited on black: opaque blue stays blue
    assert np.abs(heart - UN_BLUE_RGB).max() <= TOLERANCE
    left, top, right, bottom = box
    assert np.asarray(result)[(top + bottom) // 2, (left + right) // 2, 3] == 255


def test_cmyk_is_kept_when_asked() -> None:
    source = photo(240, 180).convert("CMYK")
    result = badged(source, keep_cmyk=True)
    assert result.mode == "CMYK"
    box = default_box(source.size)
    mask = outside(box, source.size)
    assert np.array_equal(np.asarray(result)[mask], np.asarray(source)[mask])
    assert blue_fraction(result.crop(box)) > 0.2


def test_cmyk_becomes_srgb_unless_asked() -> None:
    source = photo(240, 180).convert("CMYK")
    badged_frame = badge_frame(source, BadgeOptions(), keep_cmyk=False)
    assert badged_frame.image.mode == "RGB" and badged_frame.icc is None
    box = default_box(source.size)
    assert np.abs(heart_pixels(badged_frame.image, box).astype(int) - UN_BLUE_RGB).max() <= 12


def test_the_plan_names_the_box_and_canvas() -> None:
    source = photo(320, 240)
    result = badge_frame(source, BadgeOptions(), keep_cmyk=False)
    assert result.plan.canvas == source.size
    assert result.plan.box.as_tuple() == default_box(source.size)


# -- framed_frame: the crop and the output's size ----------------------------------------------


def framed(frame: Image.Image, side: int | None, **options: object) -> Image.Image:
    """``frame`` through ``framed_frame`` with ``options``, its longer side ``side`` px."""
    chosen = BadgeOptions(**options)  # type: ignore[arg-type]
    return framed_frame(frame, chosen, side, keep_cmyk=False, in_place=False).image


@pytest.mark.parametrize(
    ("size", "side", "options", "expected"),
    [
        ((400, 300), None, {}, (400, 300)),
        ((400, 300), 200, {"output_size": 200}, (200, 150)),
        ((300, 400), 200, {"output_size": 200}, (150, 200)),
        ((400, 300), None, {"crop": "square"}, (300, 300)),
        ((400, 300), 120, {"crop": "square", "output_size": 120}, (120, 120)),
        ((300, 400), 120, {"crop": "circle", "output_size": 120}, (120, 120)),
    ],
)
def test_framed_frame_crops_and_sizes(
    size: tuple[int, int], side: int | None, options: dict[str, object], expected: tuple[int, int]
) -> None:
    assert framed(photo(*size), side, **options).size == expected


def test_framed_frame_without_a_change_copies_the_frame() -> None:
    source = photo(200, 150)
    result = framed(source, None)
    assert result is not source
    assert np.array_equal(np.asarray(result), np.asarray(source))


def test_square_crop_keeps_the_centre() -> None:
    source = photo(400, 300)
    result = framed(source, None, crop="square")
    assert np.array_equal(np.asarray(result), np.asarray(source.crop((50, 0, 350, 300))))


def test_circle_crop_has_transparent_corners() -> None:
    result = framed(photo(300, 300), None, crop="circle")
    assert result.mode == "RGBA"
    alpha = np.asarray(result)[..., 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0 and alpha[150, 150] == 255


def test_badge_frame_output_size_and_crop() -> None:
    result = badged(photo(400, 300), BadgeOptions(crop="square", output_size=160))
    assert result.size == (160, 160)
    assert blue_fraction(result) > 0.01


def test_badge_frame_does_not_enlarge_when_told_not_to() -> None:
    options = BadgeOptions(output_size=800, enlarge=False)
    assert badged(photo(200, 150), options).size == (200, 150)
    assert badged(photo(200, 150), BadgeOptions(output_size=800)).size == (800, 600)


# -- check_room and output_too_small: an emblem that cannot fit ---------------------------------


def test_check_room_passes_an_ordinary_photo() -> None:
    check_room((400, 300), BadgeOptions())


def test_an_emblem_too_large_for_the_photo_names_size() -> None:
    options = BadgeOptions(size=Length.px(500))
    with pytest.raises(EmblemDoesNotFitError) as raised:
        check_room((200, 150), options)
    assert raised.value.field == "size"
    assert output_too_small((200, 150), options) is None  # the photo itself cannot hold it
    with pytest.raises(EmblemDoesNotFitError) as badging:
        badged(photo(200, 150), options)
    assert badging.value.field == "size"


def test_an_output_too_small_for_the_emblem_names_output_size() -> None:
    options = BadgeOptions(size=Length.px(100), output_size=60)
    with pytest.raises(EmblemDoesNotFitError):
        check_room((400, 300), options)
    error = output_too_small((400, 300), options)
    assert isinstance(error, EmblemDoesNotFitError) and error.field == "output_size"
    assert "60 px" in str(error) and "smallest output size" in str(error)
    smallest = int(str(error).rsplit("is ", 1)[1].split(" px")[0])
    assert 60 < smallest <= 400
    check_room((400, 300), options.replace(output_size=smallest))
    with pytest.raises(EmblemDoesNotFitError):
        check_room((400, 300), options.replace(output_size=smallest - 1))


def test_output_too_small_is_none_when_the_output_is_not_smaller() -> None:
    assert output_too_small((400, 300), BadgeOptions()) is None
    assert output_too_small((400, 300), BadgeOptions(output_size=400)) is None  # not smaller


# -- check_output_size: the output's pixels ------------------------------------------------------


def test_check_output_size_passes_within_the_limit() -> None:
    check_output_size((400, 300), Crop.NONE, None, max_pixels=1)  # no output size: nothing to do
    check_output_size((400, 300), Crop.NONE, 400, max_pixels=400 * 300)


@pytest.mark.parametrize(
    ("crop", "side", "pixels"), [(Crop.NONE, 800, 800 * 600), (Crop.SQUARE, 500, 500 * 500)]
)
def test_check_output_size_refuses_over_max_pixels(crop: Crop, side: int, pixels: int) -> None:
    with pytest.raises(OutputTooLargeError) as raised:
        check_output_size((400, 300), crop, side, max_pixels=pixels - 1)
    assert raised.value.field == "output_size" and isinstance(raised.value, OptionError)
    assert f"{pixels:,}" in str(raised.value)
    check_output_size((400, 300), crop, side, max_pixels=pixels)


def test_badge_frame_refuses_an_output_over_max_pixels() -> None:
    options = BadgeOptions(output_size=1000, max_pixels=100_000)
    with pytest.raises(OutputTooLargeError):
        badged(photo(200, 150), options)
