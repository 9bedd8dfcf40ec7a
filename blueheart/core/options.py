"""The one frozen, validated options record shared by the library, the CLI and the batch runner.

Each option is declared once, as a field of ``BadgeOptions``: its type, default and an
``Option`` spec (``option()``) holding its kind (the checker, the parser from text, the writer
back to text, the choices or range), its help text and whether a web request may set it. The
command line's flags, the web's query parsing and the campaign presets are made from the specs
(``option_specs()``); adding a field there adds it everywhere.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from typing_extensions import Unpack, deprecated

from blueheart.core.errors import OptionError
from blueheart.core.units import Length, Unit

UN_BLUE = "#009EDB"
"""UN blue in sRGB: Pantone 2925, as given by the "Flag of the United Nations" article."""

WHITE = "#FFFFFF"
DEFAULT_MAX_PIXELS = 250_000_000
"""Phones make 200-megapixel photos; anything beyond this is refused from the header."""

_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


class Position(enum.Enum):
    """Where the emblem goes: one of nine anchors, or ``AUTO`` for the least busy place."""

    TOP_LEFT = "top-left"
    TOP = "top"
    TOP_RIGHT = "top-right"
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM = "bottom"
    BOTTOM_RIGHT = "bottom-right"
    AUTO = "auto"


class Style(enum.Enum):
    """``HEART``: the heart with a white ring; ``PIN``: the heart on a white disc."""

    HEART = "heart"
    PIN = "pin"


class Crop(enum.Enum):
    """How the output is cropped: not at all, to a square, or to a circle."""

    NONE = "none"
    SQUARE = "square"
    CIRCLE = "circle"


class Focus(enum.Enum):
    """Which square a crop keeps: the centred one, or the most salient one."""

    CENTER = "center"
    AUTO = "auto"


class OutputFormat(enum.Enum):
    """The output's file format; ``KEEP`` writes the input's format where platforms take it."""

    KEEP = "keep"
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"


class Policy(enum.Enum):
    """What of the source's metadata the output carries, besides the ICC profile."""

    STRIP = "strip"
    """Nothing."""
    DESCRIPTIVE = "descriptive"
    """The allow-listed descriptive fields (``blueheart.io.metadata``)."""
    KEEP = "keep"
    """Everything but the orientation and the source's layout (and, in a TIFF, what libtiff
    cannot write back)."""


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
        return length

    return check


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


def _flag(*, optional: bool = False) -> Check:
    expected = "True, False or None" if optional else "True or False"

    def check(name: str, value: object) -> bool | None:
        if not isinstance(value, bool) and not (optional and value is None):
            raise OptionError(name, f"expected {expected}, got {value!r}")
        return value

    return check


def _number(low: float, high: float, *, noun: str = "a number", none_means: str = "") -> Check:
    """A finite number within ``low``..``high``; None too when ``none_means`` says what it means."""
    expected = f"expected {noun} from {low:g} to {high:g}"
    expected += f" or None ({none_means})" if none_means else ""

    def check(name: str, value: object) -> Any:
        if value is None and none_means:
            return None
        if not _is_number(value) or not low <= value <= high:  # type: ignore[operator]
            raise OptionError(name, f"{expected}, got {value!r}")
        return value

    return check


MAX_SIDE = (1 << 31) - 1
"""The longest side an image may have, in px: Pillow's sizes are C ints. An ``output_size``
beyond it could only overflow the size arithmetic."""


def _whole(low: int, high: int | None = None, *, unit: str = "", none_means: str = "",
           optional: bool = False, cap: int | None = None) -> Check:  # fmt: skip
    """A whole number from ``low`` (to ``high``); None too when ``optional`` or ``none_means``.
    ``cap``: a largest value beyond any sensible one, said only to a value past it."""
    if high is None:
        expected = f"expected a whole number{unit} above {low - 1}"
    else:
        expected = f"expected a whole number{unit} from {low} to {high}"
    expected += f" or None ({none_means})" if none_means else ""

    def check(name: str, value: object) -> Any:
        if value is None and (optional or none_means):
            return None
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or value < low or (high is not None and value > high):  # type: ignore[operator]
            raise OptionError(name, f"{expected}, got {value!r}")
        if cap is not None and value > cap:  # type: ignore[operator]
            raise OptionError(name, f"expected a whole number{unit} up to {cap}, got {value!r}")
        return value

    return check


def _colour(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
        raise OptionError(name, f"expected a colour as #RRGGBB, got {value!r}")
    return value.upper()


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


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """The (r, g, b) bytes of a validated ``#RRGGBB`` colour."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


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


def _parse_whole(word: str = "") -> Parse:
    """A whole number's parser; ``word`` (if any) stands for None."""

    def parse(name: str, value: object) -> int | None:
        if word and (value is None or _word(value, word)):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(_as_text(name, value))
        except ValueError:
            raise OptionError(name, f"expected a whole number, got {value!r}") from None

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
        except (ValueError, OptionError):
            raise OptionError(name, f"{expected}, got {value!r}") from None

    return parse


def _parse_length(name: str, value: object) -> Length:
    if isinstance(value, Length):
        return value
    if _is_number(value, finite=False):
        return Length.fraction(value)  # type: ignore[arg-type]
    text = _as_text(name, value).lower()
    try:
        return Length.px(float(text[:-2])) if text.endswith("px") else Length.fraction(float(text))
    except ValueError:
        expected = "expected a fraction like 0.25 or pixels like 200px"
        raise OptionError(name, f"{expected}, got {value!r}") from None


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
    ``choices``, the range ``low``..``high`` (None: unbounded) and the ``word`` meaning None."""

    form: Form
    check: Check
    parse: Parse
    text: Text
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    word: str = ""
    whole: bool = False


def _choice_kind(kind: type[enum.Enum]) -> Kind:
    values = tuple(str(member.value) for member in kind)
    return Kind("choice", _enum(kind), _parse_text, lambda value: value.value, values)


def _length_kind(low: float, high: float, *, noun: str, above_zero: bool = False) -> Kind:
    check = _length(low, high, noun=noun, above_zero=above_zero)
    return Kind("length", check, _parse_length, str, low=low, high=high)


def _word_kind(word: str, check: Check, low: float, high: float, *, whole: bool = False) -> Kind:
    parse = _parse_word_or_number(word, low, high, whole=whole)
    text = _or_word(word, str if whole else _g)
    return Kind("word", check, parse, text, low=low, high=high, word=word, whole=whole)


def _number_kind(low: int, high: int) -> Kind:
    """A finite number from ``low`` to ``high`` (whole bounds, as Click's ranges show them)."""
    return Kind("number", _number(low, high), _parse_number, _g, low=low, high=high)


def _whole_kind(check: Check, low: int, *, word: str = "") -> Kind:
    """A whole number from ``low``; ``word`` (if any) reads as None, which is written as None."""
    text: Text = lambda value: None if value is None else str(value)  # noqa: E731
    return Kind("whole", check, _parse_whole(word), text, low=low, word=word, whole=True)


def _pair_text(pair: tuple[object, object] | None) -> str | None:
    return None if pair is None else f"{pair[0]},{pair[1]}"


def _point_text(point: tuple[float, float] | None) -> str | None:
    return None if point is None else f"{point[0]:g},{point[1]:g}"


def _switch_text(value: bool | None) -> str:
    return {None: "auto", True: "true", False: "false"}[value]


_OFFSET = Kind("offset", _pair(_length(-1.0, 1.0)), _parse_offset, _pair_text, low=-1, high=1)
_POINT = Kind("point", _point, _parse_point, _point_text, low=0.0, high=1.0, word="none")
_SWITCH = Kind("switch", _flag(optional=True), _parse_switch, _switch_text, word="auto")
_FLAG = Kind("flag", _flag(), _parse_flag, _switch_text)
_COLOUR = Kind("colour", _colour, _parse_text, str)
_PATH = Kind("path", _path, _parse_path, lambda path: None if path is None else str(path))


@dataclass(frozen=True)
class Option:
    """One option's spec, held by its ``BadgeOptions`` field: its ``kind``; the command
    line's ``help``, ``metavar`` and ``show_default``; ``request``: whether a web request may
    set it (and a campaign lock it); ``cli``: whether the command line has a flag for it;
    ``flags``: instead of one flag, one per choice (choice -> its help), ``--keep-metadata``."""

    kind: Kind
    help: str
    metavar: str | None = None
    show_default: bool = True
    request: bool = False
    cli: bool = True
    flags: Mapping[str, str] = field(default_factory=dict)

    def parse(self, name: str, value: object) -> Any:
        """``value`` (text, or a preset's TOML value) read and checked as field ``name``."""
        return self.kind.check(name, self.kind.parse(name, value))

    def text(self, value: Any) -> str | None:
        """A checked value as text its parser reads back (None: not set)."""
        return self.kind.text(value)


SPEC = "blueheart.option"
"""The key of a field's ``Option`` in its metadata."""


def option(default: Any, kind: Kind, help: str, **spec: Any) -> Any:
    """A ``BadgeOptions`` field with ``default`` and its spec (see ``Option``)."""
    return field(default=default, metadata={SPEC: Option(kind, help, **spec)})


_KEEP_HELP = (
    "Keep all metadata, GPS location included (default: the ICC profile and descriptive "
    "fields only: author, copyright, title, date, camera, exposure)."
)
_NOT_GIVEN: Any = object()
"""What a deprecated alias holds when not given."""


@dataclass(frozen=True)
class BadgeOptions:
    """Everything that decides how one image is badged, validated when built.

    Placement: ``position``; ``size`` and ``margin`` as fractions of the shorter side (float or
    ``Length.fraction``) or ``Length.px``; ``offset`` an (x, y) pair of lengths added after
    placement; ``at`` the emblem's centre as (x, y) fractions of the output's width and height,
    instead of ``position`` (None: use the position); ``circle_safe`` True/False, or None for
    automatic (on when the output is square).
    Style: ``opacity`` 0..1; ``style``; ``ring`` the white ring's width as a fraction of the
    emblem (0 for none), or None for automatic (widened where the blue has low contrast);
    ``color`` as ``#RRGGBB``; ``emblem`` a custom RGBA image file instead of the heart.
    Output: ``crop``, ``focus``, ``output_size`` (longer side in px), ``enlarge`` (False:
    ``output_size`` only shrinks, an image already no larger keeps its size), ``format``,
    ``background`` (what transparency becomes in a JPEG), ``quality`` (1-100, or None to keep a
    JPEG's own quantisation), ``metadata`` (a ``Policy``: ``keep`` all metadata, GPS included;
    ``strip`` all but the ICC profile; default ``descriptive``: ICC and descriptive fields, see
    ``blueheart.io.metadata``), ``max_pixels``. ``keep_metadata=True`` and
    ``strip_metadata=True`` are deprecated spellings of ``metadata``, kept for one release.

    Strings are accepted for the enum fields (``position="auto"``); the flags take ``True`` or
    ``False`` only (``"false"`` is an error, not a truthy string). An invalid value raises
    ``OptionError`` (a ``ValueError``) naming the field, what it accepts and what it got.
    Each field's ``Option`` spec (``option_specs()``) says how front ends read it from text.
    """

    position: Position = option(
        Position.BOTTOM_RIGHT, _choice_kind(Position), request=True,
        help="Where the emblem goes; auto picks the least busy place, off any face when the "
        "faces extra is installed (blueheart --version says).",
    )  # fmt: skip
    size: Length = option(
        Length.fraction(0.25), _length_kind(0.0, 1.0, noun="a size", above_zero=True),
        help="Emblem size: fraction of the shorter side (0 < F <= 1) or pixels (200px).",
        request=True,
    )  # fmt: skip
    margin: Length = option(
        Length.fraction(0.04), _length_kind(0.0, 0.5, noun="a margin"), request=True,
        help="Distance from the edges: fraction or px.",
    )  # fmt: skip
    offset: tuple[Length, Length] = option(
        (Length.fraction(0.0), Length.fraction(0.0)), _OFFSET, request=True, show_default=False,
        help="Fine shift X,Y after placement: fractions or px.",
    )  # fmt: skip
    at: tuple[float, float] | None = option(
        None, _POINT, request=True, show_default=False,
        help="The emblem's centre X,Y as fractions of the output's width and height, "
        "instead of --position.",
    )  # fmt: skip
    circle_safe: bool | None = option(
        None, _SWITCH, request=True, show_default=False,
        help="Keep the emblem inside the circle platforms show "
        "(default: on when the output is square).",
    )  # fmt: skip
    opacity: float = option(
        1.0, _number_kind(0, 1),
        help="0 (invisible) to 1 (opaque).", request=True,
    )  # fmt: skip
    style: Style = option(
        Style.HEART, _choice_kind(Style), request=True,
        help="heart: the heart with a white ring; pin: the heart on a white disc.",
    )  # fmt: skip
    ring: float | None = option(
        None, _word_kind("auto", _number(0.0, 0.25, noun="a fraction", none_means="auto"),
                         0.0, 0.25),
        help="Ring width, a fraction of the emblem, 0 for none; auto: widened where UN blue "
        "would have low contrast with the photo.", request=True,
    )  # fmt: skip
    color: str = option(UN_BLUE, _COLOUR, help="The heart's colour.", metavar="HEX", request=True)
    emblem: Path | None = option(
        None, _PATH, show_default=False,
        help="A custom RGBA emblem image instead of the built-in heart.",
    )  # fmt: skip
    crop: Crop = option(
        Crop.NONE, _choice_kind(Crop), help="square, or circle (transparent corners).",
        request=True,
    )  # fmt: skip
    focus: Focus = option(
        Focus.CENTER, _choice_kind(Focus), request=True,
        help="Which square a crop keeps; auto: the most salient one, keeping faces whole when "
        "the faces extra is installed.",
    )  # fmt: skip
    output_size: int | None = option(
        None,
        _whole_kind(_whole(1, unit=" of pixels", optional=True, cap=MAX_SIDE), 1, word="none"),
        help="The output's longer side in px (square side when cropped).", metavar="N",
        show_default=False, request=True,
    )  # fmt: skip
    enlarge: bool = option(
        True, _FLAG, cli=False,
        help="Whether output_size may enlarge (False: it only shrinks).",
    )  # fmt: skip
    format: OutputFormat = option(
        OutputFormat.KEEP, _choice_kind(OutputFormat), request=True,
        help="Output format; keep: what -o's extension names, else the input's "
        "(HEIC becomes JPEG; with a circle crop, PNG).",
    )  # fmt: skip
    background: str = option(
        WHITE, _COLOUR, help="What transparency becomes in a JPEG.", metavar="HEX", request=True
    )  # fmt: skip
    quality: int | None = option(
        None, _word_kind("keep", _whole(1, 100, none_means="keep"), 1, 100, whole=True),
        help="JPEG/WebP/AVIF quality; keep: a JPEG's own quantisation where possible.",
        request=True,
    )  # fmt: skip
    metadata: Policy = option(
        Policy.DESCRIPTIVE, _choice_kind(Policy),
        help="What of the photo's metadata the output keeps besides the ICC profile.",
        flags={"keep": _KEEP_HELP, "strip": "Keep nothing but the ICC profile."},
    )  # fmt: skip
    max_pixels: int = option(
        DEFAULT_MAX_PIXELS, _whole_kind(_whole(1), 1),
        help="Refuse larger images from the header.",
    )  # fmt: skip

    if TYPE_CHECKING:
        # What __init__ accepts, for type checkers: the names and numbers that __post_init__
        # turns into the typed values above (``OptionValues``).
        def __init__(self, **values: Unpack[OptionValues]) -> None: ...

        @property
        @deprecated("use metadata is Policy.KEEP")
        def keep_metadata(self) -> bool:
            """Deprecated: ``metadata is Policy.KEEP``."""

        @property
        @deprecated("use metadata is Policy.STRIP")
        def strip_metadata(self) -> bool:
            """Deprecated: ``metadata is Policy.STRIP``."""

    def __post_init__(self) -> None:
        for name, spec in _CHECK_ORDER:
            object.__setattr__(self, name, spec.kind.check(name, getattr(self, name)))
        if self.needs_alpha and self.format is OutputFormat.JPEG:
            raise OptionError(
                "format",
                "a circle crop needs transparent corners, which JPEG cannot store; "
                "choose png, webp or avif",
            )

    @property
    def needs_alpha(self) -> bool:
        """Whether the output needs an alpha channel: a circle crop's transparent corners."""
        return self.crop is Crop.CIRCLE

    def replace(self, **changes: Unpack[OptionValues]) -> BadgeOptions:
        """A copy with some fields changed, validated again."""
        current = {spec.name: getattr(self, spec.name) for spec in dataclasses.fields(self)}
        return BadgeOptions(**{**current, **changes})


class OptionValues(TypedDict, total=False):
    """What each ``BadgeOptions`` field accepts as a keyword argument (``BadgeOptions(...)``,
    ``replace``, and the library's ``**overrides``): one key per field, plus the deprecated
    ``keep_metadata`` and ``strip_metadata``."""

    position: Position | str
    size: Length | float
    margin: Length | float
    offset: tuple[Length | float, Length | float]
    at: tuple[float, float] | None
    circle_safe: bool | None
    opacity: float
    style: Style | str
    ring: float | None
    color: str
    emblem: Path | str | None
    crop: Crop | str
    focus: Focus | str
    output_size: int | None
    enlarge: bool
    format: OutputFormat | str
    background: str
    quality: int | None
    metadata: Policy | str
    max_pixels: int
    keep_metadata: bool
    strip_metadata: bool


DEPRECATED_ALIASES = {"keep_metadata": Policy.KEEP, "strip_metadata": Policy.STRIP}
"""Keyword arguments kept for one release, and the ``metadata`` policy each stands for."""
DEPRECATED_SPEC = Option(_FLAG, "Deprecated: see metadata.", cli=False)
"""How a deprecated alias is read from text: true or false."""


def option_specs() -> dict[str, Option]:
    """Every option's spec by field name, in the fields' order."""
    return {spec.name: spec.metadata[SPEC] for spec in dataclasses.fields(BadgeOptions)}


_CHECK_ORDER = sorted(option_specs().items(), key=lambda item: item[1].kind.form != "choice")
"""The fields in the order they are checked: the named choices first, then the fields' order."""


def choice_from_flags(name: str, flags: Mapping[str, bool]) -> str | None:
    """The one choice of field ``name`` whose flag is set (``keep`` for ``keep_metadata``), None
    for none; two set are an ``OptionError`` naming the second."""
    chosen = [choice for choice, is_set in flags.items() if is_set]
    if len(chosen) > 1:
        first, second = (f"{choice}_{name}" for choice in chosen[:2])
        raise OptionError(second, f"{first} and {second} exclude each other")
    return chosen[0] if chosen else None


def _with_aliases(policy: Policy, aliases: Mapping[str, object]) -> Policy:
    """``policy`` as the deprecated ``keep_metadata`` / ``strip_metadata`` given change it."""
    flags = {alias: policy is stands_for for alias, stands_for in DEPRECATED_ALIASES.items()}
    for alias, value in aliases.items():
        flags[alias] = bool(_flag()(alias, value))
    choice = choice_from_flags("metadata", {key.split("_")[0]: on for key, on in flags.items()})
    return Policy.DESCRIPTIVE if choice is None else Policy(choice)


def _warn_deprecated(alias: str) -> None:
    policy = DEPRECATED_ALIASES[alias].value
    # Blamed on the caller's line, outside blueheart (badge_bytes(keep_metadata=True) too).
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("blueheart"):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{alias} is deprecated: use metadata={policy!r}", DeprecationWarning,
                  stacklevel=level)  # fmt: skip


def _accepting_aliases(init: Callable[..., None]) -> Callable[..., None]:
    """The dataclass's ``__init__``, also taking the deprecated aliases of ``metadata``."""

    def with_aliases(self: BadgeOptions, *args: Any, **values: Any) -> None:
        aliases = {name: values.pop(name) for name in DEPRECATED_ALIASES if name in values}
        for alias in aliases:
            _warn_deprecated(alias)
        init(self, *args, **values)
        if aliases:
            object.__setattr__(self, "metadata", _with_aliases(self.metadata, aliases))

    with_aliases.__name__ = with_aliases.__qualname__ = "__init__"
    with_aliases.__doc__, with_aliases.__signature__ = init.__doc__, inspect.signature(init)  # type: ignore[attr-defined]
    return with_aliases


def _alias_attribute(alias: str) -> property:
    """The deprecated read-only attribute ``alias``: whether ``metadata`` is its policy."""

    def read(self: BadgeOptions) -> bool:
        _warn_deprecated(alias)
        return self.metadata is DEPRECATED_ALIASES[alias]

    return property(read, doc=f"Deprecated: ``metadata is {DEPRECATED_ALIASES[alias]}``.")


setattr(BadgeOptions, "__init__", _accepting_aliases(BadgeOptions.__init__))  # noqa: B010
for _alias in DEPRECATED_ALIASES:
    setattr(BadgeOptions, _alias, _alias_attribute(_alias))


def resolve_options(options: BadgeOptions | None, overrides: Mapping[str, Any]) -> BadgeOptions:
    """``options`` (or the defaults) with ``overrides`` applied; unknown names are an error,
    and ``options`` of another type a ``TypeError``."""
    if options is not None and not isinstance(options, BadgeOptions):
        raise TypeError(f"options: expected a BadgeOptions or None, got {type_name(options)}")
    base = options if options is not None else BadgeOptions()
    for name in overrides:
        if name not in OptionValues.__annotations__:
            raise OptionError(name, "no such option")
    return base.replace(**overrides) if overrides else base


def path_argument(name: str, value: object) -> Path:
    """``value`` as a path; a ``TypeError`` naming the argument ``name`` unless it is a ``str``
    or an ``os.PathLike`` (a library caller's mistake, said as such, not deep in ``pathlib``)."""
    if isinstance(value, str) or (
        isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)
    ):
        return Path(value)
    raise TypeError(f"{name}: expected a path (str or os.PathLike), got {type_name(value)}")


def type_name(value: object) -> str:
    """The type of a wrong argument as a message names it: ``str``, ``PIL.Image.Image``."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
