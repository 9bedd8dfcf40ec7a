"""Opening, encoding and writing files (blueheart.io.imagefile), through the file flow: a JPEG's
own quality, each format's encoding, the pixel limits read from headers, bad files, and
outputs written atomically or not at all."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import animation, blue_fraction, camera_exif, default_box, photo, reopen, save

from blueheart import (
    BlueheartError,
    ImageTooLargeError,
    OutputExistsError,
    UnreadableImageError,
    UnsupportedFormatError,
    badge_bytes,
    badge_file,
)


def test_jpeg_keeps_its_quantisation_and_progressive_mode(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "in.jpg", "JPEG", quality=62, progressive=True,
                  subsampling=2)  # fmt: skip
    result = reopen(badge_bytes(source.read_bytes()))
    original = reopen(source)
    assert result.quantization == original.quantization
    assert result.info.get("progressive") or result.info.get("progression")
    size_ratio = len(badge_bytes(source.read_bytes())) / source.stat().st_size
    assert 0.8 < size_ratio < 1.3


def test_explicit_quality_and_resized_outputs_use_it(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "in.jpg", "JPEG", quality=50)
    q95 = reopen(badge_bytes(source.read_bytes(), quality=95))
    assert q95.quantization != reopen(source).quantization
    smaller = reopen(badge_bytes(source.read_bytes(), output_size=160))
    assert smaller.size == (160, 120)


def test_progressive_stays_progressive_when_resized(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "p.jpg", "JPEG", progressive=True)
    smaller = reopen(badge_bytes(source.read_bytes(), output_size=200, quality=80))
    assert smaller.info.get("progressive") or smaller.info.get("progression")


@pytest.mark.parametrize("compression", ["group4", "tiff_lzw", "jpeg", "tiff_adobe_deflate"])
def test_tiff_keeps_a_compression_that_fits_colour(tmp_path: Path, compression: str) -> None:
    # A scanned page is often a bilevel Group 4 TIFF; its badge is in colour, stored lossless.
    image = photo(160, 120).convert("1" if compression == "group4" else "RGB")
    source = save(image, tmp_path / "scan.tif", "TIFF", compression=compression)
    result = reopen(badge_bytes(source.read_bytes()))
    expected = "tiff_lzw" if compression == "group4" else compression
    assert result.info["compression"] == expected and blue_fraction(result) > 0.01


def test_a_lossless_webp_stays_lossless(tmp_path: Path) -> None:
    # Screenshots and logos are saved lossless; a badge should not blur their edges.
    image = photo(200, 150)
    source = save(image, tmp_path / "shot.webp", "WEBP", lossless=True)
    result = reopen(badge_bytes(source.read_bytes()))
    left, top, right, bottom = default_box(image.size)
    outside = np.ones((150, 200), bool)
    outside[top:bottom, left:right] = False
    assert np.array_equal(np.asarray(result)[outside], np.asarray(image)[outside])
    assert blue_fraction(result) > 0.01
    # An asked quality, or a lossy source, gives a lossy WebP as before.
    for data, params in ((source.read_bytes(), {"quality": 80}),
                         (save(image, tmp_path / "p.webp", "WEBP").read_bytes(), {})):  # fmt: skip
        lossy = np.asarray(reopen(badge_bytes(data, **params)), dtype=int)
        assert np.abs(lossy - np.asarray(image, dtype=int))[outside].max() > 0


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


def test_existing_outputs_are_never_replaced_without_overwrite(tmp_path: Path) -> None:
    source = save(photo(80, 80), tmp_path / "in.png", "PNG")
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError):
        badge_file(source, target)
    assert target.read_bytes() == b"precious"
    badge_file(source, target, overwrite=True)
    assert reopen(target).size == (80, 80)


def test_input_is_never_written_and_no_temp_file_remains(tmp_path: Path) -> None:
    source = save(photo(80, 80), tmp_path / "in.jpg", "JPEG", exif=camera_exif(6).tobytes())
    before = source.read_bytes()
    badge_file(source, tmp_path / "out.jpg")
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "out.jpg"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from blueheart import OutputWriteError

    source = save(photo(80, 80), tmp_path / "in.png", "PNG")
    real_link = os.link

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", full_disk)
    monkeypatch.setattr(Path, "replace", lambda self, target: full_disk())
    with pytest.raises(OutputWriteError, match="No space left on device"):
        badge_file(source, tmp_path / "out" / "o.png")
    monkeypatch.setattr(os, "link", real_link)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_file_is_synced_before_its_name_and_its_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a power cut keeps is what was synced: every output (and the report) has its bytes
    synced before it takes its name, and the folder holding a new name (a file's, or a folder
    made for it) is synced after, for badge_file and a batch alike."""
    import os

    from blueheart import batch

    source = tmp_path / "src"
    source.mkdir()
    save(photo(80, 60), source / "in.jpg", "JPEG")
    # (what happened, the file synced or the folder holding the new name, the file named)
    events: list[tuple[str, tuple[int, int], tuple[int, int] | None]] = []

    def identity(path: Path) -> tuple[int, int]:
        found = path.stat()
        return found.st_dev, found.st_ino

    def naming(kind: str, real: Any, new_name: int) -> Any:
        def call(*args: Any, **kwargs: Any) -> object:
            answer = real(*args, **kwargs)
            named = Path(os.fsdecode(args[new_name]))
            events.append((kind, identity(named.parent), identity(named)))
            return answer

        return call

    def fsync(descriptor: int, real: Any = os.fsync) -> None:
        found = os.fstat(descriptor)
        events.append(("sync", (found.st_dev, found.st_ino), None))
        real(descriptor)

    for name in ("link", "replace", "rename"):
        monkeypatch.setattr(os, name, naming("file", getattr(os, name), 1))
    monkeypatch.setattr(os, "mkdir", naming("folder", os.mkdir, 0))
    monkeypatch.setattr(os, "fsync", fsync)
    badge_file(source / "in.jpg", tmp_path / "new" / "deeper" / "out.png")
    batch(source, tmp_path / "out" / "a", report=tmp_path / "report.json")
    # Two outputs and the report; new, deeper, out and a.
    assert [kind for kind, _, _ in events if kind != "sync"].count("file") == 3
    assert [kind for kind, _, _ in events if kind != "sync"].count("folder") == 4
    for index, (kind, folder, named) in enumerate(events):
        synced_before = {held for what, held, _ in events[:index] if what == "sync"}
        synced_after = {held for what, held, _ in events[index + 1 :] if what == "sync"}
        if kind == "file":
            assert named in synced_before, f"event {index}: the bytes were not synced first"
        if kind != "sync":
            assert folder in synced_after, f"event {index}: the folder was not synced after"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_an_output_gets_the_permissions_of_a_new_file_and_the_umask_is_never_touched(
    tmp_path: Path, umask: int
) -> None:
    """The output's mode is what any new file gets under the process's umask; blueheart never
    changes the umask to read it (another thread creating a file meanwhile would get 0o666)."""
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda mask: calls.append(mask) or real(mask)\n"
        "from blueheart.io.atomic import write_atomic\n"
        "from pathlib import Path\n"
        "write_atomic(Path(sys.argv[1]), b'data', overwrite=False)\n"
        "assert not calls, calls\n"
    )
    target = tmp_path / "out.bin"
    subprocess.run([sys.executable, "-c", script, str(target)], check=True)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
