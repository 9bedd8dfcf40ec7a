"""A campaign preset: the options' defaults, which of them people may not change, the page texts.

Read once when the service starts; nothing about a campaign changes while it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueheart import BadgeOptions, OptionError
from blueheart.web.languages import LANGUAGES
from blueheart.web.params import PARSERS, parse_options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PAGE_TEXTS = ("title", "message", "hashtag", "link")
"""The ``[page]`` table's texts, passed to the page as they are."""
MAX_TEXT = 4096
"""The longest option value a preset may give, in characters (a path at most: PATH_MAX)."""
SERVER_KEYS = {
    "keep_metadata": "the service never keeps the location; it has no such key",
    "strip_metadata": "downloads always keep nothing but the ICC profile; it has no such key",
    "max_pixels": "the limit is the server's: use blueheart serve --max-pixels",
}


class PresetError(ValueError):
    """A campaign preset that cannot be used; the message is one line naming the file."""


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

    Top-level keys are the options, as the CLI's long options spell them (dashes or
    underscores), plus ``emblem`` (a file on the server); the ``[page]`` table holds
    ``title``, ``message``, ``hashtag``, ``link`` (http or https), ``lock`` (a list of
    option names) and, optionally, a table of those texts per language (``[page.fr]``, one of
    ``LANGUAGES``). The pixel limit is the server's (``ServiceSettings``). Raises
    ``PresetError`` for a file that cannot be read, an unknown key or a bad value.
    """
    if path is None:
        return Campaign()
    name = str(path)
    if Path(path).exists() and not Path(path).is_file():
        raise PresetError(f"{name}: not a regular file")  # a FIFO would block the read
    try:
        with Path(path).open("rb") as handle:
            preset = tomllib.load(handle)
    except RecursionError:  # the TOML parser recurses once per level of nesting
        raise PresetError(f"{name}: cannot read it (nested too deeply)") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PresetError(f"{name}: cannot read it ({' '.join(reason.split())})") from None
    page = preset.pop("page", {})
    if not isinstance(page, dict):
        raise PresetError(f"{name}: [page] must be a table, got {page!r}")
    try:
        options = BadgeOptions(**_option_fields(name, preset))
    except OptionError as error:
        raise PresetError(f"{name}: {error}") from None
    locked = _locked(name, page.pop("lock", []))
    translations = {
        language: _page_texts(name, page.pop(language), f"page.{language}")
        for language in LANGUAGES
        if language in page
    }
    return Campaign(options, locked, _page_texts(name, page, "page"), translations)


def _option_fields(name: str, preset: dict[str, Any]) -> dict[str, Any]:
    emblem = preset.pop("emblem", None)
    for key, value in [*preset.items(), ("emblem", emblem)]:
        reason = SERVER_KEYS.get(key.replace("-", "_"))
        if reason:
            raise PresetError(f"{name}: {key!r}: {reason}")
        if key != "emblem" and key.replace("-", "_") not in PARSERS:
            raise PresetError(f"{name}: unknown key {key!r}")
        if isinstance(value, str) and "\0" in value:
            raise PresetError(f"{name}: {key}: expected text without NUL characters")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            # Quoted in a message, a huge value would not be a line one can read.
            raise PresetError(
                f"{name}: {key}: expected at most {MAX_TEXT:,} characters, got {len(value):,}"
            )
    fields = parse_options(preset.items())
    if emblem is not None:
        if not isinstance(emblem, str) or not Path(emblem).is_file():
            raise PresetError(f"{name}: emblem: expected an image file's path, got {emblem!r}")
        fields["emblem"] = Path(emblem)
    return fields


def _locked(name: str, lock: object) -> frozenset[str]:
    if not isinstance(lock, list) or not all(isinstance(item, str) for item in lock):
        raise PresetError(f"{name}: page.lock: expected a list of option names, got {lock!r}")
    names = frozenset(item.replace("-", "_") for item in lock)
    for option in sorted(names - PARSERS.keys()):
        raise PresetError(f"{name}: page.lock: no such option {option!r}")
    return names


def _page_texts(name: str, page: object, table: str) -> dict[str, str]:
    if not isinstance(page, dict):
        raise PresetError(f"{name}: [{table}] must be a table, got {page!r}")
    for key, value in page.items():
        if key not in PAGE_TEXTS:
            raise PresetError(f"{name}: unknown key '{table}.{key}'")
        if not isinstance(value, str):
            raise PresetError(f"{name}: {table}.{key}: expected text, got {value!r}")
    link = page.get("link")
    if link is not None and not link.startswith(("https://", "http://")):
        raise PresetError(f"{name}: {table}.link: expected an http(s):// address, got {link!r}")
    return dict(page)
