"""Options as text, for query strings and campaign presets: parsed into ``BadgeOptions`` fields,
and written back the way a query string takes them.

Pure: no Starlette here. Names are the library's (``output_size``; dashes are read as
underscores); values the CLI's spelling (``0.25``, ``200px``, ``0.5,0.3``, ``auto``, ``keep``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from blueheart import BadgeOptions, Crop, Length, OptionError, Unit

CROP_OUTPUT_SIDE = 1080
"""A crop's side when neither the request nor the campaign sets ``output_size``."""
UNCROPPED_OUTPUT_SIDE = 2048
"""An uncropped output's longer side at most when neither the request nor the campaign sets
``output_size`` (smaller photos keep their size): what one request costs stays bounded, and
platforms show no more than that."""
MAX_OUTPUT_SIDE = 4096
"""The largest ``output_size`` a request may ask: a picture to post, not a poster."""


def _text(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise OptionError(name, f"expected a value as text, got {value!r}")
    return str(value).strip()


def _number(name: str, value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        try:
            number = float(_text(name, value))
        except ValueError:
            raise OptionError(name, f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise OptionError(name, f"expected a finite number, got {value!r}")
    return number


def _length(name: str, value: object) -> Length:
    text = _text(name, value).lower()
    if text.endswith("px"):
        return Length.px(_number(name, text[:-2]))
    return Length.fraction(_number(name, value))


def _pair(name: str, value: object) -> list[object]:
    parts: list[object] = value if isinstance(value, list) else [*_text(name, value).split(",")]
    if len(parts) != 2:
        raise OptionError(name, f"expected X,Y, got {value!r}")
    return parts


def _offset(name: str, value: object) -> tuple[Length, Length]:
    x, y = _pair(name, value)
    return _length(name, x), _length(name, y)


def _point(name: str, value: object) -> tuple[float, float]:
    x, y = _pair(name, value)
    return _number(name, x), _number(name, y)


def _switch(name: str, value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    words = {"true": True, "on": True, "false": False, "off": False, "auto": None}
    text = _text(name, value).lower()
    if text not in words:
        raise OptionError(name, f"expected true, false or auto, got {value!r}")
    return words[text]


def _or_none(word: str, parse: Callable[[str, object], Any]) -> Callable[[str, object], Any]:
    def parse_or_none(name: str, value: object) -> Any:
        is_word = isinstance(value, str) and value.strip().lower() == word
        return None if is_word else parse(name, value)

    return parse_or_none


def _whole(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(_text(name, value))
    except ValueError:
        raise OptionError(name, f"expected a whole number, got {value!r}") from None


PARSERS: dict[str, Callable[[str, object], Any]] = {
    "position": _text,
    "size": _length,
    "margin": _length,
    "offset": _offset,
    "at": _or_none("none", _point),
    "circle_safe": _switch,
    "opacity": _number,
    "style": _text,
    "ring": _or_none("auto", _number),
    "color": _text,
    "crop": _text,
    "focus": _text,
    "output_size": _or_none("none", _whole),
    "format": _text,
    "background": _text,
    "quality": _or_none("keep", _whole),
}
"""Every option a request may set, and how its text becomes the field's value. The rest stay
the server's: ``emblem`` names a file on it, ``max_pixels`` is its limit, and
``keep_metadata`` would let the location through."""


def parse_options(pairs: Iterable[tuple[str, object]]) -> dict[str, Any]:
    """``BadgeOptions`` fields from (name, text) pairs, such as a query string's.

    Raises ``OptionError`` naming an unknown, repeated or malformed option; the values are
    checked further when the options are built."""
    fields: dict[str, Any] = {}
    for raw_name, value in pairs:
        name = raw_name.replace("-", "_")
        if name not in PARSERS:
            raise OptionError(name, "no such option")
        if name in fields:
            raise OptionError(name, "given twice")
        fields[name] = PARSERS[name](name, value)
    if (fields.get("output_size") or 0) > MAX_OUTPUT_SIDE:
        raise OptionError(
            "output_size", f"expected at most {MAX_OUTPUT_SIDE} px, got {fields['output_size']}"
        )
    return fields


def with_output_side(options: BadgeOptions) -> BadgeOptions:
    """``options``, unless a size is set: crops made ``CROP_OUTPUT_SIDE`` px square, other
    outputs shrunk to ``UNCROPPED_OUTPUT_SIDE`` px on their longer side at most."""
    if options.output_size is not None:
        return options
    if options.crop is not Crop.NONE:
        return options.replace(output_size=CROP_OUTPUT_SIDE)
    return options.replace(output_size=UNCROPPED_OUTPUT_SIDE, enlarge=False)


def option_texts(options: BadgeOptions) -> dict[str, str | None]:
    """Each option a request may set, as a query string takes it (None: not set)."""

    def length(value: Length) -> str:
        return f"{value.value:g}px" if value.unit is Unit.PX else f"{value.value:g}"

    at = options.at
    return {
        "position": options.position.value,
        "size": length(options.size),
        "margin": length(options.margin),
        "offset": f"{length(options.offset[0])},{length(options.offset[1])}",
        "at": None if at is None else f"{at[0]:g},{at[1]:g}",
        "circle_safe": {None: "auto", True: "true", False: "false"}[options.circle_safe],
        "opacity": f"{options.opacity:g}",
        "style": options.style.value,
        "ring": "auto" if options.ring is None else f"{options.ring:g}",
        "color": options.color,
        "crop": options.crop.value,
        "focus": options.focus.value,
        "output_size": None if options.output_size is None else str(options.output_size),
        "format": options.format.value,
        "background": options.background,
        "quality": "keep" if options.quality is None else str(options.quality),
    }
