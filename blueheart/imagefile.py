"""Opening images safely, encoding them with the metadata policy, and writing atomically."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

from blueheart.errors import (
    BlueheartError,
    ImageTooLargeError,
    NotAnImageError,
    OptionError,
    OutputExistsError,
    OutputWriteError,
    UnreadableImageError,
    UnsupportedFormatError,
)
from blueheart.formats import TEMP_SUFFIX, format_of_name
from blueheart.metadata import Metadata

READABLE_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "TIFF", "BMP", "HEIF")
"""Pillow's opener for JPEG also yields MPO, the multi-picture JPEGs phones write."""
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "AVIF")
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
"""At most this many pixels a byte of JPEG: Huffman coding spends at least a bit on each 8x8
block's DC (a flat grey 8000x6000 JPEG, optimised, holds 256 a byte). More is a header lying
about its size, and decoding a progressive one would still cost seconds and a gigabyte."""
_JPEG_BLOCK = 1 << 24
"""Bytes handed to the JPEG decoder per call. With Pillow's 64 KB the decoder takes the GIL
back some 30 times a photo, each time waiting behind any busy thread; in one call a photo
decodes without it. (Only JPEG: a frame of an animation would read the rest of the file.)"""

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
    """Turn whatever a decoder raises on a damaged image into one ``BlueheartError`` line."""
    with warnings.catch_warnings():
        # Decoders warn about damage they work around; the image decodes or it fails, and
        # either way the user gets one line, not a warning on the terminal.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (BlueheartError, OptionError):
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooLargeError(f"{name}: {_reason(error)}") from error
        except _DECODE_ERRORS as error:
            raise UnreadableImageError(
                f"{name}: cannot read the image ({_reason(error)})"
            ) from error


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
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
        stream = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    except FileNotFoundError:
        raise UnreadableImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UnreadableImageError(f"{name}: is a folder, not an image file") from None
    except OSError as error:
        raise UnreadableImageError(f"{name}: cannot open ({error.strerror or error})") from error
    with stream:
        head = stream.read(_SNIFF_BYTES)
        file_size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        # pillow-heif takes ~35 ms to import: only a file that says it is HEIF pays for it.
        heif = _looks_heif(head) and _register_heif()
        formats = [f for f in READABLE_FORMATS if f != "HEIF" or heif]
        with decoding(name):
            try:
                image = _open_header(stream, formats)
            except UnidentifiedImageError:
                raise _unidentified(head, name) from None
        with image:
            with decoding(name):
                _check_size(image, name, max_pixels)
                _check_density(image, name, file_size)
            if isinstance(image, JpegImagePlugin.JpegImageFile):  # MPO too
                image.decodermaxblock = _JPEG_BLOCK
            yield image


_PILLOW_LIMIT = threading.Lock()


def _open_header(stream: IO[bytes], formats: list[str]) -> Image.Image:
    """``Image.open`` with Pillow's global bomb check set aside for this call alone.

    Pillow's check is a process-wide setting with its own limit and a message without the
    file's name; ``_check_size`` applies ours right after, before anything is decoded. The
    lock keeps concurrent callers of this function from seeing each other's setting.
    """
    with _PILLOW_LIMIT:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(stream, formats=formats)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _looks_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _unidentified(head: bytes, name: str) -> BlueheartError:
    if len(head) == 0:
        return NotAnImageError(f"{name}: empty file")
    if _looks_heif(head):
        return UnsupportedFormatError(
            f"{name}: HEIC/HEIF needs the heif extra: pip install 'blueheart[heif]'"
        )
    return NotAnImageError(f"{name}: not an image blueheart can read")


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise UnreadableImageError(f"{name}: the image has no pixels ({width}x{height})")
    pixels = width * height
    if pixels > max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} is {pixels:,} pixels, over the limit of {max_pixels:,}"
        )
    frames = frame_count(image)
    if frames > MAX_FRAMES:
        raise ImageTooLargeError(
            f"{name}: {frames:,} frames, over the limit of {MAX_FRAMES:,} for an animation"
        )
    animation_limit = min(max_pixels, MAX_ANIMATION_PIXELS)
    if frames > 1 and frames * pixels > animation_limit:
        raise ImageTooLargeError(
            f"{name}: {frames:,} frames of {width}x{height} are {frames * pixels:,} pixels, "
            f"over the limit of {animation_limit:,} for an animation"
        )


def _check_density(image: Image.Image, name: str, file_size: int) -> None:
    pixels = image.width * image.height
    if isinstance(image, JpegImagePlugin.JpegImageFile) and pixels > (
        file_size * _JPEG_PIXELS_PER_BYTE
    ):
        raise ImageTooLargeError(
            f"{name}: claims {image.width}x{image.height} pixels in {file_size:,} bytes, "
            "more than a JPEG can hold (a damaged or hostile header)"
        )


def frame_count(image: Image.Image) -> int:
    """How many frames will be badged: all of an animation, one of anything else."""
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
    png_text: dict[str, str] | None = None
    comment: bytes | None = None
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
    if settings.comment and fmt in ("JPEG", "GIF"):
        params["comment"] = settings.comment
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
        params["pnginfo"] = _png_info(settings.png_text, metadata.xmp)
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
    from blueheart.compose import profile_matches_mode

    return profile_matches_mode(icc_profile, image.mode)


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
        "duration": [frame.duration or 0 for frame in frames],
    }
    if settings.loop is not None:
        params["loop"] = settings.loop
    if settings.format in ("GIF", "PNG") and all(f.disposal is not None for f in frames):
        params["disposal"] = [frame.disposal for frame in frames]
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


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file in the same folder.

    Readers never see half a file, and a crash leaves at most a ``.*.blueheart-tmp`` file.
    Without ``overwrite`` an existing ``path`` is never replaced, even one created meanwhile
    (``OutputExistsError``). Other failures raise ``OutputWriteError``; nothing is left behind.
    """
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path}: exists (use --overwrite to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent
        )
    except OSError as error:
        raise OutputWriteError(f"{path}: cannot write ({error.strerror or error})") from error
    temp = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), 0o666 & ~_UMASK)
        _publish(temp, path, overwrite=overwrite)
    except OutputExistsError:
        temp.unlink(missing_ok=True)
        raise
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise OutputWriteError(f"{path}: cannot write ({error.strerror or error})") from error
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _publish(temp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        temp.replace(path)
        return
    try:
        # A hard link fails if the name exists: no-clobber even against a concurrent writer.
        os.link(temp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path}: exists (use --overwrite to replace it)") from None
    except OSError:
        if path.exists():
            raise OutputExistsError(f"{path}: exists (use --overwrite to replace it)") from None
        temp.replace(path)
        return
    temp.unlink()
