"""Campaign presets: the one reader of the TOML file that ``--config`` names, for the commands
and for ``blueheart serve``.

Options go at the top level or in a ``[badge]`` table, spelt as the long options (dashes or
underscores); each value is read by its option's parser and checked by its checker, the same
as a flag or a query string. ``[page]`` (and ``[page.<lang>]``) hold the page's texts and
locks for ``serve``, passed on as read. Keys that name no option (a command's own, such as
``jobs``) are passed on too: each front end decides which it takes. Whatever the file holds
(a FIFO, a folder, deep nesting, NUL characters, bytes that are not UTF-8), the answer is one
``PresetError`` line naming the file and, where there is one, the key.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueheart.core.aliases import choice_from_flags
from blueheart.core.errors import OptionError, did_you_mean, one_line
from blueheart.core.kinds import Form
from blueheart.core.options import (
    DEPRECATED_ALIASES,
    DEPRECATED_SPEC,
    Option,
    Policy,
    option_specs,
)

MAX_PRESET_BYTES = 1 << 20
"""The largest preset read, in bytes: a campaign's file is a few lines."""
MAX_TEXT = 4096
"""The longest value a preset may give, in characters (a path at most: PATH_MAX), so that an
error quoting it stays a line one can read."""
BADGE_TABLE = "badge"
PAGE_TABLE = "page"
_PAIRS: tuple[Form, ...] = ("offset", "point")
"""The kinds of option a preset may give as an ``[x, y]`` array."""


class PresetError(ValueError):
    """A campaign preset that cannot be used: ``path``, the ``key`` at fault (None: the file
    as a whole) and the ``reason``; the message is one line, ``"<path>: [<key>: ]<reason>"``."""

    def __init__(self, path: str, reason: str, key: str | None = None) -> None:
        super().__init__(f"{path}: {key}: {reason}" if key else f"{path}: {reason}")
        self.path, self.reason, self.key = path, reason, key

    @classmethod
    def unknown_key(
        cls, path: str, key: str, known: Iterable[str], *, table: str = ""
    ) -> PresetError:
        """``"<path>: unknown key '<key>'"`` for a key a front end does not take, naming the
        closest of the ``known`` keys when one is close (they are spelt with underscores; with
        dashes when ``key`` is). ``table``: the key's table (``page``), named before it."""
        spelt = {name.replace("_", "-") if "-" in key else name for name in known} - {key}
        prefix = f"{table}." if table else ""
        hint = did_you_mean(key, spelt, prefix=prefix)
        return cls(path, f"unknown key {prefix + key!r}{hint}")


@dataclass(frozen=True)
class Preset:
    """A preset as read: ``options``, checked values by field name (the deprecated
    ``keep-metadata`` and ``strip-metadata`` read as ``metadata``), and ``keys``, each one's
    key as written; ``others``, the keys that name no option, with their values; ``page``, the
    ``[page]`` table."""

    path: str
    options: Mapping[str, Any] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    others: Mapping[str, object] = field(default_factory=dict)
    page: Mapping[str, object] = field(default_factory=dict)


def read_preset(path: str | os.PathLike[str]) -> Preset:
    """The preset in the TOML file at ``path``. Raises ``PresetError``."""
    name = str(path)
    document = _read_toml(name)
    page = _table(name, document.pop(PAGE_TABLE, {}), PAGE_TABLE)
    badge = _table(name, document.pop(BADGE_TABLE, {}), BADGE_TABLE)
    specs = option_specs()
    options: dict[str, Any] = {}
    keys: dict[str, str] = {}
    others: dict[str, object] = {}
    for key, value in [*document.items(), *badge.items()]:
        _screen(name, key, value)
        slot = key.replace("-", "_")
        if slot in keys:
            raise PresetError(name, "given twice", key)
        spec = DEPRECATED_SPEC if slot in DEPRECATED_ALIASES else specs.get(slot)
        if spec is None:
            others[key] = value
            continue
        options[slot], keys[slot] = _read(name, key, spec, slot, value), key
    if DEPRECATED_ALIASES.keys() & options.keys():
        _aliases_to_metadata(name, options, keys)
    if "emblem" in options:
        _check_emblem(name, keys["emblem"], options["emblem"])
    return Preset(name, options, keys, others, page)


def _read_toml(name: str) -> dict[str, Any]:
    """The file's TOML document; only a regular file is read, and never waited on."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        # O_NONBLOCK: opening a FIFO would wait for a writer; checked on the open file, so the
        # path cannot change between the check and the read.
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        raise PresetError(name, f"cannot read it ({_reason(error)})") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise PresetError(name, "not a regular file")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_PRESET_BYTES + 1)
    except OSError as error:
        raise PresetError(name, f"cannot read it ({_reason(error)})") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_PRESET_BYTES:
        raise PresetError(name, f"cannot read it (larger than {MAX_PRESET_BYTES:,} bytes)")
    try:
        document: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except RecursionError:  # the TOML parser recurses once per level of nesting
        raise PresetError(name, "cannot read it (nested too deeply)") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PresetError(name, f"cannot read it ({_reason(error)})") from None
    return document


def _reason(error: Exception) -> str:
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return one_line(text)


def _table(name: str, value: object, table: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PresetError(name, f"[{table}] must be a table, got {_short(value)}")
    return value


def _screen(name: str, key: str, value: object) -> None:
    """Refuse what no option's text can be: NUL characters, very long text, nested arrays."""
    if isinstance(value, str) and "\0" in value:
        # A NUL in a path makes every OS call raise ValueError.
        raise PresetError(name, "expected text without NUL characters", key)
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise PresetError(
            name, f"expected at most {MAX_TEXT:,} characters, got {len(value):,}", key
        )
    if isinstance(value, list) and not _is_pair(value):
        raise PresetError(
            name, f"expected a string, a number or true/false, got {_short(value)}", key
        )


def _is_pair(value: list[object]) -> bool:
    return len(value) == 2 and all(isinstance(part, (str, int, float)) for part in value)


def _short(value: object) -> str:
    """``value`` for a message: scalars as written, arrays and tables by kind and length."""
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'table'} of {len(value)}"
    return repr(value)


def _read(name: str, key: str, spec: Option, field_name: str, value: object) -> Any:
    """``value`` read and checked as ``field_name``; errors name ``key`` as written."""
    if isinstance(value, list) and spec.kind.form not in _PAIRS:
        kind = "a string, a number or true/false"
        raise PresetError(name, f"expected {kind}, got a list", key)
    try:
        return spec.parse(field_name, value)
    except OptionError as error:
        raise PresetError(name, str(error).removeprefix(f"{field_name}: "), key) from None


def _aliases_to_metadata(name: str, options: dict[str, Any], keys: dict[str, str]) -> None:
    """``keep-metadata`` / ``strip-metadata`` (deprecated) turned into ``metadata``, in place."""
    given = [alias for alias in DEPRECATED_ALIASES if alias in options]
    if "metadata" in keys:
        reason = "the old spelling of metadata; give one of them"
        raise PresetError(name, reason, keys[given[0]])
    flags = {alias.split("_")[0]: options.pop(alias) for alias in given}
    keys["metadata"] = keys.pop(given[-1])
    for alias in given[:-1]:
        del keys[alias]
    try:
        choice = choice_from_flags("metadata", flags)
    except OptionError as error:
        reason = str(error).removeprefix(f"{error.field}: ")
        raise PresetError(name, reason, keys["metadata"]) from None
    options["metadata"] = Policy(choice) if choice else Policy.DESCRIPTIVE


def _check_emblem(name: str, key: str, emblem: Path | None) -> None:
    if emblem is not None and not emblem.is_file():
        raise PresetError(name, f"expected an image file's path, got {str(emblem)!r}", key)
