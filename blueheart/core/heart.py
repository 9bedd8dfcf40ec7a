"""The heart's geometry, defined once: the outline, its signed distance field, and where it
sits in an emblem box for each style.

The heart is our own drawing: two circular lobes of radius 1 whose centres sit at (-C, 0) and
(C, 0), and two lines from the tip (0, TIP), each tangent to one lobe. Coordinates are
y-down, like image rows. No pixels here: ``emblem`` rasterises this geometry.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blueheart.core.options import Style

FloatArray = npt.NDArray[np.float64]

LOBE_RADIUS = 1.0
LOBE_CENTRE_X = 0.8
TIP_Y = 2.5

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


RENDER_DISTANCE_EXACT_DEPTH = 0.05
"""Heart units inside the outline within which ``render_distance`` equals ``heart_distance``."""


def render_distance(x: FloatArray, y: FloatArray) -> FloatArray:
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
