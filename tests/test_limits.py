"""Limits under attack: memory bounded by the pixels decoded and written whatever the bit
depth, one pixel limit (ours) on input and output, JPEG density counted on the scans alone,
and a library that leaves its host's warning filters, Pillow limit and stderr alone."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import SHARED_PHOTOS, UN_BLUE_RGB, default_box, heart_pixels, photo
from PIL import Image

from blueheart import (
    BadgeOptions,
    ImageTooLargeError,
    OptionError,
    OutputTooLargeError,
    apply_badge,
    badge_bytes,
    batch,
)
from blueheart.cli.commands import cli
from blueheart.core.compose import to_working_mode

# The peak RSS of this process since it started (see tests/test_hostile.py).
PEAK_RSS_KB = (
    "print(next(int(line.split()[1]) for line in open('/proc/self/status') "
    "if line.startswith('VmHWM:')))"
)


def peak_rss_mb(code: str, *args: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", code + "\n" + PEAK_RSS_KB, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.split()[-1]) / 1024


# -- 16-bit and wide samples --------------------------------------------------------------------


def test_a_16_bit_scan_costs_its_decoded_and_written_pixels_only(tmp_path: Path) -> None:
    # 12 MP of 16-bit grey: 2 bytes a pixel decoded, 4 for the RGB written. Scaling the whole
    # frame through float64 copies took 35 bytes a pixel (8.3 GB for a 250-megapixel PNG).
    width, height = 4000, 3000
    samples = np.full((height, width), 30_000, np.uint16)
    samples[: height // 2, : width // 2] = 60_000
    path = tmp_path / "scan.png"
    Image.fromarray(samples).save(path, compress_level=1)
    probe = (
        "import sys, pathlib, blueheart\n"
        "blueheart.badge_bytes(pathlib.Path(sys.argv[1]).read_bytes(), format='jpeg')"
    )
    baseline = peak_rss_mb(
        "import blueheart, io\n"
        "from PIL import Image\n"
        "buffer = io.BytesIO(); Image.new('I;16', (64, 64)).save(buffer, 'PNG')\n"
        "blueheart.badge_bytes(buffer.getvalue(), format='jpeg')"
    )
    peak = peak_rss_mb(probe, str(path))
    per_pixel = (peak - baseline) * 2**20 / (width * height)
    assert per_pixel < 9, f"{per_pixel:.1f} bytes a pixel ({peak:.0f} MB)"


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I", "F"])
def test_wide_samples_are_scaled_alike_across_strips(mode: str) -> None:
    # 1500 x 1000 is converted in two strips; the scale must come from the whole image.
    rng = np.random.default_rng(3)
    if mode == "F":
        values = rng.uniform(0, 1, (1000, 1500)).astype(np.float32)
        values[-1, -1] = 3.0  # one sample above 1 in the last strip: the scale is 0..255
        values[0, :10] = np.nan
        image = Image.fromarray(values, "F")
        expected = np.nan_to_num(values.astype(np.float64), nan=0.0)
    else:
        values = rng.integers(0, 256, (1000, 1500)).astype(np.int32)
        values[-1, -1] = 40_000  # only the last strip goes past 255: the scale is 0..65535
        image = Image.fromarray(values, "I")
        if mode.startswith("I;16"):
            image = Image.frombytes(
                mode, image.size, values.astype(f"{'>' if mode.endswith('B') else '<'}u2").tobytes()
            )
        expected = values * (255 / 65535)
    rgb = np.asarray(to_working_mode(image))
    wanted = np.clip(np.rint(expected), 0, 255).astype(np.uint8)
    assert rgb.shape == (1000, 1500, 3)
    assert (rgb == wanted[..., None]).all()


# -- the output is bounded too ------------------------------------------------------------------


def test_an_output_size_over_the_limit_is_refused_before_any_pixel_is_made() -> None:
    started = time.monotonic()
    with pytest.raises(OutputTooLargeError, match="output_size: 1000000 px") as raised:
        apply_badge(photo(512, 600), output_size=10**6)
    assert time.monotonic() - started < 1
    error = raised.value
    assert error.field == "output_size"
    assert isinstance(error, OptionError) and isinstance(error, ImageTooLargeError)
    assert "853333x1000000" in str(error) and "over the limit of 250,000,000" in str(error)
    jpeg = io.BytesIO()
    photo(512, 600).save(jpeg, "JPEG")
    with pytest.raises(OutputTooLargeError, match="over the limit of 1,000,000"):
        badge_bytes(jpeg.getvalue(), output_size=2000, max_pixels=1_000_000, crop="square")
    # Under the limit it is only an output size.
    assert Image.open(io.BytesIO(badge_bytes(jpeg.getvalue(), output_size=1200))).size == (
        1024,
        1200,
    )


def test_cli_names_output_size_and_the_limit_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "me.jpg"
    photo(512, 600).save(source)
    result = CliRunner().invoke(
        cli, ["badge", str(source), "--output-size", "100000", "-o", str(tmp_path / "huge.jpg")]
    )
    # Like an emblem that cannot fit, it depends on the image: that input fails (exit 1).
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {source}: invalid value for '--output-size': 100000 px makes a 85333x100000 output of "
        "8,533,300,000 pixels, over the limit of 250,000,000\n"
    )
    assert not (tmp_path / "huge.jpg").exists()


def test_a_batch_fails_only_the_file_whose_output_would_be_too_large(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    photo(100, 100).save(source / "square.png")
    photo(1000, 10).save(source / "strip.png")
    options = BadgeOptions(output_size=1000, max_pixels=500_000, size=0.5)
    report = batch(source, tmp_path / "out", options)
    outcome = {Path(r.source).name: (r.status, r.error) for r in report.results}
    assert outcome["strip.png"] == ("ok", None)
    status, error = outcome["square.png"]
    assert status == "failed" and "output_size: 1000 px makes a 1000x1000 output" in str(error)


# -- JPEG density on the entropy-coded data ----------------------------------------------------


def lying_jpeg() -> bytearray:
    """A progressive 64x64 JPEG whose frame header claims 16000x15000."""
    buffer = io.BytesIO()
    photo(64, 64).save(buffer, "JPEG", progressive=True)
    data = bytearray(buffer.getvalue())
    frame = data.find(b"\xff\xc2")
    struct.pack_into(">HH", data, frame + 5, 15_000, 16_000)
    return data


def comment(size: int) -> bytes:
    return b"\xff\xfe" + struct.pack(">H", size + 2) + b"\0" * size


def padded_up_front() -> bytes:
    data = lying_jpeg()
    data[2:2] = comment(65533) * 4
    return bytes(data)


def padded_between_scans() -> bytes:
    data = lying_jpeg()
    second_scan = data.find(b"\xff\xda", data.find(b"\xff\xda") + 2)
    data[second_scan:second_scan] = comment(65533) * 4
    return bytes(data)


def padded_after_the_end() -> bytes:
    return bytes(lying_jpeg()) + b"\0" * 300_000


@pytest.mark.parametrize("make", [padded_up_front, padded_between_scans, padded_after_the_end])
def test_padding_does_not_count_as_image_data(make) -> None:  # type: ignore[no-untyped-def]
    # 256 KB of comments let a 64x64 JPEG claiming 240 megapixels pass as 1024 pixels a byte:
    # it decoded in 6.7 s and 1.9 GB.
    data = make()
    started = time.monotonic()
    with pytest.raises(ImageTooLargeError, match=r"16000x15000 pixels in [0-9,]+ bytes of image"):
        badge_bytes(data)
    assert time.monotonic() - started < 2


def test_real_jpegs_pass_the_density_check() -> None:
    restarts = io.BytesIO()
    photo(640, 480).save(restarts, "JPEG", restart_marker_blocks=1, progressive=True)
    flat = io.BytesIO()
    Image.new("L", (4000, 3000), 128).save(flat, "JPEG", optimize=True, comment=b"x" * 60_000)
    for data in (restarts.getvalue(), flat.getvalue()):
        assert Image.open(io.BytesIO(badge_bytes(data))).size == Image.open(io.BytesIO(data)).size
    cameras = sorted((SHARED_PHOTOS / "camera").glob("*.jp*g"))[:8]
    for path in cameras:
        assert badge_bytes(path.read_bytes(), output_size=256)


# -- one limit, ours, without Pillow's global ---------------------------------------------------


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def inputs() -> dict[str, bytes]:
    base = photo(160, 120)
    return {
        "jpeg": encoded(base, "JPEG"),
        "png": encoded(base, "PNG"),
        "png-16": encoded(Image.fromarray(np.full((120, 160), 900, np.uint16)), "PNG"),
        "tiff": encoded(base, "TIFF"),
        "tiff-lzw": encoded(base, "TIFF", compression="tiff_lzw"),
        "bmp": encoded(base, "BMP"),
        "gif": encoded(base, "GIF"),
        "avif": encoded(base, "AVIF"),
    }


@pytest.mark.parametrize("crop", ["none", "square", "circle"])
def test_pillows_own_limit_set_by_the_host_neither_applies_nor_changes(
    monkeypatch: pytest.MonkeyPatch, crop: str
) -> None:
    # A host that lowers Pillow's limit to 1,000 pixels: every place Pillow checks it (opening,
    # crop, TIFF's page allocation) would refuse these 19,200-pixel images or warn. (Not
    # animations: Pillow's GIF and APNG readers check frames after the first themselves, which
    # our animation limit keeps under 50 megapixels, below Pillow's default of 89.5.)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = {
            name: badge_bytes(data, crop=crop, position="auto", format="png")
            for name, data in inputs().items()
        }
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(ImageTooLargeError, match="19,200 pixels, over the limit of 19,000"):
        badge_bytes(inputs()["tiff"], max_pixels=19_000)
    monkeypatch.undo()
    for name, data in outputs.items():
        assert Image.open(io.BytesIO(data)).width in (120, 160), name


def test_a_webp_canvas_is_checked_before_libwebp_allocates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pillow's WebP reader checks only Pillow's limit, which a host may switch off.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    data = encoded(photo(160, 120), "WEBP")
    with pytest.raises(ImageTooLargeError, match="160x120 is 19,200 pixels, over the limit"):
        badge_bytes(data, max_pixels=10_000)
    assert Image.open(io.BytesIO(badge_bytes(data))).size == (160, 120)


# -- the host's warnings and stderr -------------------------------------------------------------


def test_threads_leave_the_hosts_warning_filters_alone() -> None:
    data = encoded(photo(320, 240), "JPEG")
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("ignore", message="host's own filter")
        filters = list(warnings.filters)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(8):
                    badge_bytes(data)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert warnings.filters == filters
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("the host still hears its warnings", UserWarning, stacklevel=1)
        assert [str(w.message) for w in caught] == ["the host still hears its warnings"]


def damaged_tiff(path: Path) -> None:
    data = bytearray(encoded(photo(256, 256), "TIFF", compression="tiff_lzw"))
    for at in range(400, len(data) - 1500, 41):
        data[at] ^= 0xA5
    path.write_bytes(data)


def test_the_cli_prints_one_line_for_a_damaged_tiff_whatever_libtiff_says(
    tmp_path: Path,
) -> None:
    damaged_tiff(tmp_path / "scan.tif")
    result = subprocess.run(
        [sys.executable, "-m", "blueheart", "badge", str(tmp_path / "scan.tif")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        result.stderr
        == f"Error: {tmp_path / 'scan.tif'}: cannot read the image (decoder error -2)\n"
    )
    source = tmp_path / "src"
    source.mkdir()
    damaged_tiff(source / "scan.tif")
    photo(64, 48).save(source / "fine.jpg")
    result = subprocess.run(
        [sys.executable, "-m", "blueheart", "batch", str(source), str(tmp_path / "out"), "-j", "2"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "tempfile.tif" not in result.stderr and "scan.tif" in result.stderr


# -- every page of a TIFF ----------------------------------------------------------------------


def test_every_page_of_a_tiff_is_badged_when_written_as_tiff() -> None:
    pages = [photo(320, 240), photo(200, 300, seed=1), photo(240, 240, seed=2).convert("L")]
    data = encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    with Image.open(io.BytesIO(badge_bytes(data))) as out:
        assert out.n_frames == 3 and out.info["compression"] == "tiff_lzw"
        for index, page in enumerate(pages):
            out.seek(index)
            assert out.size == page.size and out.mode == "RGB"
            blue = np.abs(heart_pixels(out, default_box(out.size)) - UN_BLUE_RGB).max()
            assert blue <= 2, f"page {index + 1}"
    # Another format holds one picture: the first page (documented).
    with Image.open(io.BytesIO(badge_bytes(data, format="png"))) as first:
        assert first.size == (320, 240) and getattr(first, "n_frames", 1) == 1


def test_the_pages_of_a_tiff_count_together_against_the_limit() -> None:
    pages = [photo(100, 100, seed=i) for i in range(4)]
    data = encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    with pytest.raises(ImageTooLargeError, match="4 pages of 40,000 pixels in all"):
        badge_bytes(data, max_pixels=30_000)


def test_a_tiff_whose_chain_of_pages_breaks_keeps_the_pages_before() -> None:
    pages = [photo(100, 80), photo(60, 90, seed=1)]
    data = bytearray(encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    first = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, first)[0]
    struct.pack_into("<I", data, first + 2 + 12 * entries, len(data) - 3)  # the next page: garbage
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's own words on the damage, left to the host
        out = badge_bytes(bytes(data))
    with Image.open(io.BytesIO(out)) as badged:
        assert badged.size == (100, 80) and badged.n_frames == 1


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_output_size_may_not_make_an_animations_frames_larger_than_the_limit(fmt: str) -> None:
    """Each frame is scaled to output_size: 1,000 small frames at 4096 px grew the service's
    memory without end. All frames together are checked against the limit before decoding."""
    frames = [
        photo(100, 100, seed=seed).convert("P" if fmt == "GIF" else "RGB") for seed in range(3)
    ]
    held = io.BytesIO()
    frames[0].save(held, fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with pytest.raises(OutputTooLargeError) as refused:
        badge_bytes(held.getvalue(), output_size=200, max_pixels=100_000)
    assert str(refused.value) == (
        "output_size: 200 px makes 3 frames of 200x200, 120,000 pixels, over the limit of 100,000"
    )
    badged = Image.open(
        io.BytesIO(badge_bytes(held.getvalue(), output_size=150, max_pixels=100_000))
    )
    assert badged.size == (150, 150) and getattr(badged, "n_frames", 1) == 3
