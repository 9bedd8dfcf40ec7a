"""Where `badge` writes, decided before anything is written (blueheart.io.targets), and the
output names the file pipeline accepts (formats.named_format)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import photo

from blueheart import BadgeOptions, OptionError, badge_file
from blueheart.io.targets import badge_targets

DEFAULT = BadgeOptions()


@pytest.mark.parametrize(
    ("inputs", "output", "options", "expected"),
    [
        (["a/me.jpg"], None, DEFAULT, ["a/me-blueheart.jpg"]),
        (["a/me.jpg"], "x.png", DEFAULT, ["x.png"]),
        (["a/me.jpg"], "new/", DEFAULT, ["new/me-blueheart.jpg"]),
        (["a/me.jpg", "b/you.heic"], "new", DEFAULT, ["new/me-blueheart.jpg", "new/you-blueheart.jpg"]),
        (["a/me.jpg", "b/you.png"], "photos.v2", DEFAULT, ["photos.v2/me-blueheart.jpg", "photos.v2/you-blueheart.png"]),
        (["a/me.jpg"], None, BadgeOptions(crop="circle"), ["a/me-blueheart.png"]),
        (["a/me.jpg"], "x.webp", BadgeOptions(format="webp"), ["x.webp"]),
    ],
)  # fmt: skip
def test_targets(
    inputs: list[str], output: str | None, options: BadgeOptions, expected: list[str]
) -> None:
    assert badge_targets(inputs, output, options) == [Path(name) for name in expected]


def test_an_existing_folder_takes_one_input(tmp_path: Path) -> None:
    assert badge_targets(["me.jpg"], str(tmp_path), DEFAULT) == [tmp_path / "me-blueheart.jpg"]


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        (["a.jpg", "b.jpg"], "same.jpg", "same.jpg: names one file, but there are 2 inputs"),
        (["a/me.jpg", "b/me.jpg"], "out/", "a/me.jpg and b/me.jpg would both be written to out/me-blueheart.jpg"),
        (["me.jpg", "me-blueheart.jpg"], None, "me-blueheart.jpg: is an input"),
        (["me.jpg"], "me.jpg", "me.jpg: is an input"),
        (["me.jpg"], "me.xyz", "me.xyz: unknown extension .xyz"),
        (["me.jpg"], "", "the output's name is empty"),
    ],
)  # fmt: skip
def test_targets_that_cannot_be_are_option_errors(
    inputs: list[str], output: str | None, message: str
) -> None:
    with pytest.raises(OptionError, match=r"^destination: ") as caught:
        badge_targets(inputs, output, DEFAULT)
    assert message in str(caught.value)


@pytest.mark.parametrize("name", ["out.heic", "out", "out.txt"])
def test_badge_file_never_writes_a_format_its_name_does_not_name(tmp_path: Path, name: str) -> None:
    source = tmp_path / "in.jpg"
    photo(60, 40).save(source)
    with pytest.raises(OptionError) as caught:
        badge_file(source, tmp_path / name)
    assert caught.value.field == "destination"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]


# -- errors while deciding, and the name probe (issue 20's harness) --------------------------


def test_an_output_that_cannot_be_asked_about_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether ``-o`` names a folder is asked of the disk; an error there was a traceback."""
    import errno

    from click.testing import CliRunner
    from helpers import fail_stat

    from blueheart.cli.commands import cli

    photo(40, 30).save(tmp_path / "a.jpg")
    output = tmp_path / "out.jpg"
    fail_stat(monkeypatch, output, errno.EIO)
    result = CliRunner().invoke(cli, ["badge", str(tmp_path / "a.jpg"), "-o", str(output)])
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {output}: cannot write (Input/output error)\n",
    )


def _probes(monkeypatch: pytest.MonkeyPatch, *, failing: str | None = None) -> list[str]:
    """The probe files ``targets`` makes from now on; ``failing``: the operation on them
    ("open" or "unlink") that fails with EIO, or "interrupt": a Ctrl-C lands as the first
    probe is removed (before the unlink)."""
    import errno
    import os

    import blueheart.io.targets

    made: list[str] = []
    real_open, real_unlink = os.open, Path.unlink

    def probing_open(path: object, *args: object, **kwargs: object) -> int:
        if ".blueheart-probe-" in str(path):
            made.append(str(path))
            if failing == "open":
                raise OSError(errno.EIO, "Input/output error", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def probing_unlink(path: Path, missing_ok: bool = False) -> None:
        if failing == "unlink" and ".blueheart-probe-" in path.name:
            raise OSError(errno.EIO, "Input/output error", str(path))
        if failing == "interrupt" and ".blueheart-probe-" in path.name and len(made) == 1:
            made.append("interrupted")
            raise KeyboardInterrupt
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(blueheart.io.targets.os, "open", probing_open)
    monkeypatch.setattr(Path, "unlink", probing_unlink)
    return made


def test_the_file_system_is_probed_only_for_names_that_differ_by_case_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = [tmp_path / "x/IMG.jpg", tmp_path / "x/b.jpg", tmp_path / "y/img.jpg"]
    for path in inputs:
        path.parent.mkdir(exist_ok=True)
        photo(40, 30).save(path)
    made = _probes(monkeypatch)
    badge_targets(inputs[:2], f"{tmp_path / 'out'}/", DEFAULT)
    assert made == []  # no two names that any file system could take for one
    targets = badge_targets([inputs[0], inputs[2]], f"{tmp_path / 'out'}/", DEFAULT)
    assert len(made) == 2  # case, then Unicode forms, once; this file system keeps them apart
    assert [path.name for path in targets] == ["IMG-blueheart.jpg", "img-blueheart.jpg"]
    assert not [path for path in tmp_path.rglob(".*")]


@pytest.mark.parametrize("failing", ["open", "unlink"])
def test_a_probe_that_fails_is_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A probe that cannot be made: the names are taken for one (an input fails instead of
    one being lost); one that cannot be removed answered already, and stays a temp file."""
    inputs = [tmp_path / "x/IMG.jpg", tmp_path / "y/img.jpg"]
    for path in inputs:
        path.parent.mkdir(exist_ok=True)
        photo(40, 30).save(path)
    _probes(monkeypatch, failing=failing)
    output = f"{tmp_path / 'out'}/"
    if failing == "open":
        with pytest.raises(OptionError, match="would both be written to"):
            badge_targets(inputs, output, DEFAULT)
    else:
        assert len(set(badge_targets(inputs, output, DEFAULT))) == 2


def test_a_ctrl_c_as_a_probe_is_removed_leaves_no_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = [tmp_path / "x/IMG.jpg", tmp_path / "y/img.jpg"]
    for path in inputs:
        path.parent.mkdir(exist_ok=True)
        photo(40, 30).save(path)
    made = _probes(monkeypatch, failing="interrupt")
    with pytest.raises(KeyboardInterrupt):
        badge_targets(inputs, f"{tmp_path / 'out'}/", DEFAULT)
    assert made[1:] == ["interrupted"]
    assert not [path for path in tmp_path.rglob(".*")]
