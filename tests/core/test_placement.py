"""Placement geometry: tables of sizes and invariants, no images."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import example, given, reject
from hypothesis import strategies as st

from blueheart import BadgeOptions, Length, OptionError
from blueheart.core.heart import silhouette
from blueheart.core.options import Position, Style
from blueheart.core.placement import AUTO_CANDIDATES, Box, Placement, place
from blueheart.core.units import round_px

HEART = silhouette(Style.HEART, 0.06)
ANCHORS = [p for p in Position if p is not Position.AUTO]
ZERO = (Length.fraction(0), Length.fraction(0))


def placement(position: Position = Position.BOTTOM_RIGHT, **changes: object) -> Placement:
    values: dict[str, object] = {
        "position": position,
        "size": Length.fraction(0.25),
        "margin": Length.fraction(0.04),
        "offset": ZERO,
        "circle_safe": False,
    }
    values.update(changes)
    return Placement(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("canvas", "position", "expected"),
    [
        ((1000, 800), Position.BOTTOM_RIGHT, Box(768, 568, 968, 768)),
        ((1000, 800), Position.TOP_LEFT, Box(32, 32, 232, 232)),
        ((1000, 800), Position.CENTER, Box(400, 300, 600, 500)),
        ((1000, 800), Position.TOP, Box(400, 32, 600, 232)),
        ((1000, 800), Position.LEFT, Box(32, 300, 232, 500)),
        ((800, 1000), Position.BOTTOM, Box(300, 768, 500, 968)),
    ],
)
def test_anchor_table(canvas: tuple[int, int], position: Position, expected: Box) -> None:
    assert place(canvas, placement(position), HEART) == expected


def test_size_and_margin_in_pixels() -> None:
    box = place((640, 480), placement(size=Length.px(100), margin=Length.px(10)), HEART)
    assert box == Box(530, 370, 630, 470)


def test_offset_shifts_and_is_clamped_into_the_canvas() -> None:
    shifted = place((1000, 800), placement(offset=(Length.px(-20), Length.px(-10))), HEART)
    assert shifted == Box(748, 558, 948, 758)
    clamped = place((1000, 800), placement(offset=(Length.px(500), Length.px(0))), HEART)
    assert clamped.right == 1000


def test_tiny_canvases() -> None:
    assert place((1, 1), placement(margin=Length.fraction(0)), HEART) == Box(0, 0, 1, 1)
    assert place((43, 63), placement(), HEART).width == round_px(43 * 0.25)


@pytest.mark.parametrize(
    ("canvas", "changes", "field"),
    [
        ((100, 100), {"size": Length.px(101)}, "size"),
        ((100, 100), {"size": Length.fraction(1.0)}, "size"),
        ((100, 100), {"size": Length.fraction(0.9), "circle_safe": True}, "size"),
        ((0, 10), {}, "image"),
    ],
)
def test_impossible_requests_name_the_field(
    canvas: tuple[int, int], changes: dict[str, object], field: str
) -> None:
    with pytest.raises(OptionError, match=f"^{field}: "):
        place(canvas, placement(**changes), HEART)


def test_whole_canvas_emblem_without_margin_fits() -> None:
    full = placement(size=Length.fraction(1.0), margin=Length.fraction(0))
    assert place((100, 100), full, HEART) == Box(0, 0, 100, 100)


def test_auto_picks_the_quietest_place() -> None:
    saliency = np.ones((60, 80))
    saliency[:20, :25] = 0.0  # a quiet top-left corner
    box = place((800, 600), placement(Position.AUTO), HEART, saliency=saliency)
    assert box == place((800, 600), placement(Position.TOP_LEFT), HEART)


def test_auto_prefers_bottom_right_when_all_is_equal() -> None:
    assert AUTO_CANDIDATES[0] is Position.BOTTOM_RIGHT
    box = place((800, 600), placement(Position.AUTO), HEART, saliency=np.zeros((6, 8)))
    assert box == place((800, 600), placement(), HEART)


def _inside_circle(canvas: tuple[int, int], box: Box, margin: float) -> bool:
    cx, cy = canvas[0] / 2, canvas[1] / 2
    radius = min(canvas) / 2 - margin
    for x, y in silhouette(Style.HEART, 0.06):
        px, py = box.left + x * box.width, box.top + y * box.height
        # The anti-aliased edge reaches half a pixel beyond the outline.
        if math.hypot(px - cx, py - cy) + 0.5 > radius:
            return False
    return True


sides = st.integers(min_value=1, max_value=5000)
fractions = st.floats(min_value=0.01, max_value=1.0)
margins = st.floats(min_value=0.0, max_value=0.2)
anchors = st.sampled_from(ANCHORS)


@given(sides, sides, fractions, margins, anchors)
def test_box_always_lies_in_the_canvas(
    width: int, height: int, size: float, margin: float, anchor: Position
) -> None:
    request = placement(anchor, size=Length.fraction(size), margin=Length.fraction(margin))
    try:
        box = place((width, height), request, HEART)
    except OptionError:
        reject()  # no room for this emblem: not a case of this property
    assert 0 <= box.left < box.right <= width and 0 <= box.top < box.bottom <= height
    assert box.width == box.height == max(1, round_px(size * min(width, height)))


@given(sides, sides, anchors)
def test_each_anchor_touches_its_edges_at_margin_zero(
    width: int, height: int, anchor: Position
) -> None:
    box = place((width, height), placement(anchor, margin=Length.fraction(0)), HEART)
    name = anchor.value
    if "left" in name:
        assert box.left == 0
    if "right" in name:
        assert box.right == width
    if "top" in name:
        assert box.top == 0
    if "bottom" in name:
        assert box.bottom == height


@given(st.integers(16, 4000), st.floats(0.05, 0.45), margins, anchors)
def test_circle_safe_boxes_lie_in_the_circle(
    side: int, size: float, margin: float, anchor: Position
) -> None:
    request = placement(
        anchor, size=Length.fraction(size), margin=Length.fraction(margin), circle_safe=True
    )
    try:
        box = place((side, side), request, HEART)
    except OptionError:
        reject()  # no room for this emblem: not a case of this property
    assert _inside_circle((side, side), box, margin * side)


@pytest.mark.parametrize("anchor", [Position.TOP_LEFT, Position.BOTTOM_RIGHT])
def test_circle_safe_corners_slide_along_the_diagonal(anchor: Position) -> None:
    request = placement(anchor, circle_safe=True)
    box = place((1000, 1000), request, HEART)
    centre = ((box.left + box.right) / 2 - 500, (box.top + box.bottom) / 2 - 500)
    assert abs(abs(centre[0]) - abs(centre[1])) <= 1
    naive = place((1000, 1000), placement(anchor), HEART)
    # Pushed out as far as the circle allows: further out than half-way to the naive corner.
    assert abs(centre[0]) > 0.5 * abs((naive.left + naive.right) / 2 - 500)


def test_circle_safe_with_offset_stays_in_the_circle() -> None:
    request = placement(circle_safe=True, offset=(Length.px(400), Length.px(400)))
    box = place((1000, 1000), request, HEART)
    assert _inside_circle((1000, 1000), box, 40)


# `at`: the emblem's centre as fractions of the canvas, instead of an anchor.


@pytest.mark.parametrize(
    ("canvas", "at", "circle_safe", "expected"),
    [
        ((1000, 800), (0.5, 0.5), False, Box(400, 300, 600, 500)),
        ((1000, 800), (0.25, 0.75), False, Box(150, 500, 350, 700)),
        ((1000, 800), (0.0, 0.0), False, Box(0, 0, 200, 200)),  # clamped into the canvas
        ((1000, 800), (1.0, 1.0), False, Box(800, 600, 1000, 800)),
        ((1000, 800), (0.9, 0.1), False, Box(800, 0, 1000, 200)),
        ((1000, 1000), (0.5, 0.5), True, Box(375, 375, 625, 625)),
        ((1000, 1000), (0.4, 0.6), True, Box(275, 475, 525, 725)),  # fits: exactly there
        ((43, 63), (0.5, 0.5), False, Box(16, 26, 27, 37)),
    ],
)
def test_at_table(
    canvas: tuple[int, int], at: tuple[float, float], circle_safe: bool, expected: Box
) -> None:
    assert place(canvas, placement(at=at, circle_safe=circle_safe), HEART) == expected


def test_at_a_corner_under_circle_safe_is_the_corner_anchor() -> None:
    # Pushed from the centre toward the wanted point as far as the circle allows: the same
    # rule as the anchors, so the corner of a square lands where the corner anchor does.
    for at, anchor in (((1.0, 1.0), Position.BOTTOM_RIGHT), ((0.0, 0.0), Position.TOP_LEFT)):
        box = place((1000, 1000), placement(at=at, circle_safe=True), HEART)
        assert box == place((1000, 1000), placement(anchor, circle_safe=True), HEART)


def test_at_replaces_the_position_and_auto_needs_no_map() -> None:
    for position in (Position.TOP_LEFT, Position.AUTO):
        box = place((1000, 800), placement(position, at=(0.5, 0.5)), HEART)
        assert box == Box(400, 300, 600, 500)


def test_at_keeps_the_offset_as_a_fine_shift() -> None:
    shifted = placement(at=(0.5, 0.5), offset=(Length.px(10), Length.px(-20)))
    assert place((1000, 800), shifted, HEART) == Box(410, 280, 610, 480)


def test_at_still_refuses_an_emblem_that_cannot_fit() -> None:
    with pytest.raises(OptionError, match=r"^size: "):
        place((100, 100), placement(at=(0.5, 0.5), size=Length.px(101)), HEART)
    with pytest.raises(OptionError, match=r"^size: .*circle"):
        place(
            (100, 100), placement(at=(0.1, 0.1), size=Length.fraction(0.9), circle_safe=True), HEART
        )


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ((0.5, 1.5), "at: expected x and y from 0 to 1, got (0.5, 1.5)"),
        ((-0.1, 0.5), "at: expected x and y from 0 to 1, got (-0.1, 0.5)"),
        ((float("nan"), 0.5), "at: expected x and y from 0 to 1, got (nan, 0.5)"),
        ((True, 0.5), "at: expected x and y from 0 to 1, got (True, 0.5)"),
        ((0.5,), "at: expected an (x, y) pair of fractions or None, got (0.5,)"),
        ("0.5,0.5", "at: expected an (x, y) pair of fractions or None, got '0.5,0.5'"),
    ],
)
def test_bad_at_values_name_the_field(at: object, message: str) -> None:
    with pytest.raises(OptionError) as raised:
        BadgeOptions(at=at)  # type: ignore[arg-type]
    assert str(raised.value) == message and raised.value.field == "at"


def test_at_accepts_a_list_and_stores_a_tuple() -> None:
    assert BadgeOptions(at=[0, 1]).at == (0.0, 1.0)  # type: ignore[arg-type]


points = st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0))


@given(sides, sides, fractions, points, st.booleans())
def test_at_box_always_lies_in_the_canvas(
    width: int, height: int, size: float, at: tuple[float, float], circle_safe: bool
) -> None:
    request = placement(size=Length.fraction(size), at=at, circle_safe=circle_safe)
    try:
        box = place((width, height), request, HEART)
    except OptionError:
        reject()  # no room for this emblem: not a case of this property
    assert 0 <= box.left < box.right <= width and 0 <= box.top < box.bottom <= height
    assert box.width == box.height == max(1, round_px(size * min(width, height)))


@given(sides, sides, fractions, points)
def test_at_is_honoured_wherever_the_box_fits(
    width: int, height: int, size: float, at: tuple[float, float]
) -> None:
    box = place((width, height), placement(size=Length.fraction(size), at=at), HEART)
    wanted = (at[0] * width, at[1] * height)
    fits_x = box.width / 2 <= wanted[0] <= width - box.width / 2
    fits_y = box.height / 2 <= wanted[1] <= height - box.height / 2
    centre = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
    # Otherwise clamped: the box touches the edge nearest the wanted centre.
    assert abs(centre[0] - wanted[0]) <= 0.5 if fits_x else box.left == 0 or box.right == width
    assert abs(centre[1] - wanted[1]) <= 0.5 if fits_y else box.top == 0 or box.bottom == height


@given(st.integers(16, 4000), st.floats(0.05, 0.45), margins, points)
# At the bottom edge the box is clamped onto the canvas, inside the circle: it stays there.
@example(side=2979, size=0.25, margin=0.0, at=(0.46875, 1.0))
def test_at_under_circle_safe_stays_in_the_circle_on_the_way_to_the_point(
    side: int, size: float, margin: float, at: tuple[float, float]
) -> None:
    request = placement(
        size=Length.fraction(size), margin=Length.fraction(margin), at=at, circle_safe=True
    )
    try:
        box = place((side, side), request, HEART)
    except OptionError:
        reject()  # no room for this emblem: not a case of this property
    assert _inside_circle((side, side), box, margin * side)
    free = place((side, side), replace(request, circle_safe=False), HEART)
    if _inside_circle((side, side), free, margin * side + 2):
        assert box == free  # moved only when it must
    if box == free:
        return  # where it was asked, clamped onto the canvas
    # Moved: on the segment from the centre to the wanted point (within the rounding of the box).
    wanted = (at[0] * side - side / 2, at[1] * side - side / 2)
    centre = ((box.left + box.right - side) / 2, (box.top + box.bottom - side) / 2)
    assert abs(wanted[0] * centre[1] - wanted[1] * centre[0]) <= math.hypot(*wanted) + 1e-9
    assert wanted[0] * centre[0] + wanted[1] * centre[1] >= -math.hypot(*wanted)
