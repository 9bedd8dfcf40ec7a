"""preview_bytes: the photo framed as the output will be, small, and the emblem's box in it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import NEEDS_SHARED_PHOTOS, SHARED_PHOTOS, UN_BLUE_RGB, photo
from PIL import Image, JpegImagePlugin
from test_hostile import LOCATION_MARKERS, XMP

from blueheart import (
    EmblemDoesNotFitError,
    Length,
    NotAnImageError,
    OptionError,
    UnreadableImageError,
    apply_badge,
    badge_bytes,
    preview_bytes,
)

PHONE_PHOTO = SHARED_PHOTOS / "camera" / "phone-12mp-p01.jpg"


def jpeg(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, **params)
    return buffer.getvalue()


def blue_extent(data: bytes) -> tuple[float, float, float, float]:
    """The (left, top, right, bottom) of the UN-blue pixels, as fractions of the image."""
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    ys, xs = np.nonzero(np.abs(pixels - UN_BLUE_RGB).sum(axis=-1) < 24)
    height, width = pixels.shape[:2]
    return xs.min() / width, ys.min() / height, (xs.max() + 1) / width, (ys.max() + 1) / height


def contains(box: tuple[float, ...], inner: tuple[float, ...], slack: float = 0.01) -> bool:
    return (
        box[0] - slack <= inner[0]
        and box[1] - slack <= inner[1]
        and inner[2] <= box[2] + slack
        and inner[3] <= box[3] + slack
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"crop": "circle", "output_size": 1080},
        {"crop": "square", "output_size": 300, "position": "top-left", "size": Length.px(90)},
        {"position": "auto"},
        {"at": (0.3, 0.6)},
        {"output_size": 2000, "enlarge": False},
        {"output_size": 600, "enlarge": False},
    ],
)
def test_the_box_is_where_the_output_puts_the_emblem(options: dict[str, object]) -> None:
    data = jpeg(photo(1200, 800))
    preview = preview_bytes(data, **options)
    output = badge_bytes(data, **options)
    assert Image.open(io.BytesIO(output)).size == preview.output_size
    assert contains(preview.box, blue_extent(output))
    assert Image.open(io.BytesIO(preview.jpeg)).size == preview.size
    assert max(preview.size) == min(640, max(preview.output_size))


def test_at_is_the_centre_of_the_box() -> None:
    preview = preview_bytes(jpeg(photo(1200, 800)), at=(0.3, 0.6))
    left, top, right, bottom = preview.box
    assert abs((left + right) / 2 - 0.3) < 0.002 and abs((top + bottom) / 2 - 0.6) < 0.002


def test_a_circle_crop_previews_as_a_square_jpeg_without_the_emblem() -> None:
    source = photo(900, 600)
    preview = preview_bytes(jpeg(source), crop="circle", max_side=200)
    image = Image.open(io.BytesIO(preview.jpeg))
    assert image.format == "JPEG" and image.size == (200, 200) and preview.output_size == (600, 600)
    expected = np.asarray(source.crop((150, 0, 750, 600)).resize((200, 200))).astype(int)
    assert np.abs(np.asarray(image).astype(int) - expected).mean() < 6  # the photo, untouched


def test_the_preview_is_upright_and_carries_no_metadata() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: stored landscape, shown portrait
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS
    located = jpeg(photo(800, 600), exif=exif.tobytes(), xmp=XMP, comment=b"Paris, Rue X")
    preview = preview_bytes(located)
    image = Image.open(io.BytesIO(preview.jpeg))
    assert image.size == preview.size == (480, 640) and preview.output_size == (600, 800)
    assert not image.getexif() and "exif" not in image.info
    # Pillow's JPEG saver falls back on the source's comment and XMP: none may reach it.
    assert not any(marker in preview.jpeg for marker in LOCATION_MARKERS)


@pytest.mark.skipif(not PHONE_PHOTO.exists(), reason=NEEDS_SHARED_PHOTOS)
def test_a_12_megapixel_jpeg_is_never_decoded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.load

    def spy(self: JpegImagePlugin.JpegImageFile) -> object:
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    preview = preview_bytes(PHONE_PHOTO.read_bytes())
    assert max(preview.size) == 640 and preview.output_size == (4032, 3024)
    assert decoded and max(decoded[0]) <= 4032 // 4


def test_bad_data_and_options_raise_what_badge_bytes_raises() -> None:
    with pytest.raises(NotAnImageError, match=r"^input: empty file$"):
        preview_bytes(b"")
    with pytest.raises(NotAnImageError, match=r"^input: not an image blueheart can read$"):
        badge_bytes(b"<html></html>")
    truncated = jpeg(photo(300, 200))[:200]
    with pytest.raises(UnreadableImageError) as raised:
        preview_bytes(truncated)
    assert not isinstance(raised.value, NotAnImageError)
    with pytest.raises(OptionError, match=r"^at: "):
        preview_bytes(jpeg(photo(100, 100)), at=(2, 0))


def test_an_output_too_small_for_the_emblem_names_output_size_as_badge_bytes_does() -> None:
    data = jpeg(photo(400, 300))
    for call in (preview_bytes, badge_bytes):
        with pytest.raises(EmblemDoesNotFitError) as raised:
            call(data, output_size=1)
        assert raised.value.field == "output_size"
        assert str(raised.value) == (
            "output_size: 1 px makes a 1x1 output, too small for the emblem; "
            "the smallest output size that holds it is 3 px"
        )
        with pytest.raises(EmblemDoesNotFitError) as raised:
            call(data, output_size=200, size=Length.px(301))  # 400x300 cannot hold it either
        assert raised.value.field == "size"
    with pytest.raises(EmblemDoesNotFitError) as raised:
        apply_badge(photo(400, 300), output_size=2)
    assert raised.value.field == "output_size"
