"""Browser tests of the campaign page: Chromium from the system, ``blueheart serve`` on 127.0.0.1.

Playwright cannot download its browsers here, so the tests launch Debian's
``chromium-headless-shell`` (or ``$BLUEHEART_CHROMIUM``). Without it they skip with a line
saying how to install it; with ``CI`` set, a missing browser fails them instead: CI must run
them. One server per test module, one browser per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import Served, free_port

CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "chromium-headless-shell",
    "chromium",
)
INSTALL_HINT = (
    "install a Chromium the tests can launch: sudo apt-get install chromium-headless-shell "
    "(Debian, Ubuntu), or set BLUEHEART_CHROMIUM to a Chromium or Chrome executable"
)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPOSITORY = Path(__file__).resolve().parents[2]
SERVER_START_S = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API keeps an event loop running in the main
    thread until the session ends, and ``asyncio.run`` in a later test would refuse to start."""
    here = Path(__file__).parent
    items.sort(key=lambda item: here in item.path.parents)


def unavailable(reason: str) -> None:
    """Skip the browser tests, or fail them in CI, where they must run."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_executable() -> str | None:
    wanted = os.environ.get("BLUEHEART_CHROMIUM")
    for candidate in (wanted,) if wanted else CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, with the system's Chromium."""
    executable = chromium_executable()
    if executable is None:
        unavailable(f"no Chromium found; {INSTALL_HINT}")
    return {**browser_type_launch_args, "executable_path": executable, "args": LAUNCH_ARGS}


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``blueheart serve`` for this module, with the module's ``PRESET`` (TOML text) if any."""
    folder = tmp_path_factory.mktemp("serve")
    command = [sys.executable, "-m", "blueheart", "serve", "--host", "127.0.0.1"]
    preset = getattr(request.module, "PRESET", None)
    if preset is not None:
        (folder / "campaign.toml").write_text(preset, encoding="utf-8")
        command += ["--config", str(folder / "campaign.toml")]
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)], stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(port, server, log)
            yield Served(f"http://127.0.0.1:{port}/", log)
        finally:
            server.terminate()
            server.wait(10)


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"blueheart serve did not start: {log.read_text()}", pytrace=False)
            time.sleep(0.1)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots are kept: ``$BLUEHEART_TEST_ARTIFACTS``, or the session's temp folder
    (pytest keeps the last three)."""
    chosen = os.environ.get("BLUEHEART_TEST_ARTIFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots", numbered=False)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
