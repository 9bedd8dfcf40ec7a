"""Opening hostile files safely: regular files only, the header sniffed, nothing decoded."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from PIL import Image, ImageFile, JpegImagePlugin, TiffImagePlugin, UnidentifiedImageError

import blueheart.io.plugins  # noqa: F401  (the formats, registered)
from blueheart.core.errors import (
    BlueheartError,
    NotAnImageError,
    UnreadableImageError,
    UnsupportedFormatError,
)
from blueheart.io.costs import checked_profile
from blueheart.io.decoding import decoding
from blueheart.io.limits import check_density, check_pixels, check_size
from blueheart.io.png import PNG_SIGNATURE, png_as_read

READABLE_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "TIFF", "BMP", "HEIF")
"""Pillow's opener for JPEG also yields MPO, the multi-picture JPEGs phones write."""
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1")
_SNIFF_BYTES = 32
_JPEG_BLOCK = 1 << 24
"""Bytes handed to the JPEG decoder per call, at most: a photo's whole file in one call. In
64 KB reads, Pillow's default, the decoder takes the GIL back some 30 times a photo, each
time waiting behind any busy thread. No more than the file holds (a larger buffer is fresh
memory every photo), nor than 16 MB (a small image trailed by gigabytes of junk stops
reading at its end). Only JPEG: a frame of an animation would read the rest."""

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
def open_image(
    source: Path | bytes,
    *,
    name: str,
    max_pixels: int,
    identity: tuple[int, int] | None = None,
) -> Iterator[Image.Image]:
    """Open ``source`` (a path or the file's bytes), check its size from the header, and
    close the file when the ``with`` block ends.

    Nothing is decoded yet. Raises ``UnreadableImageError`` for a missing file or data that is
    not an image, ``UnsupportedFormatError`` for HEIC without the ``heif`` extra, and
    ``ImageTooLargeError`` when width x height (x frames) exceeds ``max_pixels``.
    ``identity``: see ``open_regular``.
    """
    stream: IO[bytes]
    try:
        stream = (
            io.BytesIO(source)
            if isinstance(source, bytes)
            else open_regular(source, name, identity=identity)
        )
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
            shown = png_as_read(stream, name) if head.startswith(PNG_SIGNATURE) else stream
        # pillow-heif takes ~35 ms to import: only a file that says it is HEIF pays for it.
        heif = _looks_heif(head) and _register_heif()
        formats = [f for f in READABLE_FORMATS if f != "HEIF" or heif]
        webp_canvas = _webp_canvas(head)
        if webp_canvas:
            # libwebp allocates the whole canvas as the file is opened: check it first.
            check_pixels(webp_canvas, name, max_pixels)
        with decoding(name):
            try:
                image = open_header(shown, formats)
            except UnidentifiedImageError:
                raise _unidentified(head, name) from None
        with image:
            _check_header(image, stream, name, max_pixels)
            yield image


def _check_header(image: Image.Image, stream: IO[bytes], name: str, max_pixels: int) -> None:
    """The limits read from an opened image's header; a JPEG's decoder told the file's size."""
    with decoding(name):
        check_size(image, name, max_pixels)
        check_density(image, name, stream)
        if "icc_profile" in image.info:
            image.info["icc_profile"] = checked_profile(image.info["icc_profile"], name)
        if isinstance(image, JpegImagePlugin.JpegImageFile):  # MPO too
            file_size = stream.seek(0, io.SEEK_END)
            image.decodermaxblock = max(ImageFile.MAXBLOCK, min(file_size, _JPEG_BLOCK))


class _TiffImageFile(TiffImagePlugin.TiffImageFile):
    """Pillow's TIFF reader, allocating a page without Pillow's own bomb check: that check
    reads ``Image.MAX_IMAGE_PIXELS``, the host's setting, and ``open_image`` applied ours."""

    def load_prepare(self) -> None:
        if self._im is None:
            self.im = Image.new(self.mode, self._tile_size).im
        ImageFile.ImageFile.load_prepare(self)


_READERS: dict[str, type[ImageFile.ImageFile]] = {"TIFF": _TiffImageFile}
"""Readers used instead of the one Pillow registers for a format."""


def open_header(stream: IO[bytes], formats: list[str]) -> Image.Image:
    """The image in ``stream``, opened by the first of Pillow's readers for ``formats`` that
    takes it; nothing is decoded. Raises ``UnidentifiedImageError`` if none does.

    Not ``Image.open``: it applies Pillow's bomb limit, ``Image.MAX_IMAGE_PIXELS``, a setting of
    the host program; ``check_size`` applies ours right after, before anything is decoded.
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


def open_regular(path: Path, name: str, *, identity: tuple[int, int] | None = None) -> IO[bytes]:
    """Open ``path`` for reading if it is a regular file, without ever waiting.

    A FIFO, socket or device named like a photo would block the reader or read forever:
    its type is checked before opening, and the file is opened non-blocking and checked
    again (it may have been swapped meanwhile). ``identity``: the (device, inode) the file
    opened must have (the one a folder's walk found: not a link or a file put in its place
    since). Raises ``UnreadableImageError`` for a file that is not regular, or not the one
    expected, ``OSError`` as ``open`` does otherwise.
    """
    _require_regular(path.stat().st_mode, path, name)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        found = os.fstat(descriptor)
        _require_regular(found.st_mode, path, name)
        if identity is not None and (found.st_dev, found.st_ino) != identity:
            raise UnreadableImageError(f"{name}: replaced since the folder was read (not read)")
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def _require_regular(mode: int, path: Path, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise UnreadableImageError(f"{name}: not a regular file ({file_kind(mode)})")
