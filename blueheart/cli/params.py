"""The command line's parameters: the options every badging command takes, made from the
``BadgeOptions`` fields' specs (flags, types, defaults, help), the ``BadgeOptions`` they make,
campaign presets (``--config``, read by ``blueheart.io.presets``), and byte sizes."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import click

from blueheart.core.aliases import choice_from_flags
from blueheart.core.errors import OptionError
from blueheart.core.kinds import Form, Kind
from blueheart.core.options import (
    BadgeOptions,
    Option,
    option_specs,
)
from blueheart.io.presets import PresetError, read_preset

F = TypeVar("F", bound=Callable[..., Any])
DEFAULTS = BadgeOptions()
PRESET_HINTS = "blueheart.preset_hints"
"""``ctx.meta`` key: option name -> "'key' in FILE", for errors about a preset's values."""


class SpecType(click.ParamType):
    """A value read by its option's parser (``0.25``, ``200px``, ``0.5,0.3``); its errors are
    Click's, in the parser's words."""

    def __init__(self, name: str, kind: Kind) -> None:
        self.name, self.kind = name, kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return _parsed(self, self.kind, value, param)


def _parsed(
    click_type: click.ParamType, kind: Kind, value: Any, param: click.Parameter | None
) -> Any:
    """``value`` read by ``kind``'s parser; its error is Click's, in the parser's words."""
    field = param.name if param is not None and param.name else "value"
    try:
        return kind.parse(field, value)
    except OptionError as error:
        click_type.fail(str(error).removeprefix(f"{field}: "))


class UnitRange(click.IntRange):
    """A whole number with its option's unit or without (``1080px``, ``1080``), read by the
    option's parser, then held to its range as Click's ``IntRange`` (shown as one)."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(min=kind.low, max=kind.high)  # type: ignore[arg-type]
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            value = _parsed(self, self.kind, value, param)
        return value if value is None else super().convert(value, param, ctx)


class ByteSize(click.ParamType):
    """Bytes: ``40MB``, ``512KB``, ``2GiB`` or a plain number."""

    name = "SIZE"
    units: ClassVar[dict[str, int]] = {
        "": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
        "kib": 2**10, "mib": 2**20, "gib": 2**30,
    }  # fmt: skip
    min_bare_bytes: ClassVar[int] = 1000
    """A number without a unit below this is a mistake, not a size."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        number = text.rstrip("kmgib")
        unit = text[len(number) :].strip()
        if not number.strip().isdigit() or unit not in self.units or int(number) < 1:
            self.fail(f"expected a size such as 40MB, 512KB or 1000000 (bytes), got {value!r}")
        if not unit and int(number) < self.min_bare_bytes:
            # "40" is a forgotten unit: a server that refuses every photo is worse than none.
            self.fail(f"{value!r} is {int(number)} bytes, too few; give a unit, such as {number}MB")
        return int(number) * self.units[unit]


class AutoOrNumber(click.ParamType):
    """``auto`` / ``keep`` (None) or a number within the option's range."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.name = f"{kind.word}|{kind.low:g}-{kind.high:g}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = _parsed(self, self.kind, value, param)
        low, high, word = self.kind.low, self.kind.high, self.kind.word
        if number is not None and not low <= number <= high:
            self.fail(f"expected {word} or a number from {low:g} to {high:g}, got {value!r}")
        return number


SPEC_TYPE_NAMES: dict[Form, str] = {"length": "F|Npx", "offset": "X,Y", "point": "X,Y"}
"""The metavar of each kind of option Click has no type for."""
FLAGS = {name: spec for name, spec in option_specs().items() if spec.cli}
"""The options the command line has flags for, in the fields' order."""


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Read a campaign preset: keys are the command's long options; flags still win."""
    if value is None:
        return None
    try:
        preset = read_preset(value)
    except PresetError as error:
        raise _preset_error(error, ctx, param) from None
    defaults, hints = {}, {}
    options = _preset_keys(ctx.command)
    # One campaign file serves every command: keys of another command's options are ignored.
    known = options.keys() | {key for command in _commands(ctx) for key in _preset_keys(command)}
    for field, setting in preset.options.items():
        key, params = preset.keys[field], _option_params(ctx.command, field, setting)
        if not params:  # an option with no flag here (enlarge)
            raise _preset_error(PresetError.unknown_key(value, key, known), ctx, param)
        for name, default in params.items():
            defaults[name], hints[name] = default, f"'{key}' in {value}"
    for key, setting in preset.others.items():
        option = options.get(key.replace("-", "_"))
        if option is None and key.replace("-", "_") not in known:
            raise _preset_error(PresetError.unknown_key(value, key, known), ctx, param)
        if option is not None and option.name:
            hint = f"'{key}' in {value}"
            defaults[option.name] = _preset_text(ctx, option, setting, hint)
            hints[option.name] = hint
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    ctx.meta[PRESET_HINTS] = hints
    return value


def _preset_error(error: PresetError, ctx: click.Context, param: click.Parameter) -> Exception:
    """A preset's error as Click's: naming the key (``'size' in FILE``), or else --config."""
    if error.key is None:
        return click.BadParameter(str(error), ctx, param)
    return click.BadParameter(error.reason, ctx, param_hint=f"'{error.key}' in {error.path}")


def _option_params(command: click.Command, field: str, setting: object) -> dict[str, object]:
    """The command's parameters a preset's checked option sets, with their defaults."""
    names = {param.name for param in command.params}
    spec = FLAGS.get(field)
    if spec is None:
        return {}
    if spec.flags:  # metadata = "keep" sets --keep-metadata
        value = setting.value if isinstance(setting, enum.Enum) else setting
        return (
            {f"{choice}_{field}": choice == value for choice in spec.flags}
            if f"{next(iter(spec.flags))}_{field}" in names
            else {}
        )
    if field not in names:
        return {}
    return {field: setting.value if isinstance(setting, enum.Enum) else setting}


def _preset_keys(command: click.Command) -> dict[str, click.Option]:
    """A command's options by preset key: the long option's name, with underscores."""
    return {
        name[2:].replace("-", "_"): option
        for option in command.params
        if isinstance(option, click.Option) and option.name != "config"
        for name in option.opts
        if name.startswith("--")
    }


def _commands(ctx: click.Context) -> list[click.Command]:
    root = ctx.find_root().command
    return list(root.commands.values()) if isinstance(root, click.Group) else []


def _preset_text(ctx: click.Context, option: click.Option, setting: object, hint: str) -> str:
    """A preset's value for a command's own option (``jobs``), as it would be typed on the
    command line, checked the same way."""
    if isinstance(setting, bool):
        text = "true" if setting else "false"
    elif isinstance(setting, (int, float, str)):
        text = str(setting)
    else:
        kind = type(setting).__name__
        raise click.BadParameter(f"expected a string, a number or true/false, got a {kind}",
                                 ctx, param_hint=hint)  # fmt: skip
    try:
        option.type_cast_value(ctx, text)
    except click.BadParameter as error:
        raise click.BadParameter(error.message, ctx, param_hint=hint) from None
    return text


def _apply(decorators: list[Callable[[F], F]], function: F) -> F:
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _click_type(kind: Kind) -> click.ParamType | None:
    """The Click type of a kind of option, from its choices or its range."""
    if kind.form == "choice":
        return click.Choice(list(kind.choices), case_sensitive=False)
    if kind.form == "number":
        return click.FloatRange(kind.low, kind.high)
    if kind.form == "whole" and kind.unit:
        return UnitRange(kind)
    if kind.form == "whole":
        return click.IntRange(min=kind.low, max=kind.high)  # type: ignore[arg-type]
    if kind.form == "word":
        return AutoOrNumber(kind)
    if kind.form == "path":
        return click.Path(exists=True, dir_okay=False)
    if kind.form in SPEC_TYPE_NAMES:
        return SpecType(SPEC_TYPE_NAMES[kind.form], kind)
    return None  # text: a colour


def _flag_options(
    name: str, spec: Option, help_text: str | None = None
) -> list[Callable[[Any], Any]]:
    """The Click options of one ``BadgeOptions`` field, its default the field's."""
    flag = f"--{name.replace('_', '-')}"
    if spec.flags:  # one flag per choice: --keep-metadata, --strip-metadata
        return [
            click.option(f"--{choice}-{flag[2:]}", f"{choice}_{name}", is_flag=True, help=text)
            for choice, text in spec.flags.items()
        ]
    help_text = help_text or spec.help
    if spec.kind.form == "switch":
        return [click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)]
    default = DEFAULTS_BY_NAME[name]
    if spec.kind.form not in ("number", "whole"):  # numbers are shown as Click's ranges show them
        default = spec.text(default)
    return [
        click.option(flag, name, type=_click_type(spec.kind), default=default,
                     show_default=spec.show_default, metavar=spec.metavar, help=help_text)
    ]  # fmt: skip


DEFAULTS = BadgeOptions()
DEFAULTS_BY_NAME = {name: getattr(DEFAULTS, name) for name in FLAGS}
RING_HELP = "Ring width, a fraction of the emblem, 0 for none; auto: {}."
"""--ring's help, for the ``emblem`` command, which has no photo to contrast with."""

BADGE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--config", type=click.Path(dir_okay=False), is_eager=True,
                 expose_value=False, callback=_load_config,
                 help="A campaign preset (TOML) with the same keys as the long options."),
    *(option for name, spec in FLAGS.items() for option in _flag_options(name, spec)),
    click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
]  # fmt: skip


def badge_command(function: F) -> F:
    """Give a command every badging option (placement, style, output, --config)."""
    return _apply(BADGE_OPTIONS, function)


def style_command(function: F) -> F:
    """Give a command the style options alone (the ``emblem`` command)."""
    ring = RING_HELP.format("the usual ring (there is no photo to contrast with)")
    helps = {"style": None, "ring": ring, "color": None}
    options = [
        option for name, text in helps.items() for option in _flag_options(name, FLAGS[name], text)
    ]
    return _apply(options, function)


def build_options(params: dict[str, Any]) -> BadgeOptions:
    """The validated options from parsed CLI values, the ``emblem`` file read. Raises
    ``OptionError`` for a bad value (the CLI's usage error)."""
    values: dict[str, Any] = {}
    for name, spec in FLAGS.items():
        if spec.flags:
            flags = {choice: params[f"{choice}_{name}"] for choice in spec.flags}
            values[name] = choice_from_flags(name, flags) or DEFAULTS_BY_NAME[name]
        else:
            values[name] = params[name]
    options = BadgeOptions(**values)
    if options.emblem is not None:
        from blueheart.io.emblemfile import load_emblem

        load_emblem(options.emblem)
    return options
