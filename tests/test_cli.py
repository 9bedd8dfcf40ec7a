"""The command line, as the contract words it: arrange through the library, act through the
CLI, assert exit codes, exact error lines and the files written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from helpers import UN_BLUE_RGB, default_box, heart_pixels, photo
from PIL import Image

from blueheart import __version__
from blueheart.cli import cli


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    path = tmp_path / "me.jpg"
    photo(400, 300).save(path, quality=92)
    return path


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"blueheart, version {__version__}\n"


@pytest.mark.parametrize("command", ["badge", "batch", "emblem", "sheet", "serve"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert f"blueheart {command}" in result.stdout


def test_badge_writes_beside_the_input(portrait: Path) -> None:
    before = portrait.read_bytes()
    result = run("badge", portrait)
    target = portrait.with_name("me-blueheart.jpg")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(target)
    image = Image.open(target)
    assert image.size == (400, 300)
    assert np.abs(heart_pixels(image, default_box(image.size)).astype(int) - UN_BLUE_RGB).max() < 12
    assert portrait.read_bytes() == before


def test_badge_output_file_and_placement_options(portrait: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    result = run("badge", portrait, "-o", target, "--position", "top-left", "--size", "80px",
                 "--margin", "10px", "--ring", "0")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    pixels = np.asarray(Image.open(target))
    assert tuple(pixels[45, 50]) == UN_BLUE_RGB
    assert Image.open(target).format == "PNG"


def test_badge_several_inputs_into_a_folder(tmp_path: Path) -> None:
    inputs = []
    for name in ("a.jpg", "b.png"):
        path = tmp_path / name
        photo(100, 80).save(path)
        inputs.append(path)
    result = run("badge", *inputs, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a-blueheart.jpg",
        "b-blueheart.png",
    ]


def test_existing_output_is_not_replaced(portrait: Path) -> None:
    target = portrait.with_name("me-blueheart.jpg")
    target.write_bytes(b"mine")
    result = run("badge", portrait)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {target}: exists (use --overwrite to replace it)\n"
    assert target.read_bytes() == b"mine"
    assert run("badge", portrait, "--overwrite").exit_code == 0
    assert target.read_bytes() != b"mine"


def test_the_input_is_never_the_output(portrait: Path) -> None:
    result = run("badge", portrait, "-o", portrait, "--overwrite")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {portrait}: is an input; inputs are never written\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "2"], "Invalid value for '--size': expected a fraction from 0 to 1, got 2"),
        (["--size", "big"],
         "Invalid value for '--size': expected a fraction like 0.25 or pixels like 200px, got 'big'"),
        (["--size", "0"], "Invalid value for '--size': expected a size above 0, got 0"),
        (["--position", "middle"],
         "Invalid value for '--position': 'middle' is not one of 'top-left', 'top', 'top-right', "
         "'left', 'center', 'right', 'bottom-left', 'bottom', 'bottom-right', 'auto'."),
        (["--opacity", "2"], "Invalid value for '--opacity': 2.0 is not in the range 0<=x<=1."),
        (["--color", "blue"], "Invalid value for '--color': expected a colour as #RRGGBB, got 'blue'"),
        (["--output-size", "0"], "Invalid value for '--output-size': 0 is not in the range x>=1."),
        (["--quality", "0"], "Invalid value for '--quality': expected keep or a number from 1 to 100, got '0'"),
        (["--ring", "wide"], "Invalid value for '--ring': expected auto or a number from 0 to 0.25, got 'wide'"),
        (["--offset", "3"], "Invalid value for '--offset': expected X,Y (fractions or px), got '3'"),
        (["--at", "0.5"], "Invalid value for '--at': expected X,Y as fractions of the width and height, got '0.5'"),
        (["--at", "0.5,x"], "Invalid value for '--at': expected X,Y as fractions of the width and height, got '0.5,x'"),
        (["--at", "0.5,1.5"], "Invalid value for '--at': expected x and y from 0 to 1, got (0.5, 1.5)"),
        (["--crop", "circle", "--format", "jpeg"],
         "Invalid value for '--format': a circle crop needs transparent corners, which JPEG "
         "cannot store; choose png, webp or avif"),
    ],
)  # fmt: skip
def test_bad_option_values_are_one_line_usage_errors(
    portrait: Path, args: list[str], message: str
) -> None:
    result = run("badge", portrait, *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert not portrait.with_name("me-blueheart.jpg").exists()


def test_at_puts_the_emblem_centre_there(portrait: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    result = run("badge", portrait, "-o", target, "--at", "0.25,0.5", "--size", "60px",
                 "--ring", "0", "--position", "top-right")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    pixels = np.asarray(Image.open(target))
    assert tuple(pixels[150, 100]) == UN_BLUE_RGB  # the heart's middle at (0.25, 0.5) of 400x300
    assert tuple(pixels[40, 360]) != UN_BLUE_RGB


def test_unknown_options_are_usage_errors(portrait: Path) -> None:
    result = run("badge", portrait, "--bogus")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: No such option") and result.stderr.count("\n") == 1


def test_an_emblem_that_cannot_fit_is_a_usage_error(tmp_path: Path) -> None:
    small = tmp_path / "s.png"
    photo(40, 40).save(small)
    result = run("badge", small, "--size", "1.0")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Invalid value for '--size': an emblem of 40x40 px")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty file"),
        (b"not a photo", "not an image blueheart can read"),
    ],
)
def test_bad_inputs_fail_with_one_line_and_exit_1(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    source = tmp_path / "bad.jpg"
    if content is not None:
        source.write_bytes(content)
    result = run("badge", source)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {source}: {message}\n"
    assert not (tmp_path / "bad-blueheart.jpg").exists()


def test_one_bad_input_does_not_stop_the_others(portrait: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.jpg"
    result = run("badge", missing, portrait)
    assert result.exit_code == 1
    assert portrait.with_name("me-blueheart.jpg").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run("--debug", "badge", tmp_path / "gone.jpg")
    assert result.exit_code == 1 and result.exception is not None


def test_preset_file_sets_defaults_and_flags_win(portrait: Path, tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text('position = "top-left"\nsize = "60px"\nmargin = 0\nring = 0\n')
    target = tmp_path / "p.png"
    assert run("badge", portrait, "-o", target, "--config", preset).exit_code == 0
    assert tuple(np.asarray(Image.open(target))[25, 30]) == UN_BLUE_RGB
    flagged = tmp_path / "f.png"
    assert (
        run(
            "badge", portrait, "-o", flagged, "--config", preset, "--position", "top-right"
        ).exit_code
        == 0
    )
    assert tuple(np.asarray(Image.open(flagged))[25, 30]) != UN_BLUE_RGB


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("position = ", "cannot read"),
        ('colour = "#FF0000"', "unknown key 'colour'"),
    ],
)
def test_bad_preset_files_are_usage_errors(
    portrait: Path, tmp_path: Path, text: str, message: str
) -> None:
    preset = tmp_path / "bad.toml"
    preset.write_text(text)
    result = run("badge", portrait, "--config", preset)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_custom_emblem_file(portrait: Path, tmp_path: Path) -> None:
    mark = tmp_path / "mark.png"
    Image.new("RGBA", (30, 30), (255, 0, 0, 255)).save(mark)
    target = tmp_path / "out.png"
    result = run("badge", portrait, "-o", target, "--emblem", mark, "--position", "top-left",
                 "--size", "30px", "--margin", "0")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert tuple(np.asarray(Image.open(target))[15, 15]) == (255, 0, 0)


def test_missing_emblem_file_is_a_usage_error(portrait: Path, tmp_path: Path) -> None:
    result = run("badge", portrait, "--emblem", tmp_path / "nope.png")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Invalid value for '--emblem'")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("name", ["heart.png", "heart.svg"])
def test_emblem_command(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    result = run("emblem", "-o", target, "--size", "64")
    assert result.exit_code == 0, result.stderr
    if name.endswith(".png"):
        image = Image.open(target)
        assert image.size == (64, 64) and image.mode == "RGBA"
    else:
        assert target.read_text().startswith("<svg")


def test_emblem_into_an_opaque_format_is_a_usage_error(tmp_path: Path) -> None:
    result = run("emblem", "-o", tmp_path / "h.jpg")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Invalid value for '-o' / '--output': the emblem is transparent: "
        "name it .png or .svg\n"
    )
    assert not (tmp_path / "h.jpg").exists()


def test_emblem_bad_colour(tmp_path: Path) -> None:
    result = run("emblem", "-o", tmp_path / "h.png", "--color", "#GGGGGG")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "Error: Invalid value for '--color': expected a colour as #RRGGBB, got '#GGGGGG'\n"
    )


def test_sheet_command(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for index in range(5):
        photo(120, 90, seed=index).save(folder / f"{index}.jpg")
    (folder / "notes.txt").write_text("hi")
    target = tmp_path / "sheet.jpg"
    result = run("sheet", folder, "-o", target, "--cell", "50", "--columns", "3")
    assert result.exit_code == 0, result.stderr
    assert Image.open(target).size == (8 + 3 * 58, 8 + 2 * 58)


def test_batch_usage_errors(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    cases = [
        (["batch", tmp_path / "missing", tmp_path / "out"], f"{tmp_path / 'missing'} does not exist"),
        (["batch", source, source], "DEST_DIR may not be SRC_DIR: inputs are never written"),
        (["batch", source / "inner", source / "inner" / "x"], "does not exist"),
        (["batch", source, tmp_path / "out", "-j", "0"], "Invalid value for '-j' / '--jobs': 0 is not in the range x>=1."),
    ]  # fmt: skip
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_batch_report_and_summary(tmp_path: Path) -> None:
    source, destination = tmp_path / "src", tmp_path / "out"
    (source / "sub").mkdir(parents=True)
    photo(100, 80).save(source / "sub" / "a.jpg")
    (source / "b.jpg").write_bytes(b"broken")
    (source / "c.txt").write_text("note")
    report = tmp_path / "report.json"
    result = run("batch", source, destination, "-j", "1", "--report", report)
    assert result.exit_code == 1
    assert result.stdout.strip().splitlines()[-1] == "1 ok, 1 skipped, 1 failed"
    assert result.stderr == f"failed: {source / 'b.jpg'}: not an image blueheart can read\n"
    document = json.loads(report.read_text())
    assert document["counts"] == {"ok": 1, "skipped": 1, "failed": 1}
    by_source = {r["source"]: r for r in document["results"]}
    assert by_source[str(source / "sub" / "a.jpg")] == {
        "source": str(source / "sub" / "a.jpg"),
        "output": str(destination / "sub" / "a.jpg"),
        "status": "ok",
        "error": None,
    }
    assert by_source[str(source / "c.txt")]["status"] == "skipped"
    assert by_source[str(source / "b.jpg")]["error"].endswith("not an image blueheart can read")


def test_batch_dry_run_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    photo(60, 60).save(source / "a.png")
    result = run("batch", source, tmp_path / "out", "--dry-run")
    assert result.exit_code == 0
    assert f"{source / 'a.png'} -> {tmp_path / 'out' / 'a.png'}" in result.stdout
    assert not (tmp_path / "out").exists()
