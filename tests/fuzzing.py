"""A small mutation fuzzer for image files: valid seeds of every format, mutated the ways
broken and hostile files are (truncation, bit flips, rewritten size, frame-count and
chunk-length fields, spliced bytes)."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable

from helpers import P3_PROFILE, photo
from PIL import ExifTags, Image

Mutator = Callable[[bytes, random.Random], bytes]


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _frames(count: int, mode: str = "RGB") -> list[Image.Image]:
    return [photo(40, 30, seed=i).convert(mode) for i in range(count)]


def seeds() -> dict[str, bytes]:
    """Small valid files of every format blueheart reads."""
    base = photo(48, 32)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
    rgba = base.convert("RGBA")
    rgba.putalpha(120)
    palette = base.convert("P")
    palette.info["transparency"] = 3
    gif_frames = _frames(3, "P")
    files = {
        "baseline.jpg": _save(base, "JPEG", quality=80),
        "progressive.jpg": _save(
            base, "JPEG", progressive=True, exif=exif.tobytes(), icc_profile=P3_PROFILE
        ),
        "cmyk.jpg": _save(base.convert("CMYK"), "JPEG"),
        "rgb.png": _save(base, "PNG"),
        "rgba.png": _save(rgba, "PNG"),
        "palette.png": _save(palette, "PNG"),
        "gray16.png": _save(base.convert("I;16"), "PNG"),
        "animated.png": _save(
            _frames(1)[0], "PNG", save_all=True, append_images=_frames(3)[1:], duration=[50, 60, 70]
        ),
        "animated.gif": _save(
            gif_frames[0], "GIF", save_all=True, append_images=gif_frames[1:], duration=80, loop=0
        ),
        "still.webp": _save(base, "WEBP", quality=70),
        "animated.webp": _save(
            _frames(1)[0], "WEBP", save_all=True, append_images=_frames(3)[1:], duration=90
        ),
        "still.avif": _save(base, "AVIF", quality=60),
        "lzw.tif": _save(base, "TIFF", compression="tiff_lzw"),
        "plain.bmp": _save(base, "BMP"),
    }
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        files["iphone.heic"] = _save(base, "HEIF", quality=60)
    except ImportError:
        pass
    return files


INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 60000]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(0, len(data))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    mutable = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        index = rng.randrange(len(mutable))
        mutable[index] ^= 1 << rng.randrange(8)
    return bytes(mutable)


def overwrite_header(data: bytes, rng: random.Random) -> bytes:
    """An interesting 1-, 2- or 4-byte value, either byte order, early in the file."""
    mutable = bytearray(data)
    width = rng.choice((1, 2, 4))
    value = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
    packed = value.to_bytes(width, rng.choice(("big", "little")))
    offset = rng.randrange(0, max(1, min(len(mutable) - width, 256)))
    mutable[offset : offset + width] = packed
    return bytes(mutable)


def size_fields(data: bytes, rng: random.Random) -> bytes:
    """Rewrite the dimensions where each format keeps them."""
    if len(data) < 64:
        return overwrite_header(data, rng)
    mutable = bytearray(data)
    big = rng.choice((0, 1, 65535, 60000, 0x7FFFFFFF, rng.randrange(1 << 16)))
    if data.startswith(b"\x89PNG"):
        struct.pack_into(">II", mutable, 16, big, rng.choice((big, 1, 32)))
        _fix_png_crc(mutable, 8)
    elif data.startswith(b"GIF"):
        struct.pack_into("<HH", mutable, 6, big & 0xFFFF, big & 0xFFFF)
    elif data.startswith(b"BM"):
        struct.pack_into("<ii", mutable, 18, big & 0x7FFFFFFF, -(big & 0x7FFFFFFF))
    elif data.startswith(b"\xff\xd8"):
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        if sof > 0:
            struct.pack_into(">HH", mutable, sof + 5, big & 0xFFFF, big & 0xFFFF)
    elif data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
        value = (big & 0xFFFFFF).to_bytes(3, "little")
        mutable[24:27] = value
        mutable[27:30] = value
    else:
        return overwrite_header(data, rng)
    return bytes(mutable)


def chunk_fields(data: bytes, rng: random.Random) -> bytes:
    """Rewrite a PNG chunk's length or an APNG frame count; elsewhere a header value."""
    if not data.startswith(b"\x89PNG"):
        return overwrite_header(data, rng)
    mutable = bytearray(data)
    offsets = []
    position = 8
    while position + 8 <= len(data):
        length = struct.unpack_from(">I", data, position)[0]
        offsets.append(position)
        if data[position + 4 : position + 8] == b"acTL" and position + 12 <= len(data):
            struct.pack_into(">I", mutable, position + 8, rng.choice(INTERESTING))
            _fix_png_crc(mutable, position)
            return bytes(mutable)
        position += 12 + length
    if not offsets:
        return overwrite_header(data, rng)
    chosen = rng.choice(offsets)
    struct.pack_into(">I", mutable, chosen, rng.choice(INTERESTING))
    return bytes(mutable)


def splice(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 512))
    insert_at = rng.randrange(len(data))
    return data[:insert_at] + data[start:end] * rng.randint(1, 4) + data[insert_at:]


def _fix_png_crc(mutable: bytearray, chunk: int) -> None:
    length = struct.unpack_from(">I", mutable, chunk)[0]
    end = chunk + 8 + length
    if end + 4 <= len(mutable):
        struct.pack_into(">I", mutable, end, zlib.crc32(bytes(mutable[chunk + 4 : end])))


MUTATORS: list[Mutator] = [truncate, flip_bits, overwrite_header, size_fields, chunk_fields, splice]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three mutations of ``data``."""
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not data:
            break
        try:
            data = rng.choice(MUTATORS)(data, rng)
        except struct.error:  # a field past the end of a short file: flip bits instead
            data = flip_bits(data, rng)
    return data
