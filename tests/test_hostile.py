"""Hostile input, faults and load: bombs refused from the header with bounded memory, privacy
over a whole batch, vanishing sources, links out of DEST, and 10,000 files killed five times."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import photo
from PIL import ExifTags, Image, PngImagePlugin

from blueheart import (
    BadgeOptions,
    ImageTooLargeError,
    UnreadableImageError,
    apply_badge,
    badge_bytes,
    batch,
)
from blueheart.batching.plan import plan_batch
from blueheart.batching.runner import run_jobs

# The peak RSS of this process since it started. (getrusage's ru_maxrss survives exec on
# Linux, so a child started by a large test process would report its parent's peak.)
PEAK_RSS_KB = (
    "print(next(int(line.split()[1]) for line in open('/proc/self/status') "
    "if line.startswith('VmHWM:')))"
)
LOCATION_MARKERS = (b"GPSLatitude", b"GPSLongitude", b"Paris", b"48,51.5N", b"Rue X")
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    b'xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" '
    b'exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,21.0E">'
    b"<photoshop:City>Paris</photoshop:City><Iptc4xmpCore:Location>Rue X</Iptc4xmpCore:Location>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb() -> bytes:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0"))
    )


def gif_bomb() -> bytes:
    screen = struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b";"


def webp_bomb() -> bytes:
    frames = [photo(40, 30, seed=i) for i in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=50)
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"VP8X"
    big = (16383).to_bytes(3, "little")  # stored minus one: a 16384 x 16384 canvas
    data[24:27], data[27:30] = big, big
    return bytes(data)


def tiff_bomb() -> bytes:
    entries = [
        (256, 4, 1, 100_000), (257, 4, 1, 100_000), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 100_000), (279, 4, 1, 16),
    ]  # fmt: skip
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 24) + b"\0" * 16 + ifd


def apng_frame_bomb() -> bytes:
    frames = [photo(40, 30, seed=i) for i in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    data = bytearray(buffer.getvalue())
    at = data.find(b"acTL") - 4
    struct.pack_into(">I", data, at + 8, 2**31 - 1)
    struct.pack_into(">I", data, at + 16, zlib.crc32(bytes(data[at + 4 : at + 16])))
    return bytes(data)


def gif_frame_bomb() -> bytes:
    frames = []
    for index in range(20_001):
        frame = Image.new("L", (4, 4), 0)
        frame.putpixel((index % 4, index // 4 % 4), 255)  # each frame differs from the last
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=10)
    return buffer.getvalue()


BOMBS = {
    "png": png_bomb,
    "gif": gif_bomb,
    "webp": webp_bomb,
    "tiff": tiff_bomb,
    "apng-frames": apng_frame_bomb,
    "gif-frames": gif_frame_bomb,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bombs_are_refused_from_the_header(name: str) -> None:
    bomb = BOMBS[name]()  # making the GIF bomb takes seconds; refusing it must not
    started = time.monotonic()
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        badge_bytes(bomb)
    # A guard against work that grows with the claimed size, not a speed measurement.
    assert time.monotonic() - started < 5


def test_a_tiny_jpeg_claiming_a_huge_canvas_is_refused_but_flat_photos_pass() -> None:
    # Under the pixel limit, but 1 KB cannot hold 225 megapixels; decoding a progressive one
    # would still take seconds and a gigabyte (found by the fuzzer).
    buffer = io.BytesIO()
    photo(64, 48).save(buffer, "JPEG", progressive=True)
    data = bytearray(buffer.getvalue())
    frame = data.find(b"\xff\xc2")  # SOF2: length, precision, height, width
    struct.pack_into(">HH", data, frame + 5, 15_000, 15_000)
    started = time.monotonic()
    with pytest.raises(ImageTooLargeError, match="more than a JPEG can hold"):
        badge_bytes(bytes(data))
    assert time.monotonic() - started < 5
    # The flattest real JPEG: one grey, optimised Huffman tables, 256 pixels a byte.
    flat = io.BytesIO()
    Image.new("L", (4000, 3000), 128).save(flat, "JPEG", optimize=True)
    assert 4000 * 3000 / len(flat.getvalue()) > 200
    assert Image.open(io.BytesIO(badge_bytes(flat.getvalue()))).size == (4000, 3000)


@pytest.mark.slow
def test_refusing_bombs_keeps_memory_under_200_mb(tmp_path: Path) -> None:
    for name, make in BOMBS.items():
        (tmp_path / f"{name}.bin").write_bytes(make())
    probe = (
        "import sys, pathlib, blueheart\n"
        "for path in sorted(pathlib.Path(sys.argv[1]).glob('*.bin')):\n"
        "    try:\n"
        "        blueheart.badge_bytes(path.read_bytes())\n"
        "    except blueheart.ImageTooLargeError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(f'{path.name} was not refused')\n"
        f"{PEAK_RSS_KB}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )
    peak_mb = int(result.stdout) / 1024
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"


# -- huge files that are mostly not pixels: memory bounded by the pixels -----------------------

MEMORY_LIMIT = 1 << 30
"""Address space a run gets (RLIMIT_AS): a whole 1.5 GB chunk read into memory cannot fit."""
HUGE = 1536 << 20


def run_limited(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``blueheart ARGS`` in a process that may map at most ``MEMORY_LIMIT`` bytes."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    command = [sys.executable, "-m", "blueheart", *map(str, args)]
    # Generous: the run takes a second; reading the whole file took minutes.
    return subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=limit)


def sparse_png(path: Path, size: int) -> Path:
    """A file of ``size`` bytes, a PNG signature and then a hole (no disk used)."""
    with path.open("wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n")
        file.truncate(size)
    return path


def png_with_huge_chunk(path: Path, kind: bytes, *, after_pixels: bool) -> Path:
    """A 64x48 photo's PNG with a chunk of ``HUGE`` bytes of zeros (a hole) before or after
    its pixels."""
    plain = io.BytesIO()
    photo(64, 48).save(plain, "PNG")
    png = plain.getvalue()
    at = png.index(b"IEND" if after_pixels else b"IDAT") - 4
    with path.open("wb") as file:
        file.write(png[:at] + struct.pack(">I", HUGE) + kind)
        file.seek(HUGE + 4, os.SEEK_CUR)  # the data, a hole, and a CRC Pillow never checks
        file.write(png[at:])
    return path


@pytest.mark.parametrize("size", [1 << 30, 4 << 30])
def test_a_huge_file_with_a_png_signature_fails_in_one_line_within_the_memory_limit(
    tmp_path: Path, size: int
) -> None:
    source = sparse_png(tmp_path / "huge.png", size)
    for command in (["badge", source], ["sheet", tmp_path, "-o", tmp_path / "sheet.jpg"]):
        result = run_limited(*command)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and f"{source}: " in result.stderr


@pytest.mark.parametrize(
    ("kind", "after_pixels"),
    [
        (b"prIV", False),
        (b"prIV", True),
        (b"pr1v", False),  # not a chunk type by the standard, but Pillow reads it
        (b"zTXt", False),
        (b"tEXt", True),
        (b"eXIf", False),
    ],
)
def test_a_huge_chunk_that_is_not_pixels_is_left_unread(
    tmp_path: Path, kind: bytes, after_pixels: bool
) -> None:
    source = png_with_huge_chunk(tmp_path / "small.png", kind, after_pixels=after_pixels)
    result = run_limited("badge", source, "-o", tmp_path / "out.png")
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "out.png") as badged:
        expected = apply_badge(photo(64, 48))
        assert np.array_equal(np.asarray(badged.convert("RGB")), np.asarray(expected))


def test_a_huge_critical_chunk_is_refused_unread(tmp_path: Path) -> None:
    plain = io.BytesIO()
    photo(64, 48).save(plain, "PNG")
    png = plain.getvalue()
    at = png.index(b"IDAT") - 4
    source = tmp_path / "broken.png"
    source.write_bytes(png[:at] + struct.pack(">I", HUGE) + b"PLTE" + png[at:])
    with pytest.raises(UnreadableImageError) as raised:
        badge_bytes(source.read_bytes())
    assert str(raised.value) == "input: a 1,610,612,736-byte PLTE chunk (a damaged PNG)"


# -- privacy over a whole batch ------------------------------------------------------------------


def located_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 30.0)
    return exif


def located_photos(folder: Path) -> None:
    folder.mkdir()
    base = photo(160, 120)
    exif = located_exif()
    base.save(folder / "a.jpg", exif=exif.tobytes(), xmp=XMP, comment=b"Paris, Rue X")
    text = PngImagePlugin.PngInfo()
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    text.add_text("Location", "Paris")
    base.save(folder / "b.png", exif=exif.tobytes(), pnginfo=text)
    base.save(folder / "c.webp", exif=exif.tobytes(), xmp=XMP)
    base.save(folder / "d.avif", exif=exif.tobytes(), xmp=XMP)
    tiff_tags = located_exif()
    tiff_tags[700] = XMP  # XMP
    tiff_tags[33723] = b"\x1c\x02\x5a\x00\x05Paris"  # IPTC City
    base.save(folder / "e.tif", exif=tiff_tags)
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        base.save(folder / "f.heic", exif=exif.tobytes(), xmp=XMP)
    except ImportError:
        pass


def has_location(path: Path) -> bool:
    raw = path.read_bytes()
    if any(marker in raw for marker in LOCATION_MARKERS):
        return True
    with Image.open(path) as image:
        exif = image.getexif()
        return ExifTags.IFD.GPSInfo in exif or bool(exif.get_ifd(ExifTags.IFD.GPSInfo))


def test_no_location_survives_a_batch(tmp_path: Path) -> None:
    located_photos(tmp_path / "src")
    assert all(has_location(p) for p in (tmp_path / "src").iterdir())
    report = batch(tmp_path / "src", tmp_path / "out")
    assert report.counts["failed"] == 0 and report.counts["ok"] >= 5
    outputs = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name[0] != "."]
    assert len(outputs) == report.counts["ok"]
    leaks = [p.name for p in outputs if has_location(p)]
    assert leaks == []


def test_keep_metadata_keeps_location(tmp_path: Path) -> None:
    located_photos(tmp_path / "src")
    batch(tmp_path / "src", tmp_path / "out", BadgeOptions(metadata="keep"))
    assert has_location(tmp_path / "out" / "a.jpg")


@pytest.mark.parametrize("closed", [False, True], ids=["unclosed", "many-elements"])
def test_hostile_xmp_is_handled_in_linear_time(closed: bool) -> None:
    namespaces = (
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    )
    repeated = "<exif:GPSa>1</exif:GPSa>" if closed else "<exif:GPSa "
    tail = "</rdf:Description></rdf:RDF></x:xmpmeta>" if closed else ""
    xmp = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {namespaces}><rdf:Description>'
        + repeated * 100_000
        + tail
    )
    text = PngImagePlugin.PngInfo()
    text.add_itxt("XML:com.adobe.xmp", xmp)
    buffer = io.BytesIO()
    photo(64, 48).save(buffer, "PNG", pnginfo=text)
    started = time.monotonic()
    out = badge_bytes(buffer.getvalue())
    assert time.monotonic() - started < 3
    assert b"GPSa" not in out


# -- faults --------------------------------------------------------------------------------------


def test_a_source_that_vanishes_mid_batch_fails_and_the_batch_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        photo(60, 40).save(source / name)
    plan = plan_batch(source, tmp_path / "out", BadgeOptions(), overwrite=False)
    (source / "b.jpg").unlink()
    (source / "c.jpg").unlink()
    (source / "c.jpg").mkdir()  # no longer a file at all
    results = {Path(r.source).name: r for r in run_jobs(plan.jobs, BadgeOptions(), executor=None,
                                                         overwrite=False)}  # fmt: skip
    assert results["a.jpg"].status == "ok"
    assert results["b.jpg"].status == "failed" and "no such file" in (results["b.jpg"].error or "")
    assert results["c.jpg"].status == "failed" and "folder" in (results["c.jpg"].error or "")


def test_outputs_cannot_escape_dest_through_a_link(tmp_path: Path) -> None:
    source, destination, elsewhere = tmp_path / "src", tmp_path / "out", tmp_path / "elsewhere"
    (source / "sub").mkdir(parents=True)
    photo(60, 40).save(source / "sub" / "a.jpg")
    destination.mkdir()
    elsewhere.mkdir()
    (destination / "sub").symlink_to(elsewhere, target_is_directory=True)
    report = batch(source, destination)
    assert report.counts == {"ok": 0, "skipped": 0, "failed": 1}
    assert "outside" in (report.results[0].error or "")
    assert list(elsewhere.iterdir()) == []


# -- load: 10,000 files, killed five times ---------------------------------------------------------


def small_tree(root: Path, count: int) -> Path:
    source = root / "src"
    data = io.BytesIO()
    photo(48, 36).save(data, "JPEG", quality=85)
    for index in range(count):
        folder = source / f"group-{index // 1000:02}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"p{index:05}.jpg").write_bytes(data.getvalue())
    return source


@pytest.mark.slow
def test_memory_stays_flat_over_10000_files(tmp_path: Path) -> None:
    """Peak RSS of one process badging 10,000 files, sampled as the batch goes."""
    source = small_tree(tmp_path, 10_000)
    probe = (
        "import json, sys, blueheart\n"
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "done, samples = 0, {}\n"
        "def progress(result):\n"
        "    global done\n"
        "    done += 1\n"
        "    if done in (500, 1000, 5000, 10000):\n"
        "        samples[done] = peak()\n"
        "report = blueheart.batch(sys.argv[1], sys.argv[2], progress=progress)\n"
        "assert report.counts['ok'] == 10000, report.counts\n"
        "print(json.dumps(samples))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(source), str(tmp_path / "out")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    samples = {int(k): v for k, v in json.loads(result.stdout).items()}
    assert samples[5000] <= samples[500] * 1.10, samples
    assert samples[10000] <= samples[1000] * 1.10, samples


def outputs_state(destination: Path) -> dict[Path, tuple[int, int]]:
    return {
        path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in destination.rglob("*.jpg")
    }


@pytest.mark.slow
def test_10000_files_killed_five_times_end_complete_and_written_once(tmp_path: Path) -> None:
    total = 10_000
    source = small_tree(tmp_path, total)
    destination = tmp_path / "out"
    command = [sys.executable, "-m", "blueheart", "batch", str(source), str(destination),
               "-j", "2"]  # fmt: skip
    rng = random.Random(7)
    seen: dict[Path, tuple[int, int]] = {}
    for _ in range(5):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)  # fmt: skip
        time.sleep(rng.uniform(0.8, 3.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        state = outputs_state(destination)
        # Nothing written before is written again: same file, same time.
        assert all(state[path] == before for path, before in seen.items())
        seen = state
    report = tmp_path / "report.json"
    finished = subprocess.run([*command, "--report", str(report)], capture_output=True,
                              text=True, timeout=900)  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-2000:]
    document = json.loads(report.read_text())
    assert len(document["results"]) == total
    assert document["counts"]["failed"] == 0
    assert document["counts"]["skipped"] == len(seen)
    state = outputs_state(destination)
    assert len(state) == total
    assert all(state[path] == before for path, before in seen.items())
    assert not [p for p in destination.rglob(".*") if p.name != ".blueheart-batch"]
    for path in state:
        with Image.open(path) as image:
            image.load()
