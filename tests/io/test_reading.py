"""Opening hostile files (blueheart.io.reading and its limits), through the file flow: the HEIF
opener, the pixel limits read from headers, bad files as one line."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from helpers import animation, photo, save

from blueheart import (
    BlueheartError,
    ImageTooLargeError,
    UnreadableImageError,
    UnsupportedFormatError,
    badge_bytes,
    badge_file,
)


def test_only_heif_files_load_the_heif_plugin(tmp_path: Path) -> None:
    # pillow-heif costs ~35 ms to import; a JPEG badge should not pay for it.
    import subprocess
    import sys

    source = save(photo(40, 30), tmp_path / "a.jpg", "JPEG")
    probe = (
        "import sys, pathlib, blueheart\n"
        "blueheart.badge_bytes(pathlib.Path(sys.argv[1]).read_bytes())\n"
        "print('pillow_heif' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(source)], capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip() == "False"


def test_heic_without_the_extra_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import blueheart.io.reading as reading

    monkeypatch.setattr(reading, "_register_heif", lambda: False)
    header = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic"
    with pytest.raises(
        UnsupportedFormatError,
        match=r"\(pip install '\.\[heif\]' in a blueheart checkout, or pip install pillow-heif\)",
    ):
        badge_bytes(header + b"\0" * 100)


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_a_png_claiming_60000_by_60000_is_refused_from_the_header(tmp_path: Path) -> None:
    source = tmp_path / "bomb.png"
    source.write_bytes(png_header_only(60000, 60000))
    target = tmp_path / "out.png"
    with pytest.raises(ImageTooLargeError, match=r"bomb\.png: 60000x60000 .* limit of 250,000,000"):
        badge_file(source, target)
    assert not target.exists()


def test_max_pixels_is_configurable(tmp_path: Path) -> None:
    data = save(photo(100, 100), tmp_path / "p.png", "PNG").read_bytes()
    with pytest.raises(ImageTooLargeError, match="10,000 pixels, over the limit of 9,999"):
        badge_bytes(data, max_pixels=9_999)
    badge_bytes(data, max_pixels=10_000)


def test_animation_frames_count_toward_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "a.gif"
    frames = [f.convert("P") for f in animation(4)]
    frames[0].save(source, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageTooLargeError, match="4 frames of 160x120"):
        badge_file(source, tmp_path / "b.gif", max_pixels=160 * 120 * 3)


def test_200_megapixel_headers_are_within_the_default_limit(tmp_path: Path) -> None:
    from blueheart.io.reading import open_image

    data = png_header_only(16320, 12240)
    with open_image(data, name="big.png", max_pixels=250_000_000) as image:
        assert image.size == (16320, 12240)


def truncated_jpeg(tmp_path: Path) -> bytes:
    data = save(photo(300, 200), tmp_path / "full.jpg", "JPEG").read_bytes()
    return data[: len(data) // 2]


def corrupted_png(tmp_path: Path) -> bytes:
    data = bytearray(save(photo(100, 100), tmp_path / "c.png", "PNG").read_bytes())
    for index in range(60, len(data) - 20, 7):
        data[index] ^= 0x5A
    return bytes(data)


BAD_FILES = {
    "empty.jpg": lambda tmp: b"",
    "truncated.jpg": truncated_jpeg,
    "corrupt.png": corrupted_png,
    "notes.jpg": lambda tmp: b"these are my notes, not a photo\n" * 10,
    "page.png": lambda tmp: b"<!DOCTYPE html><html><body>404</body></html>",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_one_line_blueheart_errors_and_write_nothing(
    tmp_path: Path, name: str
) -> None:
    source = tmp_path / name
    source.write_bytes(BAD_FILES[name](tmp_path))
    before = source.read_bytes()
    target = tmp_path / "out" / f"x{source.suffix}"
    with pytest.raises(BlueheartError) as caught:
        badge_file(source, target)
    message = str(caught.value)
    assert name in message and "\n" not in message
    assert (
        not target.exists() and not any(target.parent.glob(".*"))
        if target.parent.exists()
        else True
    )
    assert source.read_bytes() == before


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImageError, match=r"nope\.jpg: no such file"):
        badge_file(tmp_path / "nope.jpg", tmp_path / "out.jpg")
