"""Run every contender on the same files in one run, alternating, and print medians and ratios.

    python -m benchmarks                 # everything (about half an hour on 2 cores)
    python -m benchmarks --quick         # fewer repetitions, smaller sets
    python -m benchmarks --only "social-size JPEGs, 2"    # the scenarios whose title holds it

Two corpora: one generated from the repository's photos, and the real camera photos of
``../shared/photos/camera`` (or ``$BLUEHEART_CAMERA_PHOTOS``) when they are there.

Contenders missing on the machine (ImageMagick, pyvips) are reported as such and skipped.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

import blueheart
from benchmarks import corpus
from benchmarks.tools import EMBLEM, QUALITY, corner_box

PYTHON = sys.executable
BLUEHEART = [PYTHON, "-m", "blueheart"]
ROOT = Path(__file__).resolve().parent
Command = Callable[[Path, Path], list[str] | None]
SINGLE_PHOTO = "phone-12mp-p01.jpg"
"""The camera photo of the one-file scenario, when the camera photos are there."""


def _imagemagick() -> str | None:
    """ImageMagick's command, the first on PATH that says it is ImageMagick (a stand-in named
    ``convert`` may come first)."""
    for folder in os.get_exec_path():
        for name in ("magick", "convert"):
            found = shutil.which(name, path=folder)
            if found and "Version: ImageMagick" in _version(found):
                return found
    return None


def _version(command: str) -> str:
    try:
        answer = subprocess.run([command, "-version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return answer.stdout


def _has_pyvips() -> bool:
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


MAGICK = _imagemagick()
VIPS = _has_pyvips()


def magick_command(source: Path, target: Path) -> list[str]:
    """ImageMagick's usual recipe for one file (sizes worked out beforehand, untimed);
    ``-auto-orient`` only for a photo whose orientation tag asks for it."""
    assert MAGICK
    with Image.open(source) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    side, left, _ = corner_box(width, height)
    margin = width - left - side
    orient = ["-auto-orient"] if orientation != 1 else []
    return [MAGICK, str(source), *orient, "(", str(EMBLEM), "-resize", f"{side}x{side}",
            ")", "-gravity", "southeast", "-geometry", f"+{margin}+{margin}", "-composite",
            "-quality", str(QUALITY), str(target)]  # fmt: skip


def magick_into_folder(source: Path, target: Path) -> list[str]:
    """``magick_command`` writing into the new folder ``target``."""
    target.mkdir(parents=True)
    return magick_command(source, target / source.name)


def magick_batch(source: Path, target: Path, jobs: int) -> list[str]:
    """``xargs -P`` over per-file ImageMagick commands, as a shell user would."""
    target.mkdir(parents=True, exist_ok=True)
    lines = [
        shlex.join(magick_command(path, target / path.name))
        for path in sorted(source.glob("*.jpg"))
    ]
    script = target.parent / f"{target.name}.commands"
    script.write_text("\n".join(lines) + "\n")
    # -d: one command a line, quotes left to sh.
    return ["sh", "-c", f"xargs -P{jobs} -d '\\n' -I{{}} sh -c {{}} < {shlex.quote(str(script))}"]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, the process and what it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def scenario(
    title: str, contenders: dict[str, Command], source: Path, repeats: int, work: Path
) -> None:
    """Median seconds per contender, alternating contenders within each repetition.

    CPU time is printed beside wall time: on a shared machine it drifts less, and for one
    worker it is the work itself. The ratios' min-max pairs each run with the floor's run of
    the same repetition."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    load = os.getloadavg()[0]
    for repeat in range(repeats):
        order = list(contenders)
        order = order[repeat % len(order) :] + order[: repeat % len(order)]
        for name in order:
            target = work / f"{name}-{repeat}".replace(" ", "_")
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            command = contenders[name](source, target)
            if command is not None:
                times[name].append(timed(command))
    print(f"\n### {title}\n")
    print(f"Load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; {repeats} runs.\n")
    floor = times["floor"]  # every scenario has the floor
    floor_wall, floor_cpu = (statistics.median(run[i] for run in floor) for i in (0, 1))
    print(
        "| contender | median s | ratio to floor | min-max | median CPU s | CPU ratio | min-max |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, runs in times.items():
        if not runs:
            print(f"| {name} | not installed | | | | | |")
            continue
        wall, cpu = (statistics.median(run[i] for run in runs) for i in (0, 1))
        spans = [
            _span([run[i] / base[i] for run, base in zip(runs, floor, strict=True)]) for i in (0, 1)
        ]
        print(f"| {name} | {wall:.3f} | {wall / floor_wall:.2f}x | {spans[0]} | {cpu:.3f} | "
              f"{cpu / floor_cpu:.2f}x | {spans[1]} |")  # fmt: skip


def _span(ratios: list[float]) -> str:
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def batch_contenders(jobs: int) -> dict[str, Command]:
    def tool(kind: str) -> Command:
        return lambda s, t: [
            PYTHON,
            "-m",
            "benchmarks.tools",
            kind,
            str(s),
            str(t),
            "-j",
            str(jobs),
        ]

    contenders: dict[str, Command] = {
        "floor": tool("floor"),
        f"blueheart batch -j {jobs}": lambda s, t: [
            *BLUEHEART, "batch", str(s), str(t), "-j", str(jobs), "--quality", str(QUALITY)
        ],
        "naive Pillow": tool("naive"),
        "libvips (pyvips)": tool("vips") if VIPS else lambda s, t: None,
        f"ImageMagick xargs -P{jobs}": (
            (lambda s, t: magick_batch(s, t, jobs)) if MAGICK else lambda s, t: None
        ),
    }  # fmt: skip
    return contenders


def single_contenders() -> dict[str, Command]:
    return {
        "floor": lambda s, t: [PYTHON, "-m", "benchmarks.tools", "floor", str(s), str(t)],
        "blueheart badge": lambda s, t: [
            *BLUEHEART, "badge", str(s), "-o", str(t / s.name), "--quality", str(QUALITY)
        ],
        "libvips (pyvips)": (
            (lambda s, t: [PYTHON, "-m", "benchmarks.tools", "vips", str(s), str(t)])
            if VIPS else lambda s, t: None
        ),
        "ImageMagick": (
            magick_into_folder if MAGICK else lambda s, t: None
        ),
    }  # fmt: skip


def avatar_contenders() -> dict[str, Command]:
    def badge(*extra: str) -> Command:
        return lambda s, t: [*BLUEHEART, "batch", str(s), str(t), "-j", "1", "--crop",
                             "square", "--output-size", "1080", "--quality", str(QUALITY),
                             *extra]  # fmt: skip

    return {
        "floor": lambda s, t: [PYTHON, "-m", "benchmarks.tools", "floor", str(s), str(t)],
        "blueheart avatar": badge(),
        "blueheart avatar --position auto": badge("--position", "auto"),
    }


def peak_memory(photo: Path, work: Path) -> None:
    """Peak RSS of one worker badging one 12 MP photo, against one decoded image."""
    probe = (
        "import blueheart.core.pipeline, blueheart.io.badging, PIL.Image\n"
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1])\n"
        "base = peak()\n"
        "{action}\n"
        "print(base, peak())\n"
    )
    actions = {
        "floor": f"PIL.Image.open({str(photo)!r}).save({str(work / 'm1.jpg')!r}, quality=90)",
        "blueheart": f"blueheart.badge_file({str(photo)!r}, {str(work / 'm2.jpg')!r}, "
        "quality=90, overwrite=True)",
    }
    with Image.open(photo) as image:
        pixels = image.width * image.height
    print("\n### Peak memory of one worker (one 12 MP JPEG)\n")
    print("Workers start with blueheart imported, as a batch's forked workers do. One decoded")
    print("image is 3 bytes a pixel as such, 4 in Pillow's memory (RGB is stored padded).\n")
    print("| contender | peak RSS above start, MB | x 3 B/px image | x Pillow's 4 B/px image |")
    print("| --- | ---: | ---: | ---: |")
    for name, action in actions.items():
        result = subprocess.run(
            [PYTHON, "-c", probe.format(action=action)], capture_output=True, text=True, check=True
        )
        base, peak = (int(v) for v in result.stdout.split())
        extra = (peak - base) * 1024
        ratios = " | ".join(f"{extra / (width * pixels):.2f}" for width in (3, 4))
        print(f"| {name} | {extra / 1e6:.1f} | {ratios} |")


def compositing(photo: Path, repeats: int) -> None:
    """The badge alone (plan + blend into the box) on an already decoded 12 MP image, against
    Pillow decoding and re-encoding that image at quality 90; and the emblem cache."""
    import io

    from blueheart.core.compose import stamp
    from blueheart.core.options import BadgeOptions
    from blueheart.core.pipeline import _prepared_heart, plan_badge

    def floor() -> None:
        with Image.open(photo) as image:
            image.save(io.BytesIO(), "JPEG", quality=QUALITY)

    decoded = Image.open(photo)
    decoded.load()
    options = BadgeOptions()

    def badge(photo: Image.Image) -> float:
        started = time.perf_counter()
        plan = plan_badge(photo, options, None)
        stamp(photo, plan.emblem, plan.box)
        return time.perf_counter() - started

    badge(decoded.copy())  # the first call renders the emblem; the rest are cache hits
    before = _prepared_heart.cache_info()
    times: dict[str, list[float]] = {"floor": [], "badge": []}
    for _ in range(repeats):
        started = time.perf_counter()
        floor()
        times["floor"].append(time.perf_counter() - started)
        times["badge"].append(badge(decoded.copy()))  # a fresh photo each time, copied untimed
    floor_s, badge_s = (statistics.median(times[k]) for k in ("floor", "badge"))
    print("\n### Compositing alone, on a decoded 12 MP image\n")
    print(f"- decode + encode at quality 90 (the floor): median {floor_s * 1000:.1f} ms")
    print(f"- plan + blend a 0.25 heart into its box: median {badge_s * 1000:.1f} ms "
          f"({badge_s / floor_s:.1%} of the floor)")  # fmt: skip
    after = _prepared_heart.cache_info()
    print(f"- emblem renders after the first: {after.misses - before.misses}, "
          f"cache hits: {after.hits - before.hits}")  # fmt: skip


def startup(repeats: int) -> None:
    runs = [timed([*BLUEHEART, "--version"])[0] for _ in range(repeats)]
    script = shutil.which("blueheart")
    script_runs = [timed([script, "--version"])[0] for _ in range(repeats)] if script else []
    print("\n### Start-up\n")
    print(f"- `python -m blueheart --version`: median {statistics.median(runs) * 1000:.0f} ms")
    if script_runs:
        print(f"- `blueheart --version`: median {statistics.median(script_runs) * 1000:.0f} ms")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and files")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the scenarios whose title holds TEXT (repeatable)",
    )
    args = parser.parse_args(argv)
    # pip compiles a package's modules when it installs it; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would instead compile blueheart in every timed process.
    compileall.compile_dir(Path(blueheart.__file__).parent, quiet=1)
    repeats = 2 if args.quick else 5
    corpora = {
        "generated": corpus.build(args.corpus, camera_count=6 if args.quick else 20,
                                  social_count=12 if args.quick else 50),
    }  # fmt: skip
    photos = corpus.camera_photos()
    camera = corpus.build_camera(args.corpus / "real", photos, social_count=50)
    if camera is None:
        print(f"No camera photos in {photos} (set ${corpus.CAMERA_PHOTOS_VARIABLE}): "
              "the real-photo corpus is left out.")  # fmt: skip
    else:
        corpora["camera photos"] = camera
    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    print(f"Machine: {machine}, Python {platform.python_version()}")
    print(f"ImageMagick: {MAGICK or 'not installed'}; pyvips: {'yes' if VIPS else 'not installed'}")
    if camera is not None:
        print(f"Camera photos: {photos}")

    def wanted(title: str) -> bool:
        return not args.only or any(text in title for text in args.only)

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name, sets in corpora.items():
            photos_in = {key: sorted(path.glob("*.jpg")) for key, path in sets.items()}
            one = next(
                (p for p in photos_in["camera"] if p.name == SINGLE_PHOTO), photos_in["camera"][0]
            )
            scenarios: list[tuple[str, dict[str, Command], Path, int]] = [
                (f"{name}: one file ({one.name}), process start included", single_contenders(),
                 one, repeats * 2),
            ]  # fmt: skip
            for label, key in (("camera JPEGs", "camera"), ("social-size JPEGs", "social")):
                for jobs in (1, 2):
                    scenarios.append((
                        f"{name}: batch of {len(photos_in[key])} {label}, {jobs} worker(s)",
                        batch_contenders(jobs), sets[key], repeats,
                    ))  # fmt: skip
            for title, contenders, source, count in scenarios:
                if wanted(title):
                    scenario(title, contenders, source, count, work)
        generated = corpora["generated"]
        one = sorted(generated["camera"].glob("*.jpg"))[0]
        if wanted("Avatar"):
            scenario("Avatar (square 1080 px) from the generated 12 MP set, 1 worker",
                     avatar_contenders(), generated["camera"], repeats, work)  # fmt: skip
        if not args.only:
            compositing(one, repeats * 4)
            peak_memory(one, work)
            startup(repeats * 4)


if __name__ == "__main__":
    main(sys.argv[1:])
