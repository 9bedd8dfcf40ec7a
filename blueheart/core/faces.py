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
"""How much room a face needs beyond its box (forehead, hair, chin), as a fraction of the box's
width and height on each side: a crop keeps it, the emblem keeps clear of it."""


@dataclass(frozen=True)
class Face:
    """A detected face: its ``box`` (see ``FaceBox``) and the detector's ``score``, 0..1."""

    box: FaceBox
    score: float

    def grown(self) -> FaceBox:
        """The box with ``FACE_MARGIN`` of room on every side."""
        left, top, right, bottom = self.box
        grow_x, grow_y = (right - left) * FACE_MARGIN, (bottom - top) * FACE_MARGIN
        return left - grow_x, top - grow_y, right + grow_x, bottom + grow_y

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


def square_start(size: tuple[int, int], faces: Sequence[Face], preferred: int) -> int:
    """Where the square of an oblong frame of ``size`` (width, height) px starts along its
    longer side, in 0..slack px, so that it keeps the ``faces`` whole (each grown by
    ``FACE_MARGIN``): of the starts that keep all of them, the one nearest ``preferred``
    (today's choice); when none keeps them all, the start that keeps the most face (area x
    score, whole faces only), nearest ``preferred`` among equals. No face: ``preferred``."""
    if not faces:
        return preferred
    landscape = size[0] > size[1]
    side, length = min(size), max(size)
    slack = length - side
    spans = [_span_along(face, landscape, length) for face in faces]
    low = max(end for _, end in spans) - side
    high = min(start for start, _ in spans)
    if max(low, 0) <= min(high, slack):
        return min(max(preferred, low, 0), high, slack)
    candidates = {preferred, *(_clamp(s, slack) for s, _ in spans)}
    candidates |= {_clamp(end - side, slack) for _, end in spans}
    weights = [_area(face.grown()) * face.score for face in faces]

    def kept(start: int) -> float:
        """The face kept whole by the square at ``start``."""
        pairs = zip(weights, spans, strict=True)
        return sum(weight for weight, (a, b) in pairs if start <= a and b <= start + side)

    return min(sorted(candidates), key=lambda start: (-kept(start), abs(start - preferred)))


def _span_along(face: Face, landscape: bool, length: int) -> tuple[int, int]:
    """The grown face's extent along the longer side, in whole px inside the frame."""
    left, top, right, bottom = face.grown()
    start, end = (left, right) if landscape else (top, bottom)
    return max(math.floor(start), 0), min(math.ceil(end), length)


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
    (lower = quieter): of the places whose area covers no face (grown by ``FACE_MARGIN``), the
    quietest. When every place covers one, the place whose box covers the least of the faces
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
