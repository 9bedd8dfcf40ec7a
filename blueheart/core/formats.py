"""File formats: which are read, which are written, and the names outputs get. No pixels."""

from __future__ import annotations

from pathlib import PurePath

from blueheart.core.errors import OptionError, format_misnamed
from blueheart.core.options import OutputFormat

SUFFIX_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG",
    ".png": "PNG", ".apng": "PNG", ".webp": "WEBP", ".avif": "AVIF", ".gif": "GIF",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
    ".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF",
}  # fmt: skip
"""File extensions blueheart takes as images, and the format each names."""

EXTENSIONS = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "AVIF": ".avif",
    "GIF": ".gif",
    "TIFF": ".tif",
    "BMP": ".bmp",
}
"""The extension an output gets when its format differs from the input's."""

OPAQUE_FORMATS = ("JPEG", "BMP")
ALPHA_FORMATS = ("PNG", "WEBP", "AVIF", "TIFF")
"""Formats that keep an anti-aliased alpha channel (GIF's one-bit transparency does not)."""
TEMP_SUFFIX = ".blueheart-tmp"
"""Temporary outputs are named ``.<output name>.<random>.blueheart-tmp`` in the output's folder."""


def output_format(input_format: str | None, requested: OutputFormat, *, needs_alpha: bool) -> str:
    """The Pillow format to write: the requested one, else the input's where platforms take
    it (HEIC and MPO become JPEG), else PNG when transparent corners are needed."""
    if requested is not OutputFormat.KEEP:
        return str(requested.value).upper()
    renamed = {"HEIF": "JPEG", "MPO": "JPEG"}
    chosen = renamed.get(input_format or "", input_format or "PNG")
    if needs_alpha and chosen in OPAQUE_FORMATS:
        return "PNG"
    return chosen


def output_suffix(input_suffix: str, written_format: str) -> str:
    """The output's extension: the input's when it names the written format, else the format's."""
    accepted = [s for s, f in SUFFIX_FORMATS.items() if f == written_format]
    return input_suffix if input_suffix.lower() in accepted else EXTENSIONS[written_format]


def badged_name(source: PurePath, requested: OutputFormat, *, needs_alpha: bool) -> str:
    """The default output name beside an input: ``<stem>-blueheart<ext>``, the extension
    changing only when the format does."""
    kind = SUFFIX_FORMATS.get(source.suffix.lower())
    written = output_format(kind, requested, needs_alpha=needs_alpha)
    return f"{source.stem}-blueheart{output_suffix(source.suffix, written)}"


def format_of_name(suffix: str) -> str | None:
    """The writable format an output file name's extension asks for, if any."""
    fmt = SUFFIX_FORMATS.get(suffix.lower())
    return fmt if fmt in EXTENSIONS else None


def named_format(name: PurePath, requested: OutputFormat, *, needs_alpha: bool) -> str:
    """The Pillow format of an output the caller named: the one its extension names.

    ``requested`` other than ``KEEP`` must be that format; ``needs_alpha`` (a circle crop) rules
    out opaque formats. Raises ``OptionError`` for the field ``destination`` when the extension
    names no format blueheart writes, another format than requested, or an opaque one.
    """
    written = format_of_name(name.suffix)
    if written is None:
        raise OptionError("destination", f"{name}: {_unwritable(name.suffix)}; {_name_it()}")
    if requested is not OutputFormat.KEEP and written != requested.value.upper():
        extension = EXTENSIONS[requested.value.upper()]
        raise format_misnamed(name, written, requested.value, extension)
    if needs_alpha and written in OPAQUE_FORMATS:
        raise OptionError(
            "destination",
            f"{name}: a circle crop needs transparent corners, which {written} cannot store; "
            f"{_name_it(ALPHA_FORMATS)}",
        )
    return written


def emblem_format(name: PurePath) -> str:
    """``"SVG"``, or the Pillow format of a transparent raster, that an emblem file named
    ``name`` is written in. Raises ``OptionError`` (``destination``) for other names."""
    if name.suffix.lower() == ".svg":
        return "SVG"
    written = format_of_name(name.suffix)
    if written not in ALPHA_FORMATS:
        raise OptionError(
            "destination",
            f"{name}: the emblem is transparent; {_name_it(ALPHA_FORMATS, '.svg')}",
        )
    return written


def _unwritable(suffix: str) -> str:
    if not suffix:
        return "no extension to say which format to write"
    if suffix.lower() in SUFFIX_FORMATS:
        return f"blueheart reads {suffix} files but does not write them"
    return f"unknown extension {suffix}"


def _name_it(formats: tuple[str, ...] = tuple(EXTENSIONS), *others: str) -> str:
    suffixes = [EXTENSIONS[fmt] for fmt in formats] + list(others)
    return f"name it {', '.join(suffixes[:-1])} or {suffixes[-1]}"
