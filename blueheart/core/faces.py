"""Faces as plain boxes, and the two rules ``auto`` follows when a photo has them.

No model and no pixels here: the detector (``blueheart.core.detector``) finds the boxes, and
these rules decide what a square crop keeps and which place the emblem takes. With no face,
each rule gives back today's choice unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

FaceBox = tuple[float, float, float, float]
"""(left, top, right, bottom) in px of the frame the face was found on."""

FACE_MARGIN = 0.15
"""How much room a face needs beyond its box (ears, chin), as a fraction of the box's width
and height on each side: a crop keeps it, the emblem keeps clear of it."""
HEAD_ROOM = 0.5
"""How much room a face needs above its box, as a fraction of its height: the detector's box
ends at the brow, and an avatar that cuts the hair or the cap off looks cut."""


@dataclass(frozen=True)
class Face:
    """A detected face: its ``box`` (see ``FaceBox``) and the detector's ``score``, 0..1."""

    box: FaceBox
    score: float

    def grown(self) -> FaceBox:
        """The box with ``FACE_MARGIN`` of room at the sides and below, ``HEAD_ROOM`` above."""
        left, top, right, bottom = self.box
        width, height = right - left, bottom - top
        grow_x, grow_y = width * FACE_MARGIN, height * FACE_MARGIN
        return left - grow_x, top - height * HEAD_ROOM, right + grow_x, bottom + grow_y

    def moved(self, origin: tuple[float, float], scale: tuple[float, float]) -> Face:
        """This face in a frame cut at ``origin`` (px) of this one, then scaled by ``scale``."""
        left, top, right, bottom = self.box
        return Face(
            (
                (left - origin[0]) * scale[0],
                (top - origin[1]) * scale[1],
                (right - origin[0]) * scale[0],
                (bottom - origin[1]) * scale[1],
            ),
            self.score,
        )


def square_start(
    size: tuple[int, int], faces: Sequence[Face], preferred: int, *, circle: bool = False
) -> int:
    """Where the square of an oblong frame of ``size`` (width, height) px starts along its
    longer side, in 0..slack px, so that it keeps the ``faces`` whole (each with its room,
    ``Face.grown``; with ``circle``, inside the circle the square holds, the face taken as
    the ellipse its grown box bounds): of the starts that keep all of them, the one nearest
    ``preferred`` (today's choice); when none keeps them all, the start that keeps the most
    face (area x score, whole faces only), nearest ``preferred`` among equals. No face:
    ``preferred``."""
    if not faces:
        return preferred
    slack = max(size) - min(size)
    kept_from = [(_circle_starts if circle else _square_starts)(face, size) for face in faces]
    low, high = max(lo for lo, _ in kept_from), min(hi for _, hi in kept_from)
    if max(low, 0) <= min(high, slack):
        return min(max(preferred, low, 0), high, slack)
    candidates = {preferred, *(_clamp(end, slack) for pair in kept_from for end in pair)}
    weights = [_area(face.grown()) * face.score for face in faces]

    def kept(start: int) -> float:
        """The face kept whole by the square at ``start``."""
        pairs = zip(weights, kept_from, strict=True)
        return sum(weight for weight, (lo, hi) in pairs if lo <= start <= hi)

    return min(sorted(candidates), key=lambda start: (-kept(start), abs(start - preferred)))


def _square_starts(face: Face, size: tuple[int, int]) -> tuple[int, int]:
    """The starts (first, last; first > last: none) of squares that hold the grown face,
    along the longer side, in whole px inside the frame."""
    left, top, right, bottom = face.grown()
    landscape = size[0] > size[1]
    start, end = (left, right) if landscape else (top, bottom)
    kept_start, kept_end = max(math.floor(start), 0), min(math.ceil(end), max(size))
    return kept_end - min(size), kept_start


_ELLIPSE_POINTS = 32
"""Points of a face's ellipse checked against a circle crop's circle."""


def _circle_starts(face: Face, size: tuple[int, int]) -> tuple[int, int]:
    """The starts (first, last; first > last: none) of squares whose inscribed circle holds
    the ellipse of the grown face (its part inside the frame), in whole px."""
    left, top, right, bottom = face.grown()
    landscape = size[0] > size[1]
    radius = min(size) / 2
    first, last = -math.inf, math.inf
    for step in range(_ELLIPSE_POINTS):
        angle = 2 * math.pi * step / _ELLIPSE_POINTS
        x = (left + right) / 2 + (right - left) / 2 * math.cos(angle)
        y = (top + bottom) / 2 + (bottom - top) / 2 * math.sin(angle)
        x, y = min(max(x, 0.0), size[0]), min(max(y, 0.0), size[1])
        along, across = (x, y) if landscape else (y, x)
        # The circle of the square at ``start`` is centred at (start + radius, radius).
        reach = math.sqrt(max(radius**2 - (across - radius) ** 2, 0.0))
        first, last = max(first, along - radius - reach), min(last, along - radius + reach)
    return math.ceil(first), math.floor(last)


def _clamp(start: int, slack: int) -> int:
    return min(max(start, 0), slack)


def _area(box: FaceBox) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def overlap(a: FaceBox, b: FaceBox) -> float:
    """The area two boxes share, in px²."""
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def clear_place(
    boxes: Sequence[FaceBox],
    areas: Sequence[FaceBox],
    saliency_scores: Sequence[float],
    faces: Sequence[Face],
) -> int:
    """The index of the place ``auto`` takes among candidate ``boxes`` (the emblem's, in px),
    each with its ``areas`` (the box and its clearance), given today's ``saliency_scores``
    (lower = quieter): of the places whose area covers no face (with its room, ``Face.grown``),
    the quietest. When every place covers one, the place whose box covers the least of the faces
    themselves (area x score), then the least of their room, then the quietest: a heart near a
    face beats a heart on it. No face: the quietest, as today."""
    if not faces:
        return min(range(len(boxes)), key=lambda i: saliency_scores[i])
    roomy = [_covered(area, [(face.grown(), face.score) for face in faces]) for area in areas]
    tight = [_covered(box, [(face.box, face.score) for face in faces]) for box in boxes]
    return min(
        range(len(boxes)),
        key=lambda i: (roomy[i] > 0, tight[i], roomy[i], saliency_scores[i]),
    )


def _covered(box: FaceBox, faces: Sequence[tuple[FaceBox, float]]) -> float:
    """The face ``box`` covers: each face's shared area times its score."""
    return sum(overlap(box, face) * score for face, score in faces)
