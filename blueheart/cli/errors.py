"""The library's errors as Click's, in the command line's words: an ``OptionError`` is a usage
error (exit 2) naming its flag, any other ``BlueheartError`` an error (exit 1)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from click.core import ParameterSource

from blueheart.cli.params import PRESET_HINTS
from blueheart.core.errors import (
    KEEP_FORMAT,
    BlueheartError,
    Hint,
    OptionError,
    one_line,
)

ARGUMENTS = {"source": "SRC_DIR", "destination": "DEST_DIR"}
"""Fields whose errors are about a command's arguments (paths), not a flag: the message names
the path itself; and the command line's names of those arguments."""
FLAG_WORDS = {KEEP_FORMAT: "leave out --format"}
"""Hints the command line says otherwise than ``use --<flag>``."""


def cli_words(hint: Hint) -> str | None:
    """A hint in the command line's words: ``use --overwrite``, ``--overwrite``, ``DEST_DIR``,
    ``leave out --format``; a missing value as the library says it (None)."""
    if hint.form == "name":
        return ARGUMENTS[hint.parameter]
    if hint.form == "unset":
        return None
    if hint in FLAG_WORDS:
        return FLAG_WORDS[hint]
    value = "" if hint.value is True else f" {hint.value}"
    flag = f"--{hint.parameter.replace('_', '-')}{value}"
    return f"use {flag}" if hint.form == "pass" else flag


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """The library's errors as Click's; with --debug, as raised."""
    try:
        yield
    except BlueheartError as error:
        if debug():
            raise
        raise _click_error(error) from None


def _click_error(error: BlueheartError) -> click.ClickException:
    if not isinstance(error, OptionError):
        return click.ClickException(one_line(error.say(cli_words)))
    message = error.reason(cli_words)
    if error.field in ARGUMENTS:
        return click.UsageError(message)
    name = error.field
    context = click.get_current_context(silent=True)
    hints = context.meta.get(PRESET_HINTS, {}) if context else {}
    if context and context.get_parameter_source(name) is ParameterSource.DEFAULT_MAP:
        return click.BadParameter(message, param_hint=hints.get(name))
    return click.BadParameter(message, param_hint=_flag(error.field))


def _flag(field: str) -> str:
    return f"'--{field.replace('_', '-')}'"


def input_error(error: BlueheartError, source: str) -> str:
    """An input's error on one line, naming the input; an option this input cannot take (an
    emblem that cannot fit, an output too large) is named as its flag."""
    if not isinstance(error, OptionError):
        return one_line(error.say(cli_words))
    message = one_line(error.reason())
    return f"{source}: invalid value for {_flag(error.field)}: {message}"


def debug() -> bool:
    """Whether --debug was given: errors go out as raised, with their tracebacks."""
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))
