"""Square and circle crops, output sizes, and the circular mask platforms apply to avatars."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from blueheart.core.compose import crop_region
from blueheart.core.faces import Face, square_start
from blueheart.core.framing import output_canvas
from blueheart.core.options import Crop, Focus
from blueheart.core.saliency import saliency_map
from blueheart.core.units import round_px

SUBJECT_CENTRE_WEIGHT = 0.3
"""How much ``focus=auto`` favours the middle over the most salient square."""
RESIZE_REDUCING_GAP = 3.0
"""Pillow's ``reducing_gap``: a large shrink first reduces by a whole factor (fast), leaving
Lanczos (sharp) a shrink of at least this factor."""


def square_window(
    image: Image.Image, focus: Focus, faces: Sequence[Face] = (), *, circle: bool = False
) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) of the square a crop keeps: centred, or most salient
    (``Focus.AUTO``), moved as little as keeps the ``faces`` (px of ``image``) whole (with
    ``circle``, inside the circle a circle crop cuts from it)."""
    width, height = image.size
    side = min(width, height)
    slack = max(width, height) - side
    start = slack // 2
    if focus is Focus.AUTO and slack > 0:
        preferred = _salient_start(image, side, slack)
        start = square_start(image.size, faces, preferred, circle=circle)
    return (start, 0, start + side, side) if width > height else (0, start, side, start + side)


def _salient_start(image: Image.Image, side: int, slack: int) -> int:
    """Start of the window along the longer axis that holds the most saliency."""
    saliency = saliency_map(image, centre_weight=SUBJECT_CENTRE_WEIGHT)
    profile = saliency.sum(axis=0 if image.width > image.height else 1)
    length = len(profile)
    window = max(1, min(length, round_px(length * side / (side + slack))))
    sums = np.convolve(profile, np.ones(window), mode="valid")
    best = int(np.argmax(sums))
    return min(slack, round_px(best * (side + slack) / length))


def changes_frame(size: tuple[int, int], *, crop: Crop, output_size: int | None) -> bool:
    """Whether ``crop_and_resize`` changes an image of ``size`` (width, height) px: a circle
    crop always does (its corners), a square crop of an oblong image does, and so does a new
    size. Callers that may keep the image as it is ask first, and spare a copy."""
    return crop is Crop.CIRCLE or output_canvas(size, crop, output_size) != size


def crop_and_resize(
    image: Image.Image,
    *,
    crop: Crop = Crop.NONE,
    focus: Focus = Focus.CENTER,
    output_size: int | None = None,
) -> Image.Image:
    """A new image: ``image`` cropped (square and circle keep a square, the one ``focus``
    picks) and scaled so its longer side is ``output_size`` px (None: unchanged). Circle
    crops get transparent, anti-aliased corners. ``image`` is not modified."""
    return framed(image, (), crop=crop, focus=focus, output_size=output_size)[0]


Window = tuple[int, int, int, int]
"""(left, top, right, bottom) of the part of an image a crop keeps, in px."""


def crop_window(image: Image.Image, faces: Sequence[Face], *, crop: Crop, focus: Focus) -> Window:
    """The part of ``image`` a crop keeps: all of it, or the square ``square_window`` picks."""
    if crop is not Crop.NONE and image.width != image.height:
        return square_window(image, focus, faces, circle=crop is Crop.CIRCLE)
    return (0, 0, image.width, image.height)


def framed(
    image: Image.Image,
    faces: Sequence[Face],
    *,
    crop: Crop,
    focus: Focus,
    output_size: int | None,
    window: Window | None = None,
) -> tuple[Image.Image, tuple[Face, ...]]:
    """``crop_and_resize`` of ``image`` with ``Focus.AUTO`` keeping the ``faces`` (px of
    ``image``) whole where a square can, and the faces in px of the new image; ``window``:
    the part to keep, already chosen (None: ``crop_window``'s)."""
    if window is None:
        window = crop_window(image, faces, crop=crop, focus=focus)
    width, height = window[2] - window[0], window[3] - window[1]
    target = output_canvas((width, height), Crop.NONE, output_size)
    scale = (target[0] / width, target[1] / height)
    moved = tuple(face.moved((window[0], window[1]), scale) for face in faces)
    return _cut(image, window, target, crop), moved


def _cut(
    image: Image.Image, window: tuple[int, int, int, int], target: tuple[int, int], crop: Crop
) -> Image.Image:
    """A new image of ``window`` of ``image`` at ``target`` size, masked for a circle crop."""
    width, height = window[2] - window[0], window[3] - window[1]
    if target != (width, height):
        # Resizing straight from the window spares a copy of the crop.
        result = image.resize(
            target, Image.Resampling.LANCZOS, box=window, reducing_gap=RESIZE_REDUCING_GAP
        )
    elif window != (0, 0, image.width, image.height):
        result = crop_region(image, window)
    else:
        result = image
    if crop is Crop.CIRCLE:
        return apply_circle_mask(result)
    return result.copy() if result is image else result


def circle_mask(size: tuple[int, int]) -> Image.Image:
    """An L mask of the circle inscribed in ``size``, anti-aliased over one pixel."""
    width, height = size
    radius = min(width, height) / 2
    y = np.arange(height) + 0.5 - height / 2
    x = np.arange(width) + 0.5 - width / 2
    distance = np.hypot(x[None, :], y[:, None]) - radius
    coverage = np.clip(0.5 - distance, 0.0, 1.0)
    return Image.fromarray(np.rint(coverage * 255).astype(np.uint8), "L")


def apply_circle_mask(image: Image.Image) -> Image.Image:
    """``image`` as RGBA with everything outside the inscribed circle transparent.

    Fully transparent pixels are cleared to black as well: the colours a crop hides must not
    stay in the file, where any tool that drops the alpha channel would show them.
    """
    rgba = np.array(image.convert("RGBA") if image.mode != "RGBA" else image)
    mask = np.asarray(circle_mask((image.width, image.height)))
    np.minimum(rgba[..., 3], mask, out=rgba[..., 3])
    rgba[rgba[..., 3] == 0] = 0
    return Image.fromarray(rgba, "RGBA")
