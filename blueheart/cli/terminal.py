"""What the command line prints of names it did not choose: a file's name may hold a line
break or a terminal's escape sequence, and is shown with those as escapes."""

from __future__ import annotations

_ESCAPES = (
    {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
    | {0xDC00 + code: f"\\x{code:02x}" for code in range(0x80, 0xA0)}
    | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
)
"""Each control character (C0, DEL, C1) and the escape shown for it; a C1 byte of a name that
is not UTF-8 too (Python holds it as a lone surrogate, printed as the byte itself, which a
terminal in an 8-bit mode obeys)."""


def printable(text: str) -> str:
    """``text`` with its control characters shown as escapes (``\\n``, ``\\x1b``): a line
    stays one line, and a file's name cannot move the cursor or recolour the terminal. A name
    that is not UTF-8 keeps its own bytes (Python holds them as lone surrogates)."""
    return text.translate(_ESCAPES)
