"""The output's frame (blueheart.core.framing): its size in px from the input's, before any pixel
is decoded. Tables of sizes, crops and output sizes."""

from __future__ import annotations

import pytest

from blueheart import BadgeOptions, Crop
from blueheart.core.framing import framed_size, keeps_frame, output_canvas, output_side

NONE, SQUARE, CIRCLE = Crop.NONE, Crop.SQUARE, Crop.CIRCLE


@pytest.mark.parametrize(
    ("size", "crop", "kept"),
    [
        ((4000, 3000), NONE, (4000, 3000)),
        ((4000, 3000), SQUARE, (3000, 3000)),
        ((3000, 4000), CIRCLE, (3000, 3000)),
        ((500, 500), SQUARE, (500, 500)),
        ((1, 9000), SQUARE, (1, 1)),
    ],
)
def test_what_a_crop_keeps(size: tuple[int, int], crop: Crop, kept: tuple[int, int]) -> None:
    assert framed_size(size, crop) == kept


@pytest.mark.parametrize(
    ("size", "crop", "output_size", "enlarge", "side"),
    [
        ((4000, 3000), NONE, None, True, None),
        ((4000, 3000), NONE, 1080, True, 1080),
        ((4000, 3000), NONE, 1080, False, 1080),  # shrinking is always done
        ((800, 600), NONE, 1080, True, 1080),
        ((800, 600), NONE, 1080, False, None),  # not enlarged: kept at 800 px
        ((800, 600), SQUARE, 500, False, 500),  # the 600 px square shrinks
        ((800, 600), SQUARE, 600, False, None),  # already the size asked
        ((800, 600), CIRCLE, 700, False, None),  # the square is smaller than asked
    ],
)
def test_the_output_s_longer_side(
    size: tuple[int, int], crop: Crop, output_size: int | None, enlarge: bool, side: int | None
) -> None:
    assert output_side(size, crop, output_size, enlarge=enlarge) == side


@pytest.mark.parametrize(
    ("size", "crop", "output_size", "canvas"),
    [
        ((4000, 3000), NONE, None, (4000, 3000)),
        ((4000, 3000), NONE, 4000, (4000, 3000)),
        ((4000, 3000), NONE, 1000, (1000, 750)),
        ((3000, 4000), NONE, 1000, (750, 1000)),
        ((4000, 3000), SQUARE, 1080, (1080, 1080)),
        ((4000, 3000), CIRCLE, None, (3000, 3000)),
        ((333, 500), NONE, 100, (67, 100)),  # 66.6 px rounds to 67
        ((266, 400), NONE, 100, (67, 100)),  # 66.5 px rounds half up
        ((1000, 1), NONE, 10, (10, 1)),  # never less than a pixel
        ((9000, 1), NONE, 90, (90, 1)),
        ((640, 480), NONE, 1280, (1280, 960)),  # enlarged
    ],
)
def test_the_output_s_size(
    size: tuple[int, int], crop: Crop, output_size: int | None, canvas: tuple[int, int]
) -> None:
    assert output_canvas(size, crop, output_size) == canvas


@pytest.mark.parametrize(
    ("size", "changes", "kept"),
    [
        ((4000, 3000), {}, True),
        ((4000, 3000), {"output_size": 4000}, True),
        ((4000, 3000), {"output_size": 1080}, False),
        ((800, 600), {"output_size": 1080}, False),
        ((800, 600), {"output_size": 1080, "enlarge": False}, True),
        ((4000, 3000), {"crop": SQUARE}, False),
        ((500, 500), {"crop": SQUARE}, False),  # a crop is never the frame kept as it is
    ],
)
def test_whether_the_output_keeps_the_input_s_frame(
    size: tuple[int, int], changes: dict[str, object], kept: bool
) -> None:
    assert keeps_frame(size, BadgeOptions(**changes)) is kept  # type: ignore[arg-type]
