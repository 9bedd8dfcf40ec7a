"""Placement geometry: tables of sizes and invariants, no images."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueheart import Length, OptionError
from blueheart.emblem import silhouette
from blueheart.options import Position, Style
from blueheart.placement import AUTO_CANDIDATES, Box, Placement, place
from blueheart.units import round_px

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
        return
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
        return
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
