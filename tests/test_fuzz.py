"""Fuzzing: mutated files of every format either badge or fail with a BlueheartError, fast,
leaving nothing behind. Failures found are kept in tests/fuzz-regressions/.

``BLUEHEART_FUZZ_COUNT`` and ``BLUEHEART_FUZZ_SEED`` widen a run; the defaults replay the
same 2,400 mutations on every CI run.
"""

from __future__ import annotations

import io
import os
import random
import time
from pathlib import Path

import pytest
from fuzzing import mutate, seeds
from PIL import ExifTags, Image

from blueheart import BlueheartError, OutputFormat, badge_file
from blueheart.core.formats import badged_name

REGRESSIONS = Path(__file__).resolve().parent / "fuzz-regressions"
COUNT = int(os.environ.get("BLUEHEART_FUZZ_COUNT", "2400"))
SEED = int(os.environ.get("BLUEHEART_FUZZ_SEED", "20261127"))
SLOWEST_S = 10.0


def badge_or_refuse(source: Path, folder: Path) -> str:
    """Badge ``source``; return "ok" or the error class name. Anything else is a failure."""
    target = folder / badged_name(source, OutputFormat.KEEP, needs_alpha=False)
    started = time.monotonic()
    try:
        badge_file(source, target, overwrite=True)
        outcome = "ok"
    except BlueheartError as error:
        if not error.about_input:
            raise  # the default options are valid: an option error is a bug
        outcome = type(error).__name__
        assert not target.exists(), f"{source.name}: output left after {outcome}"
    elapsed = time.monotonic() - started
    assert elapsed < SLOWEST_S, f"{source.name}: took {elapsed:.1f} s"
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"{source.name}: temp files left: {leftovers}"
    target.unlink(missing_ok=True)
    return outcome


@pytest.mark.slow
def test_mutated_files_badge_or_fail_cleanly(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    originals = seeds()
    names = sorted(originals)
    outcomes: dict[str, int] = {}
    for index in range(COUNT):
        name = names[index % len(names)]
        data = mutate(originals[name], rng)
        source = tmp_path / f"case{name[name.rfind('.') :]}"
        source.write_bytes(data)
        try:
            outcome = badge_or_refuse(source, tmp_path)
        except BaseException:
            kept = REGRESSIONS / f"{SEED}-{index}-{name}"
            kept.write_bytes(data)
            raise
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == COUNT
    assert outcomes.get("ok", 0) > COUNT // 20, outcomes  # the mutations are not all fatal


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*")), ids=lambda p: p.name)
def test_files_that_once_broke_blueheart(path: Path, tmp_path: Path) -> None:
    source = tmp_path / f"case{path.suffix}"
    source.write_bytes(path.read_bytes())
    badge_or_refuse(source, tmp_path)


def test_every_seed_badges(tmp_path: Path) -> None:
    for name, data in seeds().items():
        source = tmp_path / name
        source.write_bytes(data)
        assert badge_or_refuse(source, tmp_path) == "ok", name


def test_damaged_exif_never_costs_the_photo() -> None:
    # Cameras write odd EXIF and viewers show the photo anyway: a mutated EXIF block may be
    # dropped, but the photo must still badge, upright.
    from helpers import photo

    from blueheart import badge_bytes

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Model] = "Model 15"
    exif[ExifTags.Base.XResolution] = 72.0
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.MakerNote] = bytes(range(256))
    raw = exif.tobytes()
    buffer = io.BytesIO()
    photo(64, 48).save(buffer, "JPEG", exif=raw)
    data = buffer.getvalue()
    start = data.index(raw[:16]) + 6
    rng = random.Random(SEED)
    for _ in range(COUNT // 4):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(start, start + len(raw) - 6)] = rng.randrange(256)
        result = Image.open(io.BytesIO(badge_bytes(bytes(damaged))))
        assert result.size in ((48, 64), (64, 48))  # orientation itself may be damaged


def test_damaged_icc_profiles_never_cost_the_photo() -> None:
    # An ICC profile lcms cannot read means sRGB pixels, never a failed photo.
    from helpers import P3_PROFILE, photo

    from blueheart import badge_bytes

    rng = random.Random(SEED)
    for index in range(COUNT // 8):
        profile = bytearray(P3_PROFILE)
        for _ in range(rng.randint(1, 6)):
            profile[rng.randrange(len(profile))] = rng.randrange(256)
        buffer = io.BytesIO()
        photo(32, 24).save(buffer, ("JPEG", "PNG")[index % 2], icc_profile=bytes(profile))
        assert Image.open(io.BytesIO(badge_bytes(buffer.getvalue()))).size == (32, 24)


def test_mutated_xmp_never_leaks_the_location() -> None:
    # A mutated packet is cleaned, or dropped whole when it cannot be cleaned with certainty.
    from helpers import XMP_WITH_LOCATION, photo

    from blueheart import badge_bytes

    rng = random.Random(SEED)
    for index in range(COUNT // 4):
        packet = bytearray(XMP_WITH_LOCATION)
        for _ in range(rng.randint(1, 6)):
            packet[rng.randrange(len(packet))] = rng.choice(b"<>/\"'= :az\x00\xff")
        buffer = io.BytesIO()
        photo(16, 12).save(buffer, ("JPEG", "WEBP")[index % 2], xmp=bytes(packet))
        output = badge_bytes(buffer.getvalue())
        for place in (b"Paris", b"48,51", b"2,21", b"Rue X"):
            assert place not in output, bytes(packet)
