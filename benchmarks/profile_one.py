"""Where the time of one ``blueheart badge`` goes, on one real camera photo, against the floor.

    python -m benchmarks.profile_one [PHOTO] [--runs N]

PHOTO defaults to ``phone-12mp-p01.jpg`` of the camera photos (see ``corpus.camera_photos``).
Three views, each a median over ``--runs``:

1. Whole processes, alternated: ``blueheart badge`` against the floor (Pillow opens, decodes
   and saves at quality 90), wall and CPU time, and the ratio's min-max over the pairs.
2. The timeline of each process from its spawn: when its imports finish and when each step
   starts and ends. Steps are timed by wrapping functions as their modules are imported (an
   import hook), so the order and the overlap of the real run are kept: the pipeline's
   import still runs in a thread during the decode.
3. The steps alone, steady state, in this process: decode, metadata, the emblem's first render
   and a cached one, the contrast check, the blend, encode and the atomic write.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import corpus
from benchmarks.run import timed

PYTHON = sys.executable
QUALITY = "90"
PHOTO = "phone-12mp-p01.jpg"

# Run in the timed child: wraps the steps as their modules load, runs the module given, and
# prints the events as JSON on stderr's last line.
CHILD = r"""
import importlib.abc, importlib.machinery, json, runpy, sys, threading, time
clock = time.perf_counter
events = [("script starts", "", clock(), clock(), time.process_time())]
MODULES = {"PIL.Image", "numpy", "click", "blueheart.cli.commands", "blueheart.io.atomic",
           "blueheart.io.badging", "blueheart.core.pipeline", "benchmarks.tools"}
STEPS = {
    "blueheart.core.emblem": {"_cached_emblem": "emblem render"},
    "blueheart.core.compose": {"has_low_contrast": "contrast check", "stamp": "blend",
                          "prepare_emblem": "emblem to the photo's colours"},
    "blueheart.io.metadata": {"read_metadata": "metadata read"},
    "blueheart.io.atomic": {"write_atomic": "atomic write"},
}

def wrap(label, function):
    def timed(*args, **kwargs):
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            events.append((label, threading.current_thread().name, started, clock(), 0.0))
    for name in ("cache_info", "cache_clear", "__wrapped__"):
        if hasattr(function, name):
            setattr(timed, name, getattr(function, name))
    return timed

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in MODULES and name not in STEPS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module
        def exec_module(module):
            started = clock()
            execute(module)
            for attribute, label in STEPS.get(name, {}).items():
                if hasattr(module, attribute):
                    setattr(module, attribute, wrap(label, getattr(module, attribute)))
            if name in MODULES:
                events.append((f"import {name}", threading.current_thread().name, started,
                               clock(), 0.0))
            if name == "PIL.Image":
                from PIL import ImageFile
                ImageFile.ImageFile.load = wrap("decode (load)", ImageFile.ImageFile.load)
                module.Image.save = wrap("encode (save)", module.Image.save)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
module, *arguments = sys.argv[1:]
sys.argv = [module, *arguments]
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit:
    pass
events.append(("script ends", "", clock(), clock(), time.process_time()))
print(json.dumps(events), file=sys.stderr)
"""


def timeline(command: list[str]) -> list[tuple[str, float, float, str]]:
    """(label, start ms, end ms, thread) of one instrumented run, from the process's spawn."""
    spawned = time.perf_counter()  # CLOCK_MONOTONIC: the child's clock too
    result = subprocess.run(
        [PYTHON, "-c", CHILD, *command], capture_output=True, text=True, check=True
    )
    finished = time.perf_counter()
    events = json.loads(result.stderr.strip().splitlines()[-1])
    rows = [(label, (start - spawned) * 1e3, (end - spawned) * 1e3, thread)
            for label, thread, start, end, _ in events]  # fmt: skip
    rows.append(("process exits", (finished - spawned) * 1e3, (finished - spawned) * 1e3, ""))
    return rows


def median_timeline(
    command: Callable[[Path], list[str]], runs: int, work: Path
) -> list[tuple[str, float, float, str]]:
    """Each event's median start and end over ``runs`` runs (the n-th event of a label
    matched with the n-th of the other runs)."""
    merged: dict[tuple[str, int], list[tuple[float, float, str]]] = {}
    for run in range(runs):
        seen: dict[str, int] = {}
        for label, start, end, thread in timeline(command(work / f"out-{run}.jpg")):
            seen[label] = seen.get(label, 0) + 1
            merged.setdefault((label, seen[label]), []).append((start, end, thread))
    rows = [
        (label, statistics.median(s[0] for s in samples),
         statistics.median(s[1] for s in samples), samples[0][2])
        for (label, _), samples in merged.items()
    ]  # fmt: skip
    return sorted(rows, key=lambda row: row[1])


def print_timeline(title: str, rows: list[tuple[str, float, float, str]]) -> None:
    print(f"\n#### {title}\n")
    print("| step | starts, ms | ends, ms | takes, ms | thread |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, start, end, thread in rows:
        where = "" if thread in ("", "MainThread") else thread
        print(f"| {label} | {start:.0f} | {end:.0f} | {end - start:.1f} | {where} |")


def whole_processes(photo: Path, runs: int, work: Path) -> None:
    commands = {
        "floor": lambda out: [PYTHON, "-m", "benchmarks.tools", "floor", str(photo), str(out)],
        "blueheart badge": lambda out: [PYTHON, "-m", "blueheart", "badge", str(photo), "-o",
                                        str(out / photo.name), "--quality", QUALITY],
    }  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for run in range(runs):
        for name in list(commands)[:: 1 if run % 2 else -1]:
            out = work / f"{name}-{run}".replace(" ", "_")
            times[name].append(timed(commands[name](out)))
    print(f"\n### Whole processes, {runs} alternated pairs\n")
    print("| contender | wall, s | CPU, s | wall ratio | min-max | CPU ratio | min-max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    floor = times["floor"]
    for name, samples in times.items():
        ratios = [[s[i] / f[i] for s, f in zip(samples, floor, strict=True)] for i in (0, 1)]
        wall, cpu = (statistics.median(s[i] for s in samples) for i in (0, 1))
        floor_wall, floor_cpu = (statistics.median(f[i] for f in floor) for i in (0, 1))
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {wall / floor_wall:.2f}x | "
              f"{min(ratios[0]):.2f}-{max(ratios[0]):.2f} | {cpu / floor_cpu:.2f}x | "
              f"{min(ratios[1]):.2f}-{max(ratios[1]):.2f} |")  # fmt: skip


def imports(runs: int) -> None:
    """Wall and CPU ms of fresh interpreters importing each module, after ``python -c pass``."""
    statements = {
        "python -c pass": "pass",
        "PIL.Image": "import PIL.Image",
        "click": "import click",
        "blueheart.cli.commands": "import blueheart.cli.commands",
        "blueheart.io.badging (Pillow, metadata, writes)": "import blueheart.io.badging",
        "numpy": "import numpy",
        "blueheart.core.pipeline (numpy, ImageCms, emblem)": "import blueheart.core.pipeline",
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, statement in statements.items():
            samples[name].append(timed([PYTHON, "-c", statement]))
    print(f"\n### Imports in a fresh interpreter ({runs} runs each, alternated)\n")
    print("| import | wall ms | CPU ms | wall above `pass`, ms |")
    print("| --- | ---: | ---: | ---: |")
    base = statistics.median(s[0] for s in samples["python -c pass"])
    for name, runs_of in samples.items():
        wall, cpu = (statistics.median(s[i] for s in runs_of) * 1e3 for i in (0, 1))
        print(f"| {name} | {wall:.0f} | {cpu:.0f} | {wall - base * 1e3:.0f} |")


def steps(photo: Path, runs: int, work: Path) -> None:
    """Each step alone, in this process, after a warm-up: medians of wall and CPU ms."""
    import io

    from PIL import Image

    import blueheart.core.pipeline as pipeline
    from blueheart.core import emblem
    from blueheart.core.compose import has_low_contrast, stamp
    from blueheart.core.options import BadgeOptions
    from blueheart.io.atomic import write_atomic

    options = BadgeOptions()
    with Image.open(photo) as opened:
        opened.load()
        decoded = opened.copy()
    plan = pipeline.plan_badge(decoded, options, None)
    encoded = io.BytesIO()
    decoded.save(encoded, "JPEG", quality=int(QUALITY), optimize=False, progressive=False)
    data = encoded.getvalue()

    blended = decoded.copy()  # blended into again and again: the same work each time

    def decode() -> None:
        with Image.open(photo) as image:
            image.load()

    def first_render() -> None:
        emblem._cached_emblem.cache_clear()
        emblem._cached_emblem(plan.box.width, options.style, emblem.HEART_RING, options.color)

    def plan_cached() -> None:
        pipeline.plan_badge(decoded, options, None)

    def encode() -> None:
        decoded.save(io.BytesIO(), "JPEG", quality=int(QUALITY), optimize=False)

    def write() -> None:
        write_atomic(work / "step.jpg", data, overwrite=True)

    def plain_write() -> None:
        (work / "plain.jpg").write_bytes(data)

    actions: dict[str, Callable[[], Any]] = {
        "decode (Pillow, the floor's too)": decode,
        f"emblem's first render, {plan.box.width} px": first_render,
        "plan with the emblem cached (placement, contrast check)": plan_cached,
        "contrast check alone": lambda: has_low_contrast(decoded, plan.box, options.color),
        "blend into the box": lambda: stamp(blended, plan.emblem, plan.box),
        "encode at quality 90 (the floor's too)": encode,
        "atomic write (temp file, rename over)": write,
        "plain write (the floor's)": plain_write,
    }
    print(f"\n### Steps alone, steady state ({runs} runs each, alternated)\n")
    print("| step | wall ms | CPU ms |")
    print("| --- | ---: | ---: |")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            action()
            samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    for name, runs_of in samples.items():
        wall, cpu = (statistics.median(s[i] for s in runs_of) * 1e3 for i in (0, 1))
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_one")
    parser.add_argument("photo", type=Path, nargs="?", default=corpus.camera_photos() / PHOTO)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    if not args.photo.is_file():
        sys.exit(f"{args.photo}: no such photo (give one, or set ${corpus.CAMERA_PHOTOS_VARIABLE})")
    print(f"Photo: {args.photo}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        whole_processes(args.photo, args.runs, work)
        print("\n### Timelines from the process's spawn (medians)")
        print_timeline("floor", median_timeline(
            lambda out: ["benchmarks.tools", "floor", str(args.photo), str(out.parent)],
            args.runs, work / "floor"))  # fmt: skip
        print_timeline("blueheart badge", median_timeline(
            lambda out: ["blueheart", "badge", str(args.photo), "-o", str(out), "--quality",
                         QUALITY, "--overwrite"], args.runs, work))  # fmt: skip
        imports(args.runs)
        steps(args.photo, args.runs, work)
    print(f"\nLoad average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
