"""The README's examples are what a user copies: the library's must type-check as it stands,
and each must run, and run again (a user tries it twice)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from helpers import many_photos, photo

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(markdown: str, language: str) -> list[str]:
    """The code of every ```<language> block, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", markdown, re.S | re.M)


def python_example(folder: Path) -> Path:
    """The README's Python blocks as one script in ``folder``."""
    blocks = code_blocks(README, "python")
    assert blocks, "the README shows the library"
    example = folder / "readme_example.py"
    example.write_text("\n\n".join(blocks), encoding="utf-8")
    return example


def test_the_readme_python_passes_mypy_strict(tmp_path: Path) -> None:
    example = python_example(tmp_path)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         str(example)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout


def test_the_readme_python_runs_twice(tmp_path: Path) -> None:
    example = python_example(tmp_path)
    photo(400, 300).save(tmp_path / "me.jpg", quality=90)  # the photos it names
    many_photos(tmp_path, 3, (320, 240)).rename(tmp_path / "photos")
    for run in ("first", "second"):
        ran = subprocess.run(
            [sys.executable, str(example)], cwd=tmp_path, capture_output=True, text=True,
            check=False, timeout=300,
        )  # fmt: skip
        assert ran.returncode == 0, f"the {run} run: {ran.stderr}"
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert report["counts"] == {"ok": 0, "skipped": 3, "failed": 0}  # the second run's
    assert sorted(path.name for path in (tmp_path / "out").glob("photo-*")) == [
        "photo-000.png", "photo-001.png", "photo-002.png"
    ]  # fmt: skip


def test_the_readme_first_command_runs_twice(tmp_path: Path) -> None:
    """The first command a visitor copies (after its install): run in a checkout, twice."""
    first = code_blocks(README, "sh")[0].strip()
    command = shlex.split(first.split(" && ")[-1])
    assert command[:2] == ["blueheart", "badge"], first
    (tmp_path / "assets").symlink_to(ROOT / "assets")
    for run in ("first", "second"):
        ran = subprocess.run(
            [sys.executable, "-m", "blueheart", *command[1:]], cwd=tmp_path, capture_output=True,
            text=True, check=False, timeout=120,
        )  # fmt: skip
        assert ran.returncode == 0, f"the {run} run: {ran.stderr}"


def test_every_badging_flag_is_in_the_readmes_options_tables() -> None:
    """A new option shows up in --help by itself; its line in the README's tables does not."""
    from click.testing import CliRunner

    from blueheart.cli.commands import cli

    options = README[README.index("## Options") :]
    helped = CliRunner().invoke(cli, ["badge", "--help"], terminal_width=200).output
    flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]+)", helped, re.M)) - {"--help"}
    missing = sorted(flag for flag in flags if f"`{flag}" not in options)
    assert not missing, f"document these flags in README's Options: {missing}"
