"""Colour maths on numpy arrays: sRGB bytes to CIE L*a*b*, for saliency and contrast alike."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.2126729, 0.0193339],
        [0.3575761, 0.7151522, 0.1191920],
        [0.1804375, 0.0721750, 0.9503041],
    ]
)
"""Rows: the XYZ (D65) of linear sRGB red, green and blue."""
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
"""The XYZ of the D65 white point, which L*a*b* is relative to."""
_LAB_DELTA = 6 / 29
"""Where CIE's L*a*b* curve turns from a cube root into a straight line."""


def _srgb_to_linear(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = np.where(
        c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4
    )
    return result


_LINEAR_OF_BYTE = _srgb_to_linear(np.arange(256) / 255.0)
"""Linear-light value of each sRGB byte: a lookup instead of a power per sample."""


def srgb_to_lab(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """CIE L*a*b* (D65) of sRGB byte triples, shape (..., 3)."""
    linear = _LINEAR_OF_BYTE[rgb]
    # Summed by hand, not with `@`: a matrix product starts BLAS threads, which spin in every
    # batch worker and take the other worker's core.
    xyz = sum(linear[..., channel, None] * _SRGB_TO_XYZ[channel] for channel in range(3))
    xyz = xyz / _D65_WHITE
    f = np.where(xyz > _LAB_DELTA**3, np.cbrt(xyz), xyz / (3 * _LAB_DELTA**2) + 4 / 29)
    lab: npt.NDArray[np.float64] = np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    return lab
