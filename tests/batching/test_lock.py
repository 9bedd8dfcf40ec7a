"""The destination's lock and the temp files a killed run left: removed by the next run."""

from __future__ import annotations

from pathlib import Path

from helpers import organiser_tree

from blueheart import batch
from blueheart.core.formats import TEMP_SUFFIX


def test_a_library_batch_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    destination = tmp_path / "out"
    (destination / "スタッフ").mkdir(parents=True)
    stale = destination / "スタッフ" / f".山田.jpeg.k3j2{TEMP_SUFFIX}"
    stale.write_bytes(b"half")
    report = batch(source, destination)
    assert report.counts["ok"] == 4 and not stale.exists()


def test_stale_temp_files_are_removed_before_resuming(tmp_path: Path) -> None:
    from blueheart.batching.lock import remove_stale_temp_files

    destination = tmp_path / "out"
    (destination / "sub").mkdir(parents=True)
    stale = destination / "sub" / f".a.jpg.x1y2{TEMP_SUFFIX}"
    stale.write_bytes(b"half a jpeg")
    keep = destination / ".hidden-but-mine"
    keep.write_bytes(b"keep")
    assert remove_stale_temp_files(destination) == 1
    assert not stale.exists() and keep.exists()


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


def test_a_process_forked_while_the_lock_is_held_does_not_keep_it(tmp_path: Path) -> None:
    """A worker forked during a run must not hold DEST after the run: a killed run's workers
    linger a moment, and the re-run was refused as "in use by another run"."""
    import multiprocessing

    from blueheart.batching.lock import destination_lock

    context = multiprocessing.get_context("fork")
    started, release = context.Event(), context.Event()

    def worker() -> None:
        started.set()  # past the fork's own hooks, as every worker is once it runs
        release.wait(60)

    with destination_lock(tmp_path / "out"):
        child = context.Process(target=worker)
        child.start()
    try:
        assert started.wait(60)
        with destination_lock(tmp_path / "out"):  # the child lives on, holding nothing
            pass
    finally:
        release.set()
        child.join(30)
