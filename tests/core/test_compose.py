"""Compositing through the library: every mode, the box only, colour management, opacity."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import (
    ADOBE_PROFILE,
    P3_PROFILE,
    UN_BLUE_RGB,
    delta_e_2000,
    heart_pixels,
    lab,
    photo,
    to_srgb,
)
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageCms

import blueheart
from blueheart import BadgeOptions, OptionError, apply_badge
from blueheart.core.heart import silhouette
from blueheart.core.placement import Box, Placement, place
from blueheart.core.units import round_px


def expected_box(size: tuple[int, int], options: BadgeOptions | None = None) -> Box:
    options = options or BadgeOptions()
    return place(
        size,
        Placement(
            options.position,
            options.size,
            options.margin,
            options.offset,
            options.circle_safe if options.circle_safe is not None else size[0] == size[1],
        ),
        silhouette(options.style, options.ring if options.ring is not None else 0.06),
    )


def outside_mask(size: tuple[int, int], box: Box) -> np.ndarray:
    mask = np.ones((size[1], size[0]), dtype=bool)
    mask[box.top : box.bottom, box.left : box.right] = False
    return mask


def test_heart_lands_in_its_box_and_nothing_else_changes() -> None:
    source = photo(640, 480)
    out = apply_badge(source)
    box = expected_box(source.size)
    before, after = np.asarray(source), np.asarray(out)
    outside = outside_mask(source.size, box)
    assert (before[outside] == after[outside]).all()
    assert (heart_pixels(out, box.as_tuple()) == UN_BLUE_RGB).all()
    assert out is not source and source.tobytes() == photo(640, 480).tobytes()


MODES = {
    "1": lambda im: im.convert("1"),
    "L": lambda im: im.convert("L"),
    "LA": lambda im: im.convert("LA"),
    "P": lambda im: im.convert("P"),
    "RGB": lambda im: im,
    "RGBA": lambda im: im.convert("RGBA"),
    "CMYK": lambda im: im.convert("CMYK"),
    "I;16": lambda im: Image.frombytes(
        "I;16", im.size, (np.asarray(im.convert("L"), dtype="<u2") * 257).tobytes()
    ),
    "I": lambda im: im.convert("I"),
    "F": lambda im: im.convert("F"),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_gets_a_blue_heart(mode: str) -> None:
    source = MODES[mode](photo(300, 200))
    assert source.mode == mode
    out = apply_badge(source)
    assert out.mode in ("RGB", "RGBA", "CMYK")
    rgb = out.convert("RGB") if out.mode != "RGBA" else out
    pixels = heart_pixels(rgb, expected_box(source.size).as_tuple())[:, :3]
    assert np.abs(pixels.astype(int) - UN_BLUE_RGB).max() <= 2


@pytest.mark.parametrize("mode", ["L", "P", "1", "I;16"])
def test_promoted_modes_keep_their_pixels_outside_the_box(mode: str) -> None:
    source = MODES[mode](photo(120, 90))
    out = apply_badge(source)
    box = expected_box(source.size)
    outside = outside_mask(source.size, box)
    if mode == "I;16":
        reference = np.asarray(source, dtype=np.uint32) // 257
        assert (np.asarray(out)[..., 0][outside] == reference[outside]).all()
    else:
        reference = np.asarray(source.convert("RGB"))
        assert (np.asarray(out)[outside] == reference[outside]).all()


def test_transparency_outside_the_heart_is_kept_exactly() -> None:
    rgba = np.dstack([np.asarray(photo(200, 200)), np.full((200, 200), 77, np.uint8)])
    rgba[:50, :50, 3] = 0
    source = Image.fromarray(rgba, "RGBA")
    out = np.asarray(apply_badge(source))
    box = expected_box(source.size)
    outside = outside_mask(source.size, box)
    assert (out[outside] == rgba[outside]).all()
    inside = out[box.top : box.bottom, box.left : box.right]
    under = rgba[box.top : box.bottom, box.left : box.right]
    clear = np.asarray(blueheart.render_emblem(box.width))[..., 3] == 0
    assert (inside[clear] == under[clear]).all()
    assert (heart_pixels(Image.fromarray(out, "RGBA"), box.as_tuple()) == UN_BLUE_RGB).all()
    centre = out[(box.top + box.bottom) // 2, (box.left + box.right) // 2]
    assert centre[3] == 255


def test_palette_transparency_becomes_alpha() -> None:
    source = photo(100, 100).convert("P")
    source.info["transparency"] = 0
    out = apply_badge(source)
    assert out.mode == "RGBA"


@pytest.mark.parametrize("profile", [P3_PROFILE, ADOBE_PROFILE], ids=["display-p3", "adobe-rgb"])
@pytest.mark.parametrize("colour", ["#009EDB", "#00B050"], ids=["un-blue", "green"])
def test_heart_keeps_its_colour_through_a_wide_gamut_profile(profile: bytes, colour: str) -> None:
    wanted = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    source = photo(400, 300)
    source.info["icc_profile"] = profile
    out = apply_badge(source, color=colour, ring=0.0)
    raw = heart_pixels(out, expected_box(source.size).as_tuple())
    seen = to_srgb(raw, profile)
    assert delta_e_2000(lab(seen), lab(wanted)).max() <= 2.0
    # The pixel values were converted: the photo's numbers are not the sRGB numbers.
    assert (raw != wanted).any()
    if colour == "#00B050" and profile == P3_PROFILE:
        # For a colour far from the gamut edge the conversion is what keeps it right.
        naive = to_srgb(wanted[None, :], profile)
        assert delta_e_2000(lab(naive), lab(wanted)).max() > 2.0


def test_cmyk_without_profile_uses_a_plain_conversion() -> None:
    source = photo(200, 200).convert("CMYK")
    out = apply_badge(source, circle_safe=False)
    pixels = heart_pixels(
        out, expected_box(source.size, BadgeOptions(circle_safe=False)).as_tuple()
    )
    assert out.mode == "CMYK"
    expected = Image.new("RGB", (1, 1), UN_BLUE_RGB).convert("CMYK").getpixel((0, 0))
    assert (pixels == expected).all()


def test_cmyk_with_a_profile_goes_through_it() -> None:
    cmyk_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    # lcms cannot make a CMYK profile from nothing; a CMYK photo with an RGB profile must
    # not crash and must still get a blue heart through the plain conversion.
    source = photo(100, 100).convert("CMYK")
    source.info["icc_profile"] = cmyk_profile.tobytes()
    out = apply_badge(source)
    rgb = heart_pixels(out.convert("RGB"), expected_box(source.size).as_tuple())
    assert np.abs(rgb.astype(int) - UN_BLUE_RGB).max() <= 2


def test_opacity_blends_with_the_photo() -> None:
    grey = Image.new("RGB", (400, 400), (100, 100, 100))
    out = apply_badge(grey, opacity=0.5, ring=0.0)
    pixel = heart_pixels(out, expected_box(grey.size).as_tuple())[0]
    expected = [(100 + c) / 2 for c in UN_BLUE_RGB]
    assert np.abs(pixel.astype(float) - expected).max() <= 1.5


def test_opacity_zero_changes_nothing() -> None:
    source = photo(100, 80)
    assert apply_badge(source, opacity=0.0).tobytes() == source.tobytes()


def test_exif_orientation_is_applied_in_the_library_path() -> None:
    source = photo(300, 200)
    exif = Image.Exif()
    exif[0x0112] = 6
    source.info["exif"] = exif.tobytes()
    source.getexif()[0x0112] = 6
    out = apply_badge(source)
    assert out.size == (200, 300)


def test_the_emblem_is_prepared_once_per_size() -> None:
    from blueheart.core.pipeline import _prepared_heart

    _prepared_heart.cache_clear()
    for seed in range(5):
        apply_badge(photo(320, 240, seed=seed), ring=0.06)
    info = _prepared_heart.cache_info()
    assert info.misses == 1 and info.hits == 4


def test_custom_emblem_file(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    mark = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    mark.save(folder / "mark.png")
    out = apply_badge(photo(400, 400), emblem=folder / "mark.png", circle_safe=False)
    pixels = np.asarray(out)
    red = (pixels[..., 0] == 255) & (pixels[..., 1] == 0) & (pixels[..., 2] == 0)
    rows, cols = np.nonzero(red)
    assert cols.max() - cols.min() + 1 == 100 and rows.max() - rows.min() + 1 == 50


@pytest.mark.parametrize(
    ("image", "overrides", "field"),
    [
        (Image.new("RGB", (0, 0)), {}, "image"),
        (photo(50, 50), {"size": 1.0}, "size"),
        (photo(50, 50), {"position": "middle"}, "position"),
        (photo(50, 50), {"opacity": 1.5}, "opacity"),
        (photo(50, 50), {"opacity": -0.1}, "opacity"),
        (photo(50, 50), {"color": "blue"}, "color"),
        (photo(50, 50), {"color": "#12345"}, "color"),
        (photo(50, 50), {"colour": "#123456"}, "colour"),
    ],
)
def test_bad_requests_raise_value_errors_naming_the_field(
    image: Image.Image, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        apply_badge(image, **overrides)


def test_option_errors_are_value_errors() -> None:
    assert issubclass(OptionError, ValueError)
    with pytest.raises(OptionError) as caught:
        BadgeOptions(size=0)
    assert caught.value.field == "size" and "got 0" in str(caught.value)


def test_profiles_survive_a_round_trip() -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(P3_PROFILE))
    assert "Display P3" in profile.profile.profile_description


@given(
    width=st.integers(1, 320),
    height=st.integers(1, 320),
    position=st.sampled_from([p.value for p in blueheart.Position]),
    size=st.floats(0.05, 1.0),
    margin=st.floats(0.0, 0.2),
    style=st.sampled_from(["heart", "pin"]),
    mode=st.sampled_from(["RGB", "RGBA", "L", "P"]),
)
def test_any_size_and_option_badges_inside_its_box_or_says_it_cannot_fit(
    width: int, height: int, position: str, size: float, margin: float, style: str, mode: str
) -> None:
    source = MODES[mode](photo(width, height, seed=width * height))
    try:
        out = apply_badge(source, position=position, size=size, margin=margin, style=style)
    except blueheart.EmblemDoesNotFitError as error:
        assert error.field == "size"
        return
    assert out.size == source.size and out.mode in ("RGB", "RGBA")
    before = np.asarray(source.convert(out.mode)).astype(int)
    changed = np.abs(np.asarray(out).astype(int) - before).max(axis=2) > 0
    if changed.any():
        rows, cols = np.nonzero(changed)
        side = max(1, round_px(size * min(width, height)))
        assert cols.max() - cols.min() < side and rows.max() - rows.min() < side
