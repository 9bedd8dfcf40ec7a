"""The pixel limits of an input, checked from its header: frames, pages, a JPEG's density."""

from __future__ import annotations

import math
from typing import IO

from PIL import Image, JpegImagePlugin

from blueheart.core.errors import (
    ImageTooLargeError,
    OutputTooLargeError,
    TooManyPixelsError,
    UnreadableImageError,
)
from blueheart.core.framing import output_canvas, output_side
from blueheart.core.options import BadgeOptions
from blueheart.io.costs import (
    MAX_PAGES,
    check_jpeg_scans,
    check_pages,
    jpeg_scans,
)
from blueheart.io.decoding import DECODE_ERRORS

ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "AVIF")
MULTI_FRAME_FORMATS = (*ANIMATED_FORMATS, "TIFF")
"""Formats that store several frames; written as another, an animation keeps its first."""
PAGED_FORMATS = ("TIFF",)
"""Formats whose every page is badged (when written in the same format)."""
MAX_FRAMES = 10_000
"""Frames an animation may have: every frame is held until the output is encoded."""
MAX_ANIMATION_PIXELS = 100_000_000
"""Frames x width x height of an animation, at most (or ``max_pixels`` if lower): a few
kilobytes of WebP or GIF can claim a huge canvas, and every frame is re-encoded."""
_JPEG_PIXELS_PER_BYTE = 1024
"""At most this many pixels a byte of a JPEG's entropy-coded data: Huffman coding spends at least
a bit on each 8x8 block's DC (a flat grey 8000x6000 JPEG, optimised, holds 256 a byte). More is
a header lying about its size, and decoding a progressive one would still cost seconds and a
gigabyte. Only the scans count: comments, EXIF or bytes after the end can pad a file at will."""


def check_pixels(size: tuple[int, int], name: str, max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise UnreadableImageError(f"{name}: the image has no pixels ({width}x{height})")
    pixels = width * height
    if pixels > max_pixels:
        raise TooManyPixelsError(
            f"{name}: {width}x{height} is {pixels:,} pixels, over the limit of {max_pixels:,}"
        )


def check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    check_pixels(image.size, name, max_pixels)
    width, height = image.size
    pixels = width * height
    frames = frame_count(image)
    if frames > MAX_FRAMES:
        raise ImageTooLargeError(
            f"{name}: {frames:,} frames, over the limit of {MAX_FRAMES:,} for an animation"
        )
    if image.format in PAGED_FORMATS:
        check_pages(frames, name)
        # Pages have sizes and data of their own, as separate images would.
        pages = sum(width * height for width, height in _page_sizes(image))
        if pages > max_pixels:
            raise TooManyPixelsError(
                f"{name}: {frames:,} pages of {pages:,} pixels in all, "
                f"over the limit of {max_pixels:,}"
            )
        return
    animation_limit = min(max_pixels, MAX_ANIMATION_PIXELS)
    if frames > 1 and frames * pixels > animation_limit:
        # Over ``max_pixels`` itself, or over the animations' own, lower limit.
        refused = TooManyPixelsError if animation_limit == max_pixels else ImageTooLargeError
        raise refused(
            f"{name}: {frames:,} frames of {width}x{height} are {frames * pixels:,} pixels, "
            f"over the limit of {animation_limit:,} for an animation"
        )


def check_density(image: Image.Image, name: str, stream: IO[bytes]) -> None:
    if not isinstance(image, JpegImagePlugin.JpegImageFile):
        return
    needed = math.ceil(image.width * image.height / _JPEG_PIXELS_PER_BYTE)
    position = stream.tell()
    found = _entropy_coded_bytes(stream, needed)
    stream.seek(position)
    if found < needed:
        raise ImageTooLargeError(
            f"{name}: claims {image.width}x{image.height} pixels in {found:,} bytes of image "
            "data, more than a JPEG can hold (a damaged or hostile header)"
        )
    check_jpeg_scans(stream, name)


def _entropy_coded_bytes(stream: IO[bytes], enough: int) -> int:
    """Bytes of entropy-coded data in the JPEG ``stream``, over all its scans up to the end of
    image, counted until there are ``enough``: only scans are read, and only as far as
    ``enough`` bytes (a few hundred kilobytes for the largest photo)."""
    total = 0
    for length in jpeg_scans(stream, longest=enough):
        total += length
        if total >= enough:
            break
    return total


def _page_sizes(image: Image.Image) -> list[tuple[int, int]]:
    """The size of each page, up to the first that cannot be read (a damaged chain of pages
    keeps those before it, as a reader showing the first page would)."""
    sizes = [image.size]
    while len(sizes) <= MAX_PAGES:
        try:
            image.seek(len(sizes))  # reads the page's header only
        except DECODE_ERRORS:
            break
        sizes.append(image.size)
    image.seek(0)
    return sizes


def frame_count(image: Image.Image) -> int:
    """How many frames will be badged: all of an animation or of a TIFF's pages, one of
    anything else."""
    if image.format in PAGED_FORMATS:
        return len(_page_sizes(image))
    if image.format not in ANIMATED_FORMATS:
        return 1
    return int(getattr(image, "n_frames", 1))


def check_frames_written(
    image: Image.Image, upright: tuple[int, int], options: BadgeOptions
) -> None:
    """Raise ``OutputTooLargeError`` when ``output_size`` would make an animation's or a TIFF's
    frames, all together, more pixels than its input may have: each frame is scaled (1,000
    pages of 316x316 at 4096 px took 22 GB), checked before any is decoded."""
    frames = frame_count(image)
    if options.output_size is None or frames < 2:
        return
    side = output_side(upright, options.crop, options.output_size, enlarge=options.enlarge)
    width, height = output_canvas(upright, options.crop, side)
    limit = options.max_pixels
    if image.format not in PAGED_FORMATS:
        limit = min(limit, MAX_ANIMATION_PIXELS)
    if frames * width * height > limit:
        raise OutputTooLargeError(
            "output_size",
            f"{options.output_size} px makes {frames:,} frames of {width}x{height}, "
            f"{frames * width * height:,} pixels, over the limit of {limit:,}",
        )
