"""The file pipeline on what phones and cameras make: each test writes a file, badges it,
reopens the output and checks pixels and metadata."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    P3_PROFILE,
    UN_BLUE_RGB,
    default_box,
    delta_e_2000,
    heart_pixels,
    lab,
    photo,
    to_srgb,
)
from PIL import ExifTags, Image, ImageSequence, PngImagePlugin

from blueheart import (
    BlueheartError,
    ImageTooLargeError,
    OutputExistsError,
    UnreadableImageError,
    UnsupportedFormatError,
    apply_badge,
    badge_bytes,
    badge_file,
)

XMP_WITH_LOCATION = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,21.0E">'
    "<photoshop:City>Paris</photoshop:City>"
    "<Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li>Rue X</rdf:li></rdf:Bag>"
    "</Iptc4xmpExt:LocationCreated>"
    "<dc:creator><rdf:Seq><rdf:li>A volunteer</rdf:li></rdf:Seq></dc:creator>"
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()

# What each EXIF orientation asks a viewer to do, undone to make the stored pixels.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def camera_exif(orientation: int = 1, *, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.Model] = "Model 15"
    exif[ExifTags.Base.Orientation] = orientation
    if gps:
        location = exif.get_ifd(ExifTags.IFD.GPSInfo)
        location[ExifTags.GPS.GPSLatitudeRef] = "N"
        location[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 30.0)
        location[ExifTags.GPS.GPSLongitudeRef] = "E"
        location[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 5.0)
    return exif


def save(image: Image.Image, path: Path, fmt: str | None = None, **params: object) -> Path:
    image.save(path, fmt, **params)
    return path


def reopen(path_or_bytes: Path | bytes) -> Image.Image:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    image = Image.open(source)
    image.load()
    return image


def blue_fraction(image: Image.Image) -> float:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    close = np.abs(pixels - UN_BLUE_RGB).max(axis=1) <= 20
    return float(close.mean())


# -- orientation ---------------------------------------------------------------------------


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


# -- metadata policy -------------------------------------------------------------------------


def gps_jpeg(tmp_path: Path) -> Path:
    return save(photo(200, 150), tmp_path / "gps.jpg", "JPEG", exif=camera_exif().tobytes(),
                xmp=XMP_WITH_LOCATION, icc_profile=P3_PROFILE)  # fmt: skip


def test_location_is_removed_by_default_and_the_rest_kept(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    badge_file(gps_jpeg(tmp_path), target)
    result = reopen(target)
    exif = result.getexif()
    assert ExifTags.IFD.GPSInfo not in exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert exif[ExifTags.Base.Model] == "Model 15"
    xmp = result.info.get("xmp", b"")
    assert b"GPS" not in xmp and b"Paris" not in xmp and b"Location" not in xmp
    assert b"A volunteer" in xmp
    assert result.info["icc_profile"] == P3_PROFILE
    raw = target.read_bytes()
    assert b"Paris" not in raw and b"GPSLatitude" not in raw


def test_the_exif_thumbnail_of_the_original_is_not_carried(tmp_path: Path) -> None:
    # Cameras embed a thumbnail of the photo as shot: uncropped and without the heart.
    small = io.BytesIO()
    photo(16, 12).save(small, "JPEG", comment=b"thumbnail-of-the-original")
    thumbnail = small.getvalue()
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHI4s", 0x0110, 2, 4, b"Cam\0")
    ifd1_at = 8 + len(ifd0) + 4
    ifd1 = struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, ifd1_at + 30)
    ifd1 += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail)) + struct.pack("<I", 0)
    exif = b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd0 + struct.pack("<I", ifd1_at) + ifd1
    source = save(photo(200, 150), tmp_path / "cam.jpg", "JPEG", exif=exif + thumbnail)
    assert b"thumbnail-of-the-original" in source.read_bytes()
    for keep in (False, True):
        output = badge_bytes(source.read_bytes(), keep_metadata=keep, crop="square")
        assert b"thumbnail-of-the-original" not in output
        assert reopen(output).getexif()[0x0110] == "Cam"


def test_vendor_location_fields_are_removed_too(tmp_path: Path) -> None:
    # Drones and video tools name places their own way; the names still say what they hold.
    xmp = XMP_WITH_LOCATION.replace(
        b'exif:GPSLatitude="48,51.5N"',
        b'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
        b'xmlns:xmpDM="http://ns.adobe.com/xmp/1.0/DynamicMedia/" '
        b'drone-dji:GpsLatitude="48.858" drone-dji:AbsoluteAltitude="+35.20"',
    ).replace(b"<dc:creator>", b"<xmpDM:shotLocation>Quai Branly</xmpDM:shotLocation><dc:creator>")
    source = save(photo(64, 48), tmp_path / "drone.jpg", "JPEG", xmp=xmp)
    result = reopen(badge_bytes(source.read_bytes())).info["xmp"]
    for place in (b"48.858", b"35.20", b"Quai Branly", b"Paris"):
        assert place not in result
    assert b"A volunteer" in result


def test_keep_metadata_keeps_the_location(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    badge_file(gps_jpeg(tmp_path), target, keep_metadata=True)
    result = reopen(target)
    assert result.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert b"Paris" in result.info["xmp"]


def test_unparseable_xmp_is_dropped_rather_than_leaked(tmp_path: Path) -> None:
    broken = XMP_WITH_LOCATION.replace(b"</x:xmpmeta>", b"")
    source = save(photo(64, 64), tmp_path / "x.jpg", "JPEG", xmp=broken)
    result = reopen(badge_bytes(source.read_bytes()))
    assert b"Paris" not in result.info.get("xmp", b"")


def test_metadata_too_large_for_a_jpeg_segment_is_left_out_not_fatal(tmp_path: Path) -> None:
    # Photoshop keeps its history in a PNG's XMP, hundreds of KB; a JPEG segment holds 64 KB.
    history = b"".join(b"<rdf:li>xmp.did:%032d</rdf:li>" % i for i in range(3000))
    xmp = XMP_WITH_LOCATION.replace(b"</dc:creator>", b"</dc:creator><x:h>" + history + b"</x:h>")
    exif = camera_exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.MakerNote] = bytes(70_000)
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    source = save(photo(200, 150), tmp_path / "big.png", "PNG", pnginfo=info,
                  exif=exif.tobytes())  # fmt: skip
    assert len(xmp) > 65536 and len(exif.tobytes()) > 65536
    as_jpeg = reopen(badge_bytes(source.read_bytes(), format="jpeg", keep_metadata=True))
    assert blue_fraction(as_jpeg) > 0
    assert "xmp" not in as_jpeg.info and not as_jpeg.getexif()
    as_png = reopen(badge_bytes(source.read_bytes(), keep_metadata=True))  # room for both
    assert b"A volunteer" in as_png.info["XML:com.adobe.xmp"].encode()
    assert as_png.getexif()[ExifTags.Base.Model] == "Model 15"
    described = reopen(badge_bytes(source.read_bytes(), format="jpeg"))  # the allow-list fits
    assert b"A volunteer" in described.info["xmp"] and b"xmp.did" not in described.info["xmp"]
    assert described.getexif()[ExifTags.Base.Model] == "Model 15"


def damaged_exif(orientation: int) -> bytes:
    """EXIF as some firmware writes it: XResolution, a RATIONAL, stored as text. Pillow reads
    it but cannot write it back."""
    entries = [(0x0112, 3, 1, struct.pack("<HH", orientation, 0)), (0x011A, 2, 4, b"72\0\0")]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + value
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


def test_a_damaged_exif_tag_costs_the_exif_not_the_photo(tmp_path: Path) -> None:
    upright = photo(300, 200)
    stored = upright.transpose(STORE_FOR_ORIENTATION[6])
    source = save(stored, tmp_path / "odd.jpg", "JPEG", exif=damaged_exif(6), quality=95)
    with pytest.raises((TypeError, ValueError)):
        Image.open(source).getexif().tobytes()  # what Pillow does with it
    result = reopen(badge_bytes(source.read_bytes()))
    assert result.size == (300, 200) and not result.getexif()
    seen = np.asarray(result.convert("RGB"), dtype=int)
    expected = np.asarray(apply_badge(upright), dtype=int)
    upside_down = np.asarray(apply_badge(upright.transpose(Image.Transpose.ROTATE_180)), dtype=int)
    # Two JPEG generations of a noisy photo differ by a few levels; a wrong turn by dozens.
    assert np.abs(seen - expected).mean() < 8 < 20 < np.abs(seen - upside_down).mean()
    in_memory = apply_badge(Image.open(source))
    assert in_memory.size == (300, 200) and "exif" not in in_memory.info


def test_xmp_with_text_between_its_properties_is_dropped(tmp_path: Path) -> None:
    # A damaged tag can turn into text that still reads as a place (found by the fuzzer).
    damaged = XMP_WITH_LOCATION.replace(b' exif:GPSLongitude="2,21.0E">',
                                        b'>xif:GPSLongitude="2,21.0E">')  # fmt: skip
    source = save(photo(64, 48), tmp_path / "x.webp", "WEBP", xmp=damaged)
    output = badge_bytes(source.read_bytes())
    assert b"2,21" not in output and b"48,51" not in output


def test_the_heart_is_un_blue_through_the_photos_profile(tmp_path: Path) -> None:
    source = save(photo(400, 300), tmp_path / "p3.png", "PNG", icc_profile=P3_PROFILE)
    result = reopen(badge_bytes(source.read_bytes(), ring=0.0))
    assert result.info["icc_profile"] == P3_PROFILE
    pixels = heart_pixels(result, default_box(result.size))
    assert delta_e_2000(lab(to_srgb(pixels, P3_PROFILE)), lab(np.array(UN_BLUE_RGB))).max() <= 2


# -- JPEG quality -----------------------------------------------------------------------------


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


# -- formats -----------------------------------------------------------------------------------


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
    from blueheart.formats import SUFFIX_FORMATS, output_format, output_suffix

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


def test_heic_without_the_extra_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import blueheart.imagefile as imagefile

    monkeypatch.setattr(imagefile, "_register_heif", lambda: False)
    header = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0mif1heic"
    with pytest.raises(
        UnsupportedFormatError,
        match=r"\(pip install '\.\[heif\]' in a blueheart checkout, or pip install pillow-heif\)",
    ):
        badge_bytes(header + b"\0" * 100)


# -- animations -------------------------------------------------------------------------------


def animation(count: int = 4) -> list[Image.Image]:
    return [photo(160, 120, seed=i) for i in range(count)]


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


# -- limits -------------------------------------------------------------------------------------


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
    from blueheart.imagefile import open_image

    data = png_header_only(16320, 12240)
    with open_image(data, name="big.png", max_pixels=250_000_000) as image:
        assert image.size == (16320, 12240)


# -- bad input -----------------------------------------------------------------------------------


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


def test_the_input_cannot_be_the_output_even_with_overwrite(tmp_path: Path) -> None:
    source = save(photo(80, 80), tmp_path / "in.png", "PNG")
    before = source.read_bytes()
    with pytest.raises(ValueError, match=r"^destination: .* is the input"):
        badge_file(source, tmp_path / "." / "in.png", overwrite=True)
    assert source.read_bytes() == before


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
