"""blueheart: put a UN-blue heart emblem on photos, in solidarity with victims of trafficking.

The library in one breath::

    import blueheart
    out = blueheart.apply_badge(image, position="auto", size=0.25)
    blueheart.badge_file("in.jpg", "out.jpg", options)
    data = blueheart.badge_bytes(jpeg_bytes, options)
    heart = blueheart.render_emblem(256)
    report = blueheart.batch("photos", "out", options, workers=2, progress=callback)

Heavy modules (Pillow, numpy) load on first use, so ``import blueheart`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from blueheart._version import __version__
from blueheart.errors import (
    BlueheartError,
    EmblemDoesNotFitError,
    ImageTooLargeError,
    NotAnImageError,
    OptionError,
    OutputExistsError,
    OutputTooLargeError,
    OutputWriteError,
    UnreadableImageError,
    UnsupportedFormatError,
)

if TYPE_CHECKING:
    from blueheart.batching import Plan, Report, Result, batch
    from blueheart.emblem import AUTO_RING, HEART_RING, emblem_svg, render_emblem, silhouette
    from blueheart.files import (
        PREVIEW_SIDE,
        Preview,
        apply_badge,
        badge_bytes,
        badge_file,
        preview_bytes,
        write_emblem,
    )
    from blueheart.options import (
        DEFAULT_MAX_PIXELS,
        UN_BLUE,
        BadgeOptions,
        Crop,
        Focus,
        Option,
        OptionValues,
        OutputFormat,
        Policy,
        Position,
        Style,
        option_specs,
    )
    from blueheart.presets import Preset, PresetError, read_preset
    from blueheart.sheet import SheetReport, contact_sheet, write_contact_sheets
    from blueheart.units import Length, Unit

_LAZY = {
    "apply_badge": "blueheart.files",
    "badge_bytes": "blueheart.files",
    "badge_file": "blueheart.files",
    "preview_bytes": "blueheart.files",
    "Preview": "blueheart.files",
    "PREVIEW_SIDE": "blueheart.files",
    "write_emblem": "blueheart.files",
    "render_emblem": "blueheart.emblem",
    "emblem_svg": "blueheart.emblem",
    "silhouette": "blueheart.emblem",
    "HEART_RING": "blueheart.emblem",
    "AUTO_RING": "blueheart.emblem",
    "batch": "blueheart.batching",
    "Plan": "blueheart.batching",
    "Report": "blueheart.batching",
    "Result": "blueheart.batching",
    "contact_sheet": "blueheart.sheet",
    "write_contact_sheets": "blueheart.sheet",
    "SheetReport": "blueheart.sheet",
    "BadgeOptions": "blueheart.options",
    "Position": "blueheart.options",
    "Style": "blueheart.options",
    "Crop": "blueheart.options",
    "Focus": "blueheart.options",
    "OutputFormat": "blueheart.options",
    "UN_BLUE": "blueheart.options",
    "DEFAULT_MAX_PIXELS": "blueheart.options",
    "Option": "blueheart.options",
    "OptionValues": "blueheart.options",
    "Policy": "blueheart.options",
    "option_specs": "blueheart.options",
    "Preset": "blueheart.presets",
    "PresetError": "blueheart.presets",
    "read_preset": "blueheart.presets",
    "Length": "blueheart.units",
    "Unit": "blueheart.units",
}

__all__ = [
    "AUTO_RING",
    "DEFAULT_MAX_PIXELS",
    "HEART_RING",
    "PREVIEW_SIDE",
    "UN_BLUE",
    "BadgeOptions",
    "BlueheartError",
    "Crop",
    "EmblemDoesNotFitError",
    "Focus",
    "ImageTooLargeError",
    "Length",
    "NotAnImageError",
    "Option",
    "OptionError",
    "OptionValues",
    "OutputExistsError",
    "OutputFormat",
    "OutputTooLargeError",
    "OutputWriteError",
    "Plan",
    "Policy",
    "Position",
    "Preset",
    "PresetError",
    "Preview",
    "Report",
    "Result",
    "SheetReport",
    "Style",
    "Unit",
    "UnreadableImageError",
    "UnsupportedFormatError",
    "__version__",
    "apply_badge",
    "badge_bytes",
    "badge_file",
    "batch",
    "contact_sheet",
    "emblem_svg",
    "option_specs",
    "preview_bytes",
    "read_preset",
    "render_emblem",
    "silhouette",
    "write_contact_sheets",
    "write_emblem",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'blueheart' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazily loaded ones included (for help() and completion)."""
    return sorted({*globals(), *__all__})
