"""The Blue Heart emblem: one geometry, rendered exactly at any size, exported as SVG.

The heart is our own drawing: two circular lobes of radius 1 whose centres sit at (-C, 0) and
(C, 0), and two lines from the tip (0, TIP), each tangent to one lobe. Coordinates are
y-down, like image rows. Its edge is anti-aliased from the signed distance to that outline,
computed per pixel with numpy: no bitmap is ever scaled.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from PIL import Image

from blueheart.core.errors import OptionError
from blueheart.core.options import UN_BLUE, WHITE, Style, hex_to_rgb

FloatArray = npt.NDArray[np.float64]

LOBE_RADIUS = 1.0
LOBE_CENTRE_X = 0.8
TIP_Y = 2.5

HEART_RING = 0.06
"""Default white ring of the heart style, as a fraction of the emblem's side."""
AUTO_RING = 0.11
"""The ring automatic contrast widens to when the blue would vanish into the photo."""

PIN_DISC_RADIUS = 0.43
PIN_HEART = 0.62
PIN_SHADOW_OFFSET = 0.025
PIN_SHADOW_SOFTNESS = 0.045
PIN_SHADOW_OPACITY = 0.35


@dataclass(frozen=True)
class HeartGeometry:
    """The heart's defining points, derived once from the three constants above."""

    left_centre: tuple[float, float]
    right_centre: tuple[float, float]
    tip: tuple[float, float]
    left_tangent: tuple[float, float]
    right_tangent: tuple[float, float]
    notch: tuple[float, float]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the heart."""
        half_width = self.right_centre[0] + LOBE_RADIUS
        return -half_width, self.right_centre[1] - LOBE_RADIUS, half_width, self.tip[1]

    def area(self) -> float:
        """The exact area enclosed by the outline (Green's theorem over lines and arcs)."""
        total = 0.0
        for segment in self._segments():
            total += segment
        return abs(total)

    def _segments(self) -> list[float]:
        def line(a: tuple[float, float], b: tuple[float, float]) -> float:
            return 0.5 * (a[0] * b[1] - b[0] * a[1])

        def arc(centre: tuple[float, float], start: float, end: float) -> float:
            cx, cy = centre
            r = LOBE_RADIUS
            return 0.5 * (
                r * r * (end - start)
                + cx * r * (math.sin(end) - math.sin(start))
                - cy * r * (math.cos(end) - math.cos(start))
            )

        right_start, right_end = self._arc_angles(self.right_centre, self.right_tangent)
        left_start, left_end = self._arc_angles(self.left_centre, self.notch)
        return [
            line(self.tip, self.right_tangent),
            arc(self.right_centre, right_start, right_end),
            arc(self.left_centre, left_start, left_end),
            line(self.left_tangent, self.tip),
        ]

    def _arc_angles(
        self, centre: tuple[float, float], start: tuple[float, float]
    ) -> tuple[float, float]:
        # Both arcs run the long way round over the top of their lobe (y-down, so the
        # angle decreases): right lobe from its tangent point to the notch, left lobe from
        # the notch to its tangent point.
        if centre == self.right_centre:
            begin, finish = self.right_tangent, self.notch
        else:
            begin, finish = self.notch, self.left_tangent
        a0 = math.atan2(begin[1] - centre[1], begin[0] - centre[0])
        a1 = math.atan2(finish[1] - centre[1], finish[0] - centre[0])
        while a1 >= a0:
            a1 -= 2 * math.pi
        return a0, a1

    def outline(self, points_per_arc: int = 96) -> list[tuple[float, float]]:
        """Points along the outline, in order, for hulls and silhouettes."""
        points = [self.tip]
        for centre in (self.right_centre, self.left_centre):
            start, end = self._arc_angles(centre, centre)
            for t in np.linspace(start, end, points_per_arc):
                points.append(
                    (centre[0] + LOBE_RADIUS * math.cos(t), centre[1] + LOBE_RADIUS * math.sin(t))
                )
        return points

    def svg_path(self, scale: float, dx: float, dy: float) -> str:
        """The outline as an SVG path: two lines and two large arcs."""

        def p(point: tuple[float, float]) -> str:
            return f"{point[0] * scale + dx:.3f} {point[1] * scale + dy:.3f}"

        r = f"{LOBE_RADIUS * scale:.3f}"
        return (
            f"M {p(self.tip)} L {p(self.right_tangent)} "
            f"A {r} {r} 0 1 0 {p(self.notch)} "
            f"A {r} {r} 0 1 0 {p(self.left_tangent)} Z"
        )


def _outer_tangent(
    centre: tuple[float, float], tip: tuple[float, float], side: float
) -> tuple[float, float]:
    dx, dy = tip[0] - centre[0], tip[1] - centre[1]
    distance = math.hypot(dx, dy)
    towards_tip = math.atan2(dy, dx)
    spread = math.acos(LOBE_RADIUS / distance)
    candidates = [
        (centre[0] + LOBE_RADIUS * math.cos(a), centre[1] + LOBE_RADIUS * math.sin(a))
        for a in (towards_tip + spread, towards_tip - spread)
    ]
    return max(candidates, key=lambda point: side * point[0])


@functools.cache
def heart_geometry() -> HeartGeometry:
    """The heart's geometry (computed once)."""
    left, right, tip = (-LOBE_CENTRE_X, 0.0), (LOBE_CENTRE_X, 0.0), (0.0, TIP_Y)
    return HeartGeometry(
        left_centre=left,
        right_centre=right,
        tip=tip,
        left_tangent=_outer_tangent(left, tip, -1.0),
        right_tangent=_outer_tangent(right, tip, 1.0),
        notch=(0.0, -math.sqrt(LOBE_RADIUS**2 - LOBE_CENTRE_X**2)),
    )


def _lobes_distance(x: FloatArray, y: FloatArray, g: HeartGeometry) -> FloatArray:
    """Signed distance from points to the nearer lobe's circle (negative inside)."""
    return (
        np.minimum(
            np.hypot(x - g.left_centre[0], y - g.left_centre[1]),
            np.hypot(x - g.right_centre[0], y - g.right_centre[1]),
        )
        - LOBE_RADIUS
    )


def heart_distance(x: FloatArray, y: FloatArray) -> FloatArray:
    """Signed distance from points to the heart's outline (negative inside), heart units.

    The heart is the union of the two lobes and the convex kite (tip, tangent points, lobe
    centres); the union's distance is the minimum of the parts', exact outside the shape.
    """
    g = heart_geometry()
    lobes = _lobes_distance(x, y, g)
    kite = _convex_polygon_distance(
        x, y, [g.tip, g.left_tangent, g.left_centre, g.right_centre, g.right_tangent]
    )
    result: FloatArray = np.minimum(lobes, kite)
    return result


def _convex_polygon_distance(
    x: FloatArray, y: FloatArray, vertices: list[tuple[float, float]]
) -> FloatArray:
    edges = list(zip(vertices, vertices[1:] + vertices[:1], strict=True))
    # Inside points lie on the same side of every edge as the polygon's own winding.
    winding = math.copysign(1.0, sum(ax * by - bx * ay for (ax, ay), (bx, by) in edges))
    nearest = np.full(x.shape, np.inf)
    inside = np.ones(x.shape, dtype=bool)
    for (ax, ay), (bx, by) in edges:
        ex, ey = bx - ax, by - ay
        px, py = x - ax, y - ay
        t = np.clip((px * ex + py * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        nearest = np.minimum(nearest, np.hypot(px - t * ex, py - t * ey))
        inside &= winding * (ex * py - ey * px) >= 0
    result: FloatArray = np.where(inside, -nearest, nearest)
    return result


_RENDER_DISTANCE_EXACT_DEPTH = 0.05
"""Heart units inside the outline within which ``_render_distance`` equals ``heart_distance``."""


def _render_distance(x: FloatArray, y: FloatArray) -> FloatArray:
    """``heart_distance`` as a render reads it, at a third of the cost.

    Equal to it outside the heart and within 0.05 heart units inside (the band whose
    coverage is neither 0 nor 1 at any size above 40 px); deeper inside it may be further
    from the outline. The heart is symmetric, so each point is taken to the left half, where
    it is nearer the left line than the right one; outside the heart the kite's edges inside
    the lobes never beat the lobes, and inside only the left lobe's radius to the tangent
    point comes near the outline.
    """
    x = -np.abs(x)
    g = heart_geometry()
    lobes = _lobes_distance(x, y, g)
    line = _segment_distance(x, y, g.tip, g.left_tangent)
    inside = _inside_left_half_kite(x, y, g)
    radius = _segment_distance(x, y, g.left_tangent, g.left_centre)
    result: FloatArray = np.minimum(lobes, np.where(inside, -np.minimum(line, radius), line))
    return result


def _segment_distance(
    x: FloatArray, y: FloatArray, a: tuple[float, float], b: tuple[float, float]
) -> FloatArray:
    ex, ey = b[0] - a[0], b[1] - a[1]
    px, py = x - a[0], y - a[1]
    t = np.clip((px * ex + py * ey) / (ex * ex + ey * ey), 0.0, 1.0)
    result: FloatArray = np.hypot(px - t * ex, py - t * ey)
    return result


def _inside_left_half_kite(x: FloatArray, y: FloatArray, g: HeartGeometry) -> npt.NDArray[np.bool_]:
    """Whether points left of the axis (x <= 0) lie inside the kite. There three edges bound
    it: tip to tangent point, tangent point to lobe centre, and on along y = 0 to the axis;
    the right edges only ever decide beyond the axis."""
    corners = [g.tip, g.left_tangent, g.left_centre, (0.0, 0.0)]
    edges = list(zip(corners, corners[1:] + corners[:1], strict=True))
    winding = math.copysign(1.0, sum(ax * by - bx * ay for (ax, ay), (bx, by) in edges))
    inside = np.ones(x.shape, dtype=bool)
    for (ax, ay), (bx, by) in edges[:3]:
        inside &= winding * ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) >= 0
    return inside


@dataclass(frozen=True)
class EmblemLayout:
    """Where the heart sits inside an emblem box of side 1: centre, scale, ring width."""

    centre_x: float
    centre_y: float
    scale: float
    ring: float


def heart_layout(style: Style, ring: float) -> EmblemLayout:
    """The heart's placement in a unit box for a style and ring width (fractions of the box)."""
    left, top, right, bottom = heart_geometry().bounds
    extent = max(right - left, bottom - top)
    if style is Style.PIN:
        scale = PIN_HEART * 2 * PIN_DISC_RADIUS / extent
        centre_y = 0.5 - PIN_SHADOW_OFFSET / 2
        return EmblemLayout(0.5, centre_y - (top + bottom) / 2 * scale, scale, 0.0)
    scale = (1.0 - 2 * ring) / extent
    return EmblemLayout(0.5, 0.5 - (top + bottom) / 2 * scale, scale, ring)


@functools.lru_cache(maxsize=32)
def silhouette(style: Style, ring: float) -> tuple[tuple[float, float], ...]:
    """Points (fractions of the box) whose convex hull holds every visible pixel."""
    if style is Style.PIN:
        return tuple((0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a)) for a in _angles(72))
    layout = heart_layout(style, ring)
    # Each outline point grows into an octagon around the circle of the ring's width (its
    # corners at ring / cos(22.5 degrees)), so the hull holds the whole ring.
    reach = ring / math.cos(math.pi / 8)
    points: list[tuple[float, float]] = []
    for hx, hy in heart_geometry().outline(48):
        x = layout.centre_x + hx * layout.scale
        y = layout.centre_y + hy * layout.scale
        points.extend((x + reach * math.cos(a), y + reach * math.sin(a)) for a in _angles(8))
    return tuple(points)


def _angles(count: int) -> list[float]:
    return [2 * math.pi * i / count for i in range(count)]


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
    exact = (
        _render_distance if px_per_unit >= 0.5 / _RENDER_DISTANCE_EXACT_DEPTH else heart_distance
    )

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
