"""The walk: what a batch takes as input from a source folder, and what it leaves out."""

from __future__ import annotations

from pathlib import Path

from helpers import organiser_tree, photo, statuses

from blueheart import batch


def test_destination_inside_the_source_is_never_taken_as_input(tmp_path: Path) -> None:
    source = organiser_tree(tmp_path)
    destination = source / "badged"
    first = batch(source, destination)
    second = batch(source, destination)
    assert len(first.results) == len(second.results) == 7
    assert not any("badged" in r.source for r in second.results)


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
