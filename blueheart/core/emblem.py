"""The Blue Heart emblem: the heart's geometry (``heart``) rendered exactly at any size, and
exported as SVG.

Its edge is anti-aliased from the signed distance to the outline, computed per pixel with
numpy: no bitmap is ever scaled.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from PIL import Image

from blueheart.core.errors import OptionError
from blueheart.core.heart import (
    PIN_DISC_RADIUS,
    PIN_SHADOW_OFFSET,
    PIN_SHADOW_OPACITY,
    PIN_SHADOW_SOFTNESS,
    RENDER_DISTANCE_EXACT_DEPTH,
    EmblemLayout,
    FloatArray,
    heart_distance,
    heart_geometry,
    heart_layout,
    render_distance,
)
from blueheart.core.options import UN_BLUE, WHITE, Style, hex_to_rgb

HEART_RING = 0.06
"""Default white ring of the heart style, as a fraction of the emblem's side."""
AUTO_RING = 0.11
"""The ring automatic contrast widens to when the blue would vanish into the photo."""


def _coverage(distance_px: FloatArray) -> FloatArray:
    """Fraction of a pixel covered, from the signed distance (px) at its centre."""
    result: FloatArray = np.clip(0.5 - distance_px, 0.0, 1.0)
    return result


_BLOCK_PX = 4
_STRIP_PIXELS = 1 << 18
"""Pixels rendered at a time: bounds the float temporaries of a large render to a few MB."""


def _block_distances(
    size: int, rows: range, columns: int, layout: EmblemLayout, edges_px: tuple[float, ...]
) -> tuple[FloatArray, npt.NDArray[np.bool_], Callable[[FloatArray, FloatArray], FloatArray]]:
    """Signed distance in px from the centre of each block of ``rows`` x the first
    ``columns`` to the heart, which blocks lie near ``edges_px``, and the per-pixel distance
    (rows and columns in px, from the emblem's top left); ``rows`` starts on a block boundary.

    Coverage only needs the exact distance within a pixel of each edge drawn (the heart's
    outline at 0, the ring's at its width). The distance is 1-Lipschitz, so a block whose
    centre is further than half its diagonal from every edge lies wholly on one side of each:
    its pixels keep their centre's value, and only blocks along the edges are computed per
    pixel.
    """
    px_per_unit = layout.scale * size
    # Coverage reads the distance within half a pixel inside the outline, where the cheaper
    # function is exact once half a pixel is at most its 0.05 heart units.
    exact = render_distance if px_per_unit >= 0.5 / RENDER_DISTANCE_EXACT_DEPTH else heart_distance

    def distance(ys: FloatArray, xs: FloatArray) -> FloatArray:
        hx = ((xs + 0.5) / size - layout.centre_x) / layout.scale
        hy = ((ys + 0.5) / size - layout.centre_y) / layout.scale
        result: FloatArray = exact(hx, hy) * px_per_unit
        return result

    centre = (_BLOCK_PX - 1) / 2
    block_ys = np.arange(rows.start, rows.stop, _BLOCK_PX, dtype=np.float64) + centre
    block_xs = np.arange(0, columns, _BLOCK_PX, dtype=np.float64) + centre
    coarse = distance(*np.meshgrid(block_ys, block_xs, indexing="ij"))
    reach = _BLOCK_PX * math.sqrt(2) / 2 + 1.0
    near = np.zeros(coarse.shape, dtype=bool)
    for edge in edges_px:
        near |= np.abs(coarse - edge) <= reach
    return coarse, near, distance


def _near_pixels(
    near: npt.NDArray[np.bool_], height: int, columns: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Rows and columns (from the strip's top left) of the pixels of the ``near`` blocks."""
    near_rows, near_cols = np.nonzero(near)
    offsets = np.arange(_BLOCK_PX)
    ys = (near_rows[:, None, None] * _BLOCK_PX + offsets[None, :, None]).repeat(_BLOCK_PX, 2)
    xs = (near_cols[:, None, None] * _BLOCK_PX + offsets[None, None, :]).repeat(_BLOCK_PX, 1)
    keep = (ys < height) & (xs < columns)
    return ys[keep], xs[keep]


def _per_pixel(blocks: npt.NDArray[Any], height: int, columns: int) -> npt.NDArray[Any]:
    """Each block's value repeated over its pixels, cut to ``height`` x ``columns``."""
    pixels = np.repeat(np.repeat(blocks, _BLOCK_PX, axis=0), _BLOCK_PX, axis=1)
    return pixels[:height, :columns]


def _heart_distance_px(
    size: int, rows: range, columns: int, layout: EmblemLayout, *, edges_px: tuple[float, ...]
) -> FloatArray:
    """Signed distance in px from each pixel centre of ``rows`` x the first ``columns`` to the
    heart, exact near ``edges_px`` (see ``_block_distances``)."""
    coarse, near, distance = _block_distances(size, rows, columns, layout, edges_px)
    grid: FloatArray = _per_pixel(coarse, len(rows), columns)
    ys, xs = _near_pixels(near, len(rows), columns)
    grid[ys, xs] = distance((ys + rows.start).astype(np.float64), xs.astype(np.float64))
    return grid


def _pixel_grid(size: int, rows: range, columns: int) -> tuple[FloatArray, FloatArray]:
    """Pixel centres of ``rows`` x the first ``columns``, as fractions of the emblem's side."""
    xs = (np.arange(columns, dtype=np.float64) + 0.5) / size
    ys = (np.arange(rows.start, rows.stop, dtype=np.float64) + 0.5) / size
    return np.meshgrid(xs, ys)


def render_emblem(
    size: int,
    *,
    style: Style | str = Style.HEART,
    ring: float = HEART_RING,
    color: str = UN_BLUE,
) -> Image.Image:
    """Render the emblem as a new ``size`` x ``size`` RGBA image.

    ``size`` is the side in pixels (>= 1); ``style`` "heart" (white ring of width ``ring``, a
    fraction of ``size`` from 0 to 0.25) or "pin" (white disc with a soft shadow, ``ring``
    ignored); ``color`` the heart's ``#RRGGBB`` colour, UN blue by default. Raises
    ``OptionError`` for an invalid value. Renders are cached, so asking again is free.
    """
    return _cached_emblem(*_validated(size, style, ring, color)).copy()


def _validated(
    size: int, style: Style | str, ring: float, color: str
) -> tuple[int, Style, float, str]:
    from blueheart.core.options import BadgeOptions

    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise OptionError("size", f"expected a whole number of pixels above 0, got {size!r}")
    checked = BadgeOptions(style=cast(Style, style), ring=ring, color=color)
    return size, checked.style, float(ring), checked.color


@functools.lru_cache(maxsize=64)
def _cached_emblem(size: int, style: Style, ring: float, color: str) -> Image.Image:
    """The shared render behind ``render_emblem``; never modify the result."""
    # One element per RGBA pixel: mirroring moves whole pixels, 15 times faster than bytes.
    pixels = np.empty((size, size), dtype=np.uint32)
    strip = max(1, _STRIP_PIXELS // (size * _BLOCK_PX)) * _BLOCK_PX
    columns = (size + 1) // 2
    for top in range(0, size, strip):
        rows = range(top, min(size, top + strip))
        left = _render_rows(size, rows, style, ring, color).view(np.uint32)[..., 0]
        # The emblem is symmetric about its vertical axis, and so is the pixel grid: the
        # left half (with the middle column) is mirrored, so both sides agree to the last bit.
        pixels[rows.start : rows.stop, :columns] = left
        pixels[rows.start : rows.stop, columns:] = left[:, : size // 2][:, ::-1]
    return Image.fromarray(pixels.view(np.uint8).reshape(size, size, 4), "RGBA")


def _render_rows(
    size: int, rows: range, style: Style, ring: float, color: str
) -> npt.NDArray[np.uint8]:
    """RGBA bytes of the left half (with the middle column) of ``rows`` of the emblem:
    coverage of the heart, its backing and shadow."""
    layout = heart_layout(style, ring)
    columns = (size + 1) // 2
    if style is Style.PIN:
        return _pin_rows(size, rows, columns, layout, color)
    return _heart_rows(size, rows, columns, layout, ring * size, color)


def _heart_rows(
    size: int, rows: range, columns: int, layout: EmblemLayout, ring_px: float, color: str
) -> npt.NDArray[np.uint8]:
    """The heart style's left half: blocks away from both edges are wholly heart, ring or
    outside, filled as bytes; only the pixels of blocks near an edge are computed in floats."""
    edges = (0.0, ring_px) if ring_px else (0.0,)
    coarse, near, distance = _block_distances(size, rows, columns, layout, edges)
    blocks = np.zeros((*coarse.shape, 4), dtype=np.uint8)
    blocks[coarse < ring_px] = (*hex_to_rgb(WHITE), 255)
    blocks[coarse < 0] = (*hex_to_rgb(color), 255)
    rgba = _per_pixel(blocks, len(rows), columns)
    ys, xs = _near_pixels(near, len(rows), columns)
    exact = distance((ys + rows.start).astype(np.float64), xs.astype(np.float64))
    heart = _coverage(exact)
    backing = _coverage(exact - ring_px) if ring_px else heart
    rgba[ys, xs] = _colours(heart, backing, backing, color)
    result: npt.NDArray[np.uint8] = rgba
    return result


def _pin_rows(
    size: int, rows: range, columns: int, layout: EmblemLayout, color: str
) -> npt.NDArray[np.uint8]:
    """The pin style's left half: its shadow fades over many pixels, so every pixel is
    computed."""
    heart = _coverage(_heart_distance_px(size, rows, columns, layout, edges_px=(0.0,)))
    x, y = _pixel_grid(size, rows, columns)
    lift = PIN_SHADOW_OFFSET / 2
    backing = _coverage((np.hypot(x - 0.5, y - 0.5 + lift) - PIN_DISC_RADIUS) * size)
    shadow_distance = np.hypot(x - 0.5, y - 0.5 - lift) - PIN_DISC_RADIUS
    falloff = np.clip(1.0 - shadow_distance / PIN_SHADOW_SOFTNESS, 0.0, 1.0)
    # Where only the shadow shows, the colour is black.
    alpha = backing + PIN_SHADOW_OPACITY * falloff**2 * (1.0 - backing)
    return _colours(heart, backing, alpha, color)


def _colours(
    heart: FloatArray, backing: FloatArray, alpha: FloatArray, color: str
) -> npt.NDArray[np.uint8]:
    """RGBA bytes from the coverage of the heart and its white backing, and the alpha."""
    visible = alpha > 0
    blue_share = np.divide(heart, alpha, out=np.zeros_like(alpha), where=visible)
    white_share = np.divide(backing - heart, alpha, out=np.zeros_like(alpha), where=visible)
    rgba = np.empty((*alpha.shape, 4), dtype=np.uint8)
    for channel, (blue, light) in enumerate(zip(hex_to_rgb(color), hex_to_rgb(WHITE), strict=True)):
        rgba[..., channel] = np.rint(blue_share * blue + white_share * light)
    rgba[..., 3] = np.rint(alpha * 255.0)
    return rgba


def emblem_svg(
    *,
    style: Style | str = Style.HEART,
    ring: float = HEART_RING,
    color: str = UN_BLUE,
    size: int = 512,
) -> str:
    """The emblem as an SVG document of side ``size``, from the same geometry as the raster."""
    _, style, ring, color = _validated(size, style, ring, color)
    layout = heart_layout(style, ring)
    scale = layout.scale * size
    path = heart_geometry().svg_path(scale, layout.centre_x * size, layout.centre_y * size)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">',
        "<title>Blue Heart emblem (blueheart)</title>",
    ]
    if style is Style.PIN:
        shift = PIN_SHADOW_OFFSET / 2 * size
        radius = PIN_DISC_RADIUS * size
        parts += [
            '<defs><filter id="shadow" x="-20%" y="-20%" width="140%" height="140%">'
            f'<feGaussianBlur stdDeviation="{PIN_SHADOW_SOFTNESS * size / 3:.3f}"/>'
            "</filter></defs>",
            f'<circle cx="{size / 2:.3f}" cy="{size / 2 + shift:.3f}" r="{radius:.3f}" '
            f'fill="#000000" fill-opacity="{PIN_SHADOW_OPACITY}" filter="url(#shadow)"/>',
            f'<circle cx="{size / 2:.3f}" cy="{size / 2 - shift:.3f}" r="{radius:.3f}" '
            f'fill="{WHITE}"/>',
        ]
    elif ring > 0:
        parts.append(
            f'<path d="{path}" fill="{WHITE}" stroke="{WHITE}" '
            f'stroke-width="{2 * ring * size:.3f}" stroke-linejoin="round"/>'
        )
    parts += [f'<path d="{path}" fill="{color}"/>', "</svg>", ""]
    return "\n".join(parts)
