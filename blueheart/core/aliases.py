"""Deprecated keyword arguments that each stand for one choice of a field (``keep_metadata=True``
for ``metadata=Policy.KEEP``): taken, and read back as attributes, for one release, each time
with a ``DeprecationWarning`` blamed on the caller's line."""

from __future__ import annotations

import enum
import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from blueheart.core.errors import OptionError
from blueheart.core.kinds import flag


def choice_from_flags(name: str, flags: Mapping[str, bool]) -> str | None:
    """The one choice of field ``name`` whose flag is set (``keep`` for ``keep_metadata``), None
    for none; two set are an ``OptionError`` naming the second."""
    chosen = [choice for choice, is_set in flags.items() if is_set]
    if len(chosen) > 1:
        first, second = (f"{choice}_{name}" for choice in chosen[:2])
        raise OptionError(second, f"{first} and {second} exclude each other")
    return chosen[0] if chosen else None


def install_aliases(
    cls: type, field: str, aliases: Mapping[str, enum.Enum], neither: enum.Enum
) -> None:
    """Make ``cls`` take each of ``aliases`` (``<choice>_<field>``) as a keyword of its
    ``__init__`` setting ``field`` (``neither`` when all are false), and read it back."""
    init = _accepting_aliases(cls.__init__, field, aliases, neither)  # type: ignore[misc]
    setattr(cls, "__init__", init)  # noqa: B010
    for alias in aliases:
        setattr(cls, alias, _alias_attribute(alias, field, aliases))


def _with_aliases(
    current: enum.Enum, given: Mapping[str, object], aliases: Mapping[str, enum.Enum],
    field: str, neither: enum.Enum,
) -> enum.Enum:  # fmt: skip
    """``current`` as the deprecated aliases ``given`` change it."""
    flags = {alias: current is stands_for for alias, stands_for in aliases.items()}
    for alias, value in given.items():
        flags[alias] = bool(flag()(alias, value))
    choice = choice_from_flags(field, {key.split("_")[0]: on for key, on in flags.items()})
    return neither if choice is None else type(neither)(choice)


def _warn_deprecated(alias: str, field: str, aliases: Mapping[str, enum.Enum]) -> None:
    choice = aliases[alias].value
    # Blamed on the caller's line, outside blueheart (badge_bytes(keep_metadata=True) too).
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("blueheart"):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{alias} is deprecated: use {field}={choice!r}", DeprecationWarning,
                  stacklevel=level)  # fmt: skip


def _accepting_aliases(
    init: Callable[..., None], field: str, aliases: Mapping[str, enum.Enum], neither: enum.Enum
) -> Callable[..., None]:
    """The dataclass's ``__init__``, also taking the deprecated aliases of ``field``."""

    def with_aliases(self: Any, *args: Any, **values: Any) -> None:
        given = {name: values.pop(name) for name in aliases if name in values}
        for alias in given:
            _warn_deprecated(alias, field, aliases)
        init(self, *args, **values)
        if given:
            changed = _with_aliases(getattr(self, field), given, aliases, field, neither)
            object.__setattr__(self, field, changed)

    with_aliases.__name__ = with_aliases.__qualname__ = "__init__"
    with_aliases.__doc__, with_aliases.__signature__ = init.__doc__, inspect.signature(init)  # type: ignore[attr-defined]
    return with_aliases


def _alias_attribute(alias: str, field: str, aliases: Mapping[str, enum.Enum]) -> property:
    """The deprecated read-only attribute ``alias``: whether ``field`` is its choice."""

    def read(self: Any) -> bool:
        _warn_deprecated(alias, field, aliases)
        return getattr(self, field) is aliases[alias]

    return property(read, doc=f"Deprecated: ``{field} is {aliases[alias]}``.")
