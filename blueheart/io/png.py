"""A PNG as Pillow should read it: the chunk walk that skips what is not needed, in a budget."""

from __future__ import annotations

import bisect
import io
import itertools
import re
import struct
import zlib
from typing import IO, Any

from PIL import PngImagePlugin

from blueheart.core.errors import ImageTooLargeError, UnreadableImageError
from blueheart.io.costs import SCAN_CHUNK

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PIXEL_CHUNKS = (b"IDAT", b"fdAT")
_PNG_TEXT_CHUNKS = (b"zTXt", b"iTXt")
_PNG_KNOWN_CHUNKS = frozenset(
    name.removeprefix("chunk_").encode("ascii")
    for name in dir(PngImagePlugin.PngStream)
    if name.startswith("chunk_")
)
"""The chunks Pillow's PNG reader uses; it reads any other whole, only to ignore it."""
_PNG_CHUNK_TYPE = re.compile(rb"\w{4}")
"""What Pillow takes for a chunk's type (the standard says letters; Pillow reads digits too)."""
_PNG_ANCILLARY = 0x20
"""The case bit of a chunk type's first letter: set (lower case) for an ancillary chunk."""
MAX_PNG_CHUNKS = 1_000_000
"""Chunks a PNG may have: a 250-megapixel PNG in libpng's 8 KB chunks has some 300,000."""


def png_as_read(stream: IO[bytes], name: str) -> IO[bytes]:
    """``stream``, a PNG, without the chunks Pillow would read whole for nothing.

    Pillow reads every chunk before and after the pixels into memory, whatever its length: a
    64x64 PNG with a 1.5 GB private chunk took 3 GB. Unknown chunks are left out (Pillow
    ignores them anyway), as are compressed texts Pillow would refuse the whole file for
    (they expand past ``MAX_TEXT_CHUNK``) and metadata beyond ``MAX_TEXT_MEMORY`` bytes in
    all; the pixels' chunks are streamed by the decoder, as they are.
    """
    segments = _png_kept_ranges(stream, name)
    if segments is None:
        return stream
    return io.BufferedReader(_Spliced(stream, segments))


def _png_kept_ranges(stream: IO[bytes], name: str) -> list[tuple[int, int]] | None:
    """The (offset, length) ranges of the PNG ``stream`` that Pillow should see; None for all.

    Walks the chunks by their headers, seeking over their data; a header that is not a
    chunk's ends the walk (Pillow says the file is broken when it gets there)."""
    kept: list[tuple[int, int]] = []
    start, position = 0, len(PNG_SIGNATURE)  # ``start``: where the range being kept began
    budget = PngImagePlugin.MAX_TEXT_MEMORY
    for _ in range(MAX_PNG_CHUNKS):
        stream.seek(position)
        header = stream.read(8)
        length, kind = struct.unpack(">I4s", header) if len(header) == 8 else (0, b"")
        if not _PNG_CHUNK_TYPE.fullmatch(kind):
            break
        end = position + 12 + length
        if not _png_chunk_kept(stream, kind, length, budget, name):
            kept.append((start, position - start))
            start = end
        elif kind not in _PNG_PIXEL_CHUNKS:
            budget -= length
        if kind == b"IEND":
            break
        position = end
    else:
        raise UnreadableImageError(f"{name}: more than {MAX_PNG_CHUNKS:,} PNG chunks")
    if not kept:
        return None
    return [*kept, (start, max(0, stream.seek(0, io.SEEK_END) - start))]


def _png_chunk_kept(stream: IO[bytes], kind: bytes, length: int, budget: int, name: str) -> bool:
    """Whether Pillow should see this chunk (``stream`` at its data); ``budget``: the bytes
    of metadata it may still read."""
    if kind in _PNG_PIXEL_CHUNKS:
        return True
    if kind not in _PNG_KNOWN_CHUNKS:
        return False
    if length > budget:
        if kind[0] & _PNG_ANCILLARY:
            return False
        raise UnreadableImageError(
            f"{name}: a {length:,}-byte {kind.decode()} chunk (a damaged PNG)"
        )
    if kind == b"iCCP" and _png_unpacks_too_far(stream, kind, length):
        # Pillow refuses the file for it, in words of its own code.
        raise ImageTooLargeError(
            f"{name}: an ICC profile that unpacks to over {PngImagePlugin.MAX_TEXT_CHUNK:,} "
            "bytes, over the limit for a PNG"
        )
    return kind not in _PNG_TEXT_CHUNKS or not _png_unpacks_too_far(stream, kind, length)


def _png_unpacks_too_far(stream: IO[bytes], kind: bytes, length: int) -> bool:
    """Whether the compressed text or profile chunk at ``stream`` expands past what Pillow
    reads (it would refuse the whole file); read a piece at a time, as far as needed."""
    head = stream.read(min(length, SCAN_CHUNK))
    offset = _png_compressed_data(kind, head)
    if offset is None:
        return False
    limit, produced, read = PngImagePlugin.MAX_TEXT_CHUNK, 0, len(head)
    expander, piece = zlib.decompressobj(), head[offset:]
    while piece and not expander.eof:
        try:
            produced += len(expander.decompress(piece, limit + 1 - produced))
        except zlib.error:
            return False  # Pillow reads the rest of the file, and says it is damaged
        if produced > limit:
            return True
        piece = stream.read(min(length - read, SCAN_CHUNK))
        read += len(piece)
    return False


def _png_compressed_data(kind: bytes, head: bytes) -> int | None:
    """Where the compressed data starts in a zTXt, iTXt or iCCP chunk starting ``head``; None
    if it is not compressed (or the header does not fit in ``head``)."""
    keyword_end = head.find(b"\0")
    if keyword_end < 0:
        return None
    if kind in (b"zTXt", b"iCCP"):
        return keyword_end + 2  # after the compression method
    if head[keyword_end + 1 : keyword_end + 2] != b"\1":  # the compression flag
        return None
    language_end = head.find(b"\0", keyword_end + 3)
    translated_end = head.find(b"\0", language_end + 1) if language_end >= 0 else -1
    return translated_end + 1 if translated_end >= 0 else None


class _Spliced(io.RawIOBase):
    """A read-only view of ``stream`` showing only the byte ranges ``segments`` ((offset,
    length) each, in order), one after another."""

    def __init__(self, stream: IO[bytes], segments: list[tuple[int, int]]) -> None:
        super().__init__()
        self._stream = stream
        self._segments = [segment for segment in segments if segment[1] > 0]
        lengths = (length for _, length in self._segments)
        self._starts = list(itertools.accumulate(lengths, initial=0))
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._starts[-1]}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        index = bisect.bisect_right(self._starts, self._position) - 1
        if index >= len(self._segments):
            return 0
        offset, length = self._segments[index]
        skipped = self._position - self._starts[index]
        self._stream.seek(offset + skipped)
        data = self._stream.read(min(len(buffer), length - skipped))
        memoryview(buffer)[: len(data)] = data
        self._position += len(data)
        return len(data)
