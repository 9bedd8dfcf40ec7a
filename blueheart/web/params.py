"""Options as a query string's text: parsed into ``BadgeOptions`` fields by each option's own
parser (``blueheart.option_specs()``), and written back the way a query string takes them.

Pure: no Starlette here. Names are the library's (``output_size``; dashes are read as
underscores); values the CLI's spelling (``0.25``, ``200px``, ``0.5,0.3``, ``auto``, ``keep``).
The service's own rules stay here: which options a request may not set, the largest output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from blueheart import BadgeOptions, Crop, OptionError, option_specs

CROP_OUTPUT_SIDE = 1080
"""A crop's side when neither the request nor the campaign sets ``output_size``."""
UNCROPPED_OUTPUT_SIDE = 2048
"""An uncropped output's longer side at most when neither the request nor the campaign sets
``output_size`` (smaller photos keep their size): what one request costs stays bounded, and
platforms show no more than that."""
MAX_OUTPUT_SIDE = 4096
"""The largest ``output_size`` a request may ask: a picture to post, not a poster."""


REQUEST_OPTIONS = {name: spec for name, spec in option_specs().items() if spec.request}
"""The options a request may set (and a campaign lock), in the fields' order. The rest stay
the server's: ``emblem`` names a file on it, ``max_pixels`` is its limit, ``metadata`` would
let the location through."""
PARSERS: dict[str, Callable[[str, object], Any]] = {
    name: spec.kind.parse for name, spec in REQUEST_OPTIONS.items()
}
"""How each option's text becomes the field's value: the option's own parser."""


def parse_options(pairs: Iterable[tuple[str, object]]) -> dict[str, Any]:
    """``BadgeOptions`` fields from (name, text) pairs, such as a query string's.

    Raises ``OptionError`` naming an unknown, repeated or malformed option; the values are
    checked further when the options are built."""
    fields: dict[str, Any] = {}
    for raw_name, value in pairs:
        name = raw_name.replace("-", "_")
        if name not in PARSERS:
            raise OptionError.no_such_option(name, PARSERS)
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
    return {name: spec.text(getattr(options, name)) for name, spec in REQUEST_OPTIONS.items()}
