"""Planning: each input's output decided before any image is read: clashes, resumes, probes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import decodes_fully, organiser_tree, photo, statuses

from blueheart import BadgeOptions, batch
from blueheart.batching.lock import LOCK_NAME
from blueheart.core.formats import TEMP_SUFFIX


def test_two_inputs_wanting_one_output_name(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    photo(40, 40).save(source / "a.png")
    photo(40, 40).save(source / "a.jpg")
    report = batch(source, tmp_path / "out", BadgeOptions(format="png", size=0.5))
    assert sorted(statuses(report).values()) == ["failed", "ok"]
    (failed,) = [result for result in report.results if result.status == "failed"]
    (badged,) = [result for result in report.results if result.status == "ok"]
    # The line names the other input: the organiser sees which two photos to tell apart.
    assert failed.error == (
        f"{failed.source}: its output {tmp_path / 'out' / 'a.png'} is {badged.source}'s; "
        "rename one of the two"
    )


@pytest.mark.parametrize(
    ("folds_case", "normalises", "clashing"),
    [
        (True, False, ["caf\u00e9.jpg", "Day 1/img_0001.jpg", "day 1/IMG_0001.jpg"]),
        (False, True, ["caf\u00e9.jpg"]),
        (True, True, ["caf\u0065\u0301.jpg", "caf\u00e9.jpg", "Day 1/img_0001.jpg", "day 1/IMG_0001.jpg"]),
        (False, False, []),
    ],
)  # fmt: skip
def test_outputs_one_name_on_the_destination_fail_after_the_first(
    tmp_path: Path, folds_case: bool, normalises: bool, clashing: list[str]
) -> None:
    from functools import partial

    from blueheart.batching.plan import plan_batch
    from blueheart.io.targets import fold_name

    source = tmp_path / "src"
    names = ["Day 1/IMG_0001.jpg", "Day 1/img_0001.jpg", "day 1/IMG_0001.jpg"]
    names += ["CAF\u00c9.JPG", "caf\u00e9.jpg", "caf\u0065\u0301.jpg"]
    for name in names:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        photo(30, 20).save(source / name, "JPEG")
    key = partial(fold_name, folds_case=folds_case, normalises=normalises)
    destination = tmp_path / "out"
    for _ in range(2):  # the same answer on every run
        plan = plan_batch(source, destination, BadgeOptions(), overwrite=False, name_key=key)
        failed = {Path(r.source).relative_to(source).as_posix(): r.error for r in plan.decided}
        assert sorted(failed) == sorted(clashing)
        for name, error in failed.items():
            first = next(
                job.output for job in plan.jobs if key(job.output) == key(f"{destination}/{name}")
            )
            assert (
                error == f"{destination / name}: clashes with {first}: one name on this file system"
            )


def test_a_rerun_badges_again_the_outputs_a_crash_left_empty_or_cut_short(
    tmp_path: Path,
) -> None:
    """A power cut before the data reached the disk leaves empty or truncated outputs (and an
    empty report): a re-run badges those again, replacing them, without ``--overwrite``, and
    skips the whole ones."""
    from click.testing import CliRunner

    from blueheart.cli.commands import cli

    source = tmp_path / "src"
    source.mkdir()
    image = photo(120, 90, seed=4)
    for name in ("a.jpg", "b.png", "c.gif", "d.webp", "e.avif", "f.tif", "g.bmp", "h.jpg"):
        image.save(source / name)
    destination, report = tmp_path / "out", tmp_path / "report.json"
    arguments = ["batch", str(source), str(destination), "--report", str(report), "-j", "1"]
    assert CliRunner().invoke(cli, arguments).exit_code == 0
    whole = destination / "h.jpg"
    kept = whole.read_bytes()
    for output in destination.iterdir():
        if output.name != LOCK_NAME and output != whole:
            data = output.read_bytes()
            output.write_bytes(data[: len(data) // 2])
    (destination / "a.jpg").write_bytes(b"")
    report.write_bytes(b"")
    rerun = CliRunner().invoke(cli, arguments)
    assert rerun.exit_code == 0, rerun.stderr
    document = json.loads(report.read_text())
    statuses = {Path(r["source"]).name: (r["status"], r["reason"]) for r in document["results"]}
    damaged = ("a.jpg", "b.png", "c.gif", "d.webp", "e.avif", "f.tif", "g.bmp")
    assert statuses == {**dict.fromkeys(damaged, ("ok", None)), "h.jpg": ("skipped", "exists")}
    assert all(decodes_fully(output) for output in destination.glob("[!.]*"))
    assert whole.read_bytes() == kept


def test_a_batch_probes_destination_names_only_for_a_case_clash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hidden probe files are made only when two outputs differ by case or Unicode form alone:
    a batch without such names never writes one (a probe could fail, or be left by a kill)."""
    import blueheart.io.targets

    source, destination = organiser_tree(tmp_path), tmp_path / "out"
    real_open = os.open
    probes: list[str] = []

    def probing_open(path: object, *args: object, **kwargs: object) -> int:
        probes.extend([str(path)] if ".blueheart-probe-" in str(path) else [])
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(blueheart.io.targets.os, "open", probing_open)
    batch(source, destination)
    assert probes == []
    photo(30, 20).save(source / "A.JPG")
    photo(30, 20).save(source / "a.jpg")
    report = batch(source, destination)
    assert len(probes) == 2 and report.counts["failed"] == 1  # the broken file only
    assert not [p for p in destination.rglob(f"*{TEMP_SUFFIX}")]
