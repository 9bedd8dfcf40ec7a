"""Hostile files refused from their headers before decoding (the hostile pass on serve): JPEGs
of repeated scans, images too thin for the emblem, many-page TIFFs, outsized ICC profiles."""

from __future__ import annotations

import io
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from helpers import photo
from PIL import Image, ImageCms
from test_hostile import png_chunk

from blueheart import (
    EmblemDoesNotFitError,
    ImageTooLargeError,
    Length,
    badge_bytes,
    preview_bytes,
)

BLUEHEART = [sys.executable, "-m", "blueheart"]


def badge_cli(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``blueheart badge SOURCE ARGS``; generous timeout: a refusal takes a second, decoding
    the hostile files minutes."""
    command = [*BLUEHEART, "badge", str(source), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _segments(data: bytes) -> list[tuple[int, bytes]]:
    """A JPEG's segments after SOI, as (marker, bytes); a scan's data stays with its SOS."""
    segments, at = [], 2
    while at < len(data):
        marker = data[at + 1]
        if marker == 0xD9:
            break
        end = at + 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker == 0xDA:
            while data[end] != 0xFF or data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 1
        segments.append((marker, data[at:end]))
        at = end
    return segments


def repeated_scans_jpeg(scans: int) -> bytes:
    """A flat progressive greyscale JPEG whose AC scans are repeated to make ``scans``."""
    buffer = io.BytesIO()
    Image.new("L", (2000, 2000), 128).save(buffer, "JPEG", progressive=True)
    segments = _segments(buffer.getvalue())
    ac_scans = [body for marker, body in segments if marker == 0xDA][1:]
    repeats = [ac_scans[i % len(ac_scans)] for i in range(scans - len(ac_scans) - 1)]
    body = b"".join(body for _, body in segments)
    return b"\xff\xd8" + body + b"".join(repeats) + b"\xff\xd9"


def test_a_jpeg_of_repeated_scans_is_refused_from_its_markers(tmp_path: Path) -> None:
    hostile = tmp_path / "scans.jpg"
    hostile.write_bytes(repeated_scans_jpeg(150))
    result = badge_cli(hostile, "-o", str(tmp_path / "out.jpg"))
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {hostile}: more than 100 scans in a JPEG (a hostile file: "
        "each scan costs a pass over the whole image)\n"
    )
    assert not (tmp_path / "out.jpg").exists()


def test_real_progressive_jpegs_pass_the_scan_limit() -> None:
    # libjpeg's progressive script: 10 scans for YCbCr, 18 for CMYK (the most of the encoders
    # measured); 100 scans, the limit itself, pass too.
    for image in (photo(64, 48), photo(64, 48).convert("CMYK")):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", progressive=True)
        assert Image.open(io.BytesIO(badge_bytes(buffer.getvalue()))).size == (64, 48)
    assert Image.open(io.BytesIO(badge_bytes(repeated_scans_jpeg(100)))).size == (2000, 2000)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def thin_png(width: int, height: int) -> bytes:
    """A black RGBA PNG of ``width`` x ``height``, some hundred kilobytes however tall."""
    row = b"\0" * (1 + 4 * width)
    rows_per_block = max(1, (1 << 20) // len(row))
    compressor = zlib.compressobj(9)
    pixels = [compressor.compress(row * rows_per_block) for _ in range(height // rows_per_block)]
    pixels.append(compressor.compress(row * (height % rows_per_block)) + compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(pixels))
        + _png_chunk(b"IEND", b"")
    )


MEMORY_LIMIT = 1 << 30
"""Address space a run gets (RLIMIT_AS): decoding 99 million RGBA pixels cannot fit."""


def badge_cli_limited(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``badge_cli`` in a process that may map at most ``MEMORY_LIMIT`` bytes."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    command = [*BLUEHEART, "badge", str(source), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=limit)


@pytest.mark.parametrize("size", [(1, 99_000_000), (99_000_000, 1)], ids=["tall", "wide"])
def test_an_image_too_thin_for_the_emblem_is_refused_from_its_header(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    thin = tmp_path / "thin.png"
    thin.write_bytes(thin_png(*size))
    result = badge_cli_limited(thin, "-o", str(tmp_path / "out.png"))
    assert result.returncode == 1
    width, height = size
    assert result.stderr == (
        f"Error: {thin}: invalid value for '--size': an emblem of 1x1 px with a margin of 0.04 "
        f"of the shorter side does not fit in a {width}x{height} image\n"
    )
    assert not (tmp_path / "out.png").exists()


def test_the_margin_is_said_in_the_unit_given() -> None:
    image = _png_bytes(photo(64, 48))
    with pytest.raises(EmblemDoesNotFitError, match=r"a margin of 0\.5 of the shorter side does"):
        badge_bytes(image, margin=0.5, size=0.6, position="top-left")
    with pytest.raises(EmblemDoesNotFitError, match=r"with a margin of 45 px does not fit"):
        badge_bytes(image, margin=Length.px(45), position="top-left")


def test_a_margin_wider_than_the_emblem_is_blamed_not_the_size() -> None:
    # "invalid value for '--size'" for --margin 1e20px: the user looked for a size they never set.
    image = _png_bytes(photo(64, 48))
    with pytest.raises(EmblemDoesNotFitError) as refused:
        badge_bytes(image, margin=Length.px(45), position="top-left")
    assert refused.value.field == "margin"
    with pytest.raises(EmblemDoesNotFitError) as refused:
        badge_bytes(image, margin=0.5, size=0.6, position="top-left")
    assert refused.value.field == "size"
    # Inside a circle crop's circle too: 24 px of margin against a 5-px emblem.
    with pytest.raises(EmblemDoesNotFitError) as refused:
        badge_bytes(image, crop="circle", margin=0.5, size=Length.px(5))
    assert refused.value.field == "margin"


def test_a_tiff_of_more_than_1000_pages_is_refused_before_decoding(tmp_path: Path) -> None:
    # Writing the pages back cost time quadratic in their number (9,999 pages: 108 s).
    pages = [Image.new("L", (8, 8), index % 256) for index in range(1001)]
    hostile = tmp_path / "pages.tif"
    pages[0].save(hostile, save_all=True, append_images=pages[1:], compression="tiff_adobe_deflate")
    result = badge_cli(hostile, "-o", str(tmp_path / "out.tif"))
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {hostile}: more than 1,000 pages, over the limit for a TIFF "
        "(each page costs time that grows with the pages before it)\n"
    )
    assert not (tmp_path / "out.tif").exists()


SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
"""Made once: a profile's header holds the time it was made."""


def webp_with_profile(icc_profile: bytes) -> bytes:
    buffer = io.BytesIO()
    photo(64, 48).save(buffer, "WEBP", lossless=True, icc_profile=icc_profile)
    return buffer.getvalue()


def test_an_icc_profile_over_4_mb_is_refused_before_decoding() -> None:
    oversized = webp_with_profile(SRGB_PROFILE + bytes(4 << 20))
    with pytest.raises(ImageTooLargeError) as refused:
        badge_bytes(oversized)
    size = len(SRGB_PROFILE) + (4 << 20)
    assert str(refused.value) == (
        f"input: an ICC profile of {size:,} bytes, over the limit of 4,194,304"
    )


def test_a_png_profile_unpacking_past_a_megabyte_is_refused_in_its_own_words() -> None:
    # Pillow refuses the file for it: its message named PngImagePlugin.MAX_TEXT_CHUNK.
    buffer = io.BytesIO()
    photo(64, 48).save(buffer, "PNG")
    plain = buffer.getvalue()
    profile = b"prof\0\0" + zlib.compress(bytes(3 << 20))
    hostile = plain[:33] + png_chunk(b"iCCP", profile) + plain[33:]  # after IHDR
    with pytest.raises(ImageTooLargeError) as refused:
        badge_bytes(hostile)
    assert str(refused.value) == (
        "input: an ICC profile that unpacks to over 1,048,576 bytes, over the limit for a PNG"
    )


@pytest.mark.parametrize("fmt", ["webp", "avif", "jpeg", "png"])
def test_bytes_after_a_profiles_declared_end_never_reach_an_output(fmt: str) -> None:
    smuggled = webp_with_profile(SRGB_PROFILE + b"SECRETICC" + bytes(1000))
    for output in (badge_bytes(smuggled, format=fmt), preview_bytes(smuggled).jpeg):
        assert b"SECRETICC" not in output
        assert Image.open(io.BytesIO(output)).info.get("icc_profile") is None
    # A whole profile still travels.
    whole = badge_bytes(webp_with_profile(SRGB_PROFILE), format=fmt)
    assert Image.open(io.BytesIO(whole)).info["icc_profile"] == SRGB_PROFILE
