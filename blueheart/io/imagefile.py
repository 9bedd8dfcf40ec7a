"""Opening images safely, encoding them with the metadata policy, and writing atomically."""

from __future__ import annotations

import bisect
import contextlib
import errno
import io
import itertools
import math
import os
import re
import secrets
import stat
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Importing a plugin registers its formats with Pillow: these are the readers and writers of
# READABLE_FORMATS (Image.init() would import all 47 plugins, 33 ms in every batch worker).
from PIL import (
    AvifImagePlugin,  # noqa: F401
    BmpImagePlugin,  # noqa: F401
    GifImagePlugin,  # noqa: F401
    Image,
    ImageFile,
    JpegImagePlugin,
    MpoImagePlugin,  # noqa: F401
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)

from blueheart.core.errors import (
    BlueheartError,
    ImageTooLargeError,
    NotAnImageError,
    OptionError,
    OutputExistsError,
    OutputWriteError,
    UnreadableImageError,
    UnsupportedFormatError,
    one_line,
)
from blueheart.core.formats import TEMP_SUFFIX, format_of_name
from blueheart.io.limits import (
    MAX_PAGES,
    check_jpeg_scans,
    check_pages,
    checked_profile,
    profile_is_whole,
)
from blueheart.io.metadata import Metadata

READABLE_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "TIFF", "BMP", "HEIF")
"""Pillow's opener for JPEG also yields MPO, the multi-picture JPEGs phones write."""
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "AVIF")
MULTI_FRAME_FORMATS = (*ANIMATED_FORMATS, "TIFF")
"""Formats that store several frames; written as another, an animation keeps its first."""
PAGED_FORMATS = ("TIFF",)
"""Formats whose every page is badged (when written in the same format)."""
DPI_FORMATS = ("JPEG", "PNG", "TIFF", "BMP")
"""Formats with a print-resolution field of their own (WebP and AVIF have only EXIF's)."""
DEFAULT_QUALITY = 90
PNG_COMPRESS_LEVEL = 1
"""zlib's fastest level. Pillow's default (6) spent 0.46 s of a 0.51 s 1080 px circle avatar
on deflate; level 1 takes 0.085 s for 17 % more bytes on a photo (up to 35 % on flat artwork)."""
MAX_FRAMES = 10_000
"""Frames an animation may have: every frame is held until the output is encoded."""
MAX_ANIMATION_PIXELS = 100_000_000
"""Frames x width x height of an animation, at most (or ``max_pixels`` if lower): a few
kilobytes of WebP or GIF can claim a huge canvas, and every frame is re-encoded."""
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1")
_SNIFF_BYTES = 32
_WEBP_CHUNKS_READ = 8
_FAX_COMPRESSIONS = ("group3", "group4", "tiff_ccitt")
_JPEG_SEGMENT_LIMITS = {"exif": 65533, "xmp": 65533 - 29, "comment": 65533}
"""Bytes Pillow's JPEG writer fits in one segment for each block (XMP has a 29-byte header)."""
_JPEG_PIXELS_PER_BYTE = 1024
"""At most this many pixels a byte of a JPEG's entropy-coded data: Huffman coding spends at least
a bit on each 8x8 block's DC (a flat grey 8000x6000 JPEG, optimised, holds 256 a byte). More is
a header lying about its size, and decoding a progressive one would still cost seconds and a
gigabyte. Only the scans count: comments, EXIF or bytes after the end can pad a file at will."""
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
_JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})
"""TEM, RST0-7 and SOI: markers without a length."""
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
"""What ends a scan's entropy-coded data: a marker other than a stuffed 0xFF00 or a restart."""
_SCAN_CHUNK = 1 << 16
_JPEG_BLOCK = 1 << 24
"""Bytes handed to the JPEG decoder per call, at most: a photo's whole file in one call. In
64 KB reads, Pillow's default, the decoder takes the GIL back some 30 times a photo, each
time waiting behind any busy thread. No more than the file holds (a larger buffer is fresh
memory every photo), nor than 16 MB (a small image trailed by gigabytes of junk stops
reading at its end). Only JPEG: a frame of an animation would read the rest."""

# What Pillow's decoders raise on damaged data; mapped to UnreadableImageError.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
    RuntimeError,  # the AVIF and HEIF plugins' word for a corrupt file
)

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

_heif_registered: bool | None = None


def _register_heif() -> bool:
    """Register pillow-heif's opener once, if the ``heif`` extra is installed."""
    global _heif_registered
    if _heif_registered is None:
        try:
            import pillow_heif
        except ImportError:
            _heif_registered = False
        else:
            pillow_heif.register_heif_opener()
            _heif_registered = True
    return _heif_registered


@contextlib.contextmanager
def decoding(name: str) -> Iterator[None]:
    """Turn whatever a decoder raises on a damaged image into one ``BlueheartError`` line.

    Warnings of Pillow's decoders about damage they work around are left to the host's warning
    filters: changing those filters is not thread-safe, and they belong to the host.
    """
    try:
        yield
    except (BlueheartError, OptionError):
        raise
    except Image.DecompressionBombError as error:
        # Pillow's WebP reader applies Pillow's own limit (the host's setting) while opening.
        raise ImageTooLargeError(f"{name}: {_reason(error)}") from error
    except _DECODE_ERRORS as error:
        raise _unreadable(error, name) from error


def _unreadable(error: BaseException, name: str) -> UnreadableImageError:
    """The one line for a file that could not be read: the OS's reason for a read that failed
    (EIO from a failing disk carries an errno; Pillow's own OSErrors about damage do not)."""
    if isinstance(error, OSError) and error.errno is not None:
        return UnreadableImageError(f"{name}: cannot read ({error.strerror or error})")
    return UnreadableImageError(f"{name}: cannot read the image ({_reason(error)})")


def _reason(error: BaseException) -> str:
    text = one_line(str(error)) or type(error).__name__
    return text[:200]


@contextlib.contextmanager
def open_image(source: Path | bytes, *, name: str, max_pixels: int) -> Iterator[Image.Image]:
    """Open ``source`` (a path or the file's bytes), check its size from the header, and
    close the file when the ``with`` block ends.

    Nothing is decoded yet. Raises ``UnreadableImageError`` for a missing file or data that is
    not an image, ``UnsupportedFormatError`` for HEIC without the ``heif`` extra, and
    ``ImageTooLargeError`` when width x height (x frames) exceeds ``max_pixels``.
    """
    stream: IO[bytes]
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open_regular(source, name)
    except FileNotFoundError:
        raise UnreadableImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UnreadableImageError(
            f"{name}: is a folder, not an image file (blueheart batch badges a folder)"
        ) from None
    except OSError as error:
        raise UnreadableImageError(f"{name}: cannot open ({error.strerror or error})") from error
    with stream:
        with decoding(name):  # a read error (a failing disk) is the file's one line too
            head = stream.read(_SNIFF_BYTES)
            shown = _png_as_read(stream, name) if head.startswith(PNG_SIGNATURE) else stream
        # pillow-heif takes ~35 ms to import: only a file that says it is HEIF pays for it.
        heif = _looks_heif(head) and _register_heif()
        formats = [f for f in READABLE_FORMATS if f != "HEIF" or heif]
        webp_canvas = _webp_canvas(head)
        if webp_canvas:
            # libwebp allocates the whole canvas as the file is opened: check it first.
            _check_pixels(webp_canvas, name, max_pixels)
        with decoding(name):
            try:
                image = _open_header(shown, formats)
            except UnidentifiedImageError:
                raise _unidentified(head, name) from None
        with image:
            with decoding(name):
                _check_size(image, name, max_pixels)
                _check_density(image, name, stream)
                if "icc_profile" in image.info:
                    image.info["icc_profile"] = checked_profile(image.info["icc_profile"], name)
            if isinstance(image, JpegImagePlugin.JpegImageFile):  # MPO too
                with decoding(name):
                    file_size = stream.seek(0, io.SEEK_END)
                image.decodermaxblock = max(ImageFile.MAXBLOCK, min(file_size, _JPEG_BLOCK))
            yield image


def _png_as_read(stream: IO[bytes], name: str) -> IO[bytes]:
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
    return kind not in _PNG_TEXT_CHUNKS or not _png_text_too_long(stream, kind, length)


def _png_text_too_long(stream: IO[bytes], kind: bytes, length: int) -> bool:
    """Whether the compressed text chunk at ``stream`` expands past what Pillow reads (it
    would refuse the whole file); read a piece at a time, as far as needed."""
    head = stream.read(min(length, _SCAN_CHUNK))
    offset = _png_compressed_text(kind, head)
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
        piece = stream.read(min(length - read, _SCAN_CHUNK))
        read += len(piece)
    return False


def _png_compressed_text(kind: bytes, head: bytes) -> int | None:
    """Where the compressed text starts in a zTXt or iTXt chunk starting ``head``; None if
    the text is not compressed (or the header does not fit in ``head``)."""
    keyword_end = head.find(b"\0")
    if keyword_end < 0:
        return None
    if kind == b"zTXt":
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


class _TiffImageFile(TiffImagePlugin.TiffImageFile):
    """Pillow's TIFF reader, allocating a page without Pillow's own bomb check: that check
    reads ``Image.MAX_IMAGE_PIXELS``, the host's setting, and ``open_image`` applied ours."""

    def load_prepare(self) -> None:
        if self._im is None:
            self.im = Image.new(self.mode, self._tile_size).im
        ImageFile.ImageFile.load_prepare(self)


_READERS: dict[str, type[ImageFile.ImageFile]] = {"TIFF": _TiffImageFile}
"""Readers used instead of the one Pillow registers for a format."""


def _open_header(stream: IO[bytes], formats: list[str]) -> Image.Image:
    """The image in ``stream``, opened by the first of Pillow's readers for ``formats`` that
    takes it; nothing is decoded. Raises ``UnidentifiedImageError`` if none does.

    Not ``Image.open``: it applies Pillow's bomb limit, ``Image.MAX_IMAGE_PIXELS``, a setting of
    the host program; ``_check_size`` applies ours right after, before anything is decoded.
    """
    stream.seek(0)
    prefix = stream.read(_SNIFF_BYTES)
    for fmt in formats:
        factory, accept = Image.OPEN.get(fmt, (None, None))
        # ``accept`` answers a string for a format whose codec Pillow was built without.
        if factory is None or (accept is not None and accept(prefix) is not True):
            continue
        stream.seek(0)
        try:
            return _READERS.get(fmt, factory)(stream, "")
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # what Pillow's readers raise for data of another format
    raise UnidentifiedImageError("cannot identify the image")


def _looks_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _unidentified(head: bytes, name: str) -> BlueheartError:
    if len(head) == 0:
        return NotAnImageError(f"{name}: empty file")
    if _looks_heif(head):
        return UnsupportedFormatError(
            f"{name}: HEIC/HEIF needs the heif extra "
            "(pip install '.[heif]' in a blueheart checkout, or pip install pillow-heif)"
        )
    return NotAnImageError(f"{name}: not an image blueheart can read")


def _webp_canvas(head: bytes) -> tuple[int, int] | None:
    """The canvas size the first chunk of a WebP file declares, if ``head`` is one's start."""
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(head[26:28], "little") & 0x3FFF,
            int.from_bytes(head[28:30], "little") & 0x3FFF,
        )
    return None


def _check_pixels(size: tuple[int, int], name: str, max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise UnreadableImageError(f"{name}: the image has no pixels ({width}x{height})")
    pixels = width * height
    if pixels > max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} is {pixels:,} pixels, over the limit of {max_pixels:,}"
        )


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    _check_pixels(image.size, name, max_pixels)
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
            raise ImageTooLargeError(
                f"{name}: {frames:,} pages of {pages:,} pixels in all, "
                f"over the limit of {max_pixels:,}"
            )
        return
    animation_limit = min(max_pixels, MAX_ANIMATION_PIXELS)
    if frames > 1 and frames * pixels > animation_limit:
        raise ImageTooLargeError(
            f"{name}: {frames:,} frames of {width}x{height} are {frames * pixels:,} pixels, "
            f"over the limit of {animation_limit:,} for an animation"
        )


def _check_density(image: Image.Image, name: str, stream: IO[bytes]) -> None:
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
    image, counted until there are ``enough``.

    Walks the markers, seeking over each segment; only scans are read, and only as far as
    ``enough`` bytes: a few hundred kilobytes for the largest photo.
    """
    position, total = 2, 0  # after the start-of-image marker
    while total < enough:
        stream.seek(position)
        head = stream.read(4)
        if len(head) < 2 or head[0] != 0xFF or head[1] == _JPEG_EOI:
            break
        if head[1] == 0xFF:  # fill byte before a marker
            position += 1
        elif head[1] in _JPEG_STANDALONE_MARKERS:
            position += 2
        elif len(head) < 4:
            break
        else:
            position += 2 + int.from_bytes(head[2:4], "big")
            if head[1] == _JPEG_SOS:
                scan = _scan_length(stream, position, enough - total)
                total += scan
                position += scan
    return total


def _scan_length(stream: IO[bytes], start: int, enough: int) -> int:
    """Length of the entropy-coded data at ``start``, up to the next marker (``enough`` if
    it is at least that long)."""
    offset = start
    while offset - start < enough:
        stream.seek(offset)
        chunk = stream.read(_SCAN_CHUNK)
        found = _JPEG_SCAN_END.search(chunk)
        if found:
            return offset + found.start() - start
        if len(chunk) < 2:
            return offset + len(chunk) - start
        offset += len(chunk) - 1  # a marker may straddle the chunk's end
    return enough


def _page_sizes(image: Image.Image) -> list[tuple[int, int]]:
    """The size of each page, up to the first that cannot be read (a damaged chain of pages
    keeps those before it, as a reader showing the first page would)."""
    sizes = [image.size]
    while len(sizes) <= MAX_PAGES:
        try:
            image.seek(len(sizes))  # reads the page's header only
        except _DECODE_ERRORS:
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


@dataclass(frozen=True)
class Frame:
    """One badged frame of the output and how long it shows (ms; None for a still)."""

    image: Image.Image
    duration: float | None
    disposal: int | None = None
    blend: int | None = None


@dataclass(frozen=True)
class EncodeSettings:
    """How to encode: format, quality (None keeps a JPEG's tables), JPEG background, loop."""

    format: str
    quality: int | None
    background: tuple[int, int, int]
    loop: int | None = None
    jpeg_tables: dict[int, list[int]] | None = None
    jpeg_subsampling: int | None = None
    progressive: bool = False
    tiff_compression: str | None = None
    lossless: bool = False
    """WebP only: encode without loss (kept from a lossless WebP when the quality is kept)."""


def jpeg_settings(image: Image.Image, *, reuse_tables: bool) -> dict[str, Any]:
    """A JPEG's progressiveness and, with ``reuse_tables``, its quantisation tables and
    subsampling, to reuse on save."""
    if not isinstance(image, JpegImagePlugin.JpegImageFile):
        return {}
    settings: dict[str, Any] = {
        "progressive": bool(image.info.get("progressive") or image.info.get("progression"))
    }
    if reuse_tables:
        settings["jpeg_tables"] = image.quantization
        settings["jpeg_subsampling"] = JpegImagePlugin.get_sampling(image)
    return settings


def is_lossless_webp(image: Image.Image) -> bool:
    """Whether ``image`` is an opened WebP whose (first) picture is stored without loss."""
    if not isinstance(image, ImageFile.ImageFile) or image.format != "WEBP" or image.fp is None:
        return False
    stream = image.fp
    stream.seek(12)
    # RIFF chunks: a still's VP8 (lossy) or VP8L (lossless) chunk comes after the VP8X, ICCP
    # and ANIM headers; an animation's first ANMF frame holds one after a 16-byte header.
    for _ in range(_WEBP_CHUNKS_READ):
        header = stream.read(8)
        if len(header) < 8:
            return False
        fourcc, size = header[:4], int.from_bytes(header[4:], "little")
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8L"
        if fourcc == b"ANMF":
            stream.seek(16, os.SEEK_CUR)
        else:
            stream.seek(size + size % 2, os.SEEK_CUR)
    return False


def encode(frames: list[Frame], settings: EncodeSettings, metadata: Metadata) -> bytes:
    """The output file's bytes: ``frames`` in ``settings.format`` with ``metadata``."""
    first = _for_format(frames[0].image, settings)
    params: dict[str, Any] = {}
    if metadata.icc_profile and _profile_fits(first, metadata.icc_profile):
        params["icc_profile"] = metadata.icc_profile
    fmt = settings.format
    if metadata.exif and fmt in ("JPEG", "PNG", "WEBP", "AVIF", "TIFF"):
        params["exif"] = metadata.exif
    if metadata.xmp and fmt in ("JPEG", "WEBP", "AVIF"):
        params["xmp"] = metadata.xmp
    if metadata.comment and fmt in ("JPEG", "GIF"):
        params["comment"] = metadata.comment
    if metadata.dpi and fmt in DPI_FORMATS:
        params["dpi"] = metadata.dpi
    if fmt == "JPEG":
        # One JPEG segment holds 64 KB: a PNG's or TIFF's larger XMP (Photoshop's history) or
        # EXIF cannot be stored, and losing it is better than failing the photo.
        for key, limit in _JPEG_SEGMENT_LIMITS.items():
            if len(params.get(key, b"")) > limit:
                del params[key]
        params.update(_jpeg_params(settings))
    elif fmt == "WEBP" and settings.lossless:
        params["lossless"] = True
    elif fmt in ("WEBP", "AVIF"):
        params["quality"] = settings.quality or DEFAULT_QUALITY
    elif fmt == "PNG":
        params["pnginfo"] = _png_info(metadata.text, metadata.xmp)
        params["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt == "TIFF" and settings.tiff_compression:
        # Fax schemes store one bit a pixel, and the badged scan is in colour now.
        fax = settings.tiff_compression in _FAX_COMPRESSIONS
        params["compression"] = "tiff_lzw" if fax else settings.tiff_compression
    if len(frames) > 1:
        params.update(_animation_params(frames, settings))
    buffer = io.BytesIO()
    first.save(buffer, fmt, **params)
    return buffer.getvalue()


def _for_format(image: Image.Image, settings: EncodeSettings) -> Image.Image:
    """``image`` in a mode the format stores; transparency flattened onto the background for
    JPEG and BMP, never onto black."""
    fmt = settings.format
    if fmt in ("JPEG", "BMP") and image.mode == "RGBA":
        backdrop = Image.new("RGB", image.size, settings.background)
        backdrop.paste(image, mask=image.getchannel("A"))
        return backdrop
    if image.mode == "CMYK" and fmt not in ("JPEG", "TIFF"):
        image = image.convert("RGB")
    if fmt == "GIF" and image.mode == "RGB":
        # Pillow's default median cut costs seconds a frame on large GIFs; the octree is
        # twenty times faster and keeps flat colours such as the heart's exact.
        return image.quantize(256, method=Image.Quantize.FASTOCTREE)
    return image


def _profile_fits(image: Image.Image, icc_profile: bytes) -> bool:
    from blueheart.core.compose import profile_matches_mode

    return profile_is_whole(icc_profile) and profile_matches_mode(icc_profile, image.mode)


def _jpeg_params(settings: EncodeSettings) -> dict[str, Any]:
    params: dict[str, Any] = {"progressive": settings.progressive, "optimize": False}
    if settings.quality is None and settings.jpeg_tables:
        params["qtables"] = settings.jpeg_tables
        if settings.jpeg_subsampling is not None and settings.jpeg_subsampling >= 0:
            params["subsampling"] = settings.jpeg_subsampling
    else:
        params["quality"] = settings.quality or DEFAULT_QUALITY
    return params


def _png_info(text: dict[str, str] | None, xmp: bytes | None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        if key != "XML:com.adobe.xmp":
            info.add_itxt(key, value)
    if xmp:
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", errors="replace"))
    return info


def _animation_params(frames: list[Frame], settings: EncodeSettings) -> dict[str, Any]:
    params: dict[str, Any] = {
        "save_all": True,
        "append_images": [_for_format(frame.image, settings) for frame in frames[1:]],
        # APNG stores fractions of a millisecond; the other writers take whole ones.
        "duration": [round(frame.duration or 0) for frame in frames],
    }
    if settings.loop is not None:
        params["loop"] = settings.loop
    disposals = {frame.disposal for frame in frames}
    if settings.format in ("GIF", "PNG") and None not in disposals:
        # One value when all agree: Pillow's GIF writer fails on a list when it merges two
        # identical frames (a pause held over two frames, common in real GIFs).
        params["disposal"] = (
            disposals.pop() if len(disposals) == 1 else [f.disposal for f in frames]
        )
    if settings.format == "PNG" and all(f.blend is not None for f in frames):
        params["blend"] = [frame.blend for frame in frames]
    return params


def save_image_atomic(image: Image.Image, path: Path, *, overwrite: bool) -> None:
    """Save ``image`` to ``path`` atomically, in the format its extension names (JPEG at
    quality 90 when it names none); see ``write_atomic``."""
    fmt = format_of_name(path.suffix) or "JPEG"
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": DEFAULT_QUALITY} if fmt == "JPEG" else {}))
    write_atomic(path, buffer.getvalue(), overwrite=overwrite)


_NAME_MAX = 255
"""Bytes in one file name on the usual file systems, when the folder cannot tell."""
_TEMP_RANDOM = 8
"""Random characters between a temporary file's prefix and its suffix."""
_TEMP_ATTEMPTS = 100
"""Random names tried before giving up: each clashes only with a file of the same name."""
_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is, in words: "a FIFO", "a folder", ..."""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "a regular file")


def open_regular(path: Path, name: str) -> IO[bytes]:
    """Open ``path`` for reading if it is a regular file, without ever waiting.

    A FIFO, socket or device named like a photo would block the reader or read forever:
    its type is checked before opening, and the file is opened non-blocking and checked
    again (it may have been swapped meanwhile). Raises ``UnreadableImageError`` for a file
    that is not regular, ``OSError`` as ``open`` does otherwise.
    """
    _require_regular(path.stat().st_mode, path, name)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _require_regular(os.fstat(descriptor).st_mode, path, name)
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def _require_regular(mode: int, path: Path, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise UnreadableImageError(f"{name}: not a regular file ({file_kind(mode)})")


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names, links followed; None if there is none.

    Two paths name the same file exactly when these match, whatever the paths say: hard
    links, symbolic links, bind mounts, a folder shared twice into a container.
    """
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def check_output(path: Path, *, overwrite: bool) -> os.stat_result | None:
    """The ``lstat`` of an existing ``path`` that may be replaced, or None if it is free.

    Only regular files are ever replaced (never a device, FIFO, folder or link), and only
    with ``overwrite``. Raises ``OutputExistsError`` or ``OutputWriteError``.
    """
    try:
        existing = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _write_error(path, error) from error
    if not stat.S_ISREG(existing.st_mode):
        raise OutputWriteError(
            f"{path}: is {file_kind(existing.st_mode)}; only regular files are replaced"
        )
    if not overwrite:
        raise OutputExistsError(f"{path}: exists (pass overwrite=True to replace it)")
    return existing


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
        with _open_header(handle, ["TIFF"]) as image:
            while True:
                tags = image.tag_v2
                for offsets, counts in _TIFF_DATA_TAGS:
                    ends = zip(tags.get(offsets, ()), tags.get(counts, ()), strict=False)
                    if any(start + count > size for start, count in ends):
                        return False
                if not tags.next:  # the last page
                    return True
                image.seek(image.tell() + 1)
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        return False


def write_atomic(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file in the same folder, durably.

    Readers never see half a file, and a crash leaves at most a ``.*.blueheart-tmp`` file
    (its name shortened to fit the file system's limit). The file is synced before it takes
    its name and the folder after (and every folder made, in its parent): once this returns,
    a power cut leaves the whole file; before, the old one (or none) or the whole new one.
    Only a regular file is ever replaced, and only with ``overwrite``; without it an existing
    ``path`` is never replaced, even one created meanwhile (``OutputExistsError``). Other
    failures raise ``OutputWriteError`` and leave nothing behind, but for a failed sync of the
    folder: the new file, whole, keeps its name, not yet known to survive a power cut.
    """
    check_output(path, overwrite=overwrite)
    try:
        make_folders(path.parent)
        descriptor, temp = _create_temp(path)
    except OSError as error:
        raise _write_error(path, error) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            # The bytes reach the disk before the name does: a power cut after the rename
            # must not leave the name on an empty or partly written file.
            os.fsync(handle.fileno())
        _publish(temp, path, overwrite=overwrite)
        sync_folder(path.parent)
    except OutputExistsError:
        temp.unlink(missing_ok=True)
        raise
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise _write_error(path, error) from error
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def missing_folders(folder: Path) -> list[Path]:
    """``folder`` and the folders above it that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def make_folders(folder: Path) -> None:
    """``folder.mkdir(parents=True, exist_ok=True)``, with each folder made synced into its
    parent, so that a power cut cannot lose the folder of a file synced in it."""
    for made in missing_folders(folder):
        try:
            made.mkdir()
        except FileExistsError:
            if not made.is_dir():
                raise
        # Synced even when another process made it a moment ago: it may not have synced yet.
        sync_folder(made.parent)


def sync_folder(folder: Path) -> None:
    """``fsync`` ``folder``: the names made, replaced or removed in it survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    except OSError as error:
        # Some file systems cannot sync a folder (EINVAL): they keep names as they can.
        if error.errno != errno.EINVAL:
            raise
    finally:
        os.close(descriptor)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new hidden temporary file beside ``path``, open for writing, and its path.

    Made with the mode any new file gets (0o666 less the umask, applied by the system), so
    the output has the permissions a plain write would give it; the umask is never read (it
    can only be read by changing it, which other threads would see)."""
    prefix = _temp_prefix(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(_TEMP_ATTEMPTS):
        temp = path.parent / f"{prefix}{secrets.token_hex(_TEMP_RANDOM // 2)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def remove_temp_files_of(path: Path) -> None:
    """Delete the temporary files a killed ``write_atomic`` of ``path`` left beside it (only
    that name's: call it where no other run writes ``path``)."""
    prefix = _temp_prefix(path)
    length = len(prefix) + _TEMP_RANDOM + len(TEMP_SUFFIX)
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            name = entry.name
            if len(name) == length and name.startswith(prefix) and name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink(missing_ok=True)


def _temp_prefix(path: Path) -> str:
    """``.<name>.``, the name cut so that the temporary name fits the folder's limit."""
    try:
        name_max = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = _NAME_MAX
    budget = name_max - len(f"..{TEMP_SUFFIX}") - _TEMP_RANDOM
    name = path.name
    while len(os.fsencode(name)) > budget:
        name = name[:-1]
    return f".{name}."


def _write_error(path: Path, error: OSError) -> OutputWriteError:
    return OutputWriteError(f"{path}: cannot write ({error.strerror or error})")


def _publish(temp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        # Checked again just before: a device or FIFO put there meanwhile stays.
        check_output(path, overwrite=True)
        temp.replace(path)
        return
    try:
        # A hard link fails if the name exists: no-clobber even against a concurrent writer.
        os.link(temp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path}: exists (pass overwrite=True to replace it)") from None
    except OSError:
        if check_output(path, overwrite=True) is not None:
            raise OutputExistsError(f"{path}: exists (pass overwrite=True to replace it)") from None
        temp.replace(path)
        return
    temp.unlink()
