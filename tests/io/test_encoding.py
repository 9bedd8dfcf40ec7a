"""Encoding (blueheart.io.encoding), through the file flow: a JPEG's own quality and
progressive mode, a TIFF's compression, a WebP's losslessness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import blue_fraction, default_box, photo, reopen, save

from blueheart import badge_bytes


def test_jpeg_keeps_its_quantisation_and_progressive_mode(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "in.jpg", "JPEG", quality=62, progressive=True,
                  subsampling=2)  # fmt: skip
    result = reopen(badge_bytes(source.read_bytes()))
    original = reopen(source)
    assert result.quantization == original.quantization
    assert result.info.get("progressive") or result.info.get("progression")
    size_ratio = len(badge_bytes(source.read_bytes())) / source.stat().st_size
    assert 0.8 < size_ratio < 1.3


def test_explicit_quality_and_resized_outputs_use_it(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "in.jpg", "JPEG", quality=50)
    q95 = reopen(badge_bytes(source.read_bytes(), quality=95))
    assert q95.quantization != reopen(source).quantization
    smaller = reopen(badge_bytes(source.read_bytes(), output_size=160))
    assert smaller.size == (160, 120)


def test_progressive_stays_progressive_when_resized(tmp_path: Path) -> None:
    source = save(photo(320, 240), tmp_path / "p.jpg", "JPEG", progressive=True)
    smaller = reopen(badge_bytes(source.read_bytes(), output_size=200, quality=80))
    assert smaller.info.get("progressive") or smaller.info.get("progression")


@pytest.mark.parametrize("compression", ["group4", "tiff_lzw", "jpeg", "tiff_adobe_deflate"])
def test_tiff_keeps_a_compression_that_fits_colour(tmp_path: Path, compression: str) -> None:
    # A scanned page is often a bilevel Group 4 TIFF; its badge is in colour, stored lossless.
    image = photo(160, 120).convert("1" if compression == "group4" else "RGB")
    source = save(image, tmp_path / "scan.tif", "TIFF", compression=compression)
    result = reopen(badge_bytes(source.read_bytes()))
    expected = "tiff_lzw" if compression == "group4" else compression
    assert result.info["compression"] == expected and blue_fraction(result) > 0.01


def test_a_lossless_webp_stays_lossless(tmp_path: Path) -> None:
    # Screenshots and logos are saved lossless; a badge should not blur their edges.
    image = photo(200, 150)
    source = save(image, tmp_path / "shot.webp", "WEBP", lossless=True)
    result = reopen(badge_bytes(source.read_bytes()))
    left, top, right, bottom = default_box(image.size)
    outside = np.ones((150, 200), bool)
    outside[top:bottom, left:right] = False
    assert np.array_equal(np.asarray(result)[outside], np.asarray(image)[outside])
    assert blue_fraction(result) > 0.01
    # An asked quality, or a lossy source, gives a lossy WebP as before.
    for data, params in ((source.read_bytes(), {"quality": 80}),
                         (save(image, tmp_path / "p.webp", "WEBP").read_bytes(), {})):  # fmt: skip
        lossy = np.asarray(reopen(badge_bytes(data, **params)), dtype=int)
        assert np.abs(lossy - np.asarray(image, dtype=int))[outside].max() > 0
