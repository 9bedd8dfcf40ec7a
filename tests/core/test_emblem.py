"""The emblem: our own geometry, exact anti-aliasing at any size, UN blue, SVG, cache."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import UN_BLUE_RGB
from PIL import Image

from blueheart import UN_BLUE, OptionError, emblem_svg, render_emblem
from blueheart.core.emblem import _cached_emblem
from blueheart.core.heart import heart_distance, heart_geometry, heart_layout, silhouette
from blueheart.core.options import Style


def alpha(image: Image.Image) -> np.ndarray:
    return np.asarray(image)[..., 3].astype(np.float64) / 255


@pytest.mark.parametrize("size", [16, 17, 64, 255, 1024, 4096])
def test_heart_area_matches_the_geometry_within_one_percent(size: int) -> None:
    layout = heart_layout(Style.HEART, 0.0)
    expected = heart_geometry().area() * (layout.scale * size) ** 2
    measured = alpha(render_emblem(size, ring=0.0)).sum()
    assert measured == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("size", [1, 7, 13, 14, 15, 41, 100, 301, 470, 757])
@pytest.mark.parametrize("ring", [0.0, 0.06, 0.11])
def test_every_pixel_is_the_coverage_of_the_exact_distance(size: int, ring: float) -> None:
    # The definition, computed for every pixel centre: the render's shortcuts (blocks away
    # from the edges, the cheaper distance near them) must not change a single value.
    layout = heart_layout(Style.HEART, ring)
    centres = (np.arange(size) + 0.5) / size
    hx = (centres[None, :] - layout.centre_x) / layout.scale
    hy = (centres[:, None] - layout.centre_y) / layout.scale
    distance = heart_distance(*np.broadcast_arrays(hx, hy)) * layout.scale * size
    heart = np.clip(0.5 - distance, 0.0, 1.0)
    backing = np.clip(0.5 - (distance - ring * size), 0.0, 1.0)
    pixels = np.asarray(render_emblem(size, ring=ring)).astype(np.int64)
    assert np.array_equal(pixels[..., 3], np.rint(backing * 255))
    blue_share = np.divide(heart, backing, out=np.zeros_like(heart), where=backing > 0)
    expected_red = np.rint(blue_share * UN_BLUE_RGB[0] + (backing - heart) / np.where(
        backing > 0, backing, 1) * 255)  # fmt: skip
    assert np.array_equal(pixels[..., 0], expected_red)


def test_geometry_area_is_the_union_of_lobes_and_kite() -> None:
    # Independent estimate: fine sampling of a point-in-heart test built from the definition.
    g = heart_geometry()
    ys, xs = np.mgrid[-1.2:2.7:2000j, -2.0:2.0:2000j]
    cell = (3.9 / 1999) * (4.0 / 1999)
    in_lobes = (np.hypot(xs - 0.8, ys) <= 1) | (np.hypot(xs + 0.8, ys) <= 1)
    # Below the lobe centres the heart is bounded by the tangent lines to the tip.
    tx, ty = g.right_tangent
    slope = (g.tip[1] - ty) / (g.tip[0] - tx)
    below = (ys >= ty) & (ys <= g.tip[1]) & (np.abs(xs) <= (ys - g.tip[1]) / slope)
    in_band = (ys > 0) & (ys <= ty) & (np.abs(xs) <= 0.8)
    area = (in_lobes | below | in_band).sum() * cell
    assert g.area() == pytest.approx(area, rel=0.005)


@pytest.mark.parametrize("size", [16, 48, 512])
def test_edges_are_anti_aliased_not_stair_stepped(size: int) -> None:
    coverage = alpha(render_emblem(size, ring=0.0))
    partial = (coverage > 0.02) & (coverage < 0.98)
    edge_pixels = partial.sum()
    # A smooth outline has partial pixels all along its perimeter (~ perimeter in px).
    assert edge_pixels > 2.5 * size
    assert coverage.max() == 1.0 and coverage.min() == 0.0


def test_heart_is_un_blue_inside_and_white_in_the_ring() -> None:
    image = np.asarray(render_emblem(512, ring=0.06))
    centre = image[230, 256]
    assert tuple(centre[:3]) == UN_BLUE_RGB and centre[3] == 255
    opaque = image[..., 3] == 255
    colours = {tuple(p) for p in image[opaque][:, :3]}
    assert UN_BLUE_RGB in colours and (255, 255, 255) in colours
    assert UN_BLUE == "#009EDB"


def test_ring_zero_has_no_white() -> None:
    image = np.asarray(render_emblem(256, ring=0.0))
    opaque = image[..., 3] > 0
    assert (image[opaque][:, :3] == UN_BLUE_RGB).all()


def test_corners_are_transparent_and_the_heart_is_centred() -> None:
    coverage = alpha(render_emblem(200))
    assert coverage[0, 0] == coverage[0, -1] == coverage[-1, 0] == coverage[-1, -1] == 0
    columns = np.nonzero(coverage.sum(axis=0))[0]
    assert abs((columns[0] + columns[-1]) / 2 - 99.5) <= 1


def test_pin_is_a_white_disc_with_a_soft_shadow_and_a_blue_heart() -> None:
    image = np.asarray(render_emblem(400, style="pin"))
    assert tuple(image[200, 200][:3]) == UN_BLUE_RGB
    assert tuple(image[60, 200]) == (255, 255, 255, 255)
    below = image[385, 200]
    assert 0 < below[3] < 128 and below[0] < 64  # a faint dark shadow under the disc


def test_render_is_cached_and_returns_independent_copies() -> None:
    _cached_emblem.cache_clear()
    first = render_emblem(321)
    first.putpixel((0, 0), (1, 2, 3, 4))
    second = render_emblem(321)
    assert second.getpixel((0, 0)) == (0, 0, 0, 0)
    assert _cached_emblem.cache_info().hits == 1


def test_custom_colour() -> None:
    image = np.asarray(render_emblem(128, color="#ff0000", ring=0.0))
    assert tuple(image[60, 64][:3]) == (255, 0, 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 10, "style": "star"}, "style"),
        ({"size": 10, "color": "blue"}, "color"),
        ({"size": 10, "ring": 0.5}, "ring"),
    ],
)
def test_bad_values_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(OptionError, match=f"^{field}: "):
        render_emblem(**kwargs)  # type: ignore[arg-type]


def test_svg_uses_the_same_geometry() -> None:
    svg = emblem_svg(size=512, ring=0.0)
    assert 'viewBox="0 0 512 512"' in svg and UN_BLUE in svg
    path = svg.split('<path d="')[1].split('"')[0]
    match = re.fullmatch(
        r"M (\S+) (\S+) L (\S+) (\S+) A (\S+) \S+ 0 1 0 (\S+) (\S+) A \S+ \S+ 0 1 0 (\S+) (\S+) Z",
        path,
    )
    assert match
    tip_x, tip_y, right_x, right_y, radius, notch_x, notch_y, left_x, left_y = map(
        float, match.groups()
    )
    coverage = alpha(render_emblem(512, ring=0.0))
    rows, cols = np.nonzero(coverage > 0.5)
    # The tip, the sides and the notch of the path are where the raster has them.
    assert tip_x == pytest.approx(256, abs=0.5)
    assert tip_y == pytest.approx(rows.max() + 1, abs=1.5)
    assert (left_x, left_y) == pytest.approx((512 - right_x, right_y))
    lobe_top = rows[cols == round(notch_x + radius * 0.8 / 1.0 * 1.0)].min()
    assert notch_y > lobe_top
    width = cols.max() - cols.min() + 1
    assert width == pytest.approx(2 * radius * 1.8, abs=1.5)


def test_silhouette_contains_every_visible_pixel() -> None:
    for style, ring in ((Style.HEART, 0.06), (Style.HEART, 0.2), (Style.PIN, 0.0)):
        size = 300
        coverage = alpha(render_emblem(size, style=style, ring=ring))
        points = np.array(silhouette(style, ring)) * size
        centre = points.mean(axis=0)
        rows, cols = np.nonzero(coverage > 0)
        visible = np.stack([cols + 0.5, rows + 0.5], axis=1)
        # Every visible pixel lies within the hull's reach from its centre, plus a pixel.
        reach = np.hypot(*(points - centre).T).max()
        assert np.hypot(*(visible - centre).T).max() <= reach + 1
