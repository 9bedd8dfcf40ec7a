"""File formats (blueheart.core.formats): which are read and written, the format an output is
written in and the name it gets, and the one line for a name blueheart cannot write. Tables."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from blueheart import OptionError, OutputFormat
from blueheart.core.formats import (
    EXTENSIONS,
    SUFFIX_FORMATS,
    badged_name,
    emblem_format,
    format_of_name,
    named_format,
    output_format,
)

KEEP = OutputFormat.KEEP


@pytest.mark.parametrize(
    ("read", "requested", "needs_alpha", "written"),
    [
        ("JPEG", KEEP, False, "JPEG"),
        ("PNG", KEEP, False, "PNG"),
        ("GIF", KEEP, False, "GIF"),
        ("TIFF", KEEP, False, "TIFF"),
        ("HEIF", KEEP, False, "JPEG"),  # platforms take JPEG, not HEIC
        ("MPO", KEEP, False, "JPEG"),  # a phone's multi-picture JPEG
        (None, KEEP, False, "PNG"),  # a format Pillow could not name
        ("JPEG", KEEP, True, "PNG"),  # a circle crop's corners need alpha
        ("BMP", KEEP, True, "PNG"),
        ("WEBP", KEEP, True, "WEBP"),
        ("GIF", KEEP, True, "GIF"),  # one-bit transparency, kept as asked
        ("PNG", OutputFormat.JPEG, False, "JPEG"),
        ("JPEG", OutputFormat.WEBP, True, "WEBP"),
        ("HEIF", OutputFormat.AVIF, False, "AVIF"),
        ("JPEG", OutputFormat.JPEG, True, "JPEG"),  # asked for: named_format refuses it later
    ],
)
def test_the_written_format(
    read: str | None, requested: OutputFormat, needs_alpha: bool, written: str
) -> None:
    assert output_format(read, requested, needs_alpha=needs_alpha) == written


@pytest.mark.parametrize(
    ("source", "requested", "needs_alpha", "name"),
    [
        ("IMG_0001.jpg", KEEP, False, "IMG_0001-blueheart.jpg"),
        ("IMG_0001.JPEG", KEEP, False, "IMG_0001-blueheart.JPEG"),  # the input's spelling kept
        ("scan.tiff", KEEP, False, "scan-blueheart.tiff"),
        ("anim.apng", KEEP, False, "anim-blueheart.apng"),
        ("phone.heic", KEEP, False, "phone-blueheart.jpg"),
        ("photo.jpg", KEEP, True, "photo-blueheart.png"),
        ("photo.png", OutputFormat.WEBP, False, "photo-blueheart.webp"),
        ("photo.webp", OutputFormat.AVIF, True, "photo-blueheart.avif"),
        ("old.bmp", OutputFormat.JPEG, False, "old-blueheart.jpg"),
        ("holiday.2024.gif", KEEP, False, "holiday.2024-blueheart.gif"),
    ],
)
def test_the_default_output_name(
    source: str, requested: OutputFormat, needs_alpha: bool, name: str
) -> None:
    assert badged_name(PurePath("in") / source, requested, needs_alpha=needs_alpha) == name


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [
        (".jpg", "JPEG"),
        (".JPG", "JPEG"),
        (".jfif", "JPEG"),
        (".apng", "PNG"),
        (".tif", "TIFF"),
        (".bmp", "BMP"),
        (".heic", None),  # read, never written
        (".svg", None),
        (".txt", None),
        ("", None),
    ],
)
def test_the_format_a_name_asks_for(suffix: str, fmt: str | None) -> None:
    assert format_of_name(suffix) == fmt


def test_every_written_format_is_read_and_named_by_its_extension() -> None:
    for fmt, extension in EXTENSIONS.items():
        assert SUFFIX_FORMATS[extension] == fmt
        assert format_of_name(extension) == fmt
    assert set(SUFFIX_FORMATS.values()) - set(EXTENSIONS) == {"HEIF"}


@pytest.mark.parametrize(
    ("name", "requested", "needs_alpha", "written"),
    [
        ("out.jpg", KEEP, False, "JPEG"),
        ("out.PNG", KEEP, True, "PNG"),
        ("out.webp", OutputFormat.WEBP, True, "WEBP"),
        ("out.tiff", KEEP, True, "TIFF"),
        ("out.gif", KEEP, False, "GIF"),
    ],
)
def test_a_named_output_is_written_in_its_extension_s_format(
    name: str, requested: OutputFormat, needs_alpha: bool, written: str
) -> None:
    assert named_format(PurePath(name), requested, needs_alpha=needs_alpha) == written


@pytest.mark.parametrize(
    ("name", "requested", "needs_alpha", "message"),
    [
        (
            "out",
            KEEP,
            False,
            "out: no extension to say which format to write; "
            "name it .jpg, .png, .webp, .avif, .gif, .tif or .bmp",
        ),
        (
            "out.heic",
            KEEP,
            False,
            "out.heic: blueheart reads .heic files but does not write them; "
            "name it .jpg, .png, .webp, .avif, .gif, .tif or .bmp",
        ),
        (
            "out.xyz",
            KEEP,
            False,
            "out.xyz: unknown extension .xyz; name it .jpg, .png, .webp, .avif, .gif, .tif or .bmp",
        ),
        (
            "out.png",
            OutputFormat.JPEG,
            False,
            "out.png: names PNG, but the format asked for is jpeg; name it .jpg or pass format='keep'",
        ),
        (
            "out.jpg",
            KEEP,
            True,
            "out.jpg: a circle crop needs transparent corners, which JPEG cannot store; "
            "name it .png, .webp, .avif or .tif",
        ),
    ],
)
def test_a_name_blueheart_cannot_write_is_one_line_about_destination(
    name: str, requested: OutputFormat, needs_alpha: bool, message: str
) -> None:
    with pytest.raises(OptionError) as raised:
        named_format(PurePath(name), requested, needs_alpha=needs_alpha)
    assert raised.value.field == "destination"
    assert str(raised.value) == f"destination: {message}"


@pytest.mark.parametrize(
    ("name", "written"),
    [("heart.svg", "SVG"), ("heart.SVG", "SVG"), ("heart.png", "PNG"), ("heart.tif", "TIFF")],
)
def test_the_emblem_s_format(name: str, written: str) -> None:
    assert emblem_format(PurePath(name)) == written


@pytest.mark.parametrize("name", ["heart.jpg", "heart.bmp", "heart.gif", "heart"])
def test_an_emblem_is_never_written_opaque(name: str) -> None:
    with pytest.raises(OptionError) as raised:
        emblem_format(PurePath(name))
    assert raised.value.field == "destination"
    assert str(raised.value) == (
        f"destination: {name}: the emblem is transparent; name it .png, .webp, .avif, .tif or .svg"
    )
