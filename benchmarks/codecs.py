"""What a libjpeg-turbo binding that decodes and encodes straight into numpy arrays would
change: Pillow's JPEG codec against simplejpeg's, per photo and for a whole badge.

    pip install simplejpeg          # not a dependency of blueheart; for this probe only
    python -m benchmarks.codecs [--runs N]

In one process, over the generated and the camera-photo corpora (see ``benchmarks.corpus``),
alternating the two within each photo, CPU time per photo (medians):
- decode: Pillow ``open`` + ``load`` against ``simplejpeg.decode_jpeg`` of the file's bytes;
- encode at quality 90: Pillow ``save`` against ``simplejpeg.encode_jpeg`` (same 4:2:0);
- the whole badge of one photo, as blueheart does it (decode, upright, plan, blend the box,
  encode, write) with each codec: with simplejpeg the photo stays a numpy array, and only the
  emblem's box goes through Pillow to be blended.
The floor (Pillow decode + encode) is timed alongside, so each figure is also a ratio to it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks import corpus
from blueheart.core.compose import stamp
from blueheart.core.options import BadgeOptions
from blueheart.core.pipeline import normalise, plan_badge
from blueheart.core.placement import Box

QUALITY = 90
OPTIONS = BadgeOptions()


def pillow_floor(path: Path, target: Path) -> None:
    with Image.open(path) as image:
        image.save(target, "JPEG", quality=QUALITY)


def pillow_decode(path: Path, target: Path) -> None:
    with Image.open(path) as image:
        image.load()


def pillow_encode_of(decoded: Image.Image) -> Callable[[Path, Path], None]:
    return lambda path, target: decoded.save(io.BytesIO(), "JPEG", quality=QUALITY)


def pillow_badge(path: Path, target: Path) -> None:
    with Image.open(path) as image:
        image.load()
        photo, icc = normalise(image, keep_cmyk=False, in_place=True)
        plan = plan_badge(photo, OPTIONS, icc)
        stamp(photo, plan.emblem, plan.box)
        photo.save(target, "JPEG", quality=QUALITY)


def turbo_decode(path: Path, target: Path) -> None:
    import simplejpeg

    simplejpeg.decode_jpeg(path.read_bytes(), colorspace="RGB")


def turbo_encode_of(decoded: Image.Image) -> Callable[[Path, Path], None]:
    import simplejpeg

    pixels = np.asarray(decoded.convert("RGB"))
    return lambda path, target: simplejpeg.encode_jpeg(
        pixels, quality=QUALITY, colorspace="RGB", colorsubsampling="420"
    )


def turbo_badge(path: Path, target: Path) -> None:
    """The badge with the photo as a numpy array: Pillow reads the header (orientation,
    profile) and blends the emblem's box; simplejpeg decodes and encodes."""
    import simplejpeg

    with Image.open(path) as header:
        orientation = header.getexif().get(0x0112, 1)
    pixels = simplejpeg.decode_jpeg(path.read_bytes(), colorspace="RGB")
    if orientation == 6:
        pixels = np.ascontiguousarray(np.rot90(pixels, -1))
    elif orientation == 8:
        pixels = np.ascontiguousarray(np.rot90(pixels, 1))
    elif orientation == 3:
        pixels = np.ascontiguousarray(pixels[::-1, ::-1])
    height, width = pixels.shape[:2]
    # The plan reads only the box's pixels (contrast check), and Pillow would copy a whole
    # RGB array: it gets a blank canvas (pages untouched) holding the bottom-right quarter.
    canvas = Image.new("RGB", (width, height))
    canvas.paste(Image.fromarray(pixels[height // 2 :, width // 2 :]), (width // 2, height // 2))
    plan = plan_badge(canvas, OPTIONS, None)
    box = plan.box
    region = Image.fromarray(pixels[box.top : box.bottom, box.left : box.right])
    stamp(region, plan.emblem, Box(0, 0, box.width, box.height))
    pixels[box.top : box.bottom, box.left : box.right] = np.asarray(region)
    target.write_bytes(
        simplejpeg.encode_jpeg(pixels, quality=QUALITY, colorspace="RGB", colorsubsampling="420")
    )


def measure(files: list[Path], runs: int, work: Path) -> dict[str, float]:
    """Median CPU ms per photo of each step, alternating the codecs within each photo."""
    samples: dict[str, list[float]] = {}
    for path in files:
        with Image.open(path) as image:
            decoded = image.convert("RGB")
        steps: dict[str, Callable[[Path, Path], None]] = {
            "floor (Pillow decode + encode)": pillow_floor,
            "decode, Pillow": pillow_decode,
            "decode, simplejpeg": turbo_decode,
            "encode, Pillow": pillow_encode_of(decoded),
            "encode, simplejpeg": turbo_encode_of(decoded),
            "badge, Pillow codec": pillow_badge,
            "badge, simplejpeg codec": turbo_badge,
        }
        for run in range(runs):
            order = list(steps)[:: 1 if run % 2 else -1]
            for name in order:
                started = time.process_time()
                steps[name](path, work / f"out-{run}.jpg")
                samples.setdefault(name, []).append(time.process_time() - started)
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.codecs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        import simplejpeg
    except ImportError:
        sys.exit("simplejpeg is not installed (pip install simplejpeg): nothing to compare")
    root = Path(__file__).resolve().parent / "corpus"
    sets = {f"generated {key}": path for key, path in corpus.build(root).items() if key != "alpha"}
    camera = corpus.build_camera(root / "real", corpus.camera_photos())
    if camera is not None:
        sets |= {f"camera photos {key}": path for key, path in camera.items()}
    print(f"simplejpeg {simplejpeg.__version__}; CPU ms a photo, medians, {args.runs} runs each")
    plan_badge(Image.new("RGB", (64, 64)), OPTIONS, None)  # imports and first render, untimed
    with tempfile.TemporaryDirectory() as folder:
        for name, path in sets.items():
            files = sorted(path.glob("*.jpg"))
            result = measure(files, args.runs, Path(folder))
            floor = result["floor (Pillow decode + encode)"]
            print(f"\n### {name} ({len(files)} photos)\n")
            print("| step | CPU ms a photo | x floor |")
            print("| --- | ---: | ---: |")
            for step, value in result.items():
                print(f"| {step} | {value:.1f} | {value / floor:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
