"""The page's languages, and choosing one from a browser's ``Accept-Language`` header.

Pure: no Starlette here. The page's strings live in ``static/i18n/<code>.json``, one
catalogue per language; English is complete and the others fall back to it.
"""

from __future__ import annotations

LANGUAGES = ("en", "fr", "es", "ar", "zh", "ru")
"""The six official languages of the United Nations, by their ISO 639-1 codes; English first."""
NAMES = {
    "en": "English", "fr": "Français", "es": "Español",
    "ar": "العربية", "zh": "中文", "ru": "Русский",
}  # fmt: skip
"""Each language's name in itself, for the page's switcher."""
FALLBACK = LANGUAGES[0]
RIGHT_TO_LEFT = frozenset({"ar"})


def negotiate(accept_language: str | None) -> str:
    """The page's language for an ``Accept-Language`` header such as ``fr-CH, fr;q=0.9, en;q=0.8``.

    The most preferred of ``LANGUAGES`` by quality, the header's order breaking ties, matched on
    the primary subtag (``zh-Hant-TW`` is ``zh``); ``*`` or nothing usable: English.
    """
    best: tuple[float, int, str] | None = None
    for order, item in enumerate((accept_language or "").split(",")):
        tag, _, parameters = item.partition(";")
        primary = tag.strip().split("-")[0].lower()
        if primary not in LANGUAGES:
            continue
        quality = _quality(parameters)
        if quality > 0 and (best is None or (-quality, order) < (-best[0], best[1])):
            best = (quality, order, primary)
    return best[2] if best else FALLBACK


def _quality(parameters: str) -> float:
    """The ``q`` of ``q=0.8``; 1 when absent, 0 (not acceptable) when malformed."""
    name, _, value = parameters.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        quality = float(value)
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0
