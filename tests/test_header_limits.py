"""Hostile files refused from their headers before decoding (the hostile pass on serve): JPEGs
of repeated scans, images too thin for the emblem, many-page TIFFs, outsized ICC profiles."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

from helpers import photo
from PIL import Image

from blueheart import badge_bytes

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
