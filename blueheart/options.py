"""The one frozen, validated options record shared by the library, the CLI and the batch runner."""

from __future__ import annotations

import dataclasses
import enum
import math
import re
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


def _coerce_enum(name: str, enum_type: type[enum.Enum], value: object) -> Any:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in enum_type)
        raise OptionError(name, f"expected one of {choices}, got {value!r}") from None


def _coerce_length(name: str, value: object) -> Length:
    if isinstance(value, Length):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Length.fraction(value)
    raise OptionError(name, f"expected a fraction (float) or blueheart.Length.px(N), got {value!r}")


def _check_colour(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
        raise OptionError(name, f"expected a colour as #RRGGBB, got {value!r}")
    return value.upper()


def _check_fraction_range(name: str, length: Length, low: float, high: float) -> None:
    if not math.isfinite(length.value):
        raise OptionError(name, f"expected a finite number, got {length}")
    if length.unit is Unit.FRACTION and not low <= length.value <= high:
        raise OptionError(name, f"expected a fraction from {low:g} to {high:g}, got {length}")


def _check_point(name: str, value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise OptionError(name, f"expected an (x, y) pair of fractions or None, got {value!r}")
    if not all(_is_number(part) and 0.0 <= part <= 1.0 for part in value):
        raise OptionError(name, f"expected x and y from 0 to 1, got {tuple(value)!r}")
    return float(value[0]), float(value[1])


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
    Output: ``crop``, ``focus``, ``output_size`` (longer side in px), ``format``,
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
            format: OutputFormat | str = ...,
            background: str = ...,
            quality: int | None = ...,
            keep_metadata: bool = ...,
            strip_metadata: bool = ...,
            max_pixels: int = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("position", _coerce_enum("position", Position, self.position))
        put("style", _coerce_enum("style", Style, self.style))
        put("crop", _coerce_enum("crop", Crop, self.crop))
        put("focus", _coerce_enum("focus", Focus, self.focus))
        put("format", _coerce_enum("format", OutputFormat, self.format))

        size = _coerce_length("size", self.size)
        if not size.value > 0:
            raise OptionError("size", f"expected a size above 0, got {size}")
        _check_fraction_range("size", size, 0.0, 1.0)
        put("size", size)

        margin = _coerce_length("margin", self.margin)
        if margin.value < 0:
            raise OptionError("margin", f"expected a margin of 0 or more, got {margin}")
        _check_fraction_range("margin", margin, 0.0, 0.5)
        put("margin", margin)

        if not isinstance(self.offset, (tuple, list)) or len(self.offset) != 2:
            raise OptionError("offset", f"expected an (x, y) pair, got {self.offset!r}")
        offset = (
            _coerce_length("offset", self.offset[0]),
            _coerce_length("offset", self.offset[1]),
        )
        for part in offset:
            _check_fraction_range("offset", part, -1.0, 1.0)
        put("offset", offset)
        put("at", _check_point("at", self.at))

        if self.circle_safe is not None and not isinstance(self.circle_safe, bool):
            raise OptionError(
                "circle_safe", f"expected True, False or None, got {self.circle_safe!r}"
            )
        for flag in ("keep_metadata", "strip_metadata"):
            if not isinstance(getattr(self, flag), bool):
                raise OptionError(flag, f"expected True or False, got {getattr(self, flag)!r}")
        if self.keep_metadata and self.strip_metadata:
            raise OptionError(
                "strip_metadata", "keep_metadata and strip_metadata exclude each other"
            )
        if not _is_number(self.opacity) or not 0.0 <= self.opacity <= 1.0:
            raise OptionError("opacity", f"expected a number from 0 to 1, got {self.opacity!r}")
        if self.ring is not None and (not _is_number(self.ring) or not 0.0 <= self.ring <= 0.25):
            raise OptionError(
                "ring", f"expected a fraction from 0 to 0.25 or None (auto), got {self.ring!r}"
            )
        put("color", _check_colour("color", self.color))
        put("background", _check_colour("background", self.background))
        if self.emblem is not None:
            put("emblem", Path(self.emblem))
        if self.output_size is not None and (not _is_int(self.output_size) or self.output_size < 1):
            raise OptionError(
                "output_size",
                f"expected a whole number of pixels above 0, got {self.output_size!r}",
            )
        if self.quality is not None and (not _is_int(self.quality) or not 1 <= self.quality <= 100):
            raise OptionError(
                "quality",
                f"expected a whole number from 1 to 100 or None (keep), got {self.quality!r}",
            )
        if not _is_int(self.max_pixels) or self.max_pixels < 1:
            raise OptionError(
                "max_pixels", f"expected a whole number above 0, got {self.max_pixels!r}"
            )
        if self.crop is Crop.CIRCLE and self.format is OutputFormat.JPEG:
            raise OptionError(
                "format",
                "a circle crop needs transparent corners, which JPEG cannot store; "
                "choose png, webp or avif",
            )

    def replace(self, **changes: Any) -> BadgeOptions:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_options(options: BadgeOptions | None, overrides: dict[str, Any]) -> BadgeOptions:
    """``options`` (or the defaults) with ``overrides`` applied; unknown names are an error."""
    base = options if options is not None else BadgeOptions()
    known = {f.name for f in dataclasses.fields(BadgeOptions)}
    for name in overrides:
        if name not in known:
            raise OptionError(name, "no such option")
    return base.replace(**overrides) if overrides else base
