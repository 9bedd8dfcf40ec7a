"""The output's frame: its size in px from the input's, known before any pixel is decoded."""

from __future__ import annotations

from blueheart.options import Crop
from blueheart.units import round_px


def framed_size(size: tuple[int, int], crop: Crop) -> tuple[int, int]:
    """The (width, height) in px of what a crop keeps of an upright image of ``size``: the
    square of its shorter side, or all of it when not cropped."""
    return (min(size), min(size)) if crop is not Crop.NONE else size


def output_canvas(size: tuple[int, int], crop: Crop, output_size: int | None) -> tuple[int, int]:
    """The output's (width, height) in px for an upright image of ``size``: a square of the
    shorter side when cropped, scaled so the longer side is ``output_size`` (None: unchanged)."""
    width, height = framed_size(size, crop)
    if output_size is None or max(width, height) == output_size:
        return width, height
    scale = output_size / max(width, height)
    return max(1, round_px(width * scale)), max(1, round_px(height * scale))
