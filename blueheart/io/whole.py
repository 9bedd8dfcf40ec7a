"""Whether an output looks whole (its ends checked, nothing decoded), for a re-run."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import IO

from PIL import UnidentifiedImageError

from blueheart.core.errors import BlueheartError
from blueheart.core.formats import format_of_name
from blueheart.io.decoding import DECODE_ERRORS
from blueheart.io.reading import open_header, open_regular

_TRAILERS = {"JPEG": b"\xff\xd9", "PNG": b"\0\0\0\0IEND\xaeB`\x82", "GIF": b"\0;"}
"""How a whole file of each format ends: JPEG's end-of-image marker, PNG's IEND chunk, GIF's
last block terminator and trailer."""


def looks_whole(path: Path) -> bool:
    """Whether the existing output at ``path`` is whole as far as its ends tell: not empty,
    and ending as a file of the format its name gives ends (WebP, BMP: the size in the
    header; AVIF: the boxes; TIFF: every page's data inside the file).

    A cheap check, a few small reads without decoding, that an empty file and one cut short
    (a crash, a power cut before its data reached the disk) fail. A file that cannot be read,
    or is not regular, counts as whole: only what is seen to be damaged is replaced."""
    try:
        with open_regular(path, str(path)) as handle:
            size = os.fstat(handle.fileno()).st_size
            return size > 0 and _ends_whole(handle, size, format_of_name(path.suffix))
    except (OSError, BlueheartError):
        return True


def _ends_whole(handle: IO[bytes], size: int, fmt: str | None) -> bool:
    """Whether the ``size`` bytes of ``handle`` end as a file of ``fmt`` ends."""
    descriptor = handle.fileno()
    if fmt in _TRAILERS:
        trailer = _TRAILERS[fmt]
        return os.pread(descriptor, len(trailer), max(size - len(trailer), 0)) == trailer
    head = os.pread(descriptor, 12, 0).ljust(12, b"\0")
    if fmt == "WEBP":
        riff = struct.unpack("<I", head[4:8])[0]
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP" and riff + 8 == size
    if fmt == "BMP":
        return head[:2] == b"BM" and struct.unpack("<I", head[2:6])[0] == size
    if fmt == "AVIF":
        return head[4:8] == b"ftyp" and _boxes_fill(descriptor, size)
    if fmt == "TIFF":
        return _pages_inside(handle, size)
    return True


def _boxes_fill(descriptor: int, size: int) -> bool:
    """Whether the top-level boxes of an ISO media file (AVIF) end exactly at ``size``."""
    offset = 0
    while offset < size:
        head = os.pread(descriptor, 16, offset)
        if len(head) < 8:
            return False
        length = struct.unpack(">I", head[:4])[0]
        if length == 1 and len(head) == 16:  # a 64-bit size follows the type
            length = struct.unpack(">Q", head[8:16])[0]
        elif length == 0:  # the last box, to the end of the file
            return True
        if length < 8:
            return False
        offset += length
    return offset == size


_TIFF_DATA_TAGS = ((273, 279), (324, 325))
"""(offsets, byte counts) of a TIFF page's strips, and of its tiles."""


def _pages_inside(handle: IO[bytes], size: int) -> bool:
    """Whether every page of a TIFF reads and its strips or tiles lie inside ``size`` bytes."""
    try:
        with open_header(handle, ["TIFF"]) as image:
            while True:
                tags = image.tag_v2
                for offsets, counts in _TIFF_DATA_TAGS:
                    ends = zip(tags.get(offsets, ()), tags.get(counts, ()), strict=False)
                    if any(start + count > size for start, count in ends):
                        return False
                if not tags.next:  # the last page
                    return True
                image.seek(image.tell() + 1)
    except (UnidentifiedImageError, *DECODE_ERRORS):
        return False
