"""Atomic and durable writes (blueheart.io.atomic), through the file flow: outputs written whole
or not at all, synced in order, never replacing without overwrite, with a new file's permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import camera_exif, photo, reopen, save

from blueheart import OutputExistsError, badge_file


def test_existing_outputs_are_never_replaced_without_overwrite(tmp_path: Path) -> None:
    source = save(photo(80, 80), tmp_path / "in.png", "PNG")
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError):
        badge_file(source, target)
    assert target.read_bytes() == b"precious"
    badge_file(source, target, overwrite=True)
    assert reopen(target).size == (80, 80)


def test_input_is_never_written_and_no_temp_file_remains(tmp_path: Path) -> None:
    source = save(photo(80, 80), tmp_path / "in.jpg", "JPEG", exif=camera_exif(6).tobytes())
    before = source.read_bytes()
    badge_file(source, tmp_path / "out.jpg")
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "out.jpg"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from blueheart import OutputWriteError

    source = save(photo(80, 80), tmp_path / "in.png", "PNG")
    real_link = os.link

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", full_disk)
    monkeypatch.setattr(Path, "replace", lambda self, target: full_disk())
    with pytest.raises(OutputWriteError, match="No space left on device"):
        badge_file(source, tmp_path / "out" / "o.png")
    monkeypatch.setattr(os, "link", real_link)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_file_is_synced_before_its_name_and_its_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a power cut keeps is what was synced: every output (and the report) has its bytes
    synced before it takes its name, and the folder holding a new name (a file's, or a folder
    made for it) is synced after, for badge_file and a batch alike."""
    import os

    from blueheart import batch

    source = tmp_path / "src"
    source.mkdir()
    save(photo(80, 60), source / "in.jpg", "JPEG")
    # (what happened, the file synced or the folder holding the new name, the file named)
    events: list[tuple[str, tuple[int, int], tuple[int, int] | None]] = []

    def identity(path: Path) -> tuple[int, int]:
        found = path.stat()
        return found.st_dev, found.st_ino

    def naming(kind: str, real: Any, new_name: int) -> Any:
        def call(*args: Any, **kwargs: Any) -> object:
            answer = real(*args, **kwargs)
            named = Path(os.fsdecode(args[new_name]))
            events.append((kind, identity(named.parent), identity(named)))
            return answer

        return call

    def fsync(descriptor: int, real: Any = os.fsync) -> None:
        found = os.fstat(descriptor)
        events.append(("sync", (found.st_dev, found.st_ino), None))
        real(descriptor)

    for name in ("link", "replace", "rename"):
        monkeypatch.setattr(os, name, naming("file", getattr(os, name), 1))
    monkeypatch.setattr(os, "mkdir", naming("folder", os.mkdir, 0))
    monkeypatch.setattr(os, "fsync", fsync)
    badge_file(source / "in.jpg", tmp_path / "new" / "deeper" / "out.png")
    batch(source, tmp_path / "out" / "a", report=tmp_path / "report.json")
    # Two outputs and the report; new, deeper, out and a.
    assert [kind for kind, _, _ in events if kind != "sync"].count("file") == 3
    assert [kind for kind, _, _ in events if kind != "sync"].count("folder") == 4
    for index, (kind, folder, named) in enumerate(events):
        synced_before = {held for what, held, _ in events[:index] if what == "sync"}
        synced_after = {held for what, held, _ in events[index + 1 :] if what == "sync"}
        if kind == "file":
            assert named in synced_before, f"event {index}: the bytes were not synced first"
        if kind != "sync":
            assert folder in synced_after, f"event {index}: the folder was not synced after"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_an_output_gets_the_permissions_of_a_new_file_and_the_umask_is_never_touched(
    tmp_path: Path, umask: int
) -> None:
    """The output's mode is what any new file gets under the process's umask; blueheart never
    changes the umask to read it (another thread creating a file meanwhile would get 0o666)."""
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda mask: calls.append(mask) or real(mask)\n"
        "from blueheart.io.atomic import write_atomic\n"
        "from pathlib import Path\n"
        "write_atomic(Path(sys.argv[1]), b'data', overwrite=False)\n"
        "assert not calls, calls\n"
    )
    target = tmp_path / "out.bin"
    subprocess.run([sys.executable, "-c", script, str(target)], check=True)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
