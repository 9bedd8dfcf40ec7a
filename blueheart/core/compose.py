"""Blending a prepared emblem into one box of a photo, in the photo's own colour space."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms

from blueheart.core.colour import srgb_to_lab
from blueheart.core.options import hex_to_rgb
from blueheart.core.placement import Box

WORKING_MODES = ("RGB", "RGBA", "CMYK")
"""Every photo is badged in one of these; anything else is promoted so the heart stays blue."""

LOW_CONTRAST_DELTA_E = 25.0
"""Median CIE76 colour difference under the emblem below which the blue would blend in."""

_CONTRAST_SAMPLE_PX = 24
"""The contrast check averages the emblem's box down to about this many pixels a side."""
_TRANSPARENT_MODES = ("RGBA", "LA", "La", "PA", "RGBa")
_STRIP_PIXELS = 1 << 18
"""Pixels scaled at a time from wide samples: a whole frame's float copy would cost 8 bytes
a pixel (2 GB for a 250-megapixel scan), and numpy makes several."""


def crop_region(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """``image.crop(box)`` without Pillow's bomb check, which reads the host program's
    ``Image.MAX_IMAGE_PIXELS`` (blueheart applies its own limit as a file is opened).

    A nearest-neighbour resize to the box's own size copies the box's pixels exactly.
    """
    left, top, right, bottom = box
    return image.resize((right - left, bottom - top), Image.Resampling.NEAREST, box=box)


def to_working_mode(image: Image.Image) -> Image.Image:
    """``image`` in RGB, RGBA or CMYK (the image itself when it already is).

    Grayscale, bilevel and palette images become colour so the heart stays blue; any
    transparency becomes an alpha channel. 16-bit and 32-bit integer samples are scaled from
    their full range; float samples are taken as 0..1 when none exceeds 1, else as 0..255.
    """
    mode = image.mode
    colour_key = mode == "RGB" and "transparency" in image.info  # a PNG's tRNS colour
    if mode in WORKING_MODES and not colour_key:
        return image
    if mode.startswith("I") or mode == "F":
        return _wide_samples_to_rgb(image)
    has_alpha = mode in _TRANSPARENT_MODES or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _wide_samples_to_rgb(image: Image.Image) -> Image.Image:
    """``image``'s 16-bit, 32-bit or float samples scaled to bytes, as RGB, a strip at a time."""
    scale = 255.0 / _full_scale(image)
    rgb = Image.new("RGB", image.size)
    for box in _strips(image.size):
        samples = np.asarray(crop_region(image, box)).astype(np.float64)
        scaled = np.nan_to_num(samples * scale, nan=0.0)
        grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        rgb.paste(Image.fromarray(grey, "L"), box[:2])
    return rgb


def _full_scale(image: Image.Image) -> float:
    """The sample value that becomes white: 65535 for 16-bit; for 32-bit integers 65535 if
    any sample exceeds 255, else 255; for floats 1 if none exceeds 1, else 255."""
    if image.mode.startswith("I;16"):
        return 65535.0
    # fmax skips NaN (unless every sample is NaN), without numpy's all-NaN warning.
    peaks = [
        np.fmax.reduce(np.asarray(crop_region(image, box)), axis=None)
        for box in _strips(image.size)
    ]
    peak = float(np.fmax.reduce(peaks))
    if image.mode == "F":
        return 1.0 if peak <= 1.0 else 255.0
    return 65535.0 if peak > 255 else 255.0


def _strips(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Boxes of whole rows covering ``size``, about ``_STRIP_PIXELS`` each."""
    width, height = size
    rows = max(1, _STRIP_PIXELS // width)
    return [(0, top, width, min(height, top + rows)) for top in range(0, height, rows)]


@functools.lru_cache(maxsize=32)
def profile_matches_mode(icc_profile: bytes, mode: str) -> bool:
    """Whether an embedded ICC profile describes pixels of ``mode`` (RGB-like or CMYK)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        # A damaged header can hold bytes that are not ASCII: a UnicodeDecodeError here.
        space = profile.profile.xcolor_space.strip()
    except (OSError, ValueError, TypeError):
        return False
    return space == ("CMYK" if mode == "CMYK" else "RGB")


@dataclass(frozen=True)
class PreparedEmblem:
    """The emblem ready to blend: its colour in the photo's mode and its coverage mask."""

    colour: Image.Image
    mask: Image.Image
    rgba: Image.Image | None

    @property
    def size(self) -> tuple[int, int]:
        return self.colour.size


def prepare_emblem(
    emblem: Image.Image, *, mode: str, icc_profile: bytes | None, opacity: float
) -> PreparedEmblem:
    """Convert an sRGB RGBA ``emblem`` into a photo's ``mode`` and ICC profile, with ``opacity``.

    ``mode`` is a working mode (RGB, RGBA or CMYK); ``icc_profile`` the photo's embedded
    profile bytes, or None for sRGB (RGB) or a plain conversion (CMYK); ``opacity`` 0..1
    scales the emblem's alpha. The photo, read back through its profile, shows the emblem's
    sRGB colours.
    """
    rgba = emblem.convert("RGBA")
    rgb, alpha = rgba.convert("RGB"), rgba.getchannel("A")
    target = "CMYK" if mode == "CMYK" else "RGB"
    transform = _srgb_transform(icc_profile, target) if icc_profile else None
    if transform is not None:
        colour = ImageCms.applyTransform(rgb, transform)
        assert colour is not None
    else:
        colour = rgb.convert(target)
    if opacity < 1.0:
        alpha = alpha.point(lambda value: round(value * opacity))
    merged = None
    if mode == "RGBA":
        merged = colour.copy()
        merged.putalpha(alpha)
    return PreparedEmblem(colour=colour, mask=alpha, rgba=merged)


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc_profile: bytes, target: str) -> ImageCms.ImageCmsTransform | None:
    """sRGB -> the photo's profile, cached per profile; None for a profile lcms cannot use."""
    try:
        destination = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(
            ImageCms.createProfile("sRGB"),
            destination,
            "RGB",
            target,
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def stamp(image: Image.Image, emblem: PreparedEmblem, box: Box) -> None:
    """Blend ``emblem`` into ``box`` of ``image``, in place; pixels outside the box are untouched.

    ``image`` must be in a working mode, and ``box`` the emblem's size. On RGBA photos the
    emblem is composited over the region ("over"), so transparency under the emblem's
    transparent pixels is kept exactly.
    """
    if box.width != emblem.size[0] or box.height != emblem.size[1]:
        raise ValueError(f"box {box} does not match the emblem's size {emblem.size}")
    if emblem.rgba is not None:
        region = crop_region(image, box.as_tuple())
        region.alpha_composite(emblem.rgba)
        image.paste(region, box.as_tuple())
    else:
        image.paste(emblem.colour, box.as_tuple(), emblem.mask)


def has_low_contrast(image: Image.Image, box: Box, colour: str) -> bool:
    """Whether ``colour`` would blend into the pixels of ``box`` (median CIE76 ΔE below 25).

    Measured on the region averaged down to a few hundred pixels, treating them as sRGB;
    transparent pixels count as what shows through, which is unknown, so they are left out.
    """
    left, top, right, bottom = box.as_tuple()
    factor = max(1, min(right - left, bottom - top) // _CONTRAST_SAMPLE_PX)
    sample = image.reduce(factor, box=(left, top, right, bottom))
    if sample.mode == "RGBA":
        pixels = np.asarray(sample).reshape(-1, 4)
        opaque = pixels[pixels[:, 3] >= 128, :3]
    else:
        opaque = np.asarray(sample.convert("RGB")).reshape(-1, 3)
    if not len(opaque):
        return False
    difference = srgb_to_lab(opaque) - _lab(colour)
    distances = np.sqrt((difference**2).sum(axis=1))
    # The middle value by hand: np.median imports numpy.ma, 25 ms at every start.
    middle = len(distances) // 2
    return float(np.partition(distances, middle)[middle]) < LOW_CONTRAST_DELTA_E


@functools.lru_cache(maxsize=8)
def _lab(colour: str) -> npt.NDArray[np.float64]:
    return srgb_to_lab(np.array(hex_to_rgb(colour), dtype=np.uint8))
