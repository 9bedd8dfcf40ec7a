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
