"""The two rules ``auto`` follows with faces, on plain boxes: no model, no pixels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from blueheart.core.detector import _unturned
from blueheart.core.faces import Face, FaceBox, clear_place, overlap, square_start


def face(left: float, top: float, right: float, bottom: float, score: float = 0.9) -> Face:
    return Face((left, top, right, bottom), score)


def holds(size: tuple[int, int], start: int, one: Face) -> bool:
    """Whether the square at ``start`` keeps ``one`` (grown, inside the frame) whole."""
    left, top, right, bottom = one.grown()
    side = min(size)
    if size[0] > size[1]:
        return start <= max(left, 0) and min(right, size[0]) <= start + side
    return start <= max(top, 0) and min(bottom, size[1]) <= start + side


# -- the crop ------------------------------------------------------------------------------------


def test_no_face_keeps_todays_choice() -> None:
    assert square_start((300, 200), (), 37) == 37


def test_a_face_inside_todays_square_keeps_it() -> None:
    assert square_start((300, 200), [face(60, 50, 120, 120)], 40) == 40


def test_the_square_moves_only_as_far_as_the_face_needs() -> None:
    # Grown by 15 % (6 px a side), the face spans x 244..296: the square of 200 starts at 96.
    assert square_start((300, 200), [face(250, 50, 290, 100)], 0) == 96


def test_a_face_at_the_edge_is_held_as_far_as_the_frame_goes() -> None:
    assert square_start((300, 200), [face(280, 50, 300, 80)], 0) == 100


def test_a_portrait_moves_along_its_height() -> None:
    # Grown by 40 px above (head room) and 12 px below, the face spans y 260..392.
    assert square_start((200, 400), [face(50, 300, 120, 380)], 0) == 192


def test_a_square_keeps_room_for_the_hair_above_a_face() -> None:
    # The detector's box ends at the brow: a square at its top edge cut a cap off.
    assert square_start((200, 400), [face(60, 200, 140, 280)], 200) == 160


def test_when_no_square_holds_every_face_the_most_face_is_kept() -> None:
    small_left, large_right = face(10, 40, 40, 80), face(330, 20, 390, 100)
    start = square_start((400, 200), [small_left, large_right], 100)
    assert holds((400, 200), start, large_right)
    assert not holds((400, 200), start, small_left)


def test_when_no_square_holds_every_face_the_score_weighs_too() -> None:
    doubtful, sure = face(300, 20, 390, 110, score=0.1), face(10, 40, 60, 90, score=0.99)
    start = square_start((400, 200), [doubtful, sure], 100)
    assert holds((400, 200), start, sure)


frames = st.tuples(st.integers(20, 600), st.integers(20, 600)).filter(lambda s: s[0] != s[1])


@st.composite
def faces_in(draw: st.DrawFn, size: tuple[int, int]) -> list[Face]:
    found = []
    for _ in range(draw(st.integers(1, 4))):
        width = draw(st.integers(2, max(2, min(size) // 2)))
        height = draw(st.integers(2, max(2, min(size) // 2)))
        left = draw(st.integers(0, size[0] - width))
        top = draw(st.integers(0, size[1] - height))
        score = draw(st.floats(0.5, 1.0))
        found.append(face(left, top, left + width, top + height, score))
    return found


@pytest.mark.parametrize("circle", [False, True])
@given(data=st.data())
def test_the_crop_holds_every_face_when_one_can(circle: bool, data: st.DataObject) -> None:
    size = data.draw(frames)
    found = data.draw(faces_in(size))
    slack = max(size) - min(size)
    preferred = data.draw(st.integers(0, slack))
    start = square_start(size, found, preferred, circle=circle)
    assert 0 <= start <= slack

    def kept(at: int, one: Face, *, exactly: bool = False) -> bool:
        if circle:  # ``exactly``: no pixel of slack, as the rule itself checks
            return in_circle(size, at, one, slack_px=0.0 if exactly else 1.0)
        return holds(size, at, one)

    if any(all(kept(s, f, exactly=True) for f in found) for s in range(slack + 1)):
        assert all(kept(start, f) for f in found)


@given(st.data())
def test_the_square_holding_every_face_is_the_nearest_to_todays(data: st.DataObject) -> None:
    size = data.draw(frames)
    found = data.draw(faces_in(size))
    slack = max(size) - min(size)
    preferred = data.draw(st.integers(0, slack))
    holding = [s for s in range(slack + 1) if all(holds(size, s, f) for f in found)]
    if holding:
        nearest = min(abs(s - preferred) for s in holding)
        assert abs(square_start(size, found, preferred) - nearest - preferred) in (0, 2 * nearest)


def in_circle(size: tuple[int, int], start: int, one: Face, slack_px: float = 1.0) -> bool:
    """Whether the circle of the square at ``start`` holds the ellipse of ``one`` (grown, its
    part inside the frame), checked at 64 points, within ``slack_px``."""
    left, top, right, bottom = one.grown()
    radius = min(size) / 2
    centre = (start + radius, radius) if size[0] > size[1] else (radius, start + radius)
    for step in range(64):
        angle = 2 * math.pi * step / 64
        x = min(max((left + right) / 2 + (right - left) / 2 * math.cos(angle), 0), size[0])
        y = min(max((top + bottom) / 2 + (bottom - top) / 2 * math.sin(angle), 0), size[1])
        if math.dist((x, y), centre) > radius + slack_px:
            return False
    return True


def test_a_circle_crop_keeps_a_face_inside_its_circle_not_in_a_corner() -> None:
    # A volunteer's avatar had the top of a face cut off by the circle: the square held the
    # face in its corner, which the circle makes transparent.
    size, by_the_edge = (200, 400), face(130, 150, 180, 210)
    assert square_start(size, [by_the_edge], 120) == 120  # the square already holds it
    start = square_start(size, [by_the_edge], 120, circle=True)
    assert in_circle(size, start, by_the_edge) and not in_circle(size, 120, by_the_edge)


# -- the place -----------------------------------------------------------------------------------

CORNERS: list[FaceBox] = [
    (150, 150, 200, 200),
    (0, 150, 50, 200),
    (150, 0, 200, 50),
    (0, 0, 50, 50),
]
HEARTS: list[FaceBox] = [
    (160, 160, 190, 190),
    (10, 160, 40, 190),
    (160, 10, 190, 40),
    (10, 10, 40, 40),
]
"""The hearts inside the corners (the corners are the hearts with their clearance)."""


def test_no_face_takes_the_quietest_place() -> None:
    assert clear_place(HEARTS, CORNERS, [0.5, 0.2, 0.3, 0.9], ()) == 1


def test_the_quietest_place_that_covers_no_face() -> None:
    assert clear_place(HEARTS, CORNERS, [0.5, 0.2, 0.3, 0.9], [face(10, 140, 60, 190)]) == 2


def test_a_face_grown_by_its_margin_counts() -> None:
    # The face ends at x 145 but its margin reaches 152.5: the bottom-right corner is taken.
    assert clear_place(HEARTS, CORNERS, [0.1, 0.2, 0.3, 0.9], [face(95, 160, 145, 190)]) == 1


def test_when_every_place_covers_a_face_the_least_face_is_covered() -> None:
    everywhere = [
        face(140, 140, 200, 200),
        face(0, 120, 60, 200),
        face(160, 0, 200, 40),
        face(0, 0, 20, 20),
    ]
    assert clear_place(HEARTS, CORNERS, [0.1, 0.2, 0.3, 0.9], everywhere) == 3


def test_when_every_place_is_near_a_face_the_heart_stays_off_the_faces() -> None:
    # The small face under the bottom-right heart shares less of its room than the large one
    # beside the top-left heart does, but only the top-left heart itself touches no face.
    near = [
        face(170, 170, 180, 180),
        face(0, 130, 45, 170),
        face(150, 0, 200, 45),
        face(41, 0, 100, 100),
    ]
    assert clear_place(HEARTS, CORNERS, [0.1, 0.2, 0.3, 0.9], near) == 3


@given(
    st.lists(st.floats(0, 1), min_size=4, max_size=4),
    st.lists(
        st.tuples(st.integers(0, 190), st.integers(0, 190), st.integers(1, 60), st.floats(0.5, 1)),
        max_size=4,
    ),
)
def test_the_place_covers_no_face_when_a_place_can(
    scores: list[float], boxes: list[tuple[int, int, int, float]]
) -> None:
    found = [face(x, y, x + side, y + side, score) for x, y, side, score in boxes]
    chosen = clear_place(HEARTS, CORNERS, scores, found)
    free = [
        i for i, area in enumerate(CORNERS) if all(overlap(area, f.grown()) == 0 for f in found)
    ]
    if free:
        assert chosen in free
        assert scores[chosen] == min(scores[i] for i in free)


# -- the detector's quarter turns ----------------------------------------------------------------


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270])
def test_a_face_found_on_the_turned_photo_is_put_back(turn: Image.Transpose) -> None:
    photo = Image.new("L", (60, 40))
    turned = photo.transpose(turn)
    mark = Image.new("L", turned.size)
    mark.paste(255, (5, 10, 20, 14))
    back = (
        Image.Transpose.ROTATE_270
        if turn is Image.Transpose.ROTATE_90
        else Image.Transpose.ROTATE_90
    )
    assert _unturned(face(5, 10, 20, 14), turn, turned.size).box == mark.transpose(back).getbbox()
