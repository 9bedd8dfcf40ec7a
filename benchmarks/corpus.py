"""The benchmark corpora.

``build``: made from the public-domain photos in the repository. Each photo is resized with
Lanczos to the target size and given mild Gaussian grain (sigma 3.5 levels) so the JPEG's
entropy resembles a camera's rather than a smooth upscale. Deterministic: the same files on
every machine. Nothing is downloaded.

``build_camera``: real camera photos (``camera_photos``), used as they are, and social-size
JPEGs made from them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "assets" / "grace-hopper.jpg",
    ROOT / "tests" / "data" / "astronaut.jpg",
    ROOT / "tests" / "data" / "cameraman.jpg",
]
CAMERA = (4032, 3024)
GRAIN_SIGMA = 3.5
CAMERA_PHOTOS_VARIABLE = "BLUEHEART_CAMERA_PHOTOS"
CAMERA_PHOTOS = ROOT.parent / "shared" / "photos" / "camera"
"""Where the real camera photos are: beside the repository, or in the variable above."""


def _grainy(source: Path, size: tuple[int, int], seed: int) -> Image.Image:
    image = Image.open(source).convert("RGB")
    # Crop to the target's aspect first, so the subject is not stretched.
    target_aspect = size[0] / size[1]
    width, height = image.size
    if width / height > target_aspect:
        keep = round(height * target_aspect)
        image = image.crop(((width - keep) // 2, 0, (width + keep) // 2, height))
    else:
        keep = round(width / target_aspect)
        image = image.crop((0, (height - keep) // 2, width, (height + keep) // 2))
    image = image.resize(size, Image.Resampling.LANCZOS)
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels + rng.normal(0, GRAIN_SIGMA, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def build(folder: Path, *, camera_count: int = 20, social_count: int = 50) -> dict[str, Path]:
    """Write the corpus under ``folder`` (skipped when already there with these counts) and
    return its sets."""
    sets = {name: folder / name for name in ("camera", "social", "alpha")}
    # A --quick run's smaller sets must not stand in for the full ones, nor the reverse.
    stamp = folder / "counts.txt"
    wanted = f"{camera_count} {social_count}\n"
    if stamp.is_file() and stamp.read_text() == wanted:
        return sets
    for path in sets.values():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    for index in range(camera_count):
        source = SOURCES[index % len(SOURCES)]
        portrait = index % 2 == 1
        size = (CAMERA[1], CAMERA[0]) if portrait else CAMERA
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "Benchmark"
        if index % 4 == 3:
            # Stored sideways with orientation 6, as phones do.
            picture = _grainy(source, size, index).transpose(Image.Transpose.ROTATE_90)
            exif[ExifTags.Base.Orientation] = 6
        else:
            picture = _grainy(source, size, index)
        picture.save(sets["camera"] / f"camera-{index:02}.jpg", quality=92, exif=exif.tobytes())
    rng = np.random.default_rng(7)
    for index in range(social_count):
        longer = int(rng.integers(1080, 2001))
        shorter = int(longer * rng.uniform(0.6, 1.0))
        size = (longer, shorter) if index % 2 else (shorter, longer)
        picture = _grainy(SOURCES[index % len(SOURCES)], size, 100 + index)
        picture.save(sets["social"] / f"social-{index:02}.jpg", quality=85)
    for index in range(4):
        picture = _grainy(SOURCES[index % len(SOURCES)], (1200, 1200), 200 + index).convert("RGBA")
        y, x = np.mgrid[0:1200, 0:1200]
        alpha = np.where(np.hypot(x - 600, y - 600) < 560, 255, 0).astype(np.uint8)
        picture.putalpha(Image.fromarray(alpha))
        picture.save(sets["alpha"] / f"alpha-{index}.png")
    stamp.write_text(wanted)
    return sets


def camera_photos() -> Path:
    """The folder of real camera photos: ``$BLUEHEART_CAMERA_PHOTOS``, else
    ``../shared/photos/camera`` beside the repository (it may not exist)."""
    return Path(os.environ.get(CAMERA_PHOTOS_VARIABLE) or CAMERA_PHOTOS)


def build_camera(folder: Path, photos: Path, *, social_count: int = 50) -> dict[str, Path] | None:
    """The real camera corpus under ``folder``, from the JPEGs in ``photos``; None if none.

    ``camera``: the photos themselves, byte for byte (sideways ones, ICC profiles and all);
    ``social``: ``social_count`` JPEGs of 1080-2000 px on the longer side, quality 85, made
    from them upright with Lanczos, without metadata, as platforms serve photos.
    """
    originals = sorted(photos.glob("*.jpg")) if photos.is_dir() else []
    if not originals:
        return None
    sets = {name: folder / name for name in ("camera", "social")}
    stamp = folder / "source.txt"
    wanted = f"{photos.resolve()} {len(originals)} {social_count}\n"
    if stamp.is_file() and stamp.read_text() == wanted:
        return sets
    shutil.rmtree(folder, ignore_errors=True)
    for path in sets.values():
        path.mkdir(parents=True)
    for original in originals:
        shutil.copyfile(original, sets["camera"] / original.name)
    rng = np.random.default_rng(7)
    for index in range(social_count):
        longer = int(rng.integers(1080, 2001))
        with Image.open(originals[index % len(originals)]) as opened:
            upright = ImageOps.exif_transpose(opened).convert("RGB")
        scale = longer / max(upright.size)
        size = (round(upright.width * scale), round(upright.height * scale))
        picture = upright.resize(size, Image.Resampling.LANCZOS)
        picture.save(sets["social"] / f"social-{index:02}.jpg", quality=85)
    stamp.write_text(wanted)
    return sets
