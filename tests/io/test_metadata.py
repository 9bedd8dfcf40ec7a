"""Privacy by allow-list: real camera files badged, and every tag of the output read back with
an independent reader (exiftool); invented tags and properties never pass; TIFF tags; the
metadata options."""

from __future__ import annotations

import functools
import io
import re
import string
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from exiftool import FILE_GROUPS, every_tag, needs_exiftool
from helpers import (
    P3_PROFILE,
    STORE_FOR_ORIENTATION,
    UN_BLUE_RGB,
    XMP_WITH_LOCATION,
    blue_fraction,
    camera_exif,
    default_box,
    heart_pixels,
    photo,
    reopen,
    save,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, PngImagePlugin, TiffImagePlugin, TiffTags

from blueheart import BadgeOptions, OptionError, apply_badge, badge_bytes, badge_file
from blueheart.cli.commands import cli

DATA = Path(__file__).resolve().parents[1] / "data"
CAMERA_FILES = (
    "Nikon-D3100.jpg",
    "Casio-EX-Z3.jpg",
    "Sony-Ericsson-C905c.jpg",
    "Sony-Ericsson-U10i.jpg",
    "Panasonic-Lumix-DMC-LX7.jpg",
)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CELL_ID = b"460-0-4236-50280"
"""The cell tower the Sony Ericsson U10i wrote into its XMP."""

# The contract's descriptive fields, as exiftool names them.
DESCRIPTIVE_TAGS = {
    "IFD0": {
        "ImageDescription", "Make", "Model", "ModifyDate", "Artist", "Copyright",
        "XResolution", "YResolution", "ResolutionUnit",
    },
    "PNG-pHYs": {"PixelsPerUnitX", "PixelsPerUnitY", "PixelUnits"},
    "ExifIFD": {
        "DateTimeOriginal", "CreateDate", "OffsetTime", "OffsetTimeOriginal",
        "OffsetTimeDigitized", "SubSecTime", "SubSecTimeOriginal", "SubSecTimeDigitized",
        "ExposureTime", "FNumber", "ExposureProgram", "ISO", "SensitivityType",
        "StandardOutputSensitivity", "RecommendedExposureIndex", "ISOSpeed",
        "ShutterSpeedValue", "ApertureValue", "BrightnessValue", "ExposureCompensation",
        "MaxApertureValue", "SubjectDistance", "MeteringMode", "LightSource", "Flash",
        "FocalLength", "ExposureIndex", "ExposureMode", "WhiteBalance", "DigitalZoomRatio",
        "FocalLengthIn35mmFormat", "SceneCaptureType", "LensInfo", "LensMake", "LensModel",
    },
}  # fmt: skip
NEVER = re.compile(r"Preview|Thumbnail|MakerNote|GPS|Location|Serial|Cell|Orientation", re.I)
SURVIVORS = (
    "IFD0:Make", "IFD0:Model", "IFD0:Artist", "IFD0:Copyright", "ExifIFD:DateTimeOriginal",
    "ExifIFD:ExposureTime", "ExifIFD:FNumber", "ExifIFD:ISO",
)  # fmt: skip


@functools.cache
def source_tags(name: str) -> dict[str, object]:
    return every_tag(DATA / name)


def badge_cli(source: Path, target: Path, *args: str) -> Path:
    result = CliRunner().invoke(cli, ["badge", str(source), "-o", str(target), *args])
    assert result.exit_code == 0, result.output
    return target


OUTPUTS = {
    "avatar.png": ("--crop", "circle", "--output-size", "256"),
    "photo.jpg": ("--output-size", "256"),
    "photo.webp": ("--crop", "square", "--output-size", "256"),
}


@needs_exiftool
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", CAMERA_FILES)
def test_camera_files_keep_only_the_descriptive_fields(
    tmp_path: Path, name: str, output: str
) -> None:
    before = source_tags(name)
    # What makes each file a test: a vendor MakerNote, and a preview or thumbnail of the
    # whole photo (the U10i also its cell id in XMP, the LX7 a Location field).
    assert any(key.endswith(":PreviewImage") for key in before) and "IFD1:ThumbnailImage" in before
    assert {key.split(":")[0] for key in before} & {"Nikon", "Casio", "Sony", "Panasonic"}

    target = badge_cli(DATA / name, tmp_path / output, *OUTPUTS[output])
    after = every_tag(target)
    for key in after:
        group, tag = key.split(":")[0], key.split(":")[-1]
        assert not NEVER.search(key), key
        if group in FILE_GROUPS or group.startswith("ICC"):
            continue
        assert tag in DESCRIPTIVE_TAGS.get(group, ()), f"{key} is not a descriptive field"
    assert after["IFD0:Make"] == before["IFD0:Make"]
    for key in SURVIVORS:
        assert after.get(key) == before.get(key), key
    data = target.read_bytes()
    assert CELL_ID not in data
    # No second picture inside: a JPEG starts once, at the top of a JPEG, and nowhere in the
    # blocks around a PNG's or a WebP's pixels.
    assert outside_pixels(data).count(b"\xff\xd8\xff") == (1 if output.endswith(".jpg") else 0)


@needs_exiftool
def test_the_survivors_are_really_there(tmp_path: Path) -> None:
    # Guards the test above against passing on an empty output.
    after = every_tag(
        badge_cli(DATA / "Panasonic-Lumix-DMC-LX7.jpg", tmp_path / "a.png", "--crop", "circle")
    )
    assert after["IFD0:Make"] == "Panasonic" and after["IFD0:Artist"] == "Drew Noakes"
    assert after["ExifIFD:DateTimeOriginal"] == "2014:11:19 23:06:56"
    assert {"ExifIFD:ExposureTime", "ExifIFD:FNumber", "ExifIFD:ISO"} <= set(after)
    assert "Panasonic:Location" in source_tags("Panasonic-Lumix-DMC-LX7.jpg")
    assert CELL_ID in (DATA / "Sony-Ericsson-U10i.jpg").read_bytes()


@needs_exiftool
def test_keep_metadata_keeps_the_vendor_blocks_but_not_the_orientation(tmp_path: Path) -> None:
    target = badge_cli(DATA / "Nikon-D3100.jpg", tmp_path / "kept.jpg", "--keep-metadata")
    after = every_tag(target)
    assert "GPS:GPSVersionID" in after and "Nikon:SerialNumber" in after
    assert not any(key.endswith(":Orientation") for key in after)


@needs_exiftool
def test_strip_metadata_keeps_only_the_icc_profile(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = "A volunteer"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 10:00:00"
    source = tmp_path / "p3.jpg"
    photo(120, 90).save(source, exif=exif, icc_profile=P3_PROFILE, xmp=xmp_packet(
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title</rdf:li></rdf:Alt></dc:title>'
    ))  # fmt: skip
    target = badge_cli(source, tmp_path / "out.jpg", "--strip-metadata")
    groups = {key.split(":")[0] for key in every_tag(target)}
    assert not groups - FILE_GROUPS - {g for g in groups if g.startswith("ICC")}
    with Image.open(target) as result:
        assert result.info["icc_profile"] == P3_PROFILE


# -- the allow-list is an allow-list: what it does not name never passes -------------------


def xmp_packet(properties: str, attributes: str = "", namespaces: str = "") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        f"{namespaces} {attributes}>{properties}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


UNKNOWN_TAGS = st.integers(0x0100, 0xFFFF).filter(
    lambda tag: tag not in ExifTags.TAGS and tag not in TiffTags.TAGS_V2
)
NAMES = st.text(string.ascii_letters, min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    main_tags=st.lists(UNKNOWN_TAGS, max_size=3, unique=True),
    exif_tags=st.lists(UNKNOWN_TAGS, max_size=3, unique=True),
    prefix=st.from_regex(r"[a-z]{1,8}", fullmatch=True).filter(
        lambda p: p not in ("x", "rdf", "dc", "tiff", "exif", "xml", "xmlns")
    ),
    local=NAMES,
    as_attribute=st.booleans(),
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP"]),
)
def test_invented_tags_and_properties_never_pass(
    main_tags: list[int],
    exif_tags: list[int],
    prefix: str,
    local: str,
    as_attribute: bool,
    fmt: str,
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "Kept model"
    for tag in main_tags:
        exif[tag] = f"secret-main-{tag}"
    for tag in exif_tags:
        exif.get_ifd(ExifTags.IFD.Exif)[tag] = f"secret-exif-{tag}"
    namespace = f'xmlns:{prefix}="http://vendor.example/{prefix}/"'
    secret = f"<{prefix}:{local}>secret-xmp</{prefix}:{local}>"
    xmp = xmp_packet(
        # An allowed name inside an unknown structure is not a property of the photo.
        "<dc:creator><rdf:Seq><rdf:li>Kept author</rdf:li></rdf:Seq></dc:creator>"
        f'<{prefix}:Struct rdf:parseType="Resource"><dc:title>secret-nested</dc:title>'
        f"</{prefix}:Struct>" + ("" if as_attribute else secret),
        attributes=f'{prefix}:{local}="secret-xmp"' if as_attribute else "",
        namespaces=namespace,
    )
    source = io.BytesIO()
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", xmp.decode())
        text.add_text(local, "secret-text")
        photo(32, 24).save(source, fmt, exif=exif, pnginfo=text)
    else:
        photo(32, 24).save(source, fmt, exif=exif, xmp=xmp)
    output = badge_bytes(source.getvalue())
    assert b"secret" not in output
    assert b"Kept model" in output and b"Kept author" in output


def test_xmp_keeps_the_shapes_of_allowed_properties_and_escapes_their_text() -> None:
    xmp = xmp_packet(
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Blue &amp; &lt;heart&gt;</rdf:li>'
        '<rdf:li xml:lang="fr">C\u0153ur bleu</rdf:li></rdf:Alt></dc:title>'
        "<dc:coverage>Quai Branly, Paris</dc:coverage><tiff:Orientation>6</tiff:Orientation>"
        "<exif:ExposureTime>1/60</exif:ExposureTime>",
        attributes='tiff:Make="Cam &amp; Co" exif:GPSLatitude="48,51.5N"',
    )
    source = io.BytesIO()
    photo(32, 24).save(source, "JPEG", xmp=xmp)
    with Image.open(io.BytesIO(badge_bytes(source.getvalue()))) as result:
        kept = result.info["xmp"]
    packet = ET.fromstring(kept.split(b"?>", 1)[1].rsplit(b"<?", 1)[0])
    titles = packet.findall(".//{http://purl.org/dc/elements/1.1/}title/*/*")
    assert [(t.attrib[XML_LANG], t.text) for t in titles] == [
        ("x-default", "Blue & <heart>"),
        ("fr", "C\u0153ur bleu"),
    ]
    assert b"Cam &amp; Co" in kept
    assert b"<exif:ExposureTime>1/60</exif:ExposureTime>" in kept
    for dropped in (b"Quai Branly", b"Orientation", b"48,51"):
        assert dropped not in kept


def test_xmp_text_and_attributes_come_back_exactly() -> None:
    # Line ends and, in attributes, tabs and newlines are normalised by any XML parser unless
    # they are written as character references.
    xmp = xmp_packet(
        '<dc:title><rdf:Alt><rdf:li xml:lang="x&quot;y&#9;z&#10;">Blue&#13;&#10;heart\t"day"'
        "</rdf:li></rdf:Alt></dc:title>",
        attributes='tiff:Make="Cam &amp; Co&#13;&#10;&#9;]]&gt;"',
    )
    source = io.BytesIO()
    photo(32, 24).save(source, "JPEG", xmp=xmp)
    with Image.open(io.BytesIO(badge_bytes(source.getvalue()))) as result:
        kept = result.info["xmp"]
    packet = ET.fromstring(kept.split(b"?>", 1)[1].rsplit(b"<?", 1)[0])
    (title,) = packet.findall(".//{http://purl.org/dc/elements/1.1/}title/*/*")
    assert (title.attrib[XML_LANG], title.text) == ('x"y\tz\n', 'Blue\r\nheart\t"day"')
    assert packet.findtext(".//{http://ns.adobe.com/tiff/1.0/}Make") == "Cam & Co\r\n\t]]>"


def test_the_metadata_policy_imports_no_network_code() -> None:
    # xml.sax.saxutils brings urllib.request and http.client: 20 ms on every run.
    probe = "import sys, blueheart.io.badging; print(sorted({'urllib.request', 'http.client'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


def test_png_text_keeps_only_the_descriptive_keywords(tmp_path: Path) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Title", "Blue heart day")
    text.add_text("Author", "A volunteer")
    text.add_text("Comment", "shot at Rue X, Paris")
    text.add_itxt("Location", "Paris")
    source = tmp_path / "t.png"
    photo(64, 48).save(source, pnginfo=text)
    with Image.open(io.BytesIO(badge_bytes(source.read_bytes()))) as result:
        assert result.text == {"Title": "Blue heart day", "Author": "A volunteer"}
    with Image.open(io.BytesIO(badge_bytes(source.read_bytes(), metadata="keep"))) as kept:
        assert kept.text["Location"] == "Paris" and kept.text["Comment"].endswith("Paris")


# -- the print resolution -------------------------------------------------------------------


def dpi_of(path: Path) -> tuple[float, float] | None:
    """The dots per inch ``path`` states in its own format's field."""
    with Image.open(path) as image:
        if image.format == "JPEG" and image.info.get("jfif_unit") != 1:
            return None  # Pillow reports 72 for a JPEG that says nothing
        dpi = image.info.get("dpi")
        return (round(float(dpi[0]), 2), round(float(dpi[1]), 2)) if dpi else None


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tiff", ".bmp"])
def test_a_cameras_print_resolution_reaches_the_output(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"out{suffix}"
    badge_file(DATA / "Nikon-D3100.jpg", target)  # 300 dpi in its EXIF, no JFIF density
    assert dpi_of(target) == (300, 300)


def test_webp_carries_the_resolution_in_its_exif(tmp_path: Path) -> None:
    badge_file(DATA / "Nikon-D3100.jpg", tmp_path / "out.webp")
    with Image.open(tmp_path / "out.webp") as result:
        exif = result.getexif()
    assert (exif[ExifTags.Base.XResolution], exif[ExifTags.Base.ResolutionUnit]) == (300, 2)


@pytest.mark.parametrize(
    ("fmt", "params", "expected"),
    [
        ("PNG", {"dpi": (150, 150)}, (150, 150)),
        ("TIFF", {"dpi": (600, 400)}, (600, 400)),
        ("JPEG", {"dpi": (96, 96)}, (96, 96)),
        ("WEBP", {"exif": {296: 3, 282: 118.11, 283: 118.11}}, (300, 300)),
        ("JPEG", {"exif": {282: 240}}, (240, 240)),  # no unit: EXIF's default, inches
    ],
)
def test_each_way_of_stating_the_resolution_is_read(
    tmp_path: Path, fmt: str, params: dict[str, object], expected: tuple[int, int]
) -> None:
    source = tmp_path / f"in.{fmt.lower()}"
    if "exif" in params:
        exif = Image.Exif()
        exif.update(params["exif"])  # type: ignore[call-overload]
        params = {"exif": exif}
    photo(64, 48).save(source, fmt, **params)
    badge_file(source, tmp_path / "out.jpg")
    assert dpi_of(tmp_path / "out.jpg") == pytest.approx(expected, abs=0.01)


def test_no_resolution_is_invented_and_strip_drops_it(tmp_path: Path) -> None:
    silent = save(photo(64, 48), tmp_path / "silent.jpg", exif=camera_exif(gps=False))
    badge_file(silent, tmp_path / "silent-out.jpg")
    badge_file(DATA / "Nikon-D3100.jpg", tmp_path / "stripped.jpg", metadata="strip")
    assert dpi_of(tmp_path / "silent-out.jpg") is None
    assert dpi_of(tmp_path / "stripped.jpg") is None


# -- PNG text too large for Pillow ----------------------------------------------------------


def with_chunk(png: bytes, kind: bytes, body: bytes, *, after_pixels: bool) -> bytes:
    chunk = struct.pack(">I", len(body)) + kind + body
    chunk += struct.pack(">I", zlib.crc32(kind + body))
    at = png.index(b"IEND" if after_pixels else b"IDAT") - 4
    return png[:at] + chunk + png[at:]


@pytest.mark.parametrize("after_pixels", [False, True])
@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_text_that_expands_past_a_megabyte_is_dropped_not_the_photo(
    tmp_path: Path, kind: bytes, after_pixels: bool
) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Title", "Kept title")
    plain = io.BytesIO()
    photo(64, 48).save(plain, "PNG", pnginfo=text)
    flags = b"\0" if kind == b"zTXt" else b"\1\0en\0\0"
    body = b"Comment\0" + flags + zlib.compress(b"A" * (2 << 20))
    source = tmp_path / "big-text.png"
    source.write_bytes(with_chunk(plain.getvalue(), kind, body, after_pixels=after_pixels))
    target = tmp_path / "out.png"
    badge_file(source, target)
    with Image.open(target) as result:
        assert result.size == (64, 48) and result.text == {"Title": "Kept title"}
        expected = apply_badge(photo(64, 48))
        assert np.array_equal(np.asarray(result.convert("RGB")), np.asarray(expected))


# -- TIFF: only the allow-listed tags, never the source's layout ---------------------------


def test_a_jpeg_compressed_tiff_keeps_its_colours(tmp_path: Path) -> None:
    image = photo(400, 300)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Scanner"
    exif[ExifTags.Base.Artist] = "A volunteer"
    source = tmp_path / "scan.tif"
    image.save(source, "TIFF", compression="jpeg", quality=30, exif=exif)
    with Image.open(source) as opened:
        before = np.asarray(opened.convert("RGB"), dtype=int)
    result = Image.open(io.BytesIO(badge_bytes(source.read_bytes())))
    assert result.info["compression"] == "jpeg"
    after = np.asarray(result.convert("RGB"), dtype=int)
    left, top, right, bottom = default_box(image.size)
    outside = np.ones(before.shape[:2], dtype=bool)
    outside[top:bottom, left:right] = False
    assert np.abs(after - before)[outside].mean() < 3  # a stray JPEGTables tag: 70
    heart = heart_pixels(result, (left, top, right, bottom)).astype(int)
    assert np.abs(heart - UN_BLUE_RGB).max() <= 12
    assert result.getexif()[ExifTags.Base.Artist] == "A volunteer"


@pytest.mark.parametrize("keep", [False, True])
def test_tiff_tags_libtiff_cannot_write_back_do_not_fail_the_photo(keep: bool) -> None:
    # An Exif directory offset past the end of the file: readers shrug, libtiff refused it.
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[ExifTags.Base.Make] = "Scanner"
    tags[ExifTags.IFD.Exif] = 10**6
    tags.tagtype[ExifTags.IFD.Exif] = TiffTags.LONG
    source = io.BytesIO()
    photo(120, 90).save(source, "TIFF", compression="tiff_lzw", tiffinfo=tags)
    result = Image.open(
        io.BytesIO(badge_bytes(source.getvalue(), metadata="keep" if keep else "descriptive"))
    )
    assert result.size == (120, 90) and result.getexif()[ExifTags.Base.Make] == "Scanner"
    assert ExifTags.IFD.Exif not in result.getexif()


# -- the options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("keep_metadata", "false"),
        ("keep_metadata", 1),
        ("strip_metadata", "yes"),
        ("strip_metadata", None),
        ("circle_safe", 1),
        ("circle_safe", "off"),
    ],
)
@pytest.mark.filterwarnings("ignore:(keep|strip)_metadata is deprecated:DeprecationWarning")
def test_flags_take_booleans_only(field: str, value: object) -> None:
    with pytest.raises(OptionError, match=f"^{field}: expected True") as caught:
        BadgeOptions(**{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.filterwarnings("ignore:(keep|strip)_metadata is deprecated:DeprecationWarning")
def test_keep_and_strip_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"^strip_metadata: "):
        BadgeOptions(keep_metadata=True, strip_metadata=True)
    source = tmp_path / "in.jpg"
    photo(32, 24).save(source)
    result = CliRunner().invoke(cli, ["badge", str(source), "--keep-metadata", "--strip-metadata"])
    assert result.exit_code == 2
    assert "Invalid value for '--strip-metadata'" in result.stderr
    assert "Traceback" not in result.output


PIXEL_CHUNKS = (b"IDAT", b"fdAT", b"VP8 ", b"VP8L", b"ALPH")


def outside_pixels(data: bytes) -> bytes:
    """A PNG's or WebP's chunks other than compressed pixels (whose bytes can be anything);
    a JPEG whole (its scans escape every 0xFF, so no marker hides in them)."""
    if data.startswith(b"\x89PNG"):
        position, size_first, header = 8, True, 8
    elif data.startswith(b"RIFF"):
        position, size_first, header = 12, False, 8
    else:
        return data
    kept = []
    while position + header <= len(data):
        if size_first:
            length, kind = (
                int.from_bytes(data[position : position + 4], "big"),
                data[position + 4 : position + 8],
            )
            end = position + 8 + length + 4
        else:
            kind, length = (
                data[position : position + 4],
                int.from_bytes(data[position + 4 : position + 8], "little"),
            )
            end = position + 8 + length + length % 2
        if kind not in PIXEL_CHUNKS:
            kept.append(data[position:end])
        position = end
    return b"".join(kept)


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
        output = badge_bytes(
            source.read_bytes(), metadata="keep" if keep else "descriptive", crop="square"
        )
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
    badge_file(gps_jpeg(tmp_path), target, metadata="keep")
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
    as_jpeg = reopen(badge_bytes(source.read_bytes(), format="jpeg", metadata="keep"))
    assert blue_fraction(as_jpeg) > 0
    assert "xmp" not in as_jpeg.info and not as_jpeg.getexif()
    as_png = reopen(badge_bytes(source.read_bytes(), metadata="keep"))  # room for both
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
