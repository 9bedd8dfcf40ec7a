"""The batch runner: a tree like an organiser's, resume, interruption, kills, clusters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import decodes_fully, many_photos, photo
from PIL import Image

from blueheart import BadgeOptions, OptionError, Result, batch
from blueheart.batching.run import LOCK_NAME
from blueheart.core.formats import TEMP_SUFFIX


def organiser_tree(root: Path) -> Path:
    """Nested Unicode folders, names with spaces, non-images, corrupt files, an animated GIF
    and a transparent PNG."""
    source = root / "campaign photos"
    (source / "Équipe Nord" / "día 1").mkdir(parents=True)
    (source / "スタッフ").mkdir()
    photo(300, 200, seed=1).save(source / "Équipe Nord" / "día 1" / "portrait 1.jpg")
    photo(200, 300, seed=2).save(source / "スタッフ" / "山田.jpeg")
    transparent = photo(120, 120, seed=3).convert("RGBA")
    transparent.putalpha(100)
    transparent.save(source / "logo.png")
    frames = [photo(90, 60, seed=s).convert("P") for s in range(3)]
    frames[0].save(source / "wave.gif", save_all=True, append_images=frames[1:], duration=90)
    (source / "notes.txt").write_text("not a photo")
    (source / "._portrait.jpg").write_bytes(b"\0\5\26\7 AppleDouble")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return source


def statuses(report: object) -> dict[str, str]:
    return {Path(r.source).name: r.status for r in report.results}  # type: ignore[attr-defined]


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
    assert set(document) == {"results", "counts"}
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
    time.sleep(0.01)
    second = batch(source, destination)
    assert second.counts == {"ok": 0, "skipped": 6, "failed": 1}
    assert {p: p.stat().st_mtime_ns for p in outputs} == times
    third = batch(source, destination, overwrite=True)
    assert third.counts["ok"] == 4


def test_destination_inside_the_source_is_never_taken_as_input(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    destination = source / "badged"
    first = batch(source, destination)
    second = batch(source, destination)
    assert len(first.results) == len(second.results) == 7
    assert not any("badged" in r.source for r in second.results)


@pytest.mark.parametrize("relation", ["same", "parent"])
def test_destination_may_not_be_or_hold_the_source(tmp_path: Path, relation: str) -> None:
    source = organiser_tree(tmp_path)
    destination = source if relation == "same" else source.parent
    with pytest.raises(OptionError, match=r"^destination: "):
        batch(source, destination)


def test_a_missing_source_is_an_option_error(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="does not exist"):
        batch(tmp_path / "nowhere", tmp_path / "out")


def test_symbolic_links_do_not_lead_out_of_the_source(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    outside = tmp_path / "private"
    outside.mkdir()
    photo(50, 50).save(outside / "secret.jpg")
    photo(50, 50).save(source / "real.jpg")
    (source / "link.jpg").symlink_to(outside / "secret.jpg")
    (source / "folder").symlink_to(outside, target_is_directory=True)
    (source / "loop").symlink_to(source, target_is_directory=True)
    (source / "inside.jpg").symlink_to(source / "real.jpg")
    report = batch(source, tmp_path / "out")
    assert statuses(report) == {
        "real.jpg": "ok",
        "link.jpg": "skipped",
        "inside.jpg": "ok",
        "folder": "skipped",
        "loop": "skipped",
    }
    reasons = {Path(r.source).name: r.reason for r in report.results}
    assert reasons["link.jpg"] == "link out of the source folder"
    assert reasons["folder"] == reasons["loop"] == "link to a folder (not followed)"
    assert not (tmp_path / "out" / "link.jpg").exists()


def test_two_inputs_wanting_one_output_name(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    photo(40, 40).save(source / "a.png")
    photo(40, 40).save(source / "a.jpg")
    report = batch(source, tmp_path / "out", BadgeOptions(format="png", size=0.5))
    assert sorted(statuses(report).values()) == ["failed", "ok"]


def test_a_library_batch_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    destination = tmp_path / "out"
    (destination / "スタッフ").mkdir(parents=True)
    stale = destination / "スタッフ" / f".山田.jpeg.k3j2{TEMP_SUFFIX}"
    stale.write_bytes(b"half")
    report = batch(source, destination)
    assert report.counts["ok"] == 4 and not stale.exists()


def test_stale_temp_files_are_removed_before_resuming(tmp_path: Path) -> None:
    from blueheart.batching.run import remove_stale_temp_files

    destination = tmp_path / "out"
    (destination / "sub").mkdir(parents=True)
    stale = destination / "sub" / f".a.jpg.x1y2{TEMP_SUFFIX}"
    stale.write_bytes(b"half a jpeg")
    keep = destination / ".hidden-but-mine"
    keep.write_bytes(b"keep")
    assert remove_stale_temp_files(destination) == 1
    assert not stale.exists() and keep.exists()


def test_any_executor_runs_the_same_jobs(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    with ThreadPoolExecutor(2) as executor:
        report = batch(source, tmp_path / "out", executor=executor)
    assert report.counts == {"ok": 4, "skipped": 2, "failed": 1}


def test_a_read_only_destination_fails_each_file_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from blueheart.io import imagefile

    def read_only(*args: object, **kwargs: object) -> None:
        # What a read-only folder answers (tests run as root, who would be let through).
        raise PermissionError(errno.EACCES, "Permission denied")

    source = organiser_tree(tmp_path)
    destination = tmp_path / "out"
    destination.mkdir()
    monkeypatch.setattr(imagefile, "_create_temp", read_only)
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


def start_batch(source: Path, destination: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "blueheart", "batch", str(source), str(destination), *extra]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def wait_for_outputs(destination: Path, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if destination.exists() and len(list(destination.glob("photo-*.jpg"))) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("the batch made no progress")


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


def test_a_failed_worker_fails_its_files_and_the_batch_goes_on(tmp_path: Path) -> None:
    from concurrent.futures import Future

    source = organiser_tree(tmp_path)

    class FirstChunkDies(ThreadPoolExecutor):
        submitted = 0

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.submitted += 1
            if self.submitted == 1:
                future: Future[object] = Future()
                future.set_exception(RuntimeError("worker killed by signal 9"))
                return future
            return super().submit(fn, *args, **kwargs)

    from blueheart.batching.run import plan_batch, run_jobs

    plan = plan_batch(source, tmp_path / "out", BadgeOptions(), overwrite=False)
    with FirstChunkDies(2) as executor:
        results = list(
            run_jobs(plan.jobs, BadgeOptions(), executor=executor, overwrite=False, chunk_size=2)
        )
    assert len(results) == len(plan.jobs)
    died = [r for r in results if "worker failed" in (r.error or "")]
    assert len(died) == 2 and all("signal 9" in (r.error or "") for r in died)


def test_chunks_shrink_toward_the_end_so_no_worker_waits_alone(tmp_path: Path) -> None:
    from blueheart.batching.run import Job, _chunks

    jobs = []
    for index in range(60):
        path = tmp_path / f"{index:02d}.jpg"
        path.write_bytes(bytes(100_000))
        jobs.append(Job(str(path), str(tmp_path / "out" / path.name), str(tmp_path / "out")))
    chunks = list(_chunks(jobs, None, 2))
    assert [job for chunk in chunks for job in chunk] == jobs  # each once, in order
    assert len(chunks[0]) == 10  # about 1 MB while much is left
    sizes = [len(chunk) for chunk in chunks]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-3:] == [1, 1, 1]  # the last ones, one photo each
    assert [len(chunk) for chunk in _chunks(jobs, 7, 2)] == [7] * 8 + [4]


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

    from blueheart.batching.run import plan_batch
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


def test_an_interrupted_overwrite_reports_as_ok_only_the_outputs_it_wrote(tmp_path: Path) -> None:
    """Outputs the stopped run never reached keep the previous run's file, whatever its time
    says (here a day ahead, as a camera's or a server's clock may put it): not "ok"."""
    import threading

    source = many_photos(tmp_path, 60, (48, 32))
    destination = tmp_path / "out"
    destination.mkdir()
    previous = photo(20, 20, seed=9)
    ahead = time.time() + 86_400
    for input_path in source.iterdir():
        previous.save(destination / input_path.name)
        os.utime(destination / input_path.name, (ahead, ahead))
    before = {p.name: p.read_bytes() for p in destination.iterdir()}
    stop = threading.Event()
    report = batch(
        source, destination, overwrite=True, workers=2, stop=stop, progress=lambda _: stop.set()
    )
    assert report.interrupted
    written = {name for name, data in before.items() if (destination / name).read_bytes() != data}
    reported = {Path(str(r.output)).name for r in report.results if r.status == "ok"}
    assert len(written) < 60  # the stop came before the last chunks ran
    assert reported == written


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


def test_temp_files_a_killed_run_left_are_removed_by_the_next(tmp_path: Path) -> None:
    """A killed run's half-written outputs, its probe files (in DEST) and its half-written
    report (beside the report, maybe outside DEST) are removed by the next run; the report's
    were left forever."""
    source, destination = organiser_tree(tmp_path), tmp_path / "out"
    report = tmp_path / "report.json"
    batch(source, destination)
    left = [
        destination / f".a.jpg.k3j9x0qz{TEMP_SUFFIX}",
        destination / f".blueheart-probe-0123456789abcdef-case{TEMP_SUFFIX}",
        tmp_path / f".report.json.p0q1r2s3{TEMP_SUFFIX}",
    ]
    for path in left:
        path.write_bytes(b"")
    keep = tmp_path / f".other.json.p0q1r2s3{TEMP_SUFFIX}"  # not this run's to remove
    keep.write_bytes(b"")
    batch(source, destination, report=report)
    assert [path for path in left if path.exists()] == []
    assert keep.exists()


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
