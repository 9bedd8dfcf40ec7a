"""The contenders that are not command-line tools of their own, as small batch programs.

``python -m benchmarks.tools KIND SRC DEST [-j N]`` with KIND one of:
- ``floor``: Pillow opens, decodes and saves each JPEG at quality 90; nothing else.
- ``naive``: what a first Pillow script does: open and resize the emblem for every photo, blend
  over the full frame in RGBA, convert back, save.
- ``vips``: libvips through pyvips, as its users write it: sequential access, the emblem
  resized once per size, ``composite2`` onto the emblem's box only, ``insert`` back, turned
  upright only when the orientation tag says so; ``VIPS_CONCURRENCY=1`` in each of the ``-j``
  worker processes (one per core), as for the other contenders.
All place a 0.25-size emblem at the bottom-right corner with a 0.04 margin, quality 90.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

EMBLEM = Path(__file__).resolve().parent.parent / "assets" / "heart-512.png"
SIZE, MARGIN, QUALITY = 0.25, 0.04, 90


def corner_box(width: int, height: int) -> tuple[int, int, int]:
    """(side, left, top) of the emblem at the bottom-right corner."""
    shorter = min(width, height)
    side, margin = round(SIZE * shorter), round(MARGIN * shorter)
    return side, width - margin - side, height - margin - side


def floor(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        image.save(target, "JPEG", quality=QUALITY)


def naive(source: Path, target: Path) -> None:
    with Image.open(source) as opened:
        photo = ImageOps.exif_transpose(opened).convert("RGBA")
    side, left, top = corner_box(*photo.size)
    emblem = Image.open(EMBLEM).convert("RGBA").resize((side, side), Image.Resampling.LANCZOS)
    layer = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    layer.paste(emblem, (left, top))
    Image.alpha_composite(photo, layer).convert("RGB").save(target, "JPEG", quality=QUALITY)


def vips(source: Path, target: Path) -> None:
    import pyvips

    photo = pyvips.Image.new_from_file(str(source), access="sequential")
    if photo.get_typeof("orientation") and photo.get("orientation") != 1:
        # Turning needs the whole image: random access, and autorot only here.
        photo = pyvips.Image.new_from_file(str(source)).autorot()
    side, left, top = corner_box(photo.width, photo.height)
    box = photo.crop(left, top, side, side).composite2(_vips_emblem(side), "over")
    photo = photo.insert(box.extract_band(0, n=photo.bands), left, top)
    photo.write_to_file(str(target), Q=QUALITY)


@functools.cache
def _vips_emblem(side: int) -> Any:
    import pyvips

    # In memory: a lazy thumbnail could only be read once, in order.
    return pyvips.Image.thumbnail(str(EMBLEM), side).copy_memory()


KINDS = {"floor": floor, "naive": naive, "vips": vips}


def _one(kind: str, source: Path, target: Path) -> None:
    KINDS[kind](source, target)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools")
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("source", type=Path)
    parser.add_argument("destination", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    # libvips would start a thread per core in every worker, on cores the other workers use.
    os.environ["VIPS_CONCURRENCY"] = "1"
    args.destination.mkdir(parents=True, exist_ok=True)
    sources = sorted(args.source.glob("*.jpg")) if args.source.is_dir() else [args.source]
    targets = [args.destination / path.name for path in sources]
    if args.jobs == 1:
        for source, target in zip(sources, targets, strict=True):
            _one(args.kind, source, target)
        return
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(_one, [args.kind] * len(sources), sources, targets, chunksize=2))


if __name__ == "__main__":
    main(sys.argv[1:])
