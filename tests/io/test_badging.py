"""The file flow (blueheart.io.badging) on what phones and cameras make: each test writes a file,
badges it, reopens the output and checks pixels: orientation, formats, colour, animations."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    P3_PROFILE,
    STORE_FOR_ORIENTATION,
    UN_BLUE_RGB,
    animation,
    blue_fraction,
    camera_exif,
    default_box,
    delta_e_2000,
    heart_pixels,
    lab,
    photo,
    reopen,
    save,
    to_srgb,
)
from PIL import ExifTags, Image, ImageSequence

from blueheart import (
    badge_bytes,
    badge_file,
)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_all_eight_orientations_give_the_same_upright_output(tmp_path: Path, fmt: str) -> None:
    upright = photo(120, 80, seed=3)
    outputs = []
    for orientation, undo in STORE_FOR_ORIENTATION.items():
        stored = upright if undo is None else upright.transpose(undo)
        quality = {"quality": 95} if fmt == "JPEG" else {}
        exif = camera_exif(orientation).tobytes()
        source = save(stored, tmp_path / f"o{orientation}.{fmt.lower()}", fmt, exif=exif, **quality)
        target = tmp_path / f"out{orientation}.png"
        badge_file(source, target)
        result = reopen(target)
        assert result.size == (120, 80)
        assert ExifTags.Base.Orientation not in result.getexif()
        outputs.append(np.asarray(result.convert("RGB")).astype(int))
    # Lossless sources agree exactly; JPEG sources differ only by re-compression noise.
    mean_tolerance = 0 if fmt == "PNG" else 3
    for other in outputs[1:]:
        assert np.abs(other - outputs[0]).mean() <= mean_tolerance


def test_the_heart_is_un_blue_through_the_photos_profile(tmp_path: Path) -> None:
    source = save(photo(400, 300), tmp_path / "p3.png", "PNG", icc_profile=P3_PROFILE)
    result = reopen(badge_bytes(source.read_bytes(), ring=0.0))
    assert result.info["icc_profile"] == P3_PROFILE
    pixels = heart_pixels(result, default_box(result.size))
    assert delta_e_2000(lab(to_srgb(pixels, P3_PROFILE)), lab(np.array(UN_BLUE_RGB))).max() <= 2


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("AVIF", "avif"), ("GIF", "gif"),
     ("TIFF", "tif"), ("BMP", "bmp")],
)  # fmt: skip
def test_each_format_is_read_and_written_as_itself(tmp_path: Path, fmt: str, suffix: str) -> None:
    source = save(photo(240, 180), tmp_path / f"in.{suffix}", fmt)
    target = tmp_path / f"out.{suffix}"
    badge_file(source, target)
    result = reopen(target)
    assert result.format == fmt and result.size == (240, 180)
    assert blue_fraction(result) > 0.01


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif"])
def test_format_option_chooses_the_output(tmp_path: Path, fmt: str) -> None:
    source = save(photo(100, 100), tmp_path / "in.png", "PNG")
    assert reopen(badge_bytes(source.read_bytes(), format=fmt)).format == fmt.upper()


def test_output_name_decides_the_format_when_format_is_keep(tmp_path: Path) -> None:
    source = save(photo(100, 100), tmp_path / "in.jpg", "JPEG")
    badge_file(source, tmp_path / "out.png")
    assert reopen(tmp_path / "out.png").format == "PNG"


def test_a_jpeg_output_size_leaves_as_it_is_keeps_its_quantisation(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "in.jpg", "JPEG", quality=62)
    for kept in ({"output_size": 320}, {"output_size": 2048, "enlarge": False}):
        result = reopen(badge_bytes(source.read_bytes(), **kept))
        assert result.size == (320, 240)
        assert result.quantization == reopen(source).quantization


@pytest.mark.parametrize("background", ["#FFFFFF", "#FF0000"])
def test_transparency_written_as_jpeg_is_flattened_onto_the_background(
    tmp_path: Path, background: str
) -> None:
    clear = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    source = save(clear, tmp_path / "clear.png", "PNG")
    result = reopen(badge_bytes(source.read_bytes(), format="jpeg", background=background))
    corner = np.asarray(result)[5, 5].astype(int)
    expected = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    assert np.abs(corner - expected).max() <= 3


def test_transparency_is_kept_in_png(tmp_path: Path) -> None:
    rgba = photo(100, 100).convert("RGBA")
    rgba.putalpha(40)
    result = reopen(badge_bytes(save(rgba, tmp_path / "t.png", "PNG").read_bytes()))
    assert result.mode == "RGBA" and np.asarray(result)[3, 3, 3] == 40


@pytest.mark.parametrize("mode", ["RGB", "L", "P"])
def test_a_png_transparent_colour_stays_transparent(tmp_path: Path, mode: str) -> None:
    # Logos and icons mark one colour transparent (tRNS) instead of carrying an alpha channel.
    pixels = np.full((120, 160, 3), 255, np.uint8)
    pixels[30:90, 20:80] = (200, 40, 40)
    image = Image.fromarray(pixels).convert(mode)
    key = image.getpixel((0, 0))
    source = save(image, tmp_path / "key.png", "PNG", transparency=key)
    result = reopen(badge_bytes(source.read_bytes()))
    alpha = np.asarray(result.convert("RGBA"))[..., 3]
    assert result.mode == "RGBA" and alpha[2, 2] == 0 and alpha[60, 50] == 255
    assert blue_fraction(result) > 0.01


@pytest.mark.parametrize("mode", ["L", "LA", "1", "P", "RGBA", "I;16"])
def test_png_modes(tmp_path: Path, mode: str) -> None:
    base = photo(160, 120)
    image = (
        Image.frombytes("I;16", base.size, (np.asarray(base.convert("L"), "<u2") * 257).tobytes())
        if mode == "I;16"
        else base.convert(mode)
    )
    result = reopen(badge_bytes(save(image, tmp_path / "m.png", "PNG").read_bytes()))
    assert result.mode in ("RGB", "RGBA") and blue_fraction(result) > 0.01


def test_cmyk_jpeg_with_and_without_profile(tmp_path: Path) -> None:
    source = save(photo(200, 200).convert("CMYK"), tmp_path / "cmyk.jpg", "JPEG")
    result = reopen(badge_bytes(source.read_bytes()))
    assert result.mode == "CMYK" and blue_fraction(result.convert("RGB")) > 0.01
    as_png = reopen(badge_bytes(source.read_bytes(), format="png"))
    assert as_png.mode == "RGB" and blue_fraction(as_png) > 0.01


def test_heic_is_read_and_written_as_jpeg(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    source = tmp_path / "iphone.heic"
    photo(300, 200).save(source, "HEIF", exif=camera_exif(6).tobytes())
    from blueheart.core.formats import SUFFIX_FORMATS, output_format, output_suffix

    written = output_format(SUFFIX_FORMATS[".heic"], __import__("blueheart").OutputFormat.KEEP,
                            needs_alpha=False)  # fmt: skip
    assert output_suffix(".heic", written) == ".jpg"
    target = tmp_path / "iphone.jpg"
    badge_file(source, target)
    result = reopen(target)
    assert result.format == "JPEG" and result.size == (200, 300)
    assert not result.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_an_iphone_photo_display_p3_rotated_located(tmp_path: Path) -> None:
    """The volunteer's case: HEIC, Display P3, orientation 6, GPS; a circle avatar."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    source = tmp_path / "IMG_0001.HEIC"
    photo(400, 300).save(source, "HEIF", exif=camera_exif(6).tobytes(), icc_profile=P3_PROFILE,
                         quality=90)  # fmt: skip
    target = tmp_path / "avatar.png"
    badge_file(source, target, crop="circle", output_size=240)
    result = reopen(target)
    assert result.format == "PNG" and result.size == (240, 240) and result.mode == "RGBA"
    assert result.info.get("icc_profile") == P3_PROFILE
    exif = result.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Orientation not in exif
    raw = np.asarray(result)
    heart = raw[..., :3][(raw[..., 3] == 255)]
    seen = to_srgb(heart.reshape(-1, 3), P3_PROFILE)
    close = delta_e_2000(lab(seen), lab(np.array(UN_BLUE_RGB))) <= 2
    assert close.sum() > 500  # a UN-blue heart, read through the photo's own profile


def test_a_fresh_process_badges_its_first_file_while_importing(tmp_path: Path) -> None:
    # The first file decodes while a thread imports the pixel pipeline: the result must be
    # the same as in a warm process, and a corrupt file must still fail with one error.
    import subprocess
    import sys

    source = save(photo(640, 480), tmp_path / "a.jpg", "JPEG")
    (tmp_path / "bad.jpg").write_bytes(source.read_bytes()[:3000])
    probe = (
        "import sys, blueheart\n"
        "try:\n"
        "    blueheart.badge_file(sys.argv[1], sys.argv[2])\n"
        "except blueheart.UnreadableImageError as error:\n"
        "    print(type(error).__name__)\n"
    )
    for name, output in (("bad.jpg", "bad-out.jpg"), ("a.jpg", "cold.png")):
        result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / name),
                                 str(tmp_path / output)], capture_output=True, text=True,
                                check=True)  # fmt: skip
        assert result.stdout.strip() == ("UnreadableImageError" if name == "bad.jpg" else "")
    assert not (tmp_path / "bad-out.jpg").exists()
    badge_file(source, tmp_path / "warm.png")
    with Image.open(tmp_path / "cold.png") as cold, Image.open(tmp_path / "warm.png") as warm:
        assert np.array_equal(np.asarray(cold), np.asarray(warm))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_keep_frames_durations_and_loop(tmp_path: Path, fmt: str) -> None:
    frames = animation()
    durations = [80, 120, 160, 200]
    source = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(source, fmt, save_all=True, append_images=frames[1:], duration=durations,
                   loop=3)  # fmt: skip
    target = tmp_path / f"out.{fmt.lower()}"
    badge_file(source, target)
    result = Image.open(target)
    assert result.format == fmt and result.n_frames == 4
    assert result.info.get("loop") == 3
    seen = []
    for frame in ImageSequence.Iterator(result):
        frame.load()  # WebP reports a frame's duration once it is loaded
        seen.append(frame.info.get("duration"))
        assert blue_fraction(frame) > 0.01
    assert seen == durations


def test_an_animations_frames_share_one_crop_and_its_faces_are_looked_for_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each frame took its own square (the avatar jumped as its subject moved) and ran the face
    # detector: 9,999 frames took 56 s and 2 GB.
    from blueheart.core import pipeline

    looked: list[tuple[int, int]] = []
    monkeypatch.setattr(pipeline, "detect_faces", lambda image: looked.append(image.size) or ())
    frames = []
    for left in (20, 240):  # a red subject at the left, then at the right
        frame = Image.new("RGB", (300, 100), (128, 128, 128))
        frame.paste((230, 20, 20), (left, 30, left + 40, 70))
        frames.append(frame)
    source = tmp_path / "moving.png"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100)
    badge_file(source, tmp_path / "avatar.png", crop="square", focus="auto", size=0.2)
    with Image.open(tmp_path / "avatar.png") as result:
        assert result.n_frames == 2
        result.seek(1)
        second = np.asarray(result.convert("RGB")).astype(int)
    reds = (second[..., 0] > 180) & (second[..., 1] < 80) & (second[..., 2] < 80)
    assert not reds.any()  # the first frame's square, which the subject has left
    assert looked == [(300, 100)]


def test_gif_palette_keeps_the_heart_close_to_un_blue(tmp_path: Path) -> None:
    frames = [f.convert("P") for f in animation()]
    source = tmp_path / "a.gif"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100, loop=0)
    target = tmp_path / "b.gif"
    badge_file(source, target)
    result = Image.open(target)
    for frame in ImageSequence.Iterator(result):
        heart = heart_pixels(frame.convert("RGB"), default_box(frame.size))
        assert delta_e_2000(lab(heart), lab(np.array(UN_BLUE_RGB))).max() <= 3.0


def test_gif_disposal_is_kept(tmp_path: Path) -> None:
    frames = [f.convert("P") for f in animation(3)]
    source = tmp_path / "d.gif"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100, disposal=2)
    target = tmp_path / "e.gif"
    badge_file(source, target)
    result = Image.open(target)
    methods = []
    for index in range(result.n_frames):
        result.seek(index)
        methods.append(result.disposal_method)
    assert methods[:2] == [2, 2]


def gif_holding_one_picture_twice(path: Path, durations: tuple[int, int], disposal: int) -> Path:
    """A GIF whose two frames are the same picture (a pause held over two frames, as other
    tools write it; Pillow's writer would merge them)."""
    single = io.BytesIO()
    photo(160, 120).convert("P").save(single, "GIF")
    data = single.getvalue()
    table_end = 13 + 3 * 2 ** ((data[10] & 7) + 1)
    assert data[table_end] == 0x2C and data[-1] == 0x3B  # the picture follows the palette
    picture = data[table_end:-1]
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frames = b"".join(
        b"\x21\xf9\x04" + bytes([disposal << 2]) + (centiseconds // 10).to_bytes(2, "little")
        + b"\x00\x00" + picture
        for centiseconds in durations
    )  # fmt: skip
    path.write_bytes(data[:table_end] + loop + frames + b"\x3b")
    return path


def apng_lasting_a_thirtieth(path: Path) -> Path:
    """An APNG whose frames each last 1/30 s (33.3 ms): Pillow writes whole milliseconds, so
    its frame controls are rewritten."""
    frames = animation(3)
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], duration=33)
    data = bytearray(buffer.getvalue())
    position = 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        if data[position + 4 : position + 8] == b"fcTL":
            body = position + 8
            data[body + 20 : body + 24] = (1).to_bytes(2, "big") + (30).to_bytes(2, "big")
            crc = zlib.crc32(data[position + 4 : body + length])
            data[body + length : body + length + 4] = crc.to_bytes(4, "big")
        position += 12 + length
    path.write_bytes(bytes(data))
    return path


def durations_of(path: Path, *, badged: bool = True) -> list[float]:
    """Each frame's duration, checking that each is badged."""
    with Image.open(path) as image:
        seen = []
        for frame in ImageSequence.Iterator(image):
            frame.load()  # WebP and AVIF report a frame's duration once it is loaded
            assert (blue_fraction(frame.convert("RGB")) > 0.01) is badged
            seen.append(frame.info.get("duration"))
        return seen


def test_a_gif_holding_one_picture_over_two_frames_is_badged(tmp_path: Path) -> None:
    source = gif_holding_one_picture_twice(tmp_path / "pause.gif", (20, 50), disposal=1)
    with Image.open(source) as opened:
        assert opened.n_frames == 2
    badge_file(source, tmp_path / "out.gif")
    # Pillow's writer merges the two identical badged frames into one of 70 ms.
    assert sum(durations_of(tmp_path / "out.gif")) == 70


@pytest.mark.parametrize("suffix", ["avif", "webp"])
def test_fractional_apng_durations_are_written_as_whole_milliseconds(
    tmp_path: Path, suffix: str
) -> None:
    source = apng_lasting_a_thirtieth(tmp_path / "a.png")
    assert durations_of(source, badged=False) == pytest.approx([1000 / 30] * 3)
    badge_file(source, tmp_path / f"out.{suffix}")
    assert durations_of(tmp_path / f"out.{suffix}") == [33, 33, 33]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animation_written_as_a_still_keeps_its_first_frame(tmp_path: Path, fmt: str) -> None:
    frames = animation(3)
    source = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(source, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    badge_file(source, tmp_path / "still.jpg")
    with Image.open(source) as opened:
        decoded = [
            np.asarray(f.convert("RGB"), dtype=float) for f in ImageSequence.Iterator(opened)
        ]
    with Image.open(tmp_path / "still.jpg") as still:
        assert still.format == "JPEG" and still.size == (160, 120)
        assert blue_fraction(still) > 0.01
        pixels = np.asarray(still.convert("RGB"), dtype=float)
    # The top-left quarter, far from the heart, is the first frame's.
    away = (slice(0, 60), slice(0, 80))
    differences = [np.abs(pixels[away] - frame[away]).mean() for frame in decoded]
    assert differences[0] < 5 < min(differences[1:])


def test_the_input_cannot_be_the_output_even_with_overwrite(tmp_path: Path) -> None:
    source = save(photo(80, 80), tmp_path / "in.png", "PNG")
    before = source.read_bytes()
    with pytest.raises(ValueError, match=r"^destination: .*: is an input \(the same file\); "):
        badge_file(source, tmp_path / "." / "in.png", overwrite=True)
    assert source.read_bytes() == before


def test_threads_get_the_same_bytes_as_one_caller() -> None:
    # A web server calls badge_bytes from many threads; caches and locks must not mix results.
    from concurrent.futures import ThreadPoolExecutor

    inputs = []
    for index in range(12):
        buffer = io.BytesIO()
        profile = {"icc_profile": P3_PROFILE} if index % 4 == 0 else {}
        photo(200 + 7 * index, 150 + 5 * index, seed=index).save(
            buffer, ("JPEG", "PNG", "WEBP")[index % 3], **profile
        )
        inputs.append(buffer.getvalue())
    choices = [{}, {"crop": "circle", "output_size": 96, "format": "png"}, {"position": "auto"}]

    def run(index: int) -> bytes:
        return badge_bytes(inputs[index % 12], **choices[index % 3])

    alone = [run(index) for index in range(36)]
    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(run, range(36))) == alone
