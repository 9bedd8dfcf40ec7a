"""The one frozen, validated options record shared by the library, the CLI and the batch runner."""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blueheart.errors import OptionError
from blueheart.units import Length, Unit

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
           optional: bool = False) -> Check:  # fmt: skip
    """A whole number from ``low`` (to ``high``); None too when ``optional`` or ``none_means``."""
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


_CHECKS: dict[str, Check] = {
    "position": _enum(Position),
    "style": _enum(Style),
    "crop": _enum(Crop),
    "focus": _enum(Focus),
    "format": _enum(OutputFormat),
    "size": _length(0.0, 1.0, noun="a size", above_zero=True),
    "margin": _length(0.0, 0.5, noun="a margin"),
    "offset": _pair(_length(-1.0, 1.0)),
    "at": _point,
    "circle_safe": _flag(optional=True),
    "keep_metadata": _flag(),
    "strip_metadata": _flag(),
    "opacity": _number(0.0, 1.0),
    "ring": _number(0.0, 0.25, noun="a fraction", none_means="auto"),
    "color": _colour,
    "background": _colour,
    "emblem": _path,
    "output_size": _whole(1, MAX_SIDE, unit=" of pixels", optional=True),
    "enlarge": _flag(),
    "quality": _whole(1, 100, none_means="keep"),
    "max_pixels": _whole(1),
}
"""Each field's checker, in the order they are checked."""


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """The (r, g, b) bytes of a validated ``#RRGGBB`` colour."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


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
    JPEG's own quantisation), ``keep_metadata`` (all metadata, GPS included) or
    ``strip_metadata`` (the ICC profile only; default: ICC and descriptive fields, see
    ``blueheart.metadata``), ``max_pixels``.

    Strings are accepted for the enum fields (``position="auto"``); the flags take ``True`` or
    ``False`` only (``"false"`` is an error, not a truthy string). An invalid value raises
    ``OptionError`` (a ``ValueError``) naming the field, what it accepts and what it got.
    """

    position: Position = Position.BOTTOM_RIGHT
    size: Length = field(default_factory=lambda: Length.fraction(0.25))
    margin: Length = field(default_factory=lambda: Length.fraction(0.04))
    offset: tuple[Length, Length] = field(
        default_factory=lambda: (Length.fraction(0.0), Length.fraction(0.0))
    )
    at: tuple[float, float] | None = None
    circle_safe: bool | None = None
    opacity: float = 1.0
    style: Style = Style.HEART
    ring: float | None = None
    color: str = UN_BLUE
    emblem: Path | None = None
    crop: Crop = Crop.NONE
    focus: Focus = Focus.CENTER
    output_size: int | None = None
    enlarge: bool = True
    format: OutputFormat = OutputFormat.KEEP
    background: str = WHITE
    quality: int | None = None
    keep_metadata: bool = False
    strip_metadata: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS

    if TYPE_CHECKING:
        # What __init__ accepts, for type checkers: the names and numbers that __post_init__
        # turns into the typed values above. One parameter per field, in the fields' order.
        def __init__(
            self,
            position: Position | str = ...,
            size: Length | float = ...,
            margin: Length | float = ...,
            offset: tuple[Length | float, Length | float] = ...,
            at: tuple[float, float] | None = ...,
            circle_safe: bool | None = ...,
            opacity: float = ...,
            style: Style | str = ...,
            ring: float | None = ...,
            color: str = ...,
            emblem: Path | str | None = ...,
            crop: Crop | str = ...,
            focus: Focus | str = ...,
            output_size: int | None = ...,
            enlarge: bool = ...,
            format: OutputFormat | str = ...,
            background: str = ...,
            quality: int | None = ...,
            keep_metadata: bool = ...,
            strip_metadata: bool = ...,
            max_pixels: int = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
        if self.keep_metadata and self.strip_metadata:
            raise OptionError(
                "strip_metadata", "keep_metadata and strip_metadata exclude each other"
            )
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

    def replace(self, **changes: Any) -> BadgeOptions:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)


def resolve_options(options: BadgeOptions | None, overrides: dict[str, Any]) -> BadgeOptions:
    """``options`` (or the defaults) with ``overrides`` applied; unknown names are an error,
    and ``options`` of another type a ``TypeError``."""
    if options is not None and not isinstance(options, BadgeOptions):
        raise TypeError(f"options: expected a BadgeOptions or None, got {type_name(options)}")
    base = options if options is not None else BadgeOptions()
    known = {f.name for f in dataclasses.fields(BadgeOptions)}
    for name in overrides:
        if name not in known:
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
