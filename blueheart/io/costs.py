"""What a file's structure would cost to decode or write, bounded before any pixel is decoded:
a JPEG's scans, a TIFF's pages, an embedded ICC profile. Pure functions over a stream or header
values, each raising one ``BlueheartError`` line (or returning what it measured)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import IO

from blueheart.core.errors import ImageTooLargeError

MAX_JPEG_SCANS = 100
"""Scans a JPEG may hold. Decoding costs every scan a pass over the image's blocks, at any
scale, so a few kilobytes of small scans repeated a thousand times cost a 100-megapixel
progressive JPEG 41 s (5,000: 291 s). Real files hold 1 to 4 (baseline: one per component) or
5 to 18 (progressive: libjpeg's script 10, 18 for CMYK; mozjpeg's 5 to 12; the cameras' and
phones' photos of tests/data and the fuzz corpus 1 or 10); 100 leaves room for any encoder's
script and refuses repetition."""
MAX_PAGES = 1_000
"""Pages a TIFF may hold. Pillow's TIFF writer walks every page written so far to append the
next one, so writing costs time quadratic in the pages (100x100 pages: 1,000 in 2.2 s, 2,500 in
6 s, 9,999 in 108 s), and counting them walks the file too. Photos have one page; scanned
documents some hundreds."""
MAX_ICC_BYTES = 4 << 20
"""Bytes an embedded ICC profile may hold. Real ones are far smaller (sRGB 3 KB, Display P3
0.5 KB, the largest printers' CMYK profiles about 2 MB); a larger one is a file carrying
something else (30 MB of it reached previews), so the file is refused before decoding."""
_ICC_HEADER = 128
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})
"""TEM, RST0-7 and SOI: markers without a length."""
JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
"""A marker that ends entropy-coded data (not a stuffed zero, not a restart marker)."""
SCAN_CHUNK = 1 << 16
"""Bytes read at a time while looking for the end of a scan."""


def check_pages(pages: int, name: str) -> None:
    """Raise ``ImageTooLargeError`` for a TIFF of more than ``MAX_PAGES`` pages (``pages`` is
    counted up to one more)."""
    if pages > MAX_PAGES:
        raise ImageTooLargeError(
            f"{name}: more than {MAX_PAGES:,} pages, over the limit for a TIFF "
            "(each page costs time that grows with the pages before it)"
        )


def checked_profile(icc_profile: object, name: str) -> bytes | None:
    """An image's embedded ICC profile if it is whole, None if it is damaged (nothing to trust:
    the pixels are taken as sRGB); ``ImageTooLargeError`` when it is over ``MAX_ICC_BYTES``."""
    if not isinstance(icc_profile, bytes) or not icc_profile:
        return None
    if len(icc_profile) > MAX_ICC_BYTES:
        raise ImageTooLargeError(
            f"{name}: an ICC profile of {len(icc_profile):,} bytes, over the limit of "
            f"{MAX_ICC_BYTES:,}"
        )
    return icc_profile if profile_is_whole(icc_profile) else None


def profile_is_whole(icc_profile: bytes) -> bool:
    """Whether an ICC profile is within ``MAX_ICC_BYTES`` and exactly as long as its header
    says: bytes after its declared end (anything at all) never travel with it."""
    declared = int.from_bytes(icc_profile[:4], "big")
    return _ICC_HEADER <= len(icc_profile) <= MAX_ICC_BYTES and declared == len(icc_profile)


def check_jpeg_scans(stream: IO[bytes], name: str) -> None:
    """Raise ``ImageTooLargeError`` when the JPEG ``stream`` holds more than ``MAX_JPEG_SCANS``
    scans; the stream's position is kept."""
    position = stream.tell()
    scans = jpeg_scan_count(stream, MAX_JPEG_SCANS + 1)
    stream.seek(position)
    if scans > MAX_JPEG_SCANS:
        raise ImageTooLargeError(
            f"{name}: more than {MAX_JPEG_SCANS} scans in a JPEG (a hostile file: "
            "each scan costs a pass over the whole image)"
        )


def jpeg_scan_count(stream: IO[bytes], most: int) -> int:
    """How many start-of-scan markers the JPEG ``stream`` holds up to its end of image,
    counted up to ``most``."""
    return sum(1 for _ in itertools.islice(jpeg_scans(stream), most))


def jpeg_scans(stream: IO[bytes], longest: int | None = None) -> Iterator[int]:
    """The length of each scan's entropy-coded data in the JPEG ``stream``, in order, up to
    its end of image. Walks the markers, seeking over segments; a scan is read only to its
    end, or to ``longest`` bytes (then ``longest`` is given, and the walk ends there)."""
    position = 2  # after the start-of-image marker
    while True:
        stream.seek(position)
        head = stream.read(4)
        if len(head) < 2 or head[0] != 0xFF or head[1] == _JPEG_EOI:
            return
        if head[1] == 0xFF:  # fill byte before a marker
            position += 1
        elif head[1] in JPEG_STANDALONE_MARKERS:
            position += 2
        elif len(head) < 4:
            return
        else:
            position += 2 + int.from_bytes(head[2:4], "big")
            if head[1] == _JPEG_SOS:
                length = _scan_length(stream, position, longest)
                yield length
                if longest is not None and length >= longest:
                    return
                position += length


def _scan_length(stream: IO[bytes], start: int, longest: int | None) -> int:
    """Length of the entropy-coded data at ``start``, up to its next marker or the file's
    end (``longest`` if it is at least that long)."""
    offset = start
    while longest is None or offset - start < longest:
        stream.seek(offset)
        chunk = stream.read(SCAN_CHUNK)
        found = JPEG_SCAN_END.search(chunk)
        if found:
            return offset + found.start() - start
        if len(chunk) < 2:
            return offset + len(chunk) - start
        offset += len(chunk) - 1  # a marker may straddle the chunk's end
    return longest
