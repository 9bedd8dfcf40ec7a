"""A photo framed as its badged output will be, small, and where the emblem will sit: the
page's preview (``preview_bytes``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from blueheart.core.framing import output_canvas, output_side
from blueheart.core.options import BadgeOptions, Crop, hex_to_rgb, resolve_options
from blueheart.core.units import Length, Unit
from blueheart.io.badging import (
    check_room_early,
    custom_emblem_of,
    decode,
    draft,
    file_bytes,
    room_for_emblem,
    upright_size,
    without_file_metadata,
)
from blueheart.io.decoding import decoding
from blueheart.io.encoding import EncodeSettings, Frame, encode
from blueheart.io.metadata import Metadata
from blueheart.io.reading import open_image

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from blueheart.core.options import OptionValues
PREVIEW_SIDE = 640
"""The preview's longer side at most, in px: sharp on a phone, quick to send."""
PREVIEW_QUALITY = 85


@dataclass(frozen=True)
class Preview:
    """A photo framed as its badged output will be, small, and where the emblem will sit.

    ``jpeg``: the upright, cropped photo (a circle crop stays square), longer side at most the
    preview side, ICC profile kept and no other metadata; ``size``: its (width, height) px;
    ``output_size``: the (width, height) px of the output ``badge_bytes`` would make;
    ``box``: the emblem's (left, top, right, bottom) as fractions of the picture's width and
    height, the same in the preview and the output (up to a pixel of rounding).
    """

    jpeg: bytes
    size: tuple[int, int]
    output_size: tuple[int, int]
    box: tuple[float, float, float, float]


def preview_bytes(
    data: bytes | bytearray | memoryview,
    options: BadgeOptions | None = None,
    *,
    max_side: int = PREVIEW_SIDE,
    **overrides: Unpack[OptionValues],
) -> Preview:
    """Frame an image file held in memory as ``badge_bytes`` would, small, without the emblem.

    For a page that draws the emblem over the photo and lets people move it: ``box`` places it
    as the output would, and ``at`` (the box's centre) puts it back there. A JPEG is decoded at
    a reduced scale, so a 12-megapixel photo is never decoded whole. ``max_side`` is the
    preview's longer side at most, in px. Raises what ``badge_bytes`` raises.
    """
    data = file_bytes(data)
    resolved = resolve_options(options, overrides)
    with open_image(data, name="input", max_pixels=resolved.max_pixels) as image, decoding("input"):
        check_room_early(image, resolved)
        upright = upright_size(image)
        side = output_side(upright, resolved.crop, resolved.output_size, enlarge=resolved.enlarge)
        output = output_canvas(upright, resolved.crop, side)
        side = min(max_side, max(output))
        square = Crop.SQUARE if resolved.crop is Crop.CIRCLE else resolved.crop
        framing = resolved.replace(crop=square, output_size=side)
        draft(image, framing)
        decode(image)
        from blueheart.core.pipeline import framed_frame, plan_badge

        framed = framed_frame(image, framing, side, keep_cmyk=False, in_place=True)
        photo, icc = framed.image, framed.icc
        scaled = _scaled(resolved, photo.width / output[0], square=output[0] == output[1])
        with room_for_emblem(upright, resolved):
            plan = plan_badge(photo, scaled, icc, custom_emblem_of(resolved), framed.faces)
        settings = EncodeSettings("JPEG", PREVIEW_QUALITY, hex_to_rgb(resolved.background))
        preview = without_file_metadata(photo)
        jpeg = encode([Frame(preview, None)], settings, Metadata(icc, None, None))
    width, height = photo.size
    box = plan.box
    return Preview(
        jpeg,
        photo.size,
        output,
        (box.left / width, box.top / height, box.right / width, box.bottom / height),
    )


def _scaled(options: BadgeOptions, scale: float, *, square: bool) -> BadgeOptions:
    """``options`` for a copy of the output scaled by ``scale``: pixel lengths scaled, and
    circle-safe decided by the output's shape, not the copy's rounded one."""

    def length(value: Length) -> Length:
        return Length.px(value.value * scale) if value.unit is Unit.PX else value

    return options.replace(
        size=length(options.size),
        margin=length(options.margin),
        offset=(length(options.offset[0]), length(options.offset[1])),
        circle_safe=square if options.circle_safe is None else options.circle_safe,
    )
