"""The batch runner: a tree like an organiser's, resume, interruption, kills, clusters."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from helpers import decodes_fully, many_photos, organiser_tree, photo, statuses
from PIL import Image
from processes import start_batch, wait_for_outputs

from blueheart import BadgeOptions, OptionError, Result, batch
from blueheart.batching.lock import LOCK_NAME


def test_a_realistic_tree(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    destination = tmp_path / "out"
    seen: list[Result] = []
    report = batch(source, destination, progress=seen.append)
    assert statuses(report) == {
        "portrait 1.jpg": "ok",
        "山田.jpeg": "ok",
        "logo.png": "ok",
        "wave.gif": "ok",
        "notes.txt": "skipped",
        "._portrait.jpg": "skipped",
        "broken.jpg": "failed",
    }
    assert len(seen) == 7 and report.counts == {"ok": 4, "skipped": 2, "failed": 1}
    assert report.exit_code == 1
    assert Image.open(destination / "Équipe Nord" / "día 1" / "portrait 1.jpg").size == (300, 200)
    assert Image.open(destination / "wave.gif").n_frames == 3
    assert Image.open(destination / "logo.png").mode == "RGBA"
    assert not (destination / "notes.txt").exists() and not (destination / "broken.jpg").exists()
    failed = next(r for r in report.results if r.status == "failed")
    assert failed.error and "\n" not in failed.error and "broken.jpg" in failed.error


def test_a_file_an_option_cannot_fit_fails_naming_the_file_and_the_option(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    photo(400, 300).save(source / "wide.png")
    photo(1, 1).save(source / "dot.png")
    report = batch(source, tmp_path / "out", BadgeOptions(output_size=1))
    errors = {Path(r.source).name: r.error for r in report.results}
    assert errors == {
        "dot.png": f"{source / 'dot.png'}: size: an emblem of 1x1 px with a margin of 0.04 of "
        "the shorter side does not fit in a 1x1 image",
        "wide.png": f"{source / 'wide.png'}: output_size: 1 px makes a 1x1 output, too small "
        "for the emblem; the smallest output size that holds it is 3 px",
    }


def test_report_json_has_the_contract_fields_and_a_reason_for_skips(tmp_path: Path) -> None:
    report = batch(organiser_tree(tmp_path), tmp_path / "out")
    document = json.loads(report.to_json())
    assert set(document) == {"results", "counts", "faces"}
    assert document["faces"] is None  # no auto: no face is weighed
    fields = {"source", "output", "status", "error", "reason"}
    assert all(set(r) == fields for r in document["results"])
    reasons = {Path(r["source"]).name: r["reason"] for r in document["results"]}
    assert reasons["notes.txt"] == "not an image" and reasons["._portrait.jpg"] == "hidden"
    assert reasons["portrait 1.jpg"] is None and reasons["broken.jpg"] is None


def test_resume_skips_what_exists_and_rewrites_nothing(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    destination = tmp_path / "out"
    batch(source, destination)
    outputs = [p for p in destination.rglob("*") if p.is_file() and p.name != LOCK_NAME]
    times = {p: p.stat().st_mtime_ns for p in outputs}
    time.sleep(0.01)  # not a wait: a rewrite now would show a later time
    second = batch(source, destination)
    assert second.counts == {"ok": 0, "skipped": 6, "failed": 1}
    assert {p: p.stat().st_mtime_ns for p in outputs} == times
    third = batch(source, destination, overwrite=True)
    assert third.counts["ok"] == 4


@pytest.mark.parametrize("relation", ["same", "parent"])
def test_destination_may_not_be_or_hold_the_source(tmp_path: Path, relation: str) -> None:
    source = organiser_tree(tmp_path)
    destination = source if relation == "same" else source.parent
    with pytest.raises(OptionError, match=r"^destination: "):
        batch(source, destination)


def test_a_missing_source_is_an_option_error(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="does not exist"):
        batch(tmp_path / "nowhere", tmp_path / "out")


def test_a_read_only_destination_fails_each_file_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from blueheart.io import atomic

    def read_only(*args: object, **kwargs: object) -> None:
        # What a read-only folder answers (tests run as root, who would be let through).
        raise PermissionError(errno.EACCES, "Permission denied")

    source = organiser_tree(tmp_path)
    destination = tmp_path / "out"
    destination.mkdir()
    monkeypatch.setattr(atomic, "_create_temp", read_only)
    report = batch(source, destination)
    assert report.counts == {"ok": 0, "skipped": 2, "failed": 5}
    for result in report.results:
        if result.status == "failed" and "broken" not in result.source:
            assert result.error == f"{result.output}: cannot write (Permission denied)"
    assert all(p.is_dir() or p.name == LOCK_NAME for p in destination.rglob("*"))


def test_a_destination_on_a_read_only_path_fails_with_a_reason(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(OptionError, match="exists and is not a folder"):
        batch(source, blocker)
    report = batch(source, tmp_path / "out", BadgeOptions())
    assert report.counts["ok"] == 4


def test_dask_local_cluster_runs_the_batch(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from blueheart.batching.executors import executor_for

    source = organiser_tree(tmp_path)
    with executor_for(2, "local") as executor:
        report = batch(source, tmp_path / "out", executor=executor)
    assert report.counts == {"ok": 4, "skipped": 2, "failed": 1}


# -- killed and interrupted runs, in real processes ------------------------------------------


def big_photos(root: Path, count: int) -> Path:
    return many_photos(root, count, (1600, 1200))


@pytest.mark.parametrize("moment", [3, 9])
def test_sigkill_leaves_no_partial_output_and_a_rerun_completes(
    tmp_path: Path, moment: int
) -> None:
    source = big_photos(tmp_path, 30)
    destination = tmp_path / "out"
    process = start_batch(source, destination, "-j", "2")
    wait_for_outputs(destination, moment)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    visible = list(destination.glob("photo-*.jpg"))
    assert visible and len(visible) < 30
    assert all(decodes_fully(path) for path in visible)
    rerun = start_batch(source, destination, "-j", "2", "--report", str(tmp_path / "r.json"))
    _, errors = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, errors
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["counts"]["ok"] + document["counts"]["skipped"] == 30
    assert document["counts"]["skipped"] == len(visible)
    written = sorted(p.name for p in destination.iterdir() if p.name != LOCK_NAME)
    assert written == sorted(p.name for p in source.iterdir())


def test_sigint_stops_cleanly_with_exit_130_and_a_report(tmp_path: Path) -> None:
    source = big_photos(tmp_path, 40)
    destination = tmp_path / "out"
    report = tmp_path / "report.json"
    process = start_batch(source, destination, "-j", "1", "--report", str(report))
    wait_for_outputs(destination, 2)
    process.send_signal(signal.SIGINT)
    output, errors = process.communicate(timeout=120)
    assert process.returncode == 130, errors
    assert b"(interrupted)" in output
    document = json.loads(report.read_text())
    written = sorted(p.name for p in destination.iterdir() if p.name != LOCK_NAME)
    assert all(not name.startswith(".") for name in written)
    assert document["counts"]["ok"] == len(written) < 40
    assert all(decodes_fully(destination / name) for name in written)


def test_an_unreachable_scheduler_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    from click.testing import CliRunner

    import blueheart.batching.executors
    from blueheart.cli.commands import cli

    monkeypatch.setattr(blueheart.batching.executors, "SCHEDULER_TIMEOUT_S", 1)
    source = organiser_tree(tmp_path)
    result = CliRunner().invoke(
        cli, ["batch", str(source), str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Invalid value for '--scheduler': cannot reach")
    assert result.stderr.count("\n") == 1


# -- errors while deciding (issue 20's harness) ----------------------------------------------


def _cli_batch(*args: str | Path) -> object:
    from click.testing import CliRunner

    from blueheart.cli.commands import cli

    return CliRunner().invoke(cli, ["batch", *map(str, args), "-j", "1"])


def test_a_source_that_cannot_be_asked_about_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error on SRC itself is a folder that cannot be read (1), not a typing error (2);
    it was a traceback."""
    import errno

    from helpers import fail_stat

    source = organiser_tree(tmp_path)
    fail_stat(monkeypatch, source, errno.EIO)
    result = _cli_batch(source, tmp_path / "out")
    assert (result.exit_code, result.stderr) == (  # type: ignore[attr-defined]
        1,
        f"Error: {source}: cannot read (Input/output error)\n",
    )
    assert not (tmp_path / "out").exists()


def test_a_destination_that_cannot_be_asked_about_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DEST that cannot be used at all is refused before any work (2), as one that cannot
    be created or locked; it was a traceback."""
    import errno

    from helpers import fail_stat

    source, destination = organiser_tree(tmp_path), tmp_path / "out"
    fail_stat(monkeypatch, destination, errno.EACCES)
    result = _cli_batch(source, destination)
    assert (result.exit_code, result.stderr) == (  # type: ignore[attr-defined]
        2,
        f"Error: {destination}: cannot write (Permission denied)\n",
    )


@pytest.mark.parametrize("failing", ["folder", "report"])
def test_a_report_that_cannot_be_asked_about_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """An I/O error on the report's name or folder: the report cannot be written (1), named;
    nothing badged. It was a traceback (the folder) or a usage error (the name)."""
    import errno

    from helpers import fail_stat

    source, report = organiser_tree(tmp_path), tmp_path / "reports/report.json"
    report.parent.mkdir()
    fail_stat(monkeypatch, report.parent if failing == "folder" else report, errno.ENAMETOOLONG)
    result = _cli_batch(source, tmp_path / "out", "--report", report)
    assert (result.exit_code, result.stderr) == (  # type: ignore[attr-defined]
        1,
        f"Error: {report}: cannot write (File name too long)\n",
    )
    assert not (tmp_path / "out").exists()


def test_a_lock_that_cannot_be_asked_about_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error checking the lock just taken: "cannot lock" (2) and DEST removed; it was
    "in use by another run", leaving the lock file (and so DEST) behind."""
    import errno

    from helpers import fail_stat

    source, destination = organiser_tree(tmp_path), tmp_path / "out"
    fail_stat(monkeypatch, destination / LOCK_NAME, errno.EIO)
    result = _cli_batch(source, destination)
    assert (result.exit_code, result.stderr) == (  # type: ignore[attr-defined]
        2,
        f"Error: cannot lock {destination / LOCK_NAME} (Input/output error)\n",
    )
    assert not destination.exists()


def test_the_entry_module_does_not_hide_the_public_batch() -> None:
    """``blueheart.batching.batch`` is a module; importing it leaves ``blueheart.batch`` the
    function a library caller calls."""
    import importlib
    import inspect

    import blueheart

    importlib.import_module("blueheart.batching.batch")
    assert inspect.isfunction(blueheart.batch)
    assert blueheart.batch is importlib.import_module("blueheart.batching.batch").batch


def test_more_workers_than_the_machine_can_use_are_refused_before_any_start(
    tmp_path: Path,
) -> None:
    """A preset's jobs = 100000 started processes until the memory ran out."""
    from click.testing import CliRunner

    from blueheart.batching.cores import max_workers
    from blueheart.cli.commands import cli

    source = tmp_path / "src"
    source.mkdir()
    photo(40, 30).save(source / "a.jpg")
    limit = max_workers()
    with pytest.raises(OptionError, match=f"expected at most {limit} worker processes"):
        batch(source, tmp_path / "out", workers=limit + 1)
    assert not (tmp_path / "out").exists()
    preset = tmp_path / "preset.toml"
    preset.write_text("jobs = 100000\n")
    refused = CliRunner().invoke(
        cli, ["batch", str(source), str(tmp_path / "out"), "--config", str(preset)]
    )
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert f"100000 is not in the range 1<=x<={limit}" in refused.stderr
    assert not (tmp_path / "out").exists()
