"""File systems made for a test: bind mounts, ext4 images (read-only, or full), an exFAT
image through FUSE (case-insensitive). Each is a context manager that skips the test with
the reason where the machine cannot mount (not root, no loop devices, no FUSE, no tools),
and always unmounts and frees its loop device."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

IS_ROOT = os.geteuid() == 0
TOOL_TIMEOUT_S = 60


def _need(*tools: str) -> None:
    """Skip unless root, with loop devices, and ``tools`` installed."""
    if not IS_ROOT:
        pytest.skip("mounting needs root")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True,
        timeout=TOOL_TIMEOUT_S, check=False,
    )  # fmt: skip


@contextlib.contextmanager
def bind_mounted(folder: Path, mount_point: Path) -> Iterator[None]:
    """``mount --bind folder mount_point`` for the block; skips the test without the right."""
    mount_point.mkdir(exist_ok=True)
    if not IS_ROOT:
        pytest.skip("bind mounts need root")
    if _run("mount", "--bind", folder, mount_point).returncode != 0:
        pytest.skip("mount --bind is not allowed here")
    try:
        yield
    finally:
        _run("umount", "-l", mount_point)


@contextlib.contextmanager
def loop_device(image: Path) -> Iterator[str]:
    """A loop device over ``image``, detached after the block."""
    if not Path("/dev/loop-control").exists():
        pytest.skip("no loop devices (/dev/loop-control)")
    attached = _run("losetup", "-f", "--show", image)
    if attached.returncode != 0:
        pytest.skip(f"losetup failed: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    try:
        yield device
    finally:
        _run("losetup", "-d", device)


@contextlib.contextmanager
def mounted(command: list[str | Path], mount_point: Path) -> Iterator[Path]:
    """Run the mount ``command`` for ``mount_point``; unmounted (lazily if busy) after."""
    mount_point.mkdir(exist_ok=True)
    done = _run(*command)
    if done.returncode != 0:
        pytest.skip(f"cannot mount: {done.stderr.strip() or done.stdout.strip()}")
    try:
        yield mount_point
    finally:
        if _run("umount", mount_point).returncode != 0:
            _run("umount", "-l", mount_point)


def _image(path: Path, megabytes: int) -> Path:
    with path.open("wb") as image:
        image.truncate(megabytes << 20)
    return path


def ext4_image(path: Path, megabytes: int) -> Path:
    """An empty ext4 file system in the file ``path``, with no blocks kept for root (tests
    run as root, and a full disk must be full for them too)."""
    _need("mkfs.ext4", "losetup", "mount")
    image = _image(path, megabytes)
    made = _run("mkfs.ext4", "-q", "-F", "-m", "0", image)
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
    return image


@contextlib.contextmanager
def image_mounted(image: Path, mount_point: Path) -> Iterator[Path]:
    """The file system in the file ``image`` mounted at ``mount_point`` for the block."""
    with (
        loop_device(image) as device,
        mounted(["mount", device, mount_point], mount_point) as root,
    ):
        yield root


@contextlib.contextmanager
def ext4_folder(base: Path, *, megabytes: int = 16, read_only: bool = False,
                fill: Path | None = None) -> Iterator[Path]:  # fmt: skip
    """A fresh ext4 file system mounted at ``base/ext4``; ``fill``: a folder copied in first;
    ``read_only``: then remounted read-only."""
    image = ext4_image(base / "ext4.img", megabytes)
    with image_mounted(image, base / "ext4") as root:
        if fill is not None:
            shutil.copytree(fill, root, dirs_exist_ok=True)
        if read_only and _run("mount", "-o", "remount,ro", root).returncode != 0:
            pytest.skip("cannot remount read-only")
        yield root


def fill_up(folder: Path) -> None:
    """Take every free block (and then every free inode) of ``folder``'s file system."""
    with (folder / "filler").open("wb") as filler:
        block = b"\0" * (1 << 20)
        with contextlib.suppress(OSError):
            while True:
                filler.write(block)
                filler.flush()
        with contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
    with contextlib.suppress(OSError):
        for index in range(1 << 20):
            (folder / f"inode-{index}").touch()


@contextlib.contextmanager
def exfat_folder(base: Path, *, megabytes: int = 64) -> Iterator[Path]:
    """An exFAT file system (case-insensitive, as USB drives are) mounted through FUSE at
    ``base/exfat``."""
    _need("mkfs.exfat", "mount.exfat-fuse", "losetup")
    if not Path("/dev/fuse").exists():
        pytest.skip("no FUSE (/dev/fuse)")
    image = _image(base / "exfat.img", megabytes)
    made = _run("mkfs.exfat", image)
    if made.returncode != 0:
        pytest.skip(f"mkfs.exfat failed: {made.stderr.strip()}")
    with (
        loop_device(image) as device,
        mounted(["mount.exfat-fuse", device, base / "exfat"], base / "exfat") as root,
    ):
        yield root
