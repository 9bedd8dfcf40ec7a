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
from blueheart.core.errors import (
    BlueheartError,
    EmblemDoesNotFitError,
    Hint,
    ImageTooLargeError,
    NotAnImageError,
    OptionError,
    OutputExistsError,
    OutputTooLargeError,
    OutputWriteError,
    TooManyPixelsError,
    UnreadableImageError,
    UnsupportedFormatError,
)

if TYPE_CHECKING:
    from blueheart.batching.batch import batch
    from blueheart.batching.records import Plan, Report, Result
    from blueheart.batching.sheet import SheetReport, contact_sheet, write_contact_sheets
    from blueheart.core.emblem import AUTO_RING, HEART_RING, emblem_svg, render_emblem
    from blueheart.core.heart import silhouette
    from blueheart.core.options import (
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
    from blueheart.core.units import Length, Unit
    from blueheart.io.badging import apply_badge, badge_bytes, badge_file, write_emblem
    from blueheart.io.presets import Preset, PresetError, read_preset
    from blueheart.io.preview import PREVIEW_SIDE, Preview, preview_bytes

_LAZY = {
    "apply_badge": "blueheart.io.badging",
    "badge_bytes": "blueheart.io.badging",
    "badge_file": "blueheart.io.badging",
    "preview_bytes": "blueheart.io.preview",
    "Preview": "blueheart.io.preview",
    "PREVIEW_SIDE": "blueheart.io.preview",
    "write_emblem": "blueheart.io.badging",
    "render_emblem": "blueheart.core.emblem",
    "emblem_svg": "blueheart.core.emblem",
    "silhouette": "blueheart.core.heart",
    "HEART_RING": "blueheart.core.emblem",
    "AUTO_RING": "blueheart.core.emblem",
    "batch": "blueheart.batching.batch",
    "Plan": "blueheart.batching.records",
    "Report": "blueheart.batching.records",
    "Result": "blueheart.batching.records",
    "contact_sheet": "blueheart.batching.sheet",
    "write_contact_sheets": "blueheart.batching.sheet",
    "SheetReport": "blueheart.batching.sheet",
    "BadgeOptions": "blueheart.core.options",
    "Position": "blueheart.core.options",
    "Style": "blueheart.core.options",
    "Crop": "blueheart.core.options",
    "Focus": "blueheart.core.options",
    "OutputFormat": "blueheart.core.options",
    "UN_BLUE": "blueheart.core.options",
    "DEFAULT_MAX_PIXELS": "blueheart.core.options",
    "Option": "blueheart.core.options",
    "OptionValues": "blueheart.core.options",
    "Policy": "blueheart.core.options",
    "option_specs": "blueheart.core.options",
    "Preset": "blueheart.io.presets",
    "PresetError": "blueheart.io.presets",
    "read_preset": "blueheart.io.presets",
    "Length": "blueheart.core.units",
    "Unit": "blueheart.core.units",
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
    "Hint",
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
    "TooManyPixelsError",
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
