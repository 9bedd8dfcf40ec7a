"""Encoding badged frames with the metadata policy, in the output's format."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin

import blueheart.io.plugins  # noqa: F401  (the formats, registered)
from blueheart.core.formats import format_of_name
from blueheart.io.atomic import write_atomic
from blueheart.io.costs import profile_is_whole
from blueheart.io.metadata import Metadata

DPI_FORMATS = ("JPEG", "PNG", "TIFF", "BMP")
"""Formats with a print-resolution field of their own (WebP and AVIF have only EXIF's)."""
DEFAULT_QUALITY = 90
PNG_COMPRESS_LEVEL = 1
"""zlib's fastest level. Pillow's default (6) spent 0.46 s of a 0.51 s 1080 px circle avatar
on deflate; level 1 takes 0.085 s for 17 % more bytes on a photo (up to 35 % on flat artwork)."""
_WEBP_CHUNKS_READ = 8
_FAX_COMPRESSIONS = ("group3", "group4", "tiff_ccitt")
_JPEG_SEGMENT_LIMITS = {"exif": 65533, "xmp": 65533 - 29, "comment": 65533}
"""Bytes Pillow's JPEG writer fits in one segment for each block (XMP has a 29-byte header)."""


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
