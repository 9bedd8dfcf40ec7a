"""The kinds of option values: for each, the checker of a typed value, the parser from text
(the command line's, a query string's, a preset's: one parser for all three) and the writer
back to text. ``options`` gives each ``BadgeOptions`` field one of these."""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from blueheart.core.errors import HINT, Hint, OptionError
from blueheart.core.units import Length, Unit

_HEX_COLOUR = re.compile(r"#?[0-9A-Fa-f]{6}")

Check = Callable[[str, Any], Any]
"""A field's checker: (field name, value given) -> the typed value, or ``OptionError``."""


def _enum(kind: type[enum.Enum]) -> Check:
    def check(name: str, value: object) -> Any:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(str(member.value) for member in kind)
            raise OptionError(name, f"expected one of {choices}, got {value!r}") from None

    return check


MAX_LENGTH_PX = 1_000_000_000
"""The longest length in px an option may give: no image may be longer (its pixels would pass
any limit), and the wording of a longer one ran to hundreds of digits."""


def _length(low: float, high: float, *, noun: str = "", above_zero: bool = False) -> Check:
    """A ``Length``; a fraction within ``low``..``high``. With ``noun``, checked first in any
    unit: above 0 (``above_zero``) or 0 or more."""

    def check(name: str, value: object) -> Length:
        length = _coerce_length(name, value)
        if noun and (not length.value > 0 if above_zero else length.value < 0):
            bound = "above 0" if above_zero else "of 0 or more"
            raise OptionError(name, f"expected {noun} {bound}, got {length}")
        if not math.isfinite(length.value):
            raise OptionError(name, f"expected a finite number, got {length}")
        if length.unit is Unit.FRACTION and not low <= length.value <= high:
            raise OptionError(name, f"expected a fraction from {low:g} to {high:g}, got {length}")
        _check_px(name, length, str(length))
        return length

    return check


def _check_px(name: str, length: Length, shown: str) -> None:
    """Refuse a length in px longer than ``MAX_LENGTH_PX``, saying it as ``shown``."""
    if length.unit is Unit.PX and abs(length.value) > MAX_LENGTH_PX:
        raise OptionError(name, f"expected at most {MAX_LENGTH_PX:,} px, got {shown}")


def _coerce_length(name: str, value: object) -> Length:
    if isinstance(value, Length):
        return value
    if _is_number(value, finite=False):
        return Length.fraction(value)  # type: ignore[arg-type]
    raise OptionError(name, f"expected a fraction (float) or blueheart.Length.px(N), got {value!r}")


def _pair(part: Check) -> Check:
    def check(name: str, value: object) -> tuple[Any, Any]:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise OptionError(name, f"expected an (x, y) pair, got {value!r}")
        return part(name, value[0]), part(name, value[1])

    return check


def _point(name: str, value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise OptionError(name, f"expected an (x, y) pair of fractions or None, got {value!r}")
    if not all(_is_number(part) and 0.0 <= part <= 1.0 for part in value):
        raise OptionError(name, f"expected x and y from 0 to 1, got {tuple(value)!r}")
    return float(value[0]), float(value[1])


def flag(*, optional: bool = False) -> Check:
    expected = "True, False or None" if optional else "True or False"

    def check(name: str, value: object) -> bool | None:
        if not isinstance(value, bool) and not (optional and value is None):
            raise OptionError(name, f"expected {expected}, got {value!r}")
        return value

    return check


def number(low: float, high: float, *, noun: str = "a number", none_means: str = "") -> Check:
    """A finite number within ``low``..``high``; None too when ``none_means`` says what it means."""
    expected = f"expected {noun} from {low:g} to {high:g}"
    expected += f" or {HINT}" if none_means else ""

    def check(name: str, value: object) -> Any:
        if value is None and none_means:
            return None
        if not _is_number(value) or not low <= value <= high:  # type: ignore[operator]
            raise OptionError(name, f"{expected}, got {value!r}", *_unset(name, none_means))
        return value

    return check


def _unset(name: str, none_means: str) -> tuple[Hint, ...]:
    """The hint for None, meaning ``none_means`` (none when None is not taken)."""
    return (Hint(name, none_means, "unset"),) if none_means else ()


MAX_SIDE = (1 << 31) - 1
"""The longest side an image may have, in px: Pillow's sizes are C ints. An ``output_size``
beyond it could only overflow the size arithmetic."""


def whole(low: int, high: int | None = None, *, unit: str = "", none_means: str = "",
           optional: bool = False, cap: int | None = None) -> Check:  # fmt: skip
    """A whole number from ``low`` (to ``high``); None too when ``optional`` or ``none_means``.
    ``cap``: a largest value beyond any sensible one, said only to a value past it."""
    if high is None:
        expected = f"expected a whole number{unit} above {low - 1}"
    else:
        expected = f"expected a whole number{unit} from {low} to {high}"
    expected += f" or {HINT}" if none_means else ""

    def check(name: str, value: object) -> Any:
        if value is None and (optional or none_means):
            return None
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or value < low or (high is not None and value > high):  # type: ignore[operator]
            raise OptionError(name, f"{expected}, got {value!r}", *_unset(name, none_means))
        if cap is not None and value > cap:  # type: ignore[operator]
            raise OptionError(name, f"expected a whole number{unit} up to {cap}, got {value!r}")
        return value

    return check


def _colour(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
        raise OptionError(name, f"expected a colour as #RRGGBB, got {value!r}")
    return "#" + value.removeprefix("#").upper()


def _path(name: str, value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise OptionError(name, f"expected a path, got {value!r}")
    if "\0" in os.fsdecode(value):  # every OS call would raise ValueError for it
        raise OptionError(name, "expected a path without NUL characters")
    return Path(value)


def _is_number(value: object, *, finite: bool = True) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return math.isfinite(value) or not finite


# -- reading options from text: a command line's, a query string's, a preset's -------------

Parse = Callable[[str, object], Any]
"""A kind's parser: (field name, text or a TOML value) -> the value for its checker, or
``OptionError``. Ranges are the checker's; a parser reads the spelling alone."""
Text = Callable[[Any], "str | None"]
"""A kind's writer: a checked value -> the text its parser reads back (None: not set)."""


def _as_text(name: str, value: object) -> str:
    """``value`` as typed text: a preset's numbers and true/false as a command line spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)):
        return str(value)
    kind = type(value).__name__
    raise OptionError(name, f"expected a string, a number or true/false, got a {kind}")


def _word(value: object, word: str) -> bool:
    """Whether ``value`` is the text ``word`` (which stands for None)."""
    return bool(word) and isinstance(value, str) and value.strip().lower() == word


def _parse_number(name: str, value: object) -> float:
    if _is_number(value, finite=False):
        return float(value)  # type: ignore[arg-type]
    try:
        return float(_as_text(name, value))
    except ValueError:
        raise OptionError(name, f"expected a number, got {value!r}") from None


def _parse_whole(word: str = "", unit: str = "") -> Parse:
    """A whole number's parser; ``word`` (if any) stands for None; ``unit`` (if any, ``px``)
    may follow the number."""
    expected = f"a whole number of pixels such as 1080 or 1080{unit}" if unit else "a whole number"

    def parse(name: str, value: object) -> int | None:
        if word and (value is None or _word(value, word)):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = _as_text(name, value)
        try:
            return int(text.lower().removesuffix(unit) if unit else text)
        except ValueError:
            raise OptionError(name, f"expected {expected}, got {value!r}") from None

    return parse


def _parse_word_or_number(word: str, low: float, high: float, *, whole: bool) -> Parse:
    """``word`` (None) or a number; the message names the range the checker holds to."""
    expected = f"expected {word} or a number from {low:g} to {high:g}"

    def parse(name: str, value: object) -> float | None:
        if value is None or _word(value, word):
            return None
        if _is_number(value, finite=False) and not (whole and isinstance(value, float)):
            return int(value) if whole else float(value)  # type: ignore[call-overload, arg-type]
        try:
            text = _as_text(name, value)
            return int(text) if whole else float(text)
        except ValueError:
            raise OptionError(name, f"{expected}, got {value!r}") from None

    return parse


def _parse_length(name: str, value: object) -> Length:
    if isinstance(value, Length):
        return value
    if _is_number(value, finite=False):
        return Length.fraction(value)  # type: ignore[arg-type]
    text = _as_text(name, value).lower()
    try:
        length = (
            Length.px(float(text[:-2])) if text.endswith("px") else Length.fraction(float(text))
        )
    except ValueError:
        expected = "expected a fraction like 0.25 or pixels like 200px"
        raise OptionError(name, f"{expected}, got {value!r}") from None
    if not math.isfinite(length.value):  # "1e400px": said as given, not as "infpx"
        raise OptionError(name, f"expected a finite number, got {value!r}")
    _check_px(name, length, repr(value))
    return length


def _parts(name: str, value: object, expected: str) -> list[Any]:
    """The two parts of ``X,Y`` text or of a preset's ``[x, y]`` array."""
    parts = list(value) if isinstance(value, list) else _as_text(name, value).split(",")
    if len(parts) != 2:
        raise OptionError(name, f"expected {expected}, got {value!r}")
    return parts


def _parse_offset(name: str, value: object) -> tuple[Length, Length]:
    if isinstance(value, tuple):
        return value
    x, y = _parts(name, value, "X,Y (fractions or px)")
    return _parse_length(name, x), _parse_length(name, y)


def _parse_point(name: str, value: object) -> tuple[float, float] | None:
    if value is None or _word(value, "none"):
        return None
    if isinstance(value, tuple):
        return value
    expected = "X,Y as fractions of the width and height"
    x, y = _parts(name, value, expected)
    try:
        return _parse_number(name, x), _parse_number(name, y)
    except OptionError:
        raise OptionError(name, f"expected {expected}, got {value!r}") from None


_SWITCH_WORDS = {"true": True, "on": True, "false": False, "off": False, "auto": None}
"""What a switch's text says, as the HTTP API has always read it. Not "yes"/"no": a preset has
TOML's own true and false, and the API's answer to circle_safe=yes (400) stays as it was."""


def _parse_switch(name: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = _as_text(name, value).lower()
    if text not in _SWITCH_WORDS:
        raise OptionError(name, f"expected true, false or auto, got {value!r}")
    return _SWITCH_WORDS[text]


def _parse_flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _as_text(name, value).lower()
    if _SWITCH_WORDS.get(text) is None:
        raise OptionError(name, f"expected true or false, got {value!r}")
    return bool(_SWITCH_WORDS[text])


def _parse_text(name: str, value: object) -> str:
    return _as_text(name, value)


def _parse_path(name: str, value: object) -> Path | None:
    if value is None or isinstance(value, Path):
        return value
    return Path(_as_text(name, value))


def _g(value: float) -> str:
    return f"{value:g}"


def _or_word(word: str, text: Text) -> Text:
    return lambda value: word if value is None else text(value)


# -- kinds: one checker, parser and writer per kind of value --------------------------------


Form = Literal[
    "choice", "length", "offset", "point", "switch", "flag", "number", "word", "whole",
    "colour", "path",
]  # fmt: skip
"""How front ends show a kind of value (a Click type, a preset's array or not)."""


@dataclass(frozen=True)
class Kind:
    """One kind of value: its checker, its parser from text, its writer back to text, and
    what front ends show of it: ``form`` (``choice``, ``length``, ``offset``, ``point``,
    ``switch``, ``flag``, ``number``, ``word``, ``whole``, ``colour``, ``path``), the
    ``choices``, the range ``low``..``high`` (None: unbounded), the ``word`` meaning None and
    the ``unit`` its text may end in (``px``)."""

    form: Form
    check: Check
    parse: Parse
    text: Text
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    word: str = ""
    whole: bool = False
    unit: str = ""


def choice_kind(kind: type[enum.Enum]) -> Kind:
    values = tuple(str(member.value) for member in kind)
    return Kind("choice", _enum(kind), _parse_text, lambda value: value.value, values)


def length_kind(low: float, high: float, *, noun: str, above_zero: bool = False) -> Kind:
    check = _length(low, high, noun=noun, above_zero=above_zero)
    return Kind("length", check, _parse_length, str, low=low, high=high)


def word_kind(word: str, check: Check, low: float, high: float, *, whole: bool = False) -> Kind:
    parse = _parse_word_or_number(word, low, high, whole=whole)
    text = _or_word(word, str if whole else _g)
    return Kind("word", check, parse, text, low=low, high=high, word=word, whole=whole)


def number_kind(low: int, high: int) -> Kind:
    """A finite number from ``low`` to ``high`` (whole bounds, as Click's ranges show them)."""
    return Kind("number", number(low, high), _parse_number, _g, low=low, high=high)


def whole_kind(check: Check, low: int, *, word: str = "", unit: str = "") -> Kind:
    """A whole number from ``low``, ``unit`` (if any) after it or not; ``word`` (if any) reads
    as None, which is written as None."""
    text: Text = lambda value: None if value is None else str(value)  # noqa: E731
    parse = _parse_whole(word, unit)
    return Kind("whole", check, parse, text, low=low, word=word, whole=True, unit=unit)


def _pair_text(pair: tuple[object, object] | None) -> str | None:
    return None if pair is None else f"{pair[0]},{pair[1]}"


def _point_text(point: tuple[float, float] | None) -> str | None:
    return None if point is None else f"{point[0]:g},{point[1]:g}"


def _switch_text(value: bool | None) -> str:
    return {None: "auto", True: "true", False: "false"}[value]


OFFSET = Kind("offset", _pair(_length(-1.0, 1.0)), _parse_offset, _pair_text, low=-1, high=1)
POINT = Kind("point", _point, _parse_point, _point_text, low=0.0, high=1.0, word="none")
SWITCH = Kind("switch", flag(optional=True), _parse_switch, _switch_text, word="auto")
FLAG = Kind("flag", flag(), _parse_flag, _switch_text)
COLOUR = Kind("colour", _colour, _parse_text, str)
PATH = Kind("path", _path, _parse_path, lambda path: None if path is None else str(path))
