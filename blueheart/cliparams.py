"""The command line's parameters: Click types for lengths, points and byte sizes, campaign
presets (``--config``), and the options every badging command takes, with the
``BadgeOptions`` they make. The defaults are ``BadgeOptions``' own."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

from blueheart.options import BadgeOptions, Crop, Focus, OutputFormat, Position, Style
from blueheart.units import Length

F = TypeVar("F", bound=Callable[..., Any])
DEFAULTS = BadgeOptions()
PRESET_HINTS = "blueheart.preset_hints"
"""``ctx.meta`` key: option name -> "'key' in FILE", for errors about a preset's values."""


class LengthType(click.ParamType):
    """A fraction of the shorter side (``0.25``) or pixels (``200px``)."""

    name = "F|Npx"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Length):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Length.fraction(value)
        text = str(value).strip().lower()
        try:
            if text.endswith("px"):
                return Length.px(float(text[:-2]))
            return Length.fraction(float(text))
        except ValueError:
            self.fail(f"expected a fraction like 0.25 or pixels like 200px, got {value!r}")


class OffsetType(click.ParamType):
    """Two lengths, ``X,Y``."""

    name = "X,Y"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        parts = str(value).split(",")
        if len(parts) != 2:
            self.fail(f"expected X,Y (fractions or px), got {value!r}")
        return tuple(LENGTH.convert(part, param, ctx) for part in parts)


class PointType(click.ParamType):
    """Two fractions, ``X,Y``: a point on the output."""

    name = "X,Y"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        # A preset may give [x, y] as a TOML array.
        parts = value if isinstance(value, list) else str(value).split(",")
        try:
            if len(parts) == 2:
                return float(parts[0]), float(parts[1])
        except (TypeError, ValueError):
            pass
        self.fail(f"expected X,Y as fractions of the width and height, got {value!r}")


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
    """``auto`` / ``keep`` (None) or a number within a range."""

    def __init__(self, word: str, kind: type[int] | type[float], low: float, high: float) -> None:
        self.word, self.kind, self.low, self.high = word, kind, low, high
        self.name = f"{word}|{low:g}-{high:g}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or str(value).lower() == self.word:
            return None
        expected = f"expected {self.word} or a number from {self.low:g} to {self.high:g}"
        try:
            number = self.kind(value)
        except (TypeError, ValueError):
            self.fail(f"{expected}, got {value!r}")
        if not self.low <= number <= self.high:
            self.fail(f"{expected}, got {value!r}")
        return number


LENGTH = LengthType()


def _choice(enum_type: type[Any]) -> click.Choice:
    return click.Choice([member.value for member in enum_type], case_sensitive=False)


MAX_PRESET_TEXT = 4096
"""The longest value a preset may give, in characters: a path at most (PATH_MAX), so that an
error quoting a value stays a readable line."""
PAGE_TABLE = "page"
"""The preset's table of texts and locks for the page `blueheart serve` shows."""


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Read a campaign preset: keys are the command's long options; flags still win."""
    if value is None:
        return None
    # Imported here: only a run with --config pays for the TOML parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if Path(value).exists() and not Path(value).is_file():
        # A FIFO would block the read forever, a device read forever.
        raise click.BadParameter(f"{value}: not a regular file", ctx, param)
    try:
        with Path(value).open("rb") as handle:
            preset = tomllib.load(handle)
    except RecursionError:  # the TOML parser recurses once per level of nesting
        raise click.BadParameter(f"cannot read {value}: nested too deeply", ctx, param) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise click.BadParameter(f"cannot read {value}: {reason}", ctx, param) from None
    options = _preset_keys(ctx.command)
    # One campaign file serves every command: keys of another command's options, and the
    # page's table of `blueheart serve`, are ignored.
    elsewhere = {key for command in _commands(ctx) for key in _preset_keys(command)}
    elsewhere.add(PAGE_TABLE)
    defaults, hints = {}, {}
    for key, setting in preset.items():
        option = options.get(key.replace("-", "_"))
        if option is None and key.replace("-", "_") not in elsewhere:
            raise click.BadParameter(f"{value}: unknown key {key!r}", ctx, param)
        if option is not None and option.name:
            hint = f"'{key}' in {value}"
            defaults[option.name] = _preset_text(ctx, option, setting, hint)
            hints[option.name] = hint
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    ctx.meta[PRESET_HINTS] = hints
    return value


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
    """A preset's value as it would be typed on the command line, checked the same way."""
    if isinstance(setting, bool):
        text = "true" if setting else "false"
    elif isinstance(setting, (int, float, str)):
        text = str(setting)
    else:
        kind = type(setting).__name__
        raise click.BadParameter(f"expected a string, a number or true/false, got a {kind}",
                                 ctx, param_hint=hint)  # fmt: skip
    problem = _text_problem(text)
    if problem:
        raise click.BadParameter(problem, ctx, param_hint=hint)
    try:
        option.type_cast_value(ctx, text)
    except click.BadParameter as error:
        raise click.BadParameter(error.message, ctx, param_hint=hint) from None
    return text


def _text_problem(text: str) -> str | None:
    """Why a preset's value cannot be taken as typed text, if it cannot."""
    if "\0" in text:
        # A NUL in a path makes the OS calls behind Click's Path type raise ValueError.
        return "expected text without NUL characters"
    if len(text) > MAX_PRESET_TEXT:
        return f"expected at most {MAX_PRESET_TEXT:,} characters, got {len(text):,}"
    return None


def _apply(decorators: list[Callable[[F], F]], function: F) -> F:
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def style_options(ring_auto: str) -> list[Callable[[Any], Any]]:
    """--style, --ring and --color; ``ring_auto`` says what ``--ring auto`` does."""
    return [
        click.option("--style", type=_choice(Style), default=DEFAULTS.style.value,
                     show_default=True,
                     help="heart: the heart with a white ring; pin: the heart on a white disc."),
        click.option("--ring", type=AutoOrNumber("auto", float, 0, 0.25), default="auto",
                     show_default=True,
                     help=f"Ring width, a fraction of the emblem, 0 for none; auto: {ring_auto}."),
        click.option("--color", "color", default=DEFAULTS.color, show_default=True, metavar="HEX",
                     help="The heart's colour."),
    ]  # fmt: skip


BADGE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--config", type=click.Path(dir_okay=False), is_eager=True,
                 expose_value=False, callback=_load_config,
                 help="A campaign preset (TOML) with the same keys as the long options."),
    click.option("--position", type=_choice(Position), default=DEFAULTS.position.value,
                 show_default=True, help="Where the emblem goes; auto picks the least busy place."),
    click.option("--size", type=LENGTH, default=str(DEFAULTS.size), show_default=True,
                 help="Emblem size: fraction of the shorter side (0 < F <= 1) or pixels (200px)."),
    click.option("--margin", type=LENGTH, default=str(DEFAULTS.margin), show_default=True,
                 help="Distance from the edges: fraction or px."),
    click.option("--offset", type=OffsetType(), default=",".join(map(str, DEFAULTS.offset)),
                 help="Fine shift X,Y after placement: fractions or px."),
    click.option("--at", type=PointType(), default=None,
                 help="The emblem's centre X,Y as fractions of the output's width and height, "
                 "instead of --position."),
    click.option("--circle-safe/--no-circle-safe", default=None,
                 help="Keep the emblem inside the circle platforms show "
                 "(default: on when the output is square)."),
    click.option("--opacity", type=click.FloatRange(0, 1), default=DEFAULTS.opacity,
                 show_default=True,
                 help="0 (invisible) to 1 (opaque)."),
    *style_options("widened where UN blue would have low contrast with the photo"),
    click.option("--emblem", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="A custom RGBA emblem image instead of the built-in heart."),
    click.option("--crop", type=_choice(Crop), default=DEFAULTS.crop.value, show_default=True,
                 help="square, or circle (transparent corners)."),
    click.option("--focus", type=_choice(Focus), default=DEFAULTS.focus.value, show_default=True,
                 help="Which square a crop keeps; auto: the most salient one."),
    click.option("--output-size", type=click.IntRange(min=1), default=None, metavar="N",
                 help="The output's longer side in px (square side when cropped)."),
    click.option("--format", "format_", type=_choice(OutputFormat), default=DEFAULTS.format.value,
                 show_default=True,
                 help="Output format; keep: what -o's extension names, else the input's "
                 "(HEIC becomes JPEG; with a circle crop, PNG)."),
    click.option("--background", default=DEFAULTS.background, show_default=True, metavar="HEX",
                 help="What transparency becomes in a JPEG."),
    click.option("--quality", type=AutoOrNumber("keep", int, 1, 100), default="keep",
                 show_default=True,
                 help="JPEG/WebP/AVIF quality; keep: a JPEG's own quantisation where possible."),
    click.option("--keep-metadata", is_flag=True,
                 help="Keep all metadata, GPS location included (default: the ICC profile and "
                 "descriptive fields only: author, copyright, title, date, camera, exposure)."),
    click.option("--strip-metadata", is_flag=True,
                 help="Keep nothing but the ICC profile."),
    click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULTS.max_pixels,
                 show_default=True, help="Refuse larger images from the header."),
    click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
]  # fmt: skip


def badge_command(function: F) -> F:
    """Give a command every badging option (placement, style, output, --config)."""
    return _apply(BADGE_OPTIONS, function)


def style_command(function: F) -> F:
    """Give a command the style options alone (the ``emblem`` command)."""
    return _apply(style_options("the usual ring (there is no photo to contrast with)"), function)


def build_options(params: dict[str, Any]) -> BadgeOptions:
    """The validated options from parsed CLI values, the ``emblem`` file read. Raises
    ``OptionError`` for a bad value (the CLI's usage error)."""
    options = BadgeOptions(
        position=params["position"],
        size=params["size"],
        margin=params["margin"],
        offset=params["offset"],
        at=params["at"],
        circle_safe=params["circle_safe"],
        opacity=params["opacity"],
        style=params["style"],
        ring=params["ring"],
        color=params["color"],
        emblem=Path(params["emblem"]) if params["emblem"] else None,
        crop=params["crop"],
        focus=params["focus"],
        output_size=params["output_size"],
        format=params["format_"],
        background=params["background"],
        quality=params["quality"],
        keep_metadata=params["keep_metadata"],
        strip_metadata=params["strip_metadata"],
        max_pixels=params["max_pixels"],
    )
    if options.emblem is not None:
        from blueheart.emblemfile import load_emblem

        load_emblem(options.emblem)
    return options
