"""What one image goes through in memory: normalise -> crop/resize -> place -> composite.

``apply_badge`` is the library's entry for a PIL image; ``badged_frames`` does the same to
every frame of an opened file for ``blueheart.render``, which reads and writes the files.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

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
from blueheart.errors import EXIF_ERRORS, BlueheartError, OptionError, OutputTooLargeError
from blueheart.framing import output_canvas
from blueheart.imagefile import (
    Frame,
    decoding,
    frame_count,
    open_image,
)
from blueheart.options import (
    BadgeOptions,
    Position,
    Style,
    resolve_options,
)
from blueheart.placement import Box, Placement, place
from blueheart.saliency import saliency_map


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
    ``OptionError`` (a ``ValueError``) for invalid options, an ``emblem`` file that cannot be
    read, an emblem that cannot fit, or an ``output_size`` that would make more than
    ``max_pixels`` pixels (``OutputTooLargeError``).
    """
    resolved = resolve_options(options, overrides)
    keep_cmyk = not resolved.needs_alpha
    check_output_size(image.size, resolved)
    photo, icc = normalise(image, keep_cmyk=keep_cmyk)
    photo = crop_and_resize(photo, resolved.crop, resolved.focus, resolved.output_size)
    if photo is image:
        photo = image.copy()
    plan = plan_badge(photo, resolved, icc)
    stamp(photo, plan.emblem, plan.box)
    return photo


def check_output_size(size: tuple[int, int], options: BadgeOptions) -> None:
    """Raise ``OutputTooLargeError`` if ``options.output_size`` would scale an image of
    ``size`` to more than ``options.max_pixels`` pixels (turning it does not change that)."""
    if options.output_size is None:
        return
    width, height = output_canvas(size, options.crop, options.output_size)
    if width * height > options.max_pixels:
        raise OutputTooLargeError(
            "output_size",
            f"{options.output_size} px makes a {width}x{height} output of "
            f"{width * height:,} pixels, over the limit of {options.max_pixels:,}",
        )


def normalise(
    image: Image.Image, *, keep_cmyk: bool, in_place: bool = False
) -> tuple[Image.Image, bytes | None]:
    """``image`` upright (EXIF orientation applied) in a working mode, and the ICC profile
    that describes its pixels (None for sRGB). CMYK becomes sRGB unless ``keep_cmyk``.
    ``in_place`` rotates ``image`` itself instead of a copy (and may return it)."""
    upright = _upright(image, in_place=in_place)
    icc = image.info.get("icc_profile") or None
    working = to_working_mode(upright)
    if working.mode == "CMYK" and not keep_cmyk:
        working, icc = _cmyk_to_srgb(working, icc), None
    if icc is not None and not profile_matches_mode(icc, working.mode):
        # A gray profile no longer describes promoted pixels; sRGB is the safe reading.
        icc = None
    return working, icc


def _upright(image: Image.Image, *, in_place: bool) -> Image.Image:
    """``image`` (or a copy) with its EXIF orientation applied to the pixels."""
    if not in_place:
        try:
            return ImageOps.exif_transpose(image)  # one pass: turned into a new image
        except EXIF_ERRORS:
            return _upright(image.copy(), in_place=True)  # only a damaged block pays a copy
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except EXIF_ERRORS:
        # Pillow turns the pixels first, then rewrites the EXIF without the orientation tag,
        # which a damaged tag can make fail: the pixels are upright, the stale EXIF goes.
        # (A block too damaged to read gives no orientation, and the pixels stay as stored.)
        for key in ("exif", "Raw profile type exif"):
            image.info.pop(key, None)
    return image


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
        at=options.at,
    )
    auto = options.position is Position.AUTO and options.at is None
    saliency = saliency_map(photo) if auto else None
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
        raise OptionError("emblem", f"{path}: cannot read it ({error.strerror})") from None
    return status.st_mtime_ns, status.st_size


@dataclass(frozen=True)
class CustomEmblem:
    """A custom emblem file's RGBA image and the outline of its visible pixels."""

    image: Image.Image
    silhouette: tuple[tuple[float, float], ...]


def check_emblem(path: Path) -> None:
    """Read the custom emblem file ``path`` (kept for the badges to come); raises
    ``OptionError`` for the field ``emblem`` if it cannot be read as an image."""
    _custom_emblem(path, *_file_key(path))


@functools.lru_cache(maxsize=8)
def _custom_emblem(path: Path, mtime_ns: int, file_size: int) -> CustomEmblem:
    """A custom emblem file, opened once per version of the file."""
    try:
        with (
            open_image(path, name=str(path), max_pixels=64_000_000) as opened,
            decoding(str(path)),
        ):
            emblem = opened.convert("RGBA")
    except BlueheartError as error:
        # The emblem is an option, not a photo: every photo would fail the same way.
        raise OptionError("emblem", str(error)) from None
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


def badged_frames(
    image: Image.Image, options: BadgeOptions, *, keep_cmyk: bool, all_frames: bool = True
) -> tuple[list[Frame], bytes | None]:
    """Every frame (or page) of the opened ``image``, badged, and the ICC profile of their
    pixels; only the first with ``all_frames`` False."""
    frames: list[Frame] = []
    plan: BadgePlan | None = None
    planned_size = (0, 0)
    icc: bytes | None = None
    count = frame_count(image) if all_frames else 1
    # A still image is ours to change; an animation's frames share one decoder image.
    still = count == 1
    for source_frame in _frames(image, count):
        check_output_size(source_frame.size, options)
        photo, icc = normalise(source_frame, keep_cmyk=keep_cmyk, in_place=still)
        photo = crop_and_resize(photo, options.crop, options.focus, options.output_size)
        if photo is source_frame and not still:
            photo = photo.copy()
        if plan is None or photo.size != planned_size:  # a TIFF's pages differ in size
            plan, planned_size = plan_badge(photo, options, icc), photo.size
        stamp(photo, plan.emblem, plan.box)
        duration = source_frame.info.get("duration")
        frames.append(
            Frame(
                image=without_file_metadata(photo),
                duration=duration,
                disposal=_disposal(image),
                blend=PngImagePlugin.Blend.OP_SOURCE if image.format == "PNG" else None,
            )
        )
    return frames, icc


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
