"""What a file system can throw at blueheart: the same file under two names, FIFOs and
devices, long and non-UTF-8 names, unreadable folders, two runs into one folder.

Inputs are checked byte for byte after each attempt to write them; commands that could hang
run in a subprocess with a timeout.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import fail_reads, many_photos, photo
from mounts import bind_mounted, exfat_folder, ext4_image, fill_up, image_mounted
from PIL import Image

from blueheart import BadgeOptions, OptionError, UnreadableImageError, badge_file, batch
from blueheart.batching.lock import LOCK_NAME, destination_lock
from blueheart.batching.walk import find_images
from blueheart.cli.commands import cli
from blueheart.core.errors import OutputWriteError
from blueheart.core.formats import TEMP_SUFFIX
from blueheart.io.atomic import write_atomic

TIMEOUT_S = 60
IS_ROOT = os.geteuid() == 0


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_process(*args: str | Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI in its own process, killed if it hangs; ``env`` added to the environment."""
    command = [sys.executable, "-m", "blueheart", *(os.fsdecode(a) for a in args)]
    return subprocess.run(
        command, capture_output=True, timeout=TIMEOUT_S, env={**os.environ, **env}
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(text: str) -> bool:
    return text.count("\n") == 1 and "Traceback" not in text


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    photo(120, 90, seed=1).save(folder / "a.jpg")
    photo(90, 120, seed=2).save(folder / "b.png")
    return folder


@pytest.fixture
def case_insensitive(tmp_path: Path) -> Iterator[Path]:
    """A folder on a fresh exFAT file system (case-insensitive, as on USB drives)."""
    with exfat_folder(tmp_path) as drive:
        yield drive


# -- the same file under another name (item 3) ------------------------------------------------


def test_a_hard_link_to_the_input_is_never_an_output_even_with_overwrite(source: Path) -> None:
    original = digest(source / "a.jpg")
    twin = source.parent / "twin.jpg"
    os.link(source / "a.jpg", twin)
    with pytest.raises(OptionError) as raised:
        badge_file(source / "a.jpg", twin, overwrite=True)
    assert str(raised.value) == (
        f"destination: {twin}: is an input (the same file); inputs are never written"
    )
    assert twin.samefile(source / "a.jpg") and digest(source / "a.jpg") == original


def test_badge_refuses_a_hard_link_to_its_input(source: Path) -> None:
    twin = source.parent / "twin.jpg"
    os.link(source / "a.jpg", twin)
    result = run("badge", source / "a.jpg", "-o", twin, "--overwrite")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr == (
        f"Error: {twin}: is an input (the same file); inputs are never written\n"
    )
    assert twin.samefile(source / "a.jpg")


def test_batch_outputs_hard_linked_to_inputs_are_refused(source: Path, tmp_path: Path) -> None:
    # `cp -al src out`: every output name is an input under another path.
    destination = tmp_path / "out"
    destination.mkdir()
    for path in source.iterdir():
        os.link(path, destination / path.name)
    originals = {path.name: digest(path) for path in source.iterdir()}
    report = batch(source, destination, overwrite=True)
    assert report.counts == {"ok": 0, "skipped": 0, "failed": 2}
    assert [r.error for r in report.results] == [
        f"{destination / name}: is an input (the same file); inputs are never written"
        for name in ("a.jpg", "b.png")
    ]
    assert {path.name: digest(path) for path in source.iterdir()} == originals


def test_a_bind_mount_of_the_source_is_not_a_destination(source: Path, tmp_path: Path) -> None:
    originals = {path.name: digest(path) for path in source.iterdir()}
    with bind_mounted(source, tmp_path / "out"):
        result = run("batch", source, tmp_path / "out", "--overwrite")
        sub = run("batch", source / ".." / "src", tmp_path / "out" / "..", "--overwrite")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr == "Error: DEST_DIR may not be SRC_DIR: inputs are never written\n"
    assert sub.exit_code == 2 and "may not contain SRC_DIR" in sub.stderr
    assert {path.name: digest(path) for path in source.iterdir()} == originals


def test_a_bind_mount_of_the_destination_inside_the_source_is_not_walked(
    source: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out"
    batch(source, destination)
    with bind_mounted(destination, source / "mirror"):
        report = batch(source, destination)
    assert sorted(Path(r.source).name for r in report.results) == ["a.jpg", "b.png"]


def test_badge_through_a_bind_mount_never_writes_the_input(source: Path, tmp_path: Path) -> None:
    original = digest(source / "a.jpg")
    with bind_mounted(source, tmp_path / "view"):
        result = run("badge", source / "a.jpg", "-o", tmp_path / "view" / "a.jpg", "--overwrite")
    assert result.exit_code == 2 and "inputs are never written" in result.stderr
    assert digest(source / "a.jpg") == original


def test_badge_refuses_an_output_that_is_another_input_through_a_bind_mount(
    source: Path, tmp_path: Path
) -> None:
    badge_file(source / "a.jpg", source / "a-blueheart.jpg")
    earlier = digest(source / "a-blueheart.jpg")
    view = tmp_path / "view"
    with bind_mounted(source, view):
        result = run("badge", source / "a.jpg", view / "a-blueheart.jpg", "--overwrite")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr == (
        f"Error: {source / 'a-blueheart.jpg'}: is an input (the same file); "
        "inputs are never written\n"
    )
    assert digest(source / "a-blueheart.jpg") == earlier


def test_badge_refuses_an_output_hard_linked_to_another_input(source: Path) -> None:
    badge_file(source / "a.jpg", source / "a-blueheart.jpg")
    twin = source.parent / "twin.jpg"
    os.link(source / "a-blueheart.jpg", twin)
    result = run("badge", source / "a.jpg", twin, "--overwrite")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr == (
        f"Error: {source / 'a-blueheart.jpg'}: is an input (the same file); "
        "inputs are never written\n"
    )
    assert twin.samefile(source / "a-blueheart.jpg")


def test_sheet_through_a_bind_mount_never_draws_or_replaces_a_photo(
    source: Path, tmp_path: Path
) -> None:
    view = tmp_path / "view"
    with bind_mounted(source, view):
        first = run("sheet", source, "-o", view / "check.jpg")
        again = run("sheet", source, "-o", view / "check.jpg", "--overwrite")
    assert first.exit_code == 0 and first.stdout.endswith("\n2 images on 1 page\n")
    # The first run's page is that run's page under another path, not a third photo.
    assert again.exit_code == 0 and again.stdout.endswith("\n2 images on 1 page\n")


def test_sheet_refuses_a_page_hard_linked_to_a_photo(source: Path, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    os.link(source / "a.jpg", pages / "check-001.jpg")
    original = digest(source / "a.jpg")
    result = run("sheet", source, "-o", pages / "check.jpg", "--overwrite")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr == (
        f"Error: {pages / 'check-001.jpg'}: is an input (the same file); inputs are never written\n"
    )
    assert (pages / "check-001.jpg").samefile(source / "a.jpg")
    assert digest(source / "a.jpg") == original


# -- the report never replaces what it should not (item 4) -----------------------------------


def test_the_report_never_replaces_an_input(source: Path, tmp_path: Path) -> None:
    original = digest(source / "a.jpg")
    result = run("batch", source, tmp_path / "out", "--report", source / "a.jpg", "--overwrite")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr == (
        f"Error: Invalid value for '--report': {source / 'a.jpg'}: is an input (the same file); "
        "inputs are never written\n"
    )
    assert digest(source / "a.jpg") == original and not (tmp_path / "out").exists()


def test_the_report_replaces_another_file_only_with_overwrite(source: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    refused = run("batch", source, tmp_path / "out", "--report", notes)
    assert refused.exit_code == 2 and one_line(refused.stderr)
    assert f"{notes} exists and is not a blueheart report (--overwrite replaces it)" in (
        refused.stderr
    )
    assert notes.read_text() == '{"mine": true}' and not (tmp_path / "out").exists()
    replaced = run("batch", source, tmp_path / "out", "--report", notes, "--overwrite")
    assert replaced.exit_code == 0 and json.loads(notes.read_text())["counts"]["ok"] == 2


def test_a_rerun_replaces_its_own_report(source: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert run("batch", source, tmp_path / "out", "--report", report).exit_code == 0
    again = run("batch", source, tmp_path / "out", "--report", report)
    assert again.exit_code == 0
    assert json.loads(report.read_text())["counts"] == {"ok": 0, "skipped": 2, "failed": 0}


def test_the_report_is_never_where_an_output_goes(source: Path, tmp_path: Path) -> None:
    destination = tmp_path / "d10"
    destination.mkdir()
    (tmp_path / "link").symlink_to(destination)
    for report, photo_name in (
        (destination / "a.jpg", "a.jpg"),
        (tmp_path / "link" / "b.png", "b.png"),
    ):
        result = run("batch", source, destination, "--report", report)
        assert result.exit_code == 2 and one_line(result.stderr)
        assert result.stderr == (
            f"Error: Invalid value for '--report': {report} is where the output of "
            f"{source / photo_name} goes; give the report its own name\n"
        )
    assert list(destination.iterdir()) == []  # refused before the lock is made
    assert batch(source, destination).counts["ok"] == 2
    badged = digest(destination / "a.jpg")
    for report in (destination / "a.jpg", destination / LOCK_NAME):
        again = run("batch", source, destination, "--report", report, "--overwrite")
        assert again.exit_code == 2 and one_line(again.stderr)
    assert digest(destination / "a.jpg") == badged
    assert json.loads((destination / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_the_report_folder_must_exist(source: Path, tmp_path: Path) -> None:
    report = tmp_path / "missing" / "dir" / "r.json"
    result = run("batch", source, tmp_path / "out", "--report", report)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Invalid value for '--report': {report.parent} does not exist\n"
    )
    assert not (tmp_path / "missing").exists() and not (tmp_path / "out").exists()


def test_the_report_never_replaces_a_fifo(source: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    result = run_process("batch", source, tmp_path / "out", "--report", fifo, "--overwrite")
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().endswith("is a FIFO; only regular files are replaced\n")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# -- only regular files are replaced (item 5) ------------------------------------------------


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null, made where a test may break it."""
    device = tmp_path / "null.jpg"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here")
    return device


def test_overwrite_never_replaces_a_device_node(source: Path, null_device: Path) -> None:
    result = run("badge", source / "a.jpg", "-o", null_device, "--overwrite")
    assert result.exit_code == 1 and one_line(result.stderr)
    assert result.stderr == (
        f"Error: {null_device}: is a character device; only regular files are replaced\n"
    )
    assert stat.S_ISCHR(null_device.lstat().st_mode)
    assert not [p for p in null_device.parent.iterdir() if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.parametrize("kind", ["fifo", "folder", "link"])
def test_write_atomic_replaces_only_regular_files(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.png"
    make = {
        "fifo": lambda: os.mkfifo(target),
        "folder": target.mkdir,
        "link": lambda: target.symlink_to(tmp_path / "elsewhere.png"),
    }
    make[kind]()
    before = target.lstat()
    with pytest.raises(OutputWriteError, match="only regular files are replaced"):
        write_atomic(target, b"data", overwrite=True)
    after = target.lstat()
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


# -- FIFOs, sockets and devices are never read (item 7) --------------------------------------


def test_a_fifo_named_like_a_photo_is_skipped_and_the_batch_ends(
    source: Path, tmp_path: Path
) -> None:
    os.mkfifo(source / "upload.jpg")
    report = tmp_path / "report.json"
    for jobs in ("1", "2"):
        destination = tmp_path / f"out{jobs}"
        result = run_process(
            "batch", source, destination, "-j", jobs, "--report", report, "--overwrite"
        )
        assert result.returncode == 0, result.stderr
    document = json.loads(report.read_text())
    skipped = [r for r in document["results"] if r["status"] == "skipped"]
    assert [(Path(r["source"]).name, r["reason"]) for r in skipped] == [
        ("upload.jpg", "not a regular file (a FIFO)")
    ]
    assert document["counts"] == {"ok": 2, "skipped": 1, "failed": 0}


def test_a_device_named_like_a_photo_is_skipped(source: Path, null_device: Path) -> None:
    null_device.replace(source / "zero.jpg")
    report = batch(source, source.parent / "out")
    reasons = {Path(r.source).name: r.reason for r in report.results}
    assert reasons == {
        "a.jpg": None,
        "b.png": None,
        "zero.jpg": "not a regular file (a character device)",
    }


def test_badge_and_sheet_never_hang_on_a_fifo(source: Path, tmp_path: Path) -> None:
    fifo = source / "upload.jpg"
    os.mkfifo(fifo)
    badged = run_process("badge", fifo, "-o", tmp_path / "x.jpg")
    assert badged.returncode == 1
    assert badged.stderr.decode() == f"Error: {fifo}: not a regular file (a FIFO)\n"
    sheet = run_process("sheet", source, "-o", tmp_path / "sheet.jpg")
    assert sheet.returncode == 0 and sheet.stdout.decode().endswith("\n2 images on 1 page\n")
    with pytest.raises(UnreadableImageError, match=r"not a regular file \(a FIFO\)$"):
        badge_file(fifo, tmp_path / "y.jpg")


def test_a_file_swapped_for_a_fifo_after_the_check_is_opened_without_waiting(
    tmp_path: Path,
) -> None:
    # The type is checked before opening and again on the open file, opened non-blocking.
    fifo = tmp_path / "swapped.jpg"
    os.mkfifo(fifo)
    probe = (
        "import os, stat\n"
        "from pathlib import Path\n"
        "from blueheart.io import reading\n"
        "real = reading._require_regular\n"
        "calls = []\n"
        "def first_says_regular(mode, path, name):\n"
        "    calls.append(mode)\n"
        "    if len(calls) > 1:\n"
        "        real(mode, path, name)\n"
        "reading._require_regular = first_says_regular\n"
        "try:\n"
        f"    reading.open_regular(Path({str(fifo)!r}), 'swapped.jpg')\n"
        "except reading.UnreadableImageError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.stdout == "swapped.jpg: not a regular file (a FIFO)\n", done.stderr


# -- hidden names, and folders a previous batch wrote (issue 12) -----------------------------


def test_hidden_files_and_folders_are_skipped_with_a_reason(source: Path, tmp_path: Path) -> None:
    photo(40, 40).save(source / ".hidden.jpg")
    (source / ".thumbnails").mkdir()
    photo(40, 40).save(source / ".thumbnails" / "a.jpg")
    report = batch(source, tmp_path / "out")
    reasons = {Path(r.source).name: (r.status, r.reason) for r in report.results}
    assert reasons == {
        "a.jpg": ("ok", None),
        "b.png": ("ok", None),
        ".hidden.jpg": ("skipped", "hidden"),
        ".thumbnails": ("skipped", "hidden"),
    }
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [LOCK_NAME, "a.jpg", "b.png"]
    assert [p.name for p in find_images(source)] == ["a.jpg", "b.png"]


def test_a_previous_batchs_output_folder_is_not_badged_twice(source: Path) -> None:
    first = batch(source, source / "badged")
    assert first.counts["ok"] == 2
    second = run("batch", source, source.parent / "circ", "--crop", "circle", "--dry-run")
    assert second.exit_code == 0
    assert (
        f"{source / 'badged'}: skipped: a previous batch's output folder (holds {LOCK_NAME})"
        in second.stdout.splitlines()
    )
    report = batch(source, source.parent / "circ", BadgeOptions(crop="circle"))
    assert sorted(Path(r.source).name for r in report.results if r.status == "ok") == [
        "a.jpg",
        "b.png",
    ]
    assert not (source.parent / "circ" / "badged").exists()


def test_dry_run_says_why_each_file_is_skipped(source: Path, tmp_path: Path) -> None:
    (source / "notes.txt").write_text("x")
    batch(source, tmp_path / "out")
    photo(30, 30).save(source / "new.jpg")
    result = run("batch", source, tmp_path / "out", "--dry-run")
    assert result.stdout.splitlines() == [
        f"{source / 'new.jpg'} -> {tmp_path / 'out' / 'new.jpg'}",
        f"{source / 'a.jpg'}: skipped: exists",
        f"{source / 'b.png'}: skipped: exists",
        f"{source / 'notes.txt'}: skipped: not an image",
        "1 to badge, 3 decided without reading",
    ]


# -- one run at a time in a destination (item 12) --------------------------------------------


def test_a_second_run_into_a_destination_in_use_refuses_to_start(
    source: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out"
    (destination / "sub").mkdir(parents=True)
    live_temp = destination / "sub" / f".a.jpg.x1y2z3{TEMP_SUFFIX}"
    live_temp.write_bytes(b"a live run's half-written photo")
    with destination_lock(destination):
        result = run("batch", source, destination, "--report", tmp_path / "r.json")
        with pytest.raises(OptionError, match=f"is in use by another run \\(pid {os.getpid()} "):
            batch(source, destination)
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr.startswith(
        f"Error: {destination} is in use by another run (pid {os.getpid()} on "
    )
    assert live_temp.exists() and not (tmp_path / "r.json").exists()
    assert sorted(p.name for p in destination.iterdir()) == [LOCK_NAME, "sub"]
    assert batch(source, destination).counts["ok"] == 2 and not live_temp.exists()


def test_a_run_into_a_parent_folder_leaves_a_running_batchs_folder_alone(
    source: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "P"
    (source / "X").mkdir()
    photo(60, 40).save(source / "X" / "c.jpg")
    live_temp = parent / "X" / "sub" / f".c.jpg.x1y2z3{TEMP_SUFFIX}"
    stale_temp = parent / f".a.jpg.a1b2c3{TEMP_SUFFIX}"
    with destination_lock(parent / "X"):
        live_temp.parent.mkdir()
        live_temp.write_bytes(b"a live run's half-written photo")
        stale_temp.write_bytes(b"what a killed run left")
        report = batch(source, parent)
        assert live_temp.exists() and not stale_temp.exists()
    assert {Path(r.source).name: (r.status, r.reason) for r in report.results} == {
        "a.jpg": ("ok", None),
        "b.png": ("ok", None),
        "c.jpg": ("skipped", f"in another batch's output folder (holds {LOCK_NAME})"),
    }
    assert sorted(p.name for p in (parent / "X").iterdir()) == [LOCK_NAME, "sub"]


def test_a_run_inside_a_running_batchs_destination_refuses_to_start(
    source: Path, tmp_path: Path
) -> None:
    outer = tmp_path / "P"
    with destination_lock(outer):
        result = run("batch", source, outer / "X")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert result.stderr.startswith(
        f"Error: {outer / 'X'} is inside {outer}, in use by another run (pid {os.getpid()} on "
    )
    assert not (outer / "X").exists()
    assert batch(source, outer / "X").counts["ok"] == 2  # the outer run is over


def test_a_batch_that_cannot_start_creates_nothing(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import blueheart.batching.executors

    monkeypatch.setattr(blueheart.batching.executors, "SCHEDULER_TIMEOUT_S", 1)
    result = run("batch", source, tmp_path / "new" / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and one_line(result.stderr)
    assert "Invalid value for '--scheduler'" in result.stderr
    assert not (tmp_path / "new").exists()


def test_a_killed_run_leaves_no_lock_behind(source: Path, tmp_path: Path) -> None:
    destination = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from blueheart.batching.lock import destination_lock\n"
         f"with destination_lock(Path({str(destination)!r})):\n"
         "    print('held', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout and holder.stdout.readline() == "held\n"
        lock = json.loads((destination / LOCK_NAME).read_text())
        assert lock["pid"] == holder.pid and lock["host"] == os.uname().nodename
        refused = run("batch", source, destination)
        assert refused.exit_code == 2 and f"pid {holder.pid}" in refused.stderr
    finally:
        holder.kill()
        holder.wait()
    assert run("batch", source, destination).exit_code == 0


_GATED_CLI = (
    "import sys\n"
    "from blueheart.cli.commands import main\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "sys.argv[0] = 'blueheart'\n"
    "main()\n"
)


def started_together(*commands: list[str | Path]) -> list[subprocess.CompletedProcess[str]]:
    """The CLI in one process per command, each let go the moment all are ready."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _GATED_CLI, *(str(a) for a in command)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    for process in processes:
        assert process.stdout and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin
        process.stdin.write("go\n")
        process.stdin.flush()
    done = []
    for process in processes:
        out, err = process.communicate(timeout=TIMEOUT_S)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


@pytest.mark.slow
@pytest.mark.parametrize("inner", ["", "sub"])
def test_two_runs_started_together_never_both_write_a_folder(inner: str, tmp_path: Path) -> None:
    """Into one destination, or one into a folder inside the other's: either the second is
    refused with one line, or it finds its files decided (done, or another run's)."""
    source = many_photos(tmp_path, 6, (64, 48))
    (source / "sub").mkdir()
    for index in range(6):
        photo(64, 48, seed=index).save(source / "sub" / f"in-{index}.jpg")
    for trial in range(12):
        destination = tmp_path / f"out{trial}"
        reports = (tmp_path / f"outer{trial}.json", tmp_path / f"inner{trial}.json")
        runs = started_together(
            ["batch", source, destination, "-j", "2", "--report", reports[0]],
            ["batch", source / inner, destination / inner, "-j", "2", "--report", reports[1]],
        )
        refused = [run for run in runs if run.returncode != 0]
        assert len(refused) <= 1, [run.stderr for run in runs]
        for run in refused:
            assert run.returncode == 2 and one_line(run.stderr), run.stderr
            assert run.stderr.startswith(f"Error: {destination / inner} is ")
            assert "in use by another run (" in run.stderr
        writers = [r.name for r in reports if r.exists() and _badged_any(r, source / "sub")]
        assert len(writers) <= 1, f"trial {trial}: both runs wrote {destination / 'sub'}"


def _badged_any(report: Path, folder: Path) -> bool:
    """Whether ``report`` says its run badged a file of ``folder``."""
    return any(
        result["status"] == "ok" and Path(result["source"]).parent == folder
        for result in json.loads(report.read_text())["results"]
    )


# -- names as the destination's file system sees them (issue 20) -----------------------------


def test_names_one_on_a_case_insensitive_destination_never_share_an_output(
    tmp_path: Path, case_insensitive: Path
) -> None:
    source = tmp_path / "photos"
    source.mkdir()
    photo(60, 40, seed=1).save(source / "IMG_0001.JPG")
    photo(40, 60, seed=2).save(source / "img_0001.jpg")
    destination = case_insensitive / "out"
    clash = (
        f"failed: {destination / 'img_0001.jpg'}: clashes with {destination / 'IMG_0001.JPG'}: "
        "one name on this file system\n"
    )
    for summary in ("1 ok, 0 skipped, 1 failed", "0 ok, 1 skipped, 1 failed"):
        result = run("batch", source, destination)
        assert result.exit_code == 1 and result.stderr == clash
        assert result.stdout.splitlines()[-1] == summary
        assert sorted(p.name for p in destination.iterdir()) == [LOCK_NAME, "IMG_0001.JPG"]
        assert Image.open(destination / "IMG_0001.JPG").size == (60, 40)
    assert not [p for p in case_insensitive.rglob(".*") if p.name != LOCK_NAME]
    badged = run("badge", source / "IMG_0001.JPG", source / "img_0001.jpg", "-o", destination)
    assert badged.exit_code == 2 and one_line(badged.stderr)
    assert badged.stderr == (
        f"Error: {source / 'IMG_0001.JPG'} and {source / 'img_0001.jpg'} would both be written "
        f"to {destination / 'img_0001-blueheart.jpg'}; badge them into different folders\n"
    )
    assert not (destination / "img_0001-blueheart.jpg").exists()


def test_a_link_into_the_destination_is_never_an_input(tmp_path: Path) -> None:
    source = tmp_path / "src"
    destination = source / "out"  # the destination may lie inside the source
    source.mkdir()
    photo(60, 40).save(source / "a.jpg")
    assert batch(source, destination).counts["ok"] == 1
    (source / "link.jpg").symlink_to(Path("out") / "a.jpg")
    outside = tmp_path / "out2"
    assert batch(source, outside).counts["ok"] == 2
    os.link(outside / "a.jpg", source / "hard.jpg")
    for folder, name in ((destination, "link.jpg"), (outside, "hard.jpg")):
        report = tmp_path / "r.json"
        result = run("batch", source, folder, "--report", report)
        assert result.exit_code == 0, result.stderr
        found = {Path(r["source"]).name: r for r in json.loads(report.read_text())["results"]}
        assert (found[name]["status"], found[name]["reason"], found[name]["output"]) == (
            "skipped",
            "a link to a file in the destination",
            None,
        )
        assert not (folder / name).exists()


_DEEP = "d" * 200


def _deep_folder(root: Path, depth: int) -> None:
    """``root/d.../d.../...``: ``depth`` folders of 200-byte names, a photo in the last; made
    through folder descriptors, since the whole path is over the system's limit."""
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(_DEEP, dir_fd=descriptor)
            inner = os.open(_DEEP, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        jpeg = io.BytesIO()
        photo(20, 20).save(jpeg, "JPEG")
        written = os.open("deep.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        os.write(written, jpeg.getvalue())
        os.close(written)
    finally:
        os.close(descriptor)


def _remove_deep_folder(root: Path, depth: int) -> None:
    """Remove what ``_deep_folder`` made, the same way: through folder descriptors."""
    descriptors = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for _ in range(depth):
            descriptors.append(os.open(_DEEP, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptors[-1]))
        os.unlink("deep.jpg", dir_fd=descriptors[-1])
        for parent in reversed(descriptors[:-1]):
            os.rmdir(_DEEP, dir_fd=parent)
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


def test_a_path_over_path_max_fails_that_folder_and_the_batch_goes_on(
    source: Path, tmp_path: Path
) -> None:
    _deep_folder(source, 22)  # 22 x 201 bytes: over PATH_MAX (4096) below the 20th
    report = tmp_path / "r.json"
    try:
        result = run_process("batch", source, tmp_path / "out", "--report", report, "-j", "1")
        assert result.returncode == 1 and b"Traceback" not in result.stderr
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"failed: {source}/ddd")
        assert lines[0].endswith(": cannot read (File name too long)")
        assert result.stdout.decode().splitlines()[-1] == "2 ok, 0 skipped, 1 failed"
        assert json.loads(report.read_text())["counts"] == {"ok": 2, "skipped": 0, "failed": 1}
    finally:
        _remove_deep_folder(source, 22)


# -- every name the file system accepts (item 17) --------------------------------------------


def test_names_up_to_the_file_system_limit(source: Path, tmp_path: Path) -> None:
    longest = "é" * 125 + "x.jpg"  # 255 bytes in UTF-8
    assert len(os.fsencode(longest)) == 255
    photo(50, 40).save(source / longest)
    badge_file(source / longest, tmp_path / "single" / longest)
    assert Image.open(tmp_path / "single" / longest).size == (50, 40)
    report = batch(source, tmp_path / "out")
    assert report.counts == {"ok": 3, "skipped": 0, "failed": 0}
    assert Image.open(tmp_path / "out" / longest).size == (50, 40)


def test_an_output_name_over_the_limit_fails_that_file_only(source: Path, tmp_path: Path) -> None:
    name = "x" * 251 + ".jpg"  # as .webp the output name is 256 bytes
    photo(50, 40).save(source / name)
    report = tmp_path / "r.json"
    result = run("batch", source, tmp_path / "out", "--format", "webp", "--report", report)
    assert result.exit_code == 1, result.stderr
    failed = [r for r in json.loads(report.read_text())["results"] if r["status"] == "failed"]
    assert [r["error"] for r in failed] == [
        f"{tmp_path / 'out' / ('x' * 251 + '.webp')}: cannot write (File name too long)"
    ]
    badged = run("badge", source / name)
    assert badged.exit_code == 1 and one_line(badged.stderr)
    assert badged.stderr.endswith("cannot write (File name too long)\n")


def test_a_latin_1_name_is_reported_and_printed(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    raw = os.fsencode(source) + b"/caf\xe9.jpg"
    photo(40, 40).save(os.fsdecode(raw))
    Path(os.fsdecode(os.fsencode(source) + b"/cass\xe9.jpg")).write_bytes(b"not a photo")
    report = tmp_path / "report.json"
    utf8 = {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    planned = run_process("batch", source, tmp_path / "out", "--dry-run", **utf8)
    assert planned.returncode == 0, planned.stderr
    assert b"/caf\xe9.jpg -> " in planned.stdout
    done = run_process("batch", source, tmp_path / "out", "--report", report, **utf8)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(b"failed: ") and b"/cass\xe9.jpg: " in done.stderr
    assert b"Traceback" not in done.stderr
    text = report.read_text(encoding="utf-8")
    assert "\\udce9" in text
    sources = [os.fsencode(r["source"]) for r in json.loads(text)["results"]]
    assert raw in sources
    assert Image.open(os.fsdecode(os.fsencode(tmp_path / "out") + b"/caf\xe9.jpg")).size == (40, 40)


# -- folders that cannot be read (item 18) ---------------------------------------------------


def test_an_unreadable_folder_is_a_failure_with_its_reason(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    locked = source / "locked"
    locked.mkdir()
    photo(30, 30).save(locked / "c.jpg")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if os.fspath(path) == str(locked):  # type: ignore[call-overload]
            raise PermissionError(errno.EACCES, "Permission denied", str(locked))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", scandir)
    report = tmp_path / "r.json"
    result = run("batch", source, tmp_path / "out", "--report", report)
    assert result.exit_code == 1
    assert result.stderr == f"failed: {locked}: cannot read the folder (Permission denied)\n"
    assert result.stdout.splitlines()[-1] == "2 ok, 0 skipped, 1 failed"
    failed = json.loads(report.read_text())["results"][2]
    assert (failed["source"], failed["status"]) == (str(locked), "failed")


def test_an_unreadable_folder_as_another_user(tmp_path: Path) -> None:
    if not IS_ROOT or not Path("/usr/bin/setpriv").exists():
        pytest.skip("needs root and setpriv to run as nobody")
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="blueheart-perm-"))
    try:
        shared.chmod(0o755)
        source, destination = shared / "src", shared / "out"
        (source / "locked").mkdir(parents=True)
        photo(30, 30).save(source / "a.jpg")
        photo(30, 30).save(source / "locked" / "c.jpg")
        (source / "locked").chmod(0o000)
        destination.mkdir(mode=0o777)
        destination.chmod(0o777)
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        importable = subprocess.run(
            [*as_nobody, sys.executable, "-c", "import blueheart.cli.commands"]
        )
        if importable.returncode != 0:
            pytest.skip("nobody cannot read this Python environment (a private temp folder)")
        command = [*as_nobody, sys.executable, "-m", "blueheart", "batch", source, destination]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        assert done.returncode == 1, done.stderr
        assert done.stderr == (
            f"failed: {source / 'locked'}: cannot read the folder (Permission denied)\n"
        )
        assert done.stdout.splitlines()[-1] == "1 ok, 0 skipped, 1 failed"
    finally:
        (shared / "src" / "locked").chmod(0o755)
        subprocess.run(["rm", "-rf", str(shared)], check=True)


# -- a failing disk: reads of an input fail with EIO ----------------------------------------------

EIO_POINTS = [0, 100, 3000]
"""Where reads start failing: the first read, inside the header, inside the pixel data."""


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    """A folder of two JPEGs, ``bad.jpg`` and ``good.jpg`` (reads of bad.jpg are made to fail)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("bad.jpg", "good.jpg"):
        photo(400, 300).save(folder / name, quality=92)
    return folder


@pytest.mark.parametrize("fail_at", EIO_POINTS)
def test_badge_file_names_an_input_that_cannot_be_read(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    bad = failing / "bad.jpg"
    fail_reads(monkeypatch, bad, fail_at)
    with pytest.raises(UnreadableImageError) as raised:
        badge_file(bad, tmp_path / "out.jpg")
    assert str(raised.value) == f"{bad}: cannot read (Input/output error)"
    assert not (tmp_path / "out.jpg").exists()


@pytest.mark.parametrize("fail_at", EIO_POINTS)
def test_badge_says_which_input_cannot_be_read_and_badges_the_others(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    bad, good = failing / "bad.jpg", failing / "good.jpg"
    fail_reads(monkeypatch, bad, fail_at)
    result = run("badge", bad, good, "-o", tmp_path / "out/")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}: cannot read (Input/output error)\n"
    assert (tmp_path / "out" / "good-blueheart.jpg").exists()
    assert not (tmp_path / "out" / "bad-blueheart.jpg").exists()


@pytest.mark.parametrize("fail_at", EIO_POINTS)
def test_sheet_crosses_out_an_input_that_cannot_be_read(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    bad = failing / "bad.jpg"
    fail_reads(monkeypatch, bad, fail_at)
    result = run("sheet", failing, "-o", tmp_path / "check.jpg")
    assert result.exit_code == 1
    assert result.stderr == f"unreadable: {bad}: cannot read (Input/output error)\n"
    assert (tmp_path / "check-001.jpg").exists()


@pytest.mark.parametrize("fail_at", EIO_POINTS)
def test_batch_fails_an_input_that_cannot_be_read_naming_it(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    bad = failing / "bad.jpg"
    fail_reads(monkeypatch, bad, fail_at)
    report = tmp_path / "report.json"
    result = run("batch", failing, tmp_path / "out", "-j", "1", "--report", report)
    assert result.exit_code == 1
    assert result.stderr == f"failed: {bad}: cannot read (Input/output error)\n"
    failed = [entry for entry in json.loads(report.read_text())["results"] if entry["error"]]
    assert [entry["error"] for entry in failed] == [f"{bad}: cannot read (Input/output error)"]
    assert (tmp_path / "out" / "good.jpg").exists()


def test_an_unforeseen_error_of_one_file_names_it_in_the_batch(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blueheart.io import badging

    badge = badging.badge_file

    def badge_or_fail(source: str | Path, *args: object, **kwargs: object) -> None:
        if Path(source).name == "bad.jpg":
            raise OSError(5, "Input/output error")  # a read outside the image's own reader
        badge(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(badging, "badge_file", badge_or_fail)
    report = batch(failing, tmp_path / "out", workers=1)
    (failed,) = [result for result in report.results if result.status == "failed"]
    assert (
        failed.error == f"{failing / 'bad.jpg'}: unexpected OSError: [Errno 5] Input/output error"
    )
    assert report.counts["ok"] == 1


# -- power cuts and full disks (issue 20, items 1 and 11) ------------------------------------


def commit_the_journal(disk: Path) -> None:
    """Commit ext4's journal now, as it does every few seconds anyway, without writing back
    the data of other files: syncing one small file commits every name and size changed."""
    descriptor = os.open(disk / "another-file", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, b"x")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def test_a_power_cut_after_a_batch_keeps_every_output_and_the_report(tmp_path: Path) -> None:
    """The disk as a power cut leaves it (the image copied without a sync, once the journal
    has committed the names) holds every output the batch reported, whole, and its report;
    a re-run skips them all."""
    from helpers import decodes_fully, many_photos

    source = many_photos(tmp_path, 20, (200, 150))
    image = ext4_image(tmp_path / "disk.img", 64)
    with image_mounted(image, tmp_path / "disk") as disk:
        arguments = ["batch", source, disk / "out" / "2026", "-j", "2"]
        finished = run_process(*arguments, "--report", disk / "report.json")
        assert finished.returncode == 0, finished.stderr
        commit_the_journal(disk)
        after_the_cut = tmp_path / "after.img"
        after_the_cut.write_bytes(image.read_bytes())
    with image_mounted(after_the_cut, tmp_path / "after") as disk:
        outputs = sorted((disk / "out" / "2026").glob("*.jpg"))
        assert len(outputs) == 20 and all(decodes_fully(output) for output in outputs)
        assert json.loads((disk / "report.json").read_text())["counts"]["ok"] == 20
        rerun = run_process(*arguments[:2], disk / "out" / "2026", "--report", disk / "report.json")
        assert rerun.returncode == 0 and rerun.stdout.decode().endswith(
            "0 ok, 20 skipped, 0 failed\n"
        )


@pytest.mark.parametrize("destination", ["out", "new/out"])
def test_a_full_disk_while_taking_the_lock_is_one_line_and_leaves_nothing(
    source: Path, tmp_path: Path, destination: str
) -> None:
    image = ext4_image(tmp_path / "disk.img", 16)
    with image_mounted(image, tmp_path / "disk") as disk:
        (disk / "out").mkdir()
        fill_up(disk)
        before = sorted(disk.rglob("*"))
        refused = run_process("batch", source, disk / destination)
        after = sorted(disk.rglob("*"))
    lock = disk / destination / LOCK_NAME
    assert refused.returncode == 2 and one_line(refused.stderr.decode())
    assert refused.stderr.decode() == f"Error: cannot lock {lock} (No space left on device)\n"
    assert after == before


def test_a_lock_that_cannot_be_written_leaves_nothing(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same full disk, injected: the note the run writes into its lock fails."""
    import errno

    def full_disk(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full_disk)
    refused = run("batch", source, tmp_path / "new" / "out", "-j", "1")
    assert refused.exit_code == 2 and one_line(refused.stderr)
    lock = tmp_path / "new" / "out" / LOCK_NAME
    assert refused.stderr == f"Error: cannot lock {lock} (No space left on device)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


# -- the world changing during a run --------------------------------------------------------


@pytest.mark.parametrize("replacement", ["link out of SRC", "another file"])
def test_an_input_replaced_after_the_walk_is_not_read(tmp_path: Path, replacement: str) -> None:
    """A file swapped for a link to a file outside SRC (or for another file) between the walk
    and its turn is failed, not read: the link would carry an outside file into DEST."""
    from blueheart import Plan

    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.jpg", "b.jpg"):
        photo(60, 40).save(source / name)
    secret = tmp_path / "secret.png"
    Image.new("RGB", (60, 40), (255, 0, 0)).save(secret)

    def swap(plan: Plan) -> None:
        fresh = tmp_path / "fresh.jpg"  # made first: it cannot take the old file's inode
        if replacement == "link out of SRC":
            fresh.symlink_to(secret)
        else:
            photo(60, 40, seed=9).save(fresh)
        fresh.replace(source / "b.jpg")

    report = batch(source, tmp_path / "out", planned=swap)
    by_name = {Path(result.source).name: result for result in report.results}
    assert by_name["a.jpg"].status == "ok"
    assert by_name["b.jpg"].status == "failed"
    assert (
        by_name["b.jpg"].error
        == f"{source / 'b.jpg'}: replaced since the folder was read (not read)"
    )
    assert not (tmp_path / "out" / "b.jpg").exists()


def test_badge_file_refuses_a_source_that_is_not_the_file_expected(tmp_path: Path) -> None:
    source = tmp_path / "a.jpg"
    photo(60, 40).save(source)
    other = tmp_path / "b.jpg"
    photo(60, 40).save(other)
    found = other.stat()
    with pytest.raises(UnreadableImageError, match="replaced since the folder was read"):
        badge_file(source, tmp_path / "out.jpg", source_identity=(found.st_dev, found.st_ino))
    assert not (tmp_path / "out.jpg").exists()
    mine = source.stat()
    badge_file(source, tmp_path / "out.jpg", source_identity=(mine.st_dev, mine.st_ino))
    assert (tmp_path / "out.jpg").exists()


def test_a_folder_another_run_takes_after_the_plan_is_left_to_it(tmp_path: Path) -> None:
    """Another batch started into a folder of DEST once this run planned (through a bind mount
    of it, which no path comparison sees) owns it: this run writes nothing there."""
    from blueheart import Plan

    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    photo(60, 40).save(source / "a.jpg")
    photo(60, 40).save(source / "sub" / "b.jpg")
    destination = tmp_path / "out"

    def other_run_starts(plan: Plan) -> None:
        (destination / "sub").mkdir(parents=True)
        (destination / "sub" / LOCK_NAME).write_text("another run\n")

    report = batch(source, destination, planned=other_run_starts)
    by_name = {Path(result.source).name: result for result in report.results}
    assert by_name["a.jpg"].status == "ok"
    assert (by_name["b.jpg"].status, by_name["b.jpg"].reason) == (
        "skipped",
        f"in another batch's output folder (holds {LOCK_NAME})",
    )
    assert sorted(p.name for p in (destination / "sub").iterdir()) == [LOCK_NAME]


def test_a_bind_mount_of_a_folder_of_a_running_batchs_destination_is_refused(
    tmp_path: Path,
) -> None:
    """A folder inside a DEST a running batch holds, reached through a bind mount (no path
    comparison sees it), is refused like the folder itself."""
    destination = tmp_path / "outA"
    (destination / "k1").mkdir(parents=True)
    source = tmp_path / "src"
    source.mkdir()
    photo(40, 30).save(source / "a.jpg")
    with (
        destination_lock(destination),
        bind_mounted(destination / "k1", tmp_path / "bm"),
        pytest.raises(OptionError, match=r"is inside .*outA, in use by another run"),
    ):
        batch(source, tmp_path / "bm")
    assert sorted(p.name for p in (destination / "k1").iterdir()) == []
