"""A campaign preset: the options' defaults, which of them people may not change, the page texts.

The file is read by ``blueheart.read_preset``, as the commands' ``--config`` reads it; the
service's own rules are here: which options a campaign may set, the ``[page]`` table.

Read once when the service starts; nothing about a campaign changes while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueheart import BadgeOptions, OptionError, Preset, read_preset
from blueheart import PresetError as PresetError  # named here as before
from blueheart.web.languages import LANGUAGES
from blueheart.web.params import PARSERS

PAGE_TEXTS = ("title", "message", "hashtag", "link")
"""The ``[page]`` table's texts, passed to the page as they are."""
OPTION_KEYS = frozenset({*PARSERS, "emblem"})
"""The options a campaign sets: those a request may set, and the server's own emblem file."""
SERVER_KEYS = {
    "metadata": "downloads always keep nothing but the ICC profile; it has no such key",
    "keep_metadata": "the service never keeps the location; it has no such key",
    "strip_metadata": "downloads always keep nothing but the ICC profile; it has no such key",
    "max_pixels": "the limit is the server's: use blueheart serve --max-pixels",
}


@dataclass(frozen=True)
class Campaign:
    """``options``: the defaults; ``locked``: option names a request may not set; ``page``:
    the page's texts (title, message, hashtag, link); ``translations``: those texts in other
    languages, by language code (a text not given there is the ``page`` one)."""

    options: BadgeOptions = field(default_factory=BadgeOptions)
    locked: frozenset[str] = frozenset()
    page: Mapping[str, str] = field(default_factory=dict)
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def load_campaign(path: str | Path | None) -> Campaign:
    """The campaign in the TOML file at ``path`` (None: the library's defaults).

    Options are keys at the top level or in a ``[badge]`` table, as the CLI's long options
    spell them (dashes or underscores), plus ``emblem`` (a file on the server); the ``[page]``
    table holds ``title``, ``message``, ``hashtag``, ``link`` (http or https), ``lock`` (a
    list of option names) and, optionally, a table of those texts per language
    (``[page.fr]``, one of ``LANGUAGES``). The pixel limit is the server's
    (``ServiceSettings``). Raises ``PresetError`` for a file that cannot be read, an unknown
    key or a bad value.
    """
    if path is None:
        return Campaign()
    preset = read_preset(path)
    name = preset.path
    try:
        options = BadgeOptions(**_option_fields(preset))
    except OptionError as error:
        raise PresetError(name, str(error)) from None
    page = dict(preset.page)
    locked = _locked(name, page.pop("lock", []))
    translations = {
        language: _page_texts(name, page.pop(language), f"page.{language}")
        for language in LANGUAGES
        if language in page
    }
    return Campaign(options, locked, _page_texts(name, page, "page"), translations)


def _option_fields(preset: Preset) -> dict[str, Any]:
    """The preset's options the service takes: those a request may set, and ``emblem``."""
    for name, key in preset.keys.items():
        reason = SERVER_KEYS.get(key.replace("-", "_"))
        if reason:
            raise PresetError(preset.path, f"{key!r}: {reason}")
        if name not in PARSERS and name != "emblem":
            raise PresetError.unknown_key(preset.path, key, OPTION_KEYS)
    for key in preset.others:
        raise PresetError.unknown_key(preset.path, key, OPTION_KEYS)
    return dict(preset.options)


def _locked(name: str, lock: object) -> frozenset[str]:
    if not isinstance(lock, list) or not all(isinstance(item, str) for item in lock):
        raise PresetError(name, f"page.lock: expected a list of option names, got {lock!r}")
    names = frozenset(item.replace("-", "_") for item in lock)
    for option in sorted(names - PARSERS.keys()):
        raise PresetError(name, f"page.lock: no such option {option!r}")
    return names


def _page_texts(name: str, page: object, table: str) -> dict[str, str]:
    if not isinstance(page, dict):
        raise PresetError(name, f"[{table}] must be a table, got {page!r}")
    for key, value in page.items():
        if key not in PAGE_TEXTS:
            raise PresetError.unknown_key(name, key, PAGE_TEXTS, table=table)
        if not isinstance(value, str):
            raise PresetError(name, f"{table}.{key}: expected text, got {value!r}")
    link = page.get("link")
    # A scheme is case-insensitive (RFC 3986): HTTPS:// is an https:// address.
    if link is not None and not link.lower().startswith(("https://", "http://")):
        raise PresetError(name, f"{table}.link: expected an http(s):// address, got {link!r}")
    return dict(page)
