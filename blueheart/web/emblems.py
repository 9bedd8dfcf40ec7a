"""The emblem as the page draws it over a preview: its picture, its shape and its outline.

Made once when the service starts. The page moves the emblem without asking the server, so it
needs the outline circle-safe placement keeps inside the circle; with the ring left automatic
it gets the widest ring the server may draw, so that where the page puts the heart, the
server keeps it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image

from blueheart import AUTO_RING, HEART_RING, BadgeOptions, Style, emblem_svg, silhouette

PICTURE_SIDE = 512
"""The longer side of a custom emblem's picture, in px: sharp on any phone's preview."""
UNIT_SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


@dataclass(frozen=True)
class PageEmblem:
    """``picture``: the file the page shows, of ``media_type``; ``aspect``: width / height;
    ``outline``: points (fractions of the emblem's box) whose hull holds what it draws."""

    picture: bytes
    media_type: str
    aspect: float
    outline: tuple[tuple[float, float], ...]


def page_emblems(options: BadgeOptions) -> dict[str, PageEmblem]:
    """The emblems the page offers, by name: ``heart`` and ``pin`` (the styles), or ``custom``
    alone when ``options.emblem`` is a file. Raises ``OSError`` or Pillow's errors for an
    emblem file that cannot be read."""
    if options.emblem is not None:
        return {"custom": _custom(options.emblem)}
    return {style.value: _builtin(style, options.ring, options.color) for style in Style}


def _builtin(style: Style, ring: float | None, color: str) -> PageEmblem:
    svg = emblem_svg(style=style, ring=HEART_RING if ring is None else ring, color=color)
    widest = AUTO_RING if ring is None else ring
    return PageEmblem(svg.encode(), "image/svg+xml", 1.0, convex_hull(silhouette(style, widest)))


def convex_hull(points: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """The corners of the points' convex hull, counter-clockwise (Andrew's monotone chain).

    The farthest of the points from anywhere is one of these corners, so the page's circle test
    needs only them: about 60 for the heart instead of 800."""
    ordered = sorted(set(points))
    if len(ordered) < 3:
        return tuple(ordered)

    def half(sequence: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for point in sequence:
            while len(chain) >= 2 and _turn(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain[:-1]

    return tuple(half(ordered) + half(ordered[::-1]))


def _turn(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _custom(path: object) -> PageEmblem:
    with Image.open(str(path)) as opened:
        emblem = opened.convert("RGBA")
    aspect = emblem.width / emblem.height
    emblem.thumbnail((PICTURE_SIDE, PICTURE_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    emblem.save(buffer, "PNG")
    # The whole box: a custom emblem's outline is the server's to find, and the page stays
    # inside any outline by keeping its box there.
    return PageEmblem(buffer.getvalue(), "image/png", aspect, UNIT_SQUARE)
