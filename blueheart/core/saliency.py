"""A small saliency map: where a photo's important content is, computed with numpy.

It combines colour-gradient energy, the spectral residual of lightness (Hou & Zhang, 2007) and a
skin-tone term, optionally weighted toward the centre, on a thumbnail of ``MAP_SIDE`` pixels.
Deterministic, and cheap next to decoding the photo.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from blueheart.core.colour import srgb_to_lab

MAP_SIDE = 64
_SMALLEST_MAP = 3
FloatMap = npt.NDArray[np.float64]
SKIN_CB = (77, 127)
SKIN_CR = (137, 173)
"""The Cb and Cr ranges (of 0..255) where skin tones fall, whatever their lightness."""
CENTRE_SIGMA = 0.3
"""The centre prior's spread, as a fraction of the width and height."""


def saliency_map(image: Image.Image, *, centre_weight: float = 1.0) -> FloatMap:
    """A map of ``image`` (longer side ``MAP_SIDE``), values 0..1, higher = more important.

    ``centre_weight`` 0..1 blends in a Gaussian centre prior: photographers put subjects near
    the middle, and a badge there would hide them.
    """
    thumbnail = _thumbnail(image)
    if min(thumbnail.size) < _SMALLEST_MAP:
        # Too few pixels to tell content from background: every place is as good.
        return np.zeros((thumbnail.height, thumbnail.width))
    lab = srgb_to_lab(np.asarray(thumbnail))
    rgb = np.asarray(thumbnail, dtype=np.float64)
    energy = sum(np.hypot(*np.gradient(lab[..., channel])) for channel in range(3))
    combined = _normalised(_box_blur(energy, 2)) + _normalised(_spectral_residual(lab[..., 0]))
    combined = combined + _normalised(_skin(rgb))
    salient = _normalised(_box_blur(combined, 2))
    if centre_weight > 0:
        salient = salient * ((1 - centre_weight) + centre_weight * _centre_prior(salient.shape))
    return _normalised(salient)


def _thumbnail(image: Image.Image) -> Image.Image:
    thumb = (
        image.copy()
        if max(image.size) <= MAP_SIDE
        else image.reduce(max(1, max(image.size) // MAP_SIDE))
    )
    thumb.thumbnail((MAP_SIDE, MAP_SIDE), Image.Resampling.BILINEAR)
    if thumb.mode == "RGBA":
        backdrop = Image.new("RGBA", thumb.size, (255, 255, 255, 255))
        thumb = Image.alpha_composite(backdrop, thumb)
    return thumb.convert("RGB")


def _spectral_residual(lightness: FloatMap) -> FloatMap:
    spectrum = np.fft.fft2(lightness)
    log_amplitude = np.log1p(np.abs(spectrum))
    residual = log_amplitude - _box_blur(log_amplitude, 1)
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    return _box_blur(saliency, 2)


def _skin(rgb: FloatMap) -> FloatMap:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    in_cb = (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])
    in_cr = (cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1])
    return (in_cb & in_cr).astype(np.float64)


def _centre_prior(shape: tuple[int, ...]) -> FloatMap:
    rows, cols = shape[0], shape[1]
    y = (np.arange(rows) + 0.5) / rows - 0.5
    x = (np.arange(cols) + 0.5) / cols - 0.5
    prior: FloatMap = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * CENTRE_SIGMA**2))
    return prior


def _box_blur(values: FloatMap, radius: int) -> FloatMap:
    padded = np.pad(values, radius, mode="edge")
    window = 2 * radius + 1
    summed = padded.cumsum(0).cumsum(1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    blurred: FloatMap = (
        summed[window:, window:]
        - summed[:-window, window:]
        - summed[window:, :-window]
        + summed[:-window, :-window]
    ) / window**2
    return blurred


def _normalised(values: FloatMap) -> FloatMap:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values)
    result: FloatMap = (values - low) / (high - low)
    return result
