"""One image file in, the badged file out: open -> decode -> badge -> encode -> write.

``badge_file`` and ``badge_bytes`` are the library's entries for files; the pixels go through
``blueheart.pipeline``, imported while the first photo decodes (see ``_decode``).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

from blueheart.errors import EXIF_ERRORS, OptionError, UnreadableImageError
from blueheart.formats import named_format, output_format
from blueheart.framing import output_canvas
from blueheart.imagefile import (
    PAGED_FORMATS,
    EncodeSettings,
    Frame,
    check_output,
    decoding,
    encode,
    file_identity,
    is_lossless_webp,
    jpeg_settings,
    open_image,
    write_atomic,
)
from blueheart.metadata import (
    PNG_SIGNATURE,
    Metadata,
    png_without_oversized_text,
    policy_for,
    read_metadata,
)
from blueheart.options import BadgeOptions, Crop, hex_to_rgb, resolve_options
from blueheart.units import Length, Unit

CMYK_FORMATS = ("JPEG", "TIFF")
PREVIEW_SIDE = 640
"""The preview's longer side at most, in px: sharp on a phone, quick to send."""
PREVIEW_QUALITY = 85
_SIDEWAYS_ORIENTATIONS = (5, 6, 7, 8)
_PIPELINE = "blueheart.pipeline"


def badge_bytes(data: bytes, options: BadgeOptions | None = None, **overrides: Any) -> bytes:
    """Badge an image file held in memory and return the output file's bytes.

    ``data`` is the file's content (JPEG, PNG, WebP, AVIF, GIF, TIFF, BMP; HEIC with the
    ``heif`` extra); the output format follows ``options.format`` (see ``BadgeOptions``).
    Raises a ``BlueheartError`` for data that cannot be read or is too large, and
    ``OptionError`` for invalid options.
    """
    return render_file(data, "input", resolve_options(options, overrides))[0]


def badge_file(
    source: str | Path,
    destination: str | Path,
    options: BadgeOptions | None = None,
    *,
    overwrite: bool = False,
    **overrides: Any,
) -> None:
    """Badge the image file ``source`` and write ``destination`` atomically.

    The source is never written. ``destination``'s extension names the format written (it
    must agree with ``options.format`` unless that is ``keep``); its folder is created if
    needed; an existing ``destination`` is only replaced with ``overwrite=True``, and only if
    it is a regular file and not the source itself (compared by device and inode, so a hard
    link or a bind mount of the source is refused too). Raises ``BlueheartError`` subclasses
    (unreadable or too large input, output exists, cannot write) and ``OptionError``
    (``destination`` for a name that does not fit; see ``formats.named_format``); on any
    error nothing is written.
    """
    source_path, destination_path = Path(source), Path(destination)
    resolved = resolve_options(options, overrides)
    output_identity = file_identity(destination_path)
    if output_identity is not None and output_identity == file_identity(source_path):
        raise OptionError(
            "destination", f"{destination_path} is the input; inputs are never written"
        )
    named = named_format(destination_path, resolved.format, needs_alpha=resolved.needs_alpha)
    check_output(destination_path, overwrite=overwrite)
    data, _ = render_file(source_path, str(source_path), resolved, written_format=named)
    write_atomic(destination_path, data, overwrite=overwrite)


def render_file(
    source: Path | bytes, name: str, options: BadgeOptions, *, written_format: str | None = None
) -> tuple[bytes, str]:
    """The badged file's bytes and its Pillow format, from a path or a file's bytes.

    ``written_format`` overrides the format ``options`` would choose (an output's name)."""
    try:
        return _render_file(source, name, options, written_format)
    except UnreadableImageError:
        # Pillow refuses a whole PNG for a text chunk that expands past 1 MB (a bomb guard);
        # the pixels are fine, so they are badged and that text dropped.
        without_text = png_without_oversized_text(_png_bytes(source))
        if without_text is None:
            raise
        return _render_file(without_text, name, options, written_format)


def _render_file(
    source: Path | bytes, name: str, options: BadgeOptions, written_format: str | None
) -> tuple[bytes, str]:
    with open_image(source, name=name, max_pixels=options.max_pixels) as image, decoding(name):
        written_format = written_format or output_format(
            image.format, options.format, needs_alpha=options.needs_alpha
        )
        resized = _draft(image, options)
        reuse_tables = options.quality is None and not resized and options.crop is Crop.NONE
        settings = EncodeSettings(
            format=written_format,
            quality=options.quality,
            background=hex_to_rgb(options.background),
            loop=image.info.get("loop"),
            tiff_compression=image.info.get("compression") if image.format == "TIFF" else None,
            lossless=options.quality is None and is_lossless_webp(image),
            **jpeg_settings(image, reuse_tables=reuse_tables),
        )
        _decode(image)
        # Everything read from the file comes before the pixels change: badging clears the
        # frames' own metadata so that no encoder falls back on it (see pipeline.badged_frames).
        metadata = read_metadata(image, policy_for(options), output_format=written_format)
        from blueheart.pipeline import badged_frames

        frames, icc = badged_frames(
            image,
            options,
            keep_cmyk=written_format in CMYK_FORMATS,
            # Pages become frames only of their own format, never of an animation.
            all_frames=image.format not in PAGED_FORMATS or written_format == image.format,
        )
        return encode(frames, settings, replace(metadata, icc_profile=icc)), written_format


def _png_bytes(source: Path | bytes) -> bytes:
    """The bytes of ``source`` if it is a regular PNG file, else none."""
    if isinstance(source, bytes):
        return source
    try:
        if not source.is_file():  # never block on a FIFO or a device
            return b""
        with source.open("rb") as stream:
            if stream.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                return b""
            return PNG_SIGNATURE + stream.read()
    except OSError:
        return b""


@dataclass(frozen=True)
class Preview:
    """A photo framed as its badged output will be, small, and where the emblem will sit.

    ``jpeg``: the upright, cropped photo (a circle crop stays square), longer side at most the
    preview side, ICC profile kept and no other metadata; ``size``: its (width, height) px;
    ``output_size``: the (width, height) px of the output ``badge_bytes`` would make;
    ``box``: the emblem's (left, top, right, bottom) as fractions of the picture's width and
    height, the same in the preview and the output (up to a pixel of rounding).
    """

    jpeg: bytes
    size: tuple[int, int]
    output_size: tuple[int, int]
    box: tuple[float, float, float, float]


def preview_bytes(
    data: bytes,
    options: BadgeOptions | None = None,
    *,
    max_side: int = PREVIEW_SIDE,
    **overrides: Any,
) -> Preview:
    """Frame an image file held in memory as ``badge_bytes`` would, small, without the emblem.

    For a page that draws the emblem over the photo and lets people move it: ``box`` places it
    as the output would, and ``at`` (the box's centre) puts it back there. A JPEG is decoded at
    a reduced scale, so a 12-megapixel photo is never decoded whole. ``max_side`` is the
    preview's longer side at most, in px. Raises what ``badge_bytes`` raises.
    """
    resolved = resolve_options(options, overrides)
    with open_image(data, name="input", max_pixels=resolved.max_pixels) as image, decoding("input"):
        output = output_canvas(_upright_size(image), resolved.crop, resolved.output_size)
        side = min(max_side, max(output))
        square = Crop.SQUARE if resolved.crop is Crop.CIRCLE else resolved.crop
        framing = resolved.replace(crop=square, output_size=side)
        _draft(image, framing)
        _decode(image)
        from blueheart.crop import crop_and_resize
        from blueheart.pipeline import normalise, plan_badge, without_file_metadata

        photo, icc = normalise(image, keep_cmyk=False, in_place=True)
        photo = crop_and_resize(photo, framing.crop, framing.focus, side)
        scale = photo.width / output[0]
        plan = plan_badge(photo, _scaled(resolved, scale, square=output[0] == output[1]), icc)
        settings = EncodeSettings("JPEG", PREVIEW_QUALITY, hex_to_rgb(resolved.background))
        preview = without_file_metadata(photo)
        jpeg = encode([Frame(preview, None)], settings, Metadata(icc, None, None))
    width, height = photo.size
    box = plan.box
    return Preview(
        jpeg,
        photo.size,
        output,
        (box.left / width, box.top / height, box.right / width, box.bottom / height),
    )


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The opened image's (width, height) once its EXIF orientation is applied."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except EXIF_ERRORS:
        orientation = 1
    width, height = image.size
    return (height, width) if orientation in _SIDEWAYS_ORIENTATIONS else (width, height)


def _scaled(options: BadgeOptions, scale: float, *, square: bool) -> BadgeOptions:
    """``options`` for a copy of the output scaled by ``scale``: pixel lengths scaled, and
    circle-safe decided by the output's shape, not the copy's rounded one."""

    def length(value: Length) -> Length:
        return Length.px(value.value * scale) if value.unit is Unit.PX else value

    return options.replace(
        size=length(options.size),
        margin=length(options.margin),
        offset=(length(options.offset[0]), length(options.offset[1])),
        circle_safe=square if options.circle_safe is None else options.circle_safe,
    )


def _draft(image: Image.Image, options: BadgeOptions) -> bool:
    """Ask a JPEG to decode at a reduced scale when the output is smaller; True if it resizes."""
    if options.output_size is None:
        return False
    width, height = image.size
    reference = min(width, height) if options.crop is not Crop.NONE else max(width, height)
    scale = options.output_size / reference
    if image.format in ("JPEG", "MPO") and scale < 1:
        image.draft(image.mode, (math.ceil(width * scale), math.ceil(height * scale)))
    return True


def _decode(image: Image.Image) -> None:
    """Decode ``image``; the first time, import the pixel pipeline meanwhile.

    The pipeline brings numpy, ImageCms and the emblem (about 0.1 s to import). Pillow decodes
    without holding the GIL, so on a second core the import hides behind the decode, which
    matters to a one-off run such as ``blueheart badge me.jpg``.
    """
    if _PIPELINE in sys.modules:
        image.load()
        return
    loader = threading.Thread(target=_import_pipeline)
    loader.start()
    try:
        image.load()
    finally:
        loader.join()


def _import_pipeline() -> None:
    # A failure is left for the caller's own import of the module to raise, as usual.
    with contextlib.suppress(Exception):
        importlib.import_module(_PIPELINE)
