"""The flow of one image: open -> normalise -> crop/resize -> place -> composite -> save.

``apply_badge`` runs the steps an image goes through in memory; ``badge_bytes`` and
``badge_file`` add decoding and encoding around them, with the metadata policy.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms, ImageOps, ImageSequence, PngImagePlugin

from blueheart.compose import (
    PreparedEmblem,
    has_low_contrast,
    prepare_emblem,
    profile_matches_mode,
    stamp,
    to_working_mode,
)
from blueheart.crop import crop_and_resize
from blueheart.emblem import AUTO_RING, HEART_RING, _cached_emblem, silhouette
from blueheart.errors import OptionError, OutputExistsError, UnreadableImageError
from blueheart.formats import OPAQUE_FORMATS, format_of_name, output_format
from blueheart.imagefile import (
    EncodeSettings,
    Frame,
    decoding,
    encode,
    frame_count,
    jpeg_settings,
    open_image,
    write_atomic,
)
from blueheart.metadata import read_metadata
from blueheart.options import (
    BadgeOptions,
    Crop,
    OutputFormat,
    Position,
    Style,
    hex_to_rgb,
    resolve_options,
)
from blueheart.placement import Box, Placement, place
from blueheart.saliency import saliency_map

CMYK_FORMATS = ("JPEG", "TIFF")


@dataclass(frozen=True)
class BadgePlan:
    """Where the emblem goes on a frame and the emblem ready to blend there."""

    box: Box
    emblem: PreparedEmblem


def apply_badge(
    image: Image.Image, options: BadgeOptions | None = None, **overrides: Any
) -> Image.Image:
    """Return a new image: ``image`` upright, cropped as asked, with the emblem on it.

    ``image`` is any PIL image (EXIF orientation is applied; grayscale and palette images come
    back in colour; an embedded ICC profile is honoured so the heart shows its sRGB colour);
    ``options`` a ``BadgeOptions`` (defaults if None), with ``overrides`` as keyword fields,
    e.g. ``apply_badge(im, position="auto", size=0.25)``. The input is not modified. Raises
    ``OptionError`` (a ``ValueError``) for invalid options or an emblem that cannot fit.
    """
    resolved = resolve_options(options, overrides)
    keep_cmyk = resolved.crop is not Crop.CIRCLE
    photo, icc = normalise(image, keep_cmyk=keep_cmyk)
    photo = crop_and_resize(photo, resolved.crop, resolved.focus, resolved.output_size)
    if photo is image:
        photo = image.copy()
    plan = plan_badge(photo, resolved, icc)
    stamp(photo, plan.emblem, plan.box)
    return photo


def normalise(
    image: Image.Image, *, keep_cmyk: bool, in_place: bool = False
) -> tuple[Image.Image, bytes | None]:
    """``image`` upright (EXIF orientation applied) in a working mode, and the ICC profile
    that describes its pixels (None for sRGB). CMYK becomes sRGB unless ``keep_cmyk``.
    ``in_place`` rotates ``image`` itself instead of a copy (and may return it)."""
    if in_place:
        ImageOps.exif_transpose(image, in_place=True)
        upright = image
    else:
        upright = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile") or None
    working = to_working_mode(upright)
    if working.mode == "CMYK" and not keep_cmyk:
        working, icc = _cmyk_to_srgb(working, icc), None
    if icc is not None and not profile_matches_mode(icc, working.mode):
        # A gray profile no longer describes promoted pixels; sRGB is the safe reading.
        icc = None
    return working, icc


def _cmyk_to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
        if converted is not None:
            return converted
    return image.convert("RGB")


def plan_badge(photo: Image.Image, options: BadgeOptions, icc: bytes | None) -> BadgePlan:
    """Decide the emblem's box on ``photo`` (working mode) and prepare the emblem for it."""
    square = photo.width == photo.height
    placement = Placement(
        position=options.position,
        size=options.size,
        margin=options.margin,
        offset=options.offset,
        circle_safe=options.circle_safe if options.circle_safe is not None else square,
    )
    saliency = saliency_map(photo) if options.position is Position.AUTO else None
    if options.emblem is not None:
        return _plan_custom(photo, options, options.emblem, placement, saliency, icc)
    ring = options.ring if options.ring is not None else HEART_RING
    box = place(photo.size, placement, silhouette(options.style, ring), saliency=saliency)
    if (
        options.ring is None
        and options.style is Style.HEART
        and has_low_contrast(photo, box, options.color)
    ):
        ring = AUTO_RING
        box = place(photo.size, placement, silhouette(options.style, ring), saliency=saliency)
    emblem = _prepared_heart(
        box.width, options.style, ring, options.color, photo.mode, icc, options.opacity
    )
    return BadgePlan(box, emblem)


def _plan_custom(
    photo: Image.Image,
    options: BadgeOptions,
    path: Path,
    placement: Placement,
    saliency: npt.NDArray[np.float64] | None,
    icc: bytes | None,
) -> BadgePlan:
    """The plan for a custom emblem file, placed by its own aspect and visible outline."""
    version = _file_key(path)
    custom = _custom_emblem(path, *version)
    box = place(
        photo.size,
        placement,
        custom.silhouette,
        aspect=custom.image.width / custom.image.height,
        saliency=saliency,
    )
    emblem = _prepared_custom(
        path, *version, box.width, box.height, photo.mode, icc, options.opacity
    )
    return BadgePlan(box, emblem)


@functools.lru_cache(maxsize=64)
def _prepared_heart(
    size: int, style: Style, ring: float, color: str, mode: str, icc: bytes | None, opacity: float
) -> PreparedEmblem:
    """The heart rendered once per size and style, converted once per profile."""
    raster = _cached_emblem(size, style, ring, color)
    return prepare_emblem(raster, mode=mode, icc_profile=icc, opacity=opacity)


def _file_key(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError as error:
        raise UnreadableImageError(f"{path}: cannot read the emblem ({error.strerror})") from None
    return status.st_mtime_ns, status.st_size


@dataclass(frozen=True)
class CustomEmblem:
    """A custom emblem file's RGBA image and the outline of its visible pixels."""

    image: Image.Image
    silhouette: tuple[tuple[float, float], ...]


@functools.lru_cache(maxsize=8)
def _custom_emblem(path: Path, mtime_ns: int, file_size: int) -> CustomEmblem:
    """A custom emblem file, opened once per version of the file."""
    with open_image(path, name=str(path), max_pixels=64_000_000) as opened, decoding(str(path)):
        emblem = opened.convert("RGBA")
    return CustomEmblem(emblem, _alpha_silhouette(emblem))


@functools.lru_cache(maxsize=64)
def _prepared_custom(
    path: Path,
    mtime_ns: int,
    file_size: int,
    width: int,
    height: int,
    mode: str,
    icc: bytes | None,
    opacity: float,
) -> PreparedEmblem:
    resized = _custom_emblem(path, mtime_ns, file_size).image.resize(
        (width, height), Image.Resampling.LANCZOS
    )
    return prepare_emblem(resized, mode=mode, icc_profile=icc, opacity=opacity)


def _alpha_silhouette(emblem: Image.Image) -> tuple[tuple[float, float], ...]:
    """Corners of each visible row's extent, as fractions of the emblem."""
    alpha = np.asarray(emblem.getchannel("A").resize((64, 64), Image.Resampling.BOX))
    points: list[tuple[float, float]] = []
    for row in np.nonzero(alpha.any(axis=1))[0]:
        visible = np.nonzero(alpha[row])[0]
        for y in (row / 64, (row + 1) / 64):
            points += [(visible[0] / 64, y), ((visible[-1] + 1) / 64, y)]
    return tuple(points) or ((0.5, 0.5),)


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

    The source is never written. ``destination``'s folder is created if needed; an existing
    ``destination`` is only replaced with ``overwrite=True``. Raises ``BlueheartError``
    subclasses (unreadable or too large input, output exists, cannot write) and
    ``OptionError``; on any error nothing is written.
    """
    source_path, destination_path = Path(source), Path(destination)
    resolved = resolve_options(options, overrides)
    if destination_path.resolve() == source_path.resolve():
        raise OptionError(
            "destination", f"{destination_path} is the input; inputs are never written"
        )
    named = format_of_name(destination_path.suffix)
    if resolved.format is OutputFormat.KEEP and named:
        if resolved.crop is Crop.CIRCLE and named in OPAQUE_FORMATS:
            raise OptionError(
                "format",
                f"a circle crop needs transparent corners, which {destination_path.suffix} "
                "cannot store; name the output .png, .webp or .avif",
            )
    else:
        named = None
    if not overwrite and destination_path.exists():
        raise OutputExistsError(f"{destination_path}: exists (use --overwrite to replace it)")
    data, _ = render_file(source_path, str(source_path), resolved, written_format=named)
    write_atomic(destination_path, data, overwrite=overwrite)


def render_file(
    source: Path | bytes, name: str, options: BadgeOptions, *, written_format: str | None = None
) -> tuple[bytes, str]:
    """The badged file's bytes and its Pillow format, from a path or a file's bytes.

    ``written_format`` overrides the format ``options`` would choose (an output's name)."""
    with open_image(source, name=name, max_pixels=options.max_pixels) as image, decoding(name):
        written_format = written_format or output_format(
            image.format, options.format, needs_alpha=options.crop is Crop.CIRCLE
        )
        resized = _draft(image, options)
        # Everything read from the file comes before the pixels change: badging clears the
        # frames' own metadata so that no encoder falls back on it (see _badged_frames).
        metadata = read_metadata(image, keep_location=options.keep_metadata)
        reuse_tables = options.quality is None and not resized and options.crop is Crop.NONE
        comment = image.info.get("comment") if options.keep_metadata else None
        settings = EncodeSettings(
            format=written_format,
            quality=options.quality,
            background=hex_to_rgb(options.background),
            loop=image.info.get("loop"),
            tiff_compression=image.info.get("compression") if image.format == "TIFF" else None,
            png_text=_png_text(image) if options.keep_metadata else None,
            comment=comment if isinstance(comment, bytes) else None,
            **jpeg_settings(image, reuse_tables=reuse_tables),
        )
        frames, icc = _badged_frames(image, options, keep_cmyk=written_format in CMYK_FORMATS)
        return encode(frames, settings, replace(metadata, icc_profile=icc)), written_format


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


def _badged_frames(
    image: Image.Image, options: BadgeOptions, *, keep_cmyk: bool
) -> tuple[list[Frame], bytes | None]:
    frames: list[Frame] = []
    plan: BadgePlan | None = None
    icc: bytes | None = None
    # A still image is ours to change; an animation's frames share one decoder image.
    still = frame_count(image) == 1
    for source_frame in _frames(image):
        photo, icc = normalise(source_frame, keep_cmyk=keep_cmyk, in_place=still)
        photo = crop_and_resize(photo, options.crop, options.focus, options.output_size)
        if photo is source_frame and not still:
            photo = photo.copy()
        if plan is None:
            plan = plan_badge(photo, options, icc)
        stamp(photo, plan.emblem, plan.box)
        duration = source_frame.info.get("duration")
        frames.append(
            Frame(
                image=_without_file_metadata(photo),
                duration=duration,
                disposal=_disposal(image),
                blend=PngImagePlugin.Blend.OP_SOURCE if image.format == "PNG" else None,
            )
        )
    return frames, icc


def _without_file_metadata(photo: Image.Image) -> Image.Image:
    """``photo`` with nothing of its source file's metadata for an encoder to fall back on.

    Savers read ``info`` (PNG and TIFF the ICC profile, JPEG and GIF the comment) and the TIFF
    saver copies IPTC, Photoshop and XMP blocks from a TIFF file's tags: only what the
    metadata policy passes explicitly may reach the output.
    """
    if hasattr(photo, "tag_v2"):
        photo = photo.copy()
    photo.info = {}
    return photo


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    if frame_count(image) == 1:
        yield image
        return
    yield from ImageSequence.Iterator(image)


def _disposal(image: Image.Image) -> int | None:
    if image.format == "GIF":
        return int(getattr(image, "disposal_method", 0))
    if image.format == "PNG":
        value = image.info.get("disposal")
        return int(value) if value is not None else None
    return None


def _png_text(image: Image.Image) -> dict[str, str]:
    text = getattr(image, "text", {}) or {}
    return {str(key): str(value) for key, value in text.items()}
