"""A contact sheet: many results in one picture, each under the circular mask platforms apply."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from blueheart.crop import circle_mask, square_window
from blueheart.errors import BlueheartError
from blueheart.imagefile import decoding, open_image
from blueheart.options import DEFAULT_MAX_PIXELS, Focus

SHEET_BACKGROUND = (236, 239, 242)
MASK_OUTLINE = (160, 168, 176)


def contact_sheet(
    sources: Iterable[str | Path], *, cell: int = 200, columns: int | None = None, gap: int = 8
) -> Image.Image:
    """A new RGB image with one ``cell`` px square per readable image in ``sources``.

    Each photo is shown as a platform shows an avatar: its centred square, with everything
    outside the inscribed circle dimmed and the circle outlined, so a badge the mask would cut
    is easy to spot. ``columns`` defaults to a near-square grid; unreadable files are left
    out. Raises ``ValueError`` if ``cell`` or ``columns`` is below 1.
    """
    if cell < 1 or (columns is not None and columns < 1):
        raise ValueError("cell and columns must be 1 or more")
    tiles = [tile for tile in (_tile(Path(source), cell) for source in sources) if tile]
    count = max(1, len(tiles))
    across = columns or math.ceil(math.sqrt(count))
    down = math.ceil(count / across)
    sheet = Image.new(
        "RGB", (gap + across * (cell + gap), gap + down * (cell + gap)), SHEET_BACKGROUND
    )
    for index, tile in enumerate(tiles):
        row, column = divmod(index, across)
        sheet.paste(tile, (gap + column * (cell + gap), gap + row * (cell + gap)))
    return sheet


def _tile(path: Path, cell: int) -> Image.Image | None:
    try:
        with (
            open_image(path, name=str(path), max_pixels=DEFAULT_MAX_PIXELS) as image,
            decoding(str(path)),
        ):
            image.draft("RGB", (cell, cell))
            upright = ImageOps.exif_transpose(image) or image
            square = upright.crop(square_window(upright, Focus.CENTER))
            photo = square.convert("RGBA").resize((cell, cell), Image.Resampling.LANCZOS)
    except BlueheartError:
        return None
    backdrop = Image.new("RGBA", photo.size, (*SHEET_BACKGROUND, 255))
    shown = Image.alpha_composite(backdrop, photo).convert("RGB")
    dimmed = Image.blend(shown, Image.new("RGB", shown.size, SHEET_BACKGROUND), 0.8)
    dimmed.paste(shown, mask=circle_mask(shown.size))
    ImageDraw.Draw(dimmed).ellipse((0, 0, cell - 1, cell - 1), outline=MASK_OUTLINE)
    return dimmed
