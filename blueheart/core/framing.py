"""The output's frame: its size in px from the input's, known before any pixel is decoded."""

from __future__ import annotations

from blueheart.core.options import BadgeOptions, Crop
from blueheart.core.units import round_px


def framed_size(size: tuple[int, int], crop: Crop) -> tuple[int, int]:
    """The (width, height) in px of what a crop keeps of an upright image of ``size``: the
    square of its shorter side, or all of it when not cropped."""
    return (min(size), min(size)) if crop is not Crop.NONE else size


def output_side(
    size: tuple[int, int], crop: Crop, output_size: int | None, *, enlarge: bool = True
) -> int | None:
    """The output's longer side in px for an upright image of ``size``: ``output_size``, or
    None (the framed size kept) when ``enlarge`` is False and what the crop keeps is no
    larger than ``output_size``."""
    if output_size is None or enlarge or max(framed_size(size, crop)) > output_size:
        return output_size
    return None


def output_canvas(size: tuple[int, int], crop: Crop, output_size: int | None) -> tuple[int, int]:
    """The output's (width, height) in px for an upright image of ``size``: a square of the
    shorter side when cropped, scaled so the longer side is ``output_size`` (None: unchanged)."""
    width, height = framed_size(size, crop)
    if output_size is None or max(width, height) == output_size:
        return width, height
    scale = output_size / max(width, height)
    return max(1, round_px(width * scale)), max(1, round_px(height * scale))


def keeps_frame(size: tuple[int, int], options: BadgeOptions) -> bool:
    """Whether the output of an image of ``size`` keeps its frame: neither cropped nor resized."""
    side = output_side(size, options.crop, options.output_size, enlarge=options.enlarge)
    return options.crop is Crop.NONE and output_canvas(size, options.crop, side) == size
