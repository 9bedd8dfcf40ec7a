"""What the command line prints of names it did not choose."""

from __future__ import annotations

from blueheart.cli.terminal import printable


def test_control_characters_are_shown_as_escapes() -> None:
    assert printable("a\nb\rc\td\x1b[31me\x7ff\x9bg") == "a\\nb\\rc\\td\\x1b[31me\\x7ff\\x9bg"


def test_a_c1_byte_of_a_name_that_is_not_utf8_is_an_escape_too() -> None:
    # os.fsdecode(b"x\x9b2J") holds the byte as a lone surrogate, printed as the byte itself:
    # CSI to a terminal in an 8-bit mode.
    assert printable("x\udc9b2J\udce9") == "x\\x9b2J\udce9"  # a letter's byte is kept
