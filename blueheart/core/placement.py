"""Pure placement geometry: canvas size and options in, the emblem's integer box out.

No pixels here beyond an optional small saliency map for ``Position.AUTO``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blueheart.core.errors import EmblemDoesNotFitError, OptionError
from blueheart.core.faces import Face, FaceBox, clear_place
from blueheart.core.options import Position
from blueheart.core.units import Length, Unit, round_px

CIRCLE_SAFETY_PX = 1.5
"""Kept free inside a circle: half a pixel of anti-aliasing plus the rounding of the box."""

_BISECTION_STEPS = 40

ANCHOR_DIRECTIONS: dict[Position, tuple[int, int]] = {
    Position.TOP_LEFT: (-1, -1),
    Position.TOP: (0, -1),
    Position.TOP_RIGHT: (1, -1),
    Position.LEFT: (-1, 0),
    Position.CENTER: (0, 0),
    Position.RIGHT: (1, 0),
    Position.BOTTOM_LEFT: (-1, 1),
    Position.BOTTOM: (0, 1),
    Position.BOTTOM_RIGHT: (1, 1),
}

AUTO_CANDIDATES = (
    Position.BOTTOM_RIGHT,
    Position.BOTTOM_LEFT,
    Position.TOP_RIGHT,
    Position.TOP_LEFT,
    Position.BOTTOM,
    Position.RIGHT,
    Position.LEFT,
    Position.TOP,
)
"""The places ``auto`` weighs, in order of preference when they are equally quiet."""

AUTO_CLEARANCE = 0.25
"""How far around its box ``auto`` looks, as a fraction of the emblem's size."""


@dataclass(frozen=True)
class Box:
    """A pixel rectangle: ``left``/``top`` inclusive, ``right``/``bottom`` exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), as Pillow takes boxes."""
        return self.left, self.top, self.right, self.bottom


@dataclass(frozen=True)
class Placement:
    """What placement needs to know, in plain values (see ``BadgeOptions`` for meanings)."""

    position: Position
    size: Length
    margin: Length
    offset: tuple[Length, Length]
    circle_safe: bool
    at: tuple[float, float] | None = None


def emblem_extent(canvas: tuple[int, int], size: Length, aspect: float = 1.0) -> tuple[int, int]:
    """The emblem's (width, height) in px; ``size`` is its longer side, ``aspect`` width/height."""
    shorter = min(canvas)
    side = max(1, round_px(size.to_px(shorter)))
    if aspect >= 1.0:
        return side, max(1, round_px(side / aspect))
    return max(1, round_px(side * aspect)), side


def place(
    canvas: tuple[int, int],
    placement: Placement,
    silhouette: Sequence[tuple[float, float]],
    *,
    aspect: float = 1.0,
    saliency: npt.NDArray[np.float64] | None = None,
    faces: Sequence[Face] = (),
) -> Box:
    """The emblem's box on a ``canvas`` of (width, height) px.

    ``silhouette`` holds points (fractions of the emblem box) whose hull contains every visible
    pixel of the emblem; circle-safe placement keeps them inside the circle inscribed in the
    canvas, inset by the margin. ``placement.at``, when set, is the wanted centre as fractions
    of the canvas and replaces the position: the box is centred there, moved toward the canvas
    centre only as far as circle-safe needs, then clamped into the canvas like any other box.
    ``aspect`` is the emblem's width / height. ``saliency`` is a
    small map of the canvas (any resolution, higher = more important) that ``Position.AUTO``
    needs; the quietest of the edge and corner places is chosen, or, when ``faces`` (in px of
    the canvas) are given, the quietest that covers none (see ``faces.clear_place``). Raises
    ``EmblemDoesNotFitError`` (an ``OptionError`` and a ``BlueheartError``) when the emblem
    cannot fit.
    """
    width, height = canvas
    if width < 1 or height < 1:
        raise EmblemDoesNotFitError(
            "image", f"expected an image of at least 1x1 pixels, got {width}x{height}"
        )
    extent = emblem_extent(canvas, placement.size, aspect)
    outline = tuple(silhouette)  # hashable, for the cache of circle-safe centres
    if placement.at is not None:
        return _place_at(canvas, extent, placement, None, outline)
    if placement.position is Position.AUTO:
        if saliency is None:
            raise OptionError("position", "auto needs a saliency map of the image")
        boxes = [
            _place_at(canvas, extent, placement, anchor, outline) for anchor in AUTO_CANDIDATES
        ]
        scores = [_mean_in_box(saliency, canvas, box) for box in boxes]
        tuples = [box.as_tuple() for box in boxes]
        return boxes[clear_place(tuples, [_cleared(box) for box in boxes], scores, faces)]
    return _place_at(canvas, extent, placement, placement.position, outline)


def _place_at(
    canvas: tuple[int, int],
    extent: tuple[int, int],
    placement: Placement,
    anchor: Position | None,
    silhouette: tuple[tuple[float, float], ...],
) -> Box:
    """The box at ``anchor``, or at ``placement.at`` when ``anchor`` is None."""
    width, height = canvas
    box_w, box_h = extent
    shorter = min(canvas)
    margin = placement.margin.to_px(shorter)
    direction = ANCHOR_DIRECTIONS[anchor] if anchor is not None else (0, 0)
    _check_fits(canvas, extent, margin, direction, _margin_text(placement.margin))
    offset = (placement.offset[0].to_px(shorter), placement.offset[1].to_px(shorter))
    at_box = None
    if placement.at is not None:
        at_box = _on_canvas(
            canvas,
            extent,
            placement.at[0] * width - box_w / 2 + offset[0],
            placement.at[1] * height - box_h / 2 + offset[1],
        )
    if placement.circle_safe:
        heading, reach = _heading(canvas, direction, placement.at)
        # A point the emblem can sit at inside the circle is kept as it is: moved only if it must.
        wanted = None
        if at_box is not None:
            wanted = (
                (at_box.left + at_box.right - width) / 2,
                (at_box.top + at_box.bottom - height) / 2,
            )
        centre = _circle_safe_centre(
            canvas,
            extent,
            margin,
            heading,
            reach,
            offset,
            silhouette,
            wanted,
            margin_text=_margin_text(placement.margin),
        )
        left, top = centre[0] - box_w / 2, centre[1] - box_h / 2
    elif at_box is not None:
        return at_box
    else:
        left = _edge_start(direction[0], box_w, width, margin) + offset[0]
        top = _edge_start(direction[1], box_h, height, margin) + offset[1]
    return _on_canvas(canvas, extent, left, top)


def _check_fits(
    canvas: tuple[int, int],
    extent: tuple[int, int],
    margin: float,
    direction: tuple[int, int],
    margin_text: str,
) -> None:
    """Raise ``EmblemDoesNotFitError`` unless the box fits the canvas, with the margin (px;
    ``margin_text``: as it was given) on each axis it is anchored along."""
    (width, height), (box_w, box_h) = canvas, extent
    if box_w > width or box_h > height:
        raise EmblemDoesNotFitError(
            "size",
            f"an emblem of {box_w}x{box_h} px does not fit in a {width}x{height} image",
        )
    for axis_direction, box_side, canvas_side in (
        (direction[0], box_w, width),
        (direction[1], box_h, height),
    ):
        if axis_direction and box_side + margin > canvas_side:
            raise EmblemDoesNotFitError(
                _misfit(margin, box_side),
                f"an emblem of {box_w}x{box_h} px with a margin of {margin_text} does not fit "
                f"in a {width}x{height} image",
            )


def _misfit(margin: float, box_side: int) -> str:
    """The option to blame when the emblem and its margin do not fit: a margin wider than the
    emblem is what leaves it no room, else the emblem's size."""
    return "margin" if margin > box_side else "size"


def _on_canvas(canvas: tuple[int, int], extent: tuple[int, int], left: float, top: float) -> Box:
    """The one clamping rule: whatever the offset asked, the box stays on the canvas."""
    left_px = min(max(round_px(left), 0), canvas[0] - extent[0])
    top_px = min(max(round_px(top), 0), canvas[1] - extent[1])
    return Box(left_px, top_px, left_px + extent[0], top_px + extent[1])


def _heading(
    canvas: tuple[int, int], direction: tuple[int, int], at: tuple[float, float] | None
) -> tuple[tuple[float, float], float]:
    """The unit vector from the canvas centre toward where the emblem should go, and how far
    it may go: toward ``at`` and no further, or toward the anchor as far as the circle allows."""
    width, height = canvas
    if at is None:
        norm = math.hypot(*direction) or 1.0
        return (direction[0] / norm, direction[1] / norm), float(min(width, height))
    wanted = (at[0] * width - width / 2, at[1] * height - height / 2)
    distance = math.hypot(*wanted)
    if distance == 0:
        return (0.0, 0.0), 0.0
    return (wanted[0] / distance, wanted[1] / distance), distance


def _margin_text(margin: Length) -> str:
    """The margin as it was given: in px, or as a fraction of the shorter side."""
    if margin.unit is Unit.PX:
        return f"{margin.value:g} px"
    return f"{margin.value:g} of the shorter side"


def _edge_start(direction: int, box_side: int, canvas_side: int, margin: float) -> float:
    if direction < 0:
        return margin
    if direction > 0:
        return canvas_side - margin - box_side
    return (canvas_side - box_side) / 2


@functools.lru_cache(maxsize=256)
def _circle_safe_centre(
    canvas: tuple[int, int],
    extent: tuple[int, int],
    margin: float,
    heading: tuple[float, float],
    reach: float,
    offset: tuple[float, float],
    silhouette: tuple[tuple[float, float], ...],
    wanted: tuple[float, float] | None = None,
    margin_text: str = "",
) -> tuple[float, float]:
    """Box centre pushed from the canvas centre along ``heading`` (a unit vector), at most
    ``reach`` px, as far as the circle allows; ``wanted`` (from the canvas centre) itself
    when the emblem fits there.

    Cached: two bisections cost ~1.5 ms, and a batch of avatars asks the same for every photo
    (eight times with ``--position auto``)."""
    width, height = canvas
    box_w, box_h = extent
    radius = min(width, height) / 2 - margin - CIRCLE_SAFETY_PX
    points = np.array([((x - 0.5) * box_w, (y - 0.5) * box_h) for x, y in silhouette])

    def fits(dx: float, dy: float) -> bool:
        reach = np.hypot(points[:, 0] + dx, points[:, 1] + dy).max()
        return bool(reach <= radius)

    if not fits(0.0, 0.0):
        raise EmblemDoesNotFitError(
            _misfit(margin, max(box_w, box_h)),
            f"an emblem of {box_w}x{box_h} px with a margin of {margin_text} does not fit inside "
            f"the circle of a {width}x{height} image; make it smaller or turn circle-safe off",
        )
    if wanted is not None and fits(*wanted):
        return width / 2 + wanted[0], height / 2 + wanted[1]
    distance = _largest_fitting(lambda t: fits(t * heading[0], t * heading[1]), reach)
    base = (distance * heading[0], distance * heading[1])
    share = _largest_fitting(lambda s: fits(base[0] + s * offset[0], base[1] + s * offset[1]), 1.0)
    return (
        width / 2 + base[0] + share * offset[0],
        height / 2 + base[1] + share * offset[1],
    )


def _largest_fitting(fits: Callable[[float], bool], upper: float) -> float:
    """The largest t in [0, upper] with fits(t), given fits(0) and a convex feasible set."""
    if fits(upper):
        return upper
    low, high = 0.0, upper
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def _cleared(box: Box) -> FaceBox:
    """``box`` grown by ``AUTO_CLEARANCE`` of its size on every side: the room ``auto`` keeps
    free, so that the emblem also keeps its distance from what matters."""
    grow_x, grow_y = box.width * AUTO_CLEARANCE, box.height * AUTO_CLEARANCE
    return box.left - grow_x, box.top - grow_y, box.right + grow_x, box.bottom + grow_y


def _mean_in_box(saliency: npt.NDArray[np.float64], canvas: tuple[int, int], box: Box) -> float:
    """Mean saliency around ``box`` and its clearance (see ``_cleared``)."""
    rows, cols = saliency.shape
    scale_x, scale_y = cols / canvas[0], rows / canvas[1]
    cleared = _cleared(box)
    left = min(max(int(cleared[0] * scale_x), 0), cols - 1)
    top = min(max(int(cleared[1] * scale_y), 0), rows - 1)
    right = max(math.ceil(cleared[2] * scale_x), left + 1)
    bottom = max(math.ceil(cleared[3] * scale_y), top + 1)
    return float(saliency[top:bottom, left:right].mean())
