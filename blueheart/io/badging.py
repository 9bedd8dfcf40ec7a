"""One image in, the badged image out: the library's entries for a PIL image, a file on
disk and a file in memory, and the emblem written alone.

A file goes open -> draft -> settings -> decode -> metadata -> badge -> encode -> write (see
``render_file``); its pixels go through ``blueheart.core.pipeline.badge_frame``, as
``apply_badge``'s do. The pipeline is imported while the first photo decodes (see
``decode``), so this module imports nothing heavy itself.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import ExifTags, Image, PngImagePlugin

from blueheart.core.errors import EXIF_ERRORS, EmblemDoesNotFitError, OptionError, input_refused
from blueheart.core.formats import emblem_format, named_format, output_format
from blueheart.core.framing import framed_size, keeps_frame
from blueheart.core.options import (
    UN_BLUE,
    BadgeOptions,
    Style,
    hex_to_rgb,
    path_argument,
    resolve_options,
    type_name,
)
from blueheart.io.atomic import check_output, file_identity, write_atomic
from blueheart.io.decoding import decoding
from blueheart.io.encoding import (
    EncodeSettings,
    Frame,
    encode,
    is_lossless_webp,
    jpeg_settings,
    save_image_atomic,
)
from blueheart.io.limits import (
    MULTI_FRAME_FORMATS,
    PAGED_FORMATS,
    check_frames_written,
    frame_count,
)
from blueheart.io.metadata import read_metadata
from blueheart.io.reading import open_image

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from blueheart.core.options import OptionValues
    from blueheart.core.pipeline import CustomEmblem


CMYK_FORMATS = ("JPEG", "TIFF")
DRAFT_FORMATS = ("JPEG", "MPO")
"""Formats Pillow can decode at a reduced scale (``Image.draft``)."""
_SIDEWAYS_ORIENTATIONS = (5, 6, 7, 8)
_PIPELINE = "blueheart.core.pipeline"
_EARLY_ROOM_PIXELS = 16_000_000
"""From this many pixels a decode costs more than the pipeline's import (~0.1 s): the room for
the emblem is checked before decoding even the first image (see ``_check_room_early``)."""


def apply_badge(
    image: Image.Image, options: BadgeOptions | None = None, **overrides: Unpack[OptionValues]
) -> Image.Image:
    """Return a new image: ``image`` upright, cropped as asked, with the emblem on it.

    ``image`` is any PIL image (EXIF orientation is applied; grayscale and palette images come
    back in colour; an embedded ICC profile is honoured so the heart shows its sRGB colour);
    ``options`` a ``BadgeOptions`` (defaults if None), with ``overrides`` as keyword fields,
    e.g. ``apply_badge(im, position="auto", size=0.25)``. The input is not modified. Raises
    ``OptionError`` (a ``ValueError``) for invalid options, an ``emblem`` file that cannot be
    read, an emblem that cannot fit, or an ``output_size`` that would make more than
    ``max_pixels`` pixels (``OutputTooLargeError``), and ``TypeError`` for an ``image`` that is
    no PIL image.
    """
    from blueheart.core.pipeline import badge_frame

    if not isinstance(image, Image.Image):
        hint = " (use badge_file for paths)" if isinstance(image, (str, Path)) else ""
        raise TypeError(f"image: expected a PIL.Image.Image, got {type_name(image)}{hint}")
    resolved = resolve_options(options, overrides)
    keep_cmyk = not resolved.needs_alpha
    with room_for_emblem(upright_size(image), resolved):
        return badge_frame(
            image, resolved, keep_cmyk=keep_cmyk, custom=custom_emblem_of(resolved)
        ).image


def badge_bytes(
    data: bytes | bytearray | memoryview,
    options: BadgeOptions | None = None,
    **overrides: Unpack[OptionValues],
) -> bytes:
    """Badge an image file held in memory and return the output file's bytes.

    ``data`` is the file's content (JPEG, PNG, WebP, AVIF, GIF, TIFF, BMP; HEIC with the
    ``heif`` extra), as ``bytes``, a ``bytearray`` or a ``memoryview``; the output format
    follows ``options.format`` (see ``BadgeOptions``). Raises a ``BlueheartError`` for data
    that cannot be read or is too large, ``OptionError`` for invalid options, and
    ``TypeError`` for ``data`` of another type.
    """
    return render_file(file_bytes(data), "input", resolve_options(options, overrides))[0]


def file_bytes(data: object) -> bytes:
    """``data``, a file held in memory, as ``bytes``; a ``TypeError`` naming it otherwise."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    hint = " (use badge_file for paths)" if isinstance(data, (str, Path)) else ""
    raise TypeError(f"data: expected bytes, got {type_name(data)}{hint}")


def badge_file(
    source: str | Path,
    destination: str | Path,
    options: BadgeOptions | None = None,
    *,
    overwrite: bool = False,
    source_identity: tuple[int, int] | None = None,
    **overrides: Unpack[OptionValues],
) -> None:
    """Badge the image file ``source`` and write ``destination`` atomically.

    The source is never written. ``destination``'s extension names the format written (it
    must agree with ``options.format`` unless that is ``keep``); its folder is created if
    needed; an existing ``destination`` is only replaced with ``overwrite=True``, and only if
    it is a regular file and not the source itself (compared by device and inode, so a hard
    link or a bind mount of the source is refused too). Raises ``BlueheartError`` subclasses
    (unreadable or too large input, output exists, cannot write) and ``OptionError``
    (``destination`` for a name that does not fit; see ``formats.named_format``), and
    ``TypeError`` for a ``source`` or ``destination`` that is no path; on any error nothing
    is written. ``source_identity``: the (device, inode) ``source`` must be when it is opened
    (as a folder's walk found it); a link or another file put in its place since is refused
    (``UnreadableImageError``).
    """
    source_path = path_argument("source", source)
    destination_path = path_argument("destination", destination)
    resolved = resolve_options(options, overrides)
    output_identity = file_identity(destination_path)
    if output_identity is not None and output_identity == file_identity(source_path):
        raise OptionError("destination", input_refused(destination_path, same_file=True))
    named = named_format(destination_path, resolved.format, needs_alpha=resolved.needs_alpha)
    check_output(destination_path, overwrite=overwrite)
    data, _ = render_file(
        source_path, str(source_path), resolved, written_format=named, identity=source_identity
    )
    write_atomic(destination_path, data, overwrite=overwrite)


def render_file(
    source: Path | bytes,
    name: str,
    options: BadgeOptions,
    *,
    written_format: str | None = None,
    identity: tuple[int, int] | None = None,
) -> tuple[bytes, str]:
    """The badged file's bytes and its Pillow format, from a path or a file's bytes.

    ``written_format`` overrides the format ``options`` would choose (an output's name);
    ``identity``: the file the path must be (see ``reading.open_regular``)."""
    opened = open_image(source, name=name, max_pixels=options.max_pixels, identity=identity)
    with opened as image, decoding(name):
        written = written_format or output_format(
            image.format, options.format, needs_alpha=options.needs_alpha
        )
        check_room_early(image, options)
        upright = upright_size(image)  # before a reduced-scale decode shrinks it
        # A still format keeps the first frame, unbadged others are never made; pages become
        # frames only of their own format, never of an animation.
        all_frames = written in MULTI_FRAME_FORMATS and (
            image.format not in PAGED_FORMATS or written == image.format
        )
        if all_frames:
            check_frames_written(image, upright, options)
        draft(image, options)
        settings = _encode_settings(image, options, written)
        decode(image)
        # Everything read from the file comes before the pixels change: badging clears the
        # frames' own metadata so that no encoder falls back on it (see without_file_metadata).
        metadata = read_metadata(image, options.metadata, output_format=written)
        with room_for_emblem(upright, options):
            frames, icc = badged_frames(
                image,
                options,
                keep_cmyk=written in CMYK_FORMATS,
                all_frames=all_frames,
            )
        return encode(frames, settings, replace(metadata, icc_profile=icc)), written


def _encode_settings(image: Image.Image, options: BadgeOptions, written: str) -> EncodeSettings:
    """How to encode: the options, and what the input says (a JPEG's own tables where its
    frame is kept, a GIF's loop, a TIFF's compression, a WebP's losslessness)."""
    keep_own = options.quality is None
    return EncodeSettings(
        format=written,
        quality=options.quality,
        background=hex_to_rgb(options.background),
        loop=image.info.get("loop"),
        tiff_compression=image.info.get("compression") if image.format == "TIFF" else None,
        lossless=keep_own and is_lossless_webp(image),
        **jpeg_settings(image, reuse_tables=keep_own and keeps_frame(image.size, options)),
    )


def badged_frames(
    image: Image.Image, options: BadgeOptions, *, keep_cmyk: bool, all_frames: bool = True
) -> tuple[list[Frame], bytes | None]:
    """Every frame (or page) of the opened ``image``, badged, and the ICC profile of their
    pixels; only the first with ``all_frames`` False."""
    from blueheart.core.pipeline import BadgePlan, badge_frame

    custom = custom_emblem_of(options)
    frames: list[Frame] = []
    plan: BadgePlan | None = None
    icc: bytes | None = None
    count = frame_count(image) if all_frames else 1
    # A still image is ours to change; an animation's frames share one decoder image.
    still = count == 1
    for source_frame in _frames(image, count):
        badged = badge_frame(
            source_frame, options, keep_cmyk=keep_cmyk, custom=custom, in_place=still, plan=plan
        )
        plan, icc = badged.plan, badged.icc
        duration = source_frame.info.get("duration")
        frames.append(
            Frame(
                image=without_file_metadata(badged.image),
                duration=duration,
                disposal=_disposal(image),
                blend=PngImagePlugin.Blend.OP_SOURCE if image.format == "PNG" else None,
            )
        )
    return frames, icc


@contextlib.contextmanager
def room_for_emblem(size: tuple[int, int], options: BadgeOptions) -> Iterator[None]:
    """An emblem that does not fit blames ``output_size`` when it is what leaves no room on an
    upright image of ``size`` (see ``pipeline.output_too_small``)."""
    try:
        yield
    except EmblemDoesNotFitError as error:
        from blueheart.core.pipeline import output_too_small

        blamed = output_too_small(size, options, custom_emblem_of(options))
        if blamed is None:
            raise
        raise blamed from error


def check_room_early(image: Image.Image, options: BadgeOptions) -> None:
    """Raise, before decoding ``image``, the error an emblem that cannot fit its output raises
    after (a 1x99,000,000 PNG took 8 s and 2.3 GB to decode for it). A small first image leaves
    it to the pipeline, whose import then hides behind the decode."""
    if _PIPELINE not in sys.modules and image.width * image.height < _EARLY_ROOM_PIXELS:
        return
    from blueheart.core.pipeline import check_room

    # A PNG's EXIF may follow its pixels (reading it decodes them): its orientation unknown,
    # the image is refused only when the emblem fits neither way round.
    known = image.format != "PNG" or "exif" in image.info
    sizes = [upright_size(image)] if known else [image.size, (image.height, image.width)]
    refusals = []
    for size in sizes:
        try:
            with room_for_emblem(size, options):
                check_room(size, options, custom_emblem_of(options))
        except EmblemDoesNotFitError as error:
            refusals.append(error)
        else:
            return
    raise refusals[0]


def custom_emblem_of(options: BadgeOptions) -> CustomEmblem | None:
    """The custom emblem ``options`` name, loaded; None for the built-in heart."""
    if options.emblem is None:
        return None
    from blueheart.io.emblemfile import load_emblem

    return load_emblem(options.emblem)


def without_file_metadata(photo: Image.Image) -> Image.Image:
    """``photo`` with nothing of its source file's metadata for an encoder to fall back on.

    Savers read ``info`` (PNG and TIFF the ICC profile, JPEG and GIF the comment) and the TIFF
    saver copies IPTC, Photoshop and XMP blocks from a TIFF file's tags: only what the
    metadata policy passes explicitly may reach the output.
    """
    if hasattr(photo, "tag_v2"):
        photo = photo.copy()
    photo.info = {}
    return photo


def _frames(image: Image.Image, count: int) -> Iterator[Image.Image]:
    for index in range(count):
        image.seek(index)  # the image itself, showing that frame
        yield image


def _disposal(image: Image.Image) -> int | None:
    if image.format == "GIF":
        return int(getattr(image, "disposal_method", 0))
    if image.format == "PNG":
        value = image.info.get("disposal")
        return int(value) if value is not None else None
    return None


def upright_size(image: Image.Image) -> tuple[int, int]:
    """The opened image's (width, height) once its EXIF orientation is applied."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except EXIF_ERRORS:
        orientation = 1
    width, height = image.size
    return (height, width) if orientation in _SIDEWAYS_ORIENTATIONS else (width, height)


def write_emblem(
    path: str | Path,
    size: int = 512,
    *,
    style: Style | str = Style.HEART,
    ring: float | None = None,
    color: str = UN_BLUE,
    overwrite: bool = False,
) -> None:
    """Write the emblem alone to ``path``, atomically: SVG when its name ends in ``.svg``,
    else a transparent raster (PNG, WebP, AVIF or TIFF) of ``size`` x ``size`` px.

    ``style``, ``ring`` (None: the style's usual ring; there is no photo to contrast with)
    and ``color`` as for ``render_emblem``. Raises ``OptionError`` for an invalid value or a
    name that is no such format (field ``destination``), ``OutputExistsError`` when ``path``
    exists and ``overwrite`` is False, ``OutputWriteError``.
    """
    from blueheart.core.emblem import HEART_RING, emblem_svg, render_emblem

    target = path_argument("path", path)
    drawn = {"style": style, "ring": HEART_RING if ring is None else ring, "color": color}
    if emblem_format(target) == "SVG":
        svg = emblem_svg(size=size, **drawn)  # type: ignore[arg-type]
        write_atomic(target, svg.encode("utf-8"), overwrite=overwrite)
    else:
        raster = render_emblem(size, **drawn)  # type: ignore[arg-type]
        save_image_atomic(raster, target, overwrite=overwrite)


def draft(image: Image.Image, options: BadgeOptions) -> None:
    """Ask a JPEG to decode at a reduced scale when the output is smaller."""
    if options.output_size is None:
        return
    width, height = image.size
    scale = options.output_size / max(framed_size(image.size, options.crop))
    if image.format in DRAFT_FORMATS and scale < 1:
        image.draft(image.mode, (math.ceil(width * scale), math.ceil(height * scale)))


def decode(image: Image.Image) -> None:
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
