"""The fault-injection harness (``pytest -m faults``): every command and library call with its
Nth file-system operation failing, killed (and the power cut) after its Nth change, and on
file systems that are case-insensitive, read-only, full, or the source itself.

The default run faults a few points of each command; ``-m slow`` sweeps every point. The
session's summary lists how many fault points each command has and how many were visited.
See ``faulting.py`` for the checks made after each run.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from faulting import (
    CLI,
    ERRNOS,
    LIBRARY,
    Command,
    ForkServer,
    Run,
    Workspace,
    baseline,
    crash_sweep,
    every_point,
    point_of,
    power_cut,
    some_points,
    sweep,
)
from helpers import animation, decodes_fully, photo
from mounts import bind_mounted, exfat_folder, ext4_folder, fill_up

pytestmark = pytest.mark.faults

INPUTS = ("src/a.jpg", "src/b.png", "src/c.gif")


def _encoded(image: object, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)  # type: ignore[attr-defined]
    return buffer.getvalue()


def photos() -> dict[str, bytes]:
    """Small real images of three formats, one in a subfolder."""
    frames = [frame.convert("P") for frame in animation(2)]
    rgba = photo(40, 32, seed=2).convert("RGBA")
    rgba.putalpha(200)
    return {
        "src/a.jpg": _encoded(photo(64, 48, seed=1), "JPEG", quality=85),
        "src/b.png": _encoded(rgba, "PNG"),
        "src/c.gif": _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], loop=0),
        "src/sub/d.jpg": _encoded(photo(48, 64, seed=3), "JPEG"),
        "other/A.jpg": _encoded(photo(48, 40, seed=4), "JPEG"),  # outside SRC: badge only
    }


def commands() -> dict[str, Command]:
    """Every command and library call under test, with the arguments of its re-run."""
    badge_one = ("badge", "src/a.jpg", "-o", "dest/a.jpg")
    badge_many = ("badge", *INPUTS, "-o", "dest/")
    sheet = ("sheet", "src", "-o", "dest/sheet.jpg")
    # Outputs that differ by case alone: the one run that probes how DEST compares names.
    badge_clash = ("badge", "src/a.jpg", "other/A.jpg", "-o", "dest/")
    return {
        "badge one": Command(
            "badge one", (*CLI, *badge_one), (*CLI, *badge_one, "--overwrite"), INPUTS
        ),
        "badge several": Command(
            "badge several", (*CLI, *badge_many), (*CLI, *badge_many, "--overwrite"), INPUTS
        ),
        "badge clash": Command(
            "badge clash",
            (*CLI, *badge_clash),
            (*CLI, *badge_clash, "--overwrite"),
            ("src/a.jpg", "other/A.jpg"),
        ),
        **{
            f"batch -j {jobs}": Command(
                f"batch -j {jobs}",
                (*CLI, "batch", "src", "dest", "-j", str(jobs), "--report", "report.json"),
                (*CLI, "batch", "src", "dest", "-j", str(jobs), "--report", "report.json"),
                (*INPUTS, "src/sub/d.jpg"),
                report="report.json",
                cleans_up=True,
                parallel=jobs > 1,
            )
            for jobs in (1, 2)
        },
        "sheet": Command("sheet", (*CLI, *sheet), (*CLI, *sheet, "--overwrite")),
        "library badge_file": Command(
            "library badge_file",
            (*LIBRARY, "badge_file", "src/a.jpg", "dest/a.jpg"),
            (*LIBRARY, "badge_file", "src/a.jpg", "dest/a.jpg", "--overwrite"),
            INPUTS,
        ),
        "library batch": Command(
            "library batch",
            (*LIBRARY, "batch", "src", "dest", "2", "report.json"),
            (*LIBRARY, "batch", "src", "dest", "2", "report.json"),
            (*INPUTS, "src/sub/d.jpg"),
            report="report.json",
            cleans_up=True,
            parallel=True,
        ),
    }


CLI_ACTIONS = (*ERRNOS, "EINTR")
"""Errors a command meets; a library call is not sent Ctrl-C (that is its front end's)."""
SAMPLED = 3
"""Fault points of each command in the default run."""


def actions_for(name: str) -> tuple[str, ...]:
    return ERRNOS if name.startswith("library") else CLI_ACTIONS


@pytest.fixture(scope="module")
def fork_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    server = ForkServer(tmp_path_factory.mktemp("fork-server"))
    yield server
    server.close()


@pytest.fixture
def workspace(tmp_path: Path, fork_server: ForkServer) -> Workspace:
    return Workspace(tmp_path, photos(), fork_server)


def _fail_with(problems: list[str]) -> None:
    """Fail listing every problem (the first 40), so one sweep reports all it found."""
    if problems:
        pytest.fail(f"{len(problems)} problems:\n" + "\n".join(problems[:40]), pytrace=False)


# -- I/O errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(commands()))
def test_io_errors_at_sampled_points(workspace: Workspace, name: str) -> None:
    _fail_with(sweep(workspace, commands()[name], some_points(SAMPLED, actions_for(name))))


STRIDE = {"batch -j 2": 4, "library batch": 4}
"""Commands whose slow sweep faults every Nth operation only (they repeat batch -j 1's)."""


@pytest.mark.slow
@pytest.mark.parametrize("name", list(commands()))
def test_io_errors_at_every_point(workspace: Workspace, name: str) -> None:
    points = every_point(actions_for(name), STRIDE.get(name, 1))
    _fail_with(sweep(workspace, commands()[name], points))


def _operations(run: Run) -> list[tuple[object, object]]:
    """The operations of ``run`` in order, temporary names without their random part."""
    return [(entry["op"], entry["key"]) for entry in run.log]


def test_the_fork_server_runs_a_command_as_a_process_does(workspace: Workspace) -> None:
    """The sweeps run commands as forks of a server (fast); a real process does the same."""
    command = commands()["badge several"]
    workspace.reset()
    forked = workspace.run(command.argv)
    workspace.reset()
    process = workspace.run_as_process(command.argv)
    assert (forked.returncode, forked.stdout, forked.stderr) == (0, process.stdout, "")
    assert process.returncode == 0
    assert _operations(forked) == _operations(process)
    assert len(forked.log) > 50


def test_badge_bytes_touches_no_file(workspace: Workspace, tmp_path: Path) -> None:
    """``badge_bytes`` is bytes in, bytes out: no file-system operation to fault."""
    command = Command(
        "library badge_bytes",
        (*LIBRARY, "badge_bytes", str(tmp_path / "pristine/src/a.jpg"), str(tmp_path / "out.jpg")),
        (),
    )
    outputs, points, _ = baseline(workspace, command)
    assert (outputs, points) == ([], [(1, None)])  # one past the end: no operation at all
    assert decodes_fully(tmp_path / "out.jpg")


def test_sheet_names_a_page_it_cannot_check(workspace: Workspace) -> None:
    """Whether a page exists is asked before drawing; an error there was a traceback. (The
    layer logs ``lstat`` as ``stat``: the page's first is whether it is an input, by device
    and inode, which cannot tell; its second is the check.)"""
    command = commands()["sheet"]
    at = point_of(workspace, command, "stat", "dest/sheet-001.jpg", nth=2)
    run = workspace.run(command.argv, at)
    assert (run.returncode, run.stderr) == (
        1,
        "Error: dest/sheet-001.jpg: cannot write (Input/output error)\n",
    )


# -- crash points and power cuts -------------------------------------------------------------


def _some_changes(count: int) -> object:
    def points(changing: int) -> list[int]:
        return sorted({max(1, changing * (i + 1) // (count + 1)) for i in range(count)})

    return points


@pytest.mark.parametrize("name", ["badge several", "batch -j 1", "batch -j 2", "sheet"])
def test_crash_at_sampled_points(workspace: Workspace, name: str) -> None:
    _fail_with(crash_sweep(workspace, commands()[name], _some_changes(2)))  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["badge one", "badge several", "batch -j 1", "batch -j 2", "sheet", "library badge_file",
     "library batch"],
)  # fmt: skip
def test_crash_at_every_change(workspace: Workspace, name: str) -> None:
    _fail_with(crash_sweep(workspace, commands()[name], lambda changing: range(1, changing + 2)))


def test_the_power_cut_model_takes_a_link_logged_but_not_made_from_the_old_name(
    tmp_path: Path,
) -> None:
    # A worker killed between logging its link and making it: the model had the output's
    # name but read its data from where it was not, and made it empty (a false alarm in CI).
    root = tmp_path / "root"
    root.mkdir()
    (root / ".d.jpg.tmp").write_bytes(b"the photo")
    log: list[dict[str, object]] = [
        {"m": 1, "op": "create", "path": ".d.jpg.tmp"},
        {"m": 2, "op": "write", "path": ".d.jpg.tmp"},
        {"m": 3, "op": "fsync", "path": ".d.jpg.tmp"},
        {"m": 4, "op": "link", "path": ".d.jpg.tmp", "to": "d.jpg"},
    ]
    power_cut(root, {".": "DIR"}, log, keep_names=True)
    assert (root / "d.jpg").read_bytes() == b"the photo"


# -- file systems ----------------------------------------------------------------------------


def _batch(source: Path, destination: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blueheart", "batch", str(source), str(destination), "-j", "1", *extra],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _write_photos(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def test_case_insensitive_destination_keeps_both_photos(tmp_path: Path) -> None:
    """exFAT folds IMG_0001.JPG and img_0001.jpg into one name: both photos must survive."""
    with exfat_folder(tmp_path) as drive:
        upper, lower = photo(64, 48, seed=1), photo(64, 48, seed=2)
        _write_photos(
            tmp_path / "src",
            {"IMG_0001.JPG": _encoded(upper, "JPEG"), "img_0001.jpg": _encoded(lower, "JPEG")},
        )
        done = _batch(tmp_path / "src", drive / "out", "--report", str(tmp_path / "report.json"))
        results = json.loads((tmp_path / "report.json").read_text())["results"]
        outputs = {result["output"] for result in results if result["status"] == "ok"}
        written = [path for path in (drive / "out").iterdir() if not path.name.startswith(".")]
        # Either two distinct outputs, or the clash named as a failure: never two "ok" for one file.
        assert len(outputs) == len(written), (done.stdout, done.stderr, results)
        assert "Traceback" not in done.stderr


def test_read_only_destination_fails_each_file_in_one_line(tmp_path: Path) -> None:
    _write_photos(tmp_path, photos())
    with ext4_folder(tmp_path, read_only=True) as drive:
        done = _batch(tmp_path / "src", drive / "out")
        assert done.returncode in (1, 2), done.stderr
        assert "Traceback" not in done.stderr
        assert all(line.startswith(("Error: ", "failed: ")) for line in done.stderr.splitlines()), (
            done.stderr
        )


def test_full_destination_fails_cleanly_and_leaves_no_partial_file(tmp_path: Path) -> None:
    """Every photo fails with one line (ENOSPC), and nothing half-written is left."""
    _write_photos(tmp_path, photos())
    with ext4_folder(tmp_path, megabytes=8) as drive:
        _batch(tmp_path / "src/sub", drive / "out")  # the lock made while there was room
        fill_up(drive)
        done = _batch(tmp_path / "src", drive / "out", "--report", str(tmp_path / "report.json"))
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1, done.stderr
        assert all(line.startswith(("Error: ", "failed: ")) for line in done.stderr.splitlines()), (
            done.stderr
        )
        left = [
            path.name
            for path in (drive / "out").rglob("*")
            if path.is_file() and path.name != ".blueheart-batch"
        ]
        assert all(
            decodes_fully(drive / "out" / name) for name in left if not name.startswith(".")
        ), left
        assert not [name for name in left if name.endswith(".blueheart-tmp")], left


def test_a_bind_mount_of_the_source_as_destination_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _write_photos(tmp_path, photos())
    before = {path: path.read_bytes() for path in source.rglob("*") if path.is_file()}
    with bind_mounted(source, tmp_path / "view"):
        done = _batch(source, tmp_path / "view", "--overwrite")
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert {path: path.read_bytes() for path in source.rglob("*") if path.is_file()} == before
