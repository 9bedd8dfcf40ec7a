"""Campaign presets: one reader for `--config` of the commands and of `blueheart serve`, so the
same file means the same thing (or is refused with the same reason) everywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import photo
from PIL import Image

from blueheart import Length, Policy, PresetError, read_preset
from blueheart.cli.commands import cli
from blueheart.web import load_campaign


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    path = tmp_path / "photos" / "me.jpg"
    path.parent.mkdir()
    photo(400, 300).save(path, quality=92)
    return path


def write(tmp_path: Path, text: str | bytes) -> Path:
    preset = tmp_path / "campaign.toml"
    preset.write_bytes(text if isinstance(text, bytes) else text.encode())
    return preset


# -- what the disagreeing readers now settle alike ----------------------------------------------


@pytest.mark.parametrize(("text", "value"), [('"auto"', None), ("true", True), ('"off"', False)])
def test_circle_safe_reads_the_same_for_badge_and_serve(
    portrait: Path, tmp_path: Path, text: str, value: bool | None
) -> None:
    preset = write(tmp_path, f"circle-safe = {text}\n")
    assert load_campaign(preset).options.circle_safe is value
    result = run("badge", portrait, "-o", tmp_path / "out.jpg", "--config", preset)
    assert result.exit_code == 0, result.stderr


def test_circle_safe_yes_is_refused_by_badge_and_serve_alike(
    portrait: Path, tmp_path: Path
) -> None:
    preset = write(tmp_path, 'circle-safe = "yes"\n')
    reason = "expected true, false or auto, got 'yes'"
    with pytest.raises(PresetError) as raised:
        load_campaign(preset)
    assert str(raised.value) == f"{preset}: circle-safe: {reason}"
    result = run("badge", portrait, "--config", preset)
    assert result.exit_code == 2
    assert result.stderr == f"Error: Invalid value for 'circle-safe' in {preset}: {reason}\n"


def test_a_colour_without_its_hash_and_pixels_with_px_read_alike(
    portrait: Path, tmp_path: Path
) -> None:
    preset = write(tmp_path, 'color = "00aa55"\noutput-size = "200px"\n')
    options = load_campaign(preset).options
    assert (options.color, options.output_size) == ("#00AA55", 200)
    target = tmp_path / "out.jpg"
    result = run("badge", portrait, "-o", target, "--config", preset)
    assert result.exit_code == 0, result.stderr
    assert Image.open(target).size == (200, 150)


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ('posiiton = "auto"', "posiiton", " (did you mean 'position'?)"),
        ("output-sise = 1080", "output-sise", " (did you mean 'output-size'?)"),
        ("[badge]\nbackround = '#000000'", "backround", " (did you mean 'background'?)"),
        ("zzz = 1", "zzz", ""),
    ],
)  # fmt: skip
def test_an_unknown_key_names_the_closest_known_in_badge_and_serve(
    portrait: Path, tmp_path: Path, text: str, key: str, hint: str
) -> None:
    preset = write(tmp_path, text + "\n")
    with pytest.raises(PresetError) as raised:
        load_campaign(preset)
    assert str(raised.value) == f"{preset}: unknown key {key!r}{hint}"
    result = run("badge", portrait, "--config", preset)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Invalid value for '--config': {preset}: unknown key {key!r}{hint}\n"
    )


def test_a_key_of_another_command_is_suggested_to_badge(portrait: Path, tmp_path: Path) -> None:
    # One file serves every command: "jobs" (batch's) is a key badge knows to ignore.
    preset = write(tmp_path, "jbos = 2\n")
    result = run("badge", portrait, "--config", preset)
    assert result.stderr == (
        f"Error: Invalid value for '--config': {preset}: unknown key 'jbos' (did you mean 'jobs'?)\n"
    )


def test_pairs_may_be_arrays_in_both(portrait: Path, tmp_path: Path) -> None:
    preset = write(tmp_path, 'offset = [0.05, "-20px"]\nat = [0.3, 0.7]\n')
    options = load_campaign(preset).options
    assert options.offset == (Length.fraction(0.05), Length.px(-20)) and options.at == (0.3, 0.7)
    assert run("badge", portrait, "-o", tmp_path / "o.jpg", "--config", preset).exit_code == 0


def test_options_may_go_in_a_badge_table(portrait: Path, tmp_path: Path) -> None:
    preset = write(tmp_path, '[badge]\nformat = "png"\nsize = "60px"\n\n[page]\ntitle = "T"\n')
    assert load_campaign(preset).options.size == Length.px(60)
    assert run("badge", portrait, "--config", preset).exit_code == 0
    assert Image.open(portrait.with_name("me-blueheart.png")).format == "PNG"


def test_a_key_at_the_top_and_in_the_badge_table_is_given_twice(tmp_path: Path) -> None:
    preset = write(tmp_path, "size = 0.2\n[badge]\nsize = 0.3\n")
    with pytest.raises(PresetError) as raised:
        read_preset(preset)
    assert str(raised.value) == f"{preset}: size: given twice"


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ('metadata = "strip"', Policy.STRIP),
        ("keep-metadata = true", Policy.KEEP),
        ("strip_metadata = true\nkeep_metadata = false", Policy.STRIP),
    ],
)
def test_metadata_and_its_old_keys_in_a_preset(
    portrait: Path, tmp_path: Path, text: str, policy: Policy
) -> None:
    preset = write(tmp_path, text + "\n")
    assert read_preset(preset).options["metadata"] is policy
    target = tmp_path / "out.jpg"
    assert run("badge", portrait, "-o", target, "--config", preset).exit_code == 0
    with pytest.raises(PresetError, match="it has no such key"):
        load_campaign(preset)  # the service's downloads keep nothing but the ICC profile


def test_a_metadata_flag_against_the_presets_is_an_error_naming_its_key(
    portrait: Path, tmp_path: Path
) -> None:
    preset = write(tmp_path, 'metadata = "strip"\n')
    result = run("badge", portrait, "--config", preset, "--keep-metadata")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Invalid value for 'metadata' in {preset}: "
        "keep_metadata and strip_metadata exclude each other\n"
    )


# -- hostile files: one line naming the file (and the key), exit 2, never a traceback ----------

HOSTILE_PRESETS = {
    "deep-arrays": b"size = " + b"[" * 100_000 + b"]" * 100_000,
    "deep-tables": b"size = " + b"{a=" * 100_000 + b"1" + b"}" * 100_000,
    "deep-page": b"[page]\nlock = " + b"[" * 100_000 + b"]" * 100_000,
    "nul-emblem": b'emblem = "a\\u0000b.png"',
    "nul-colour": b'color = "#00\\u00000"',
    "nul-jobs": b'report = "r\\u0000.json"',
    "huge-text": b'color = "' + b"a" * 10_000 + b'"',
    "huge-file": b"# " + b"x" * (2 << 20),
    "huge-float": b"size = 1e400",
    "huge-int": b"output-size = 1" + b"0" * 4000,
    "long-array": b"at = [" + b"0.5, " * 10_000 + b"]",
    "wrong-type": b"opacity = [1, 2]",
    "a-date": b"size = 1979-05-27",
    "a-table": b"size = {a = 1}",
    "unknown-key": b"sizes = 0.2",
    "not-utf-8": b'color = "\xff\xfe"',
    "page-not-table": b"page = 3",
}
"""Each makes the reader or a parser fail; ``reason`` is what the one line says."""
REASONS = {
    "deep-arrays": "cannot read it (nested too deeply)",
    "nul-emblem": "emblem: expected text without NUL characters",
    "nul-jobs": "report: expected text without NUL characters",
    "huge-text": "color: expected at most 4,096 characters, got 10,000",
    "huge-file": "cannot read it (larger than 1,048,576 bytes)",
    "huge-float": "size: expected a finite number, got inf",
    "long-array": "at: expected a string, a number or true/false, got a list of 10000",
    "a-date": "size: expected a string, a number or true/false, got a date",
    "not-utf-8": "cannot read it ('utf-8' codec can't decode byte 0xff in position 9: invalid start byte)",
    "page-not-table": "[page] must be a table, got 3",
}  # fmt: skip


def hostile(tmp_path: Path, kind: str) -> Path:
    preset = tmp_path / f"{kind}.toml"
    if kind == "folder":
        preset.mkdir()
    elif kind == "fifo":
        os.mkfifo(preset)
    else:
        preset.write_bytes(HOSTILE_PRESETS[kind] + b"\n")
    return preset


@pytest.mark.parametrize("kind", [*HOSTILE_PRESETS, "folder", "fifo"])
def test_a_hostile_preset_is_one_preset_error_line(tmp_path: Path, kind: str) -> None:
    preset = hostile(tmp_path, kind)
    with pytest.raises(PresetError) as raised:
        load_campaign(preset)  # read_preset, and the service's own rules
    message = str(raised.value)
    assert message.startswith(f"{preset}: ") and "\n" not in message and len(message) < 500
    if kind in REASONS:
        assert message == f"{preset}: {REASONS[kind]}"
    if kind in ("folder", "fifo"):
        assert message == f"{preset}: not a regular file"


@pytest.mark.parametrize("command", ["badge", "batch", "serve"])
@pytest.mark.parametrize("kind", [*HOSTILE_PRESETS, "folder", "fifo"])
def test_a_hostile_preset_is_one_line_and_a_usage_error_in_every_command(
    portrait: Path, tmp_path: Path, command: str, kind: str
) -> None:
    preset = hostile(tmp_path, kind)
    arguments = {
        "badge": ["badge", portrait, "-o", tmp_path / "out.jpg"],
        "batch": ["batch", portrait.parent, tmp_path / "out"],
        "serve": ["serve", "--port", "1"],  # never bound: the preset is refused first
    }[command]
    result = run(*arguments, "--config", preset)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert str(preset) in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out.jpg").exists() and not (tmp_path / "out").exists()


def test_the_commands_name_the_key_a_preset_got_wrong(portrait: Path, tmp_path: Path) -> None:
    preset = hostile(tmp_path, "huge-float")
    result = run("badge", portrait, "--config", preset)
    assert result.stderr == (
        f"Error: Invalid value for 'size' in {preset}: expected a finite number, got inf\n"
    )
    preset = hostile(tmp_path, "unknown-key")
    result = run("badge", portrait, "--config", preset)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Invalid value for '--config': {preset}: unknown key 'sizes' "
        "(did you mean 'size'?)\n"
    )
