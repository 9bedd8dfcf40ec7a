"""The command line: parse options into ``BadgeOptions``, move files, print, exit.

Pixels never pass through here; heavy modules load inside the commands that need them, so
``blueheart --version`` starts fast.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TextIO, TypeVar

import click
from click.core import ParameterSource

from blueheart._version import __version__
from blueheart.errors import BlueheartError, OptionError
from blueheart.options import (
    DEFAULT_MAX_PIXELS,
    UN_BLUE,
    BadgeOptions,
    Crop,
    Focus,
    OutputFormat,
    Position,
    Style,
)
from blueheart.units import Length

F = TypeVar("F", bound=Callable[..., Any])
# Click 8.2+ raises this for a bare `blueheart`: the help is what was asked for (exit 0).
_NoArgsIsHelp: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())
EXIT_INTERRUPTED = 130
WEB_EXTRA = "pip install '.[web]' in a blueheart checkout"


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

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        number = text.rstrip("kmgib")
        unit = text[len(number) :].strip()
        if not number.strip().isdigit() or unit not in self.units or int(number) < 1:
            self.fail(f"expected a size such as 40MB, 512KB or 1000000 (bytes), got {value!r}")
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


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Read a campaign preset: keys are the command's long options; flags still win."""
    if value is None:
        return None
    # Imported here: only a run with --config pays for the TOML parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with Path(value).open("rb") as handle:
            preset = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"cannot read {value}: {error}", ctx, param) from None
    options = _preset_keys(ctx.command)
    # One campaign file serves every command: keys of another command's options are ignored.
    elsewhere = {key for command in _commands(ctx) for key in _preset_keys(command)}
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


PRESET_HINTS = "blueheart.preset_hints"
"""``ctx.meta`` key: option name -> "'key' in FILE", for errors about a preset's values."""


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
    try:
        option.type_cast_value(ctx, text)
    except click.BadParameter as error:
        raise click.BadParameter(error.message, ctx, param_hint=hint) from None
    return text


def _apply(decorators: list[Callable[[F], F]], function: F) -> F:
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _style_options(ring_auto: str) -> list[Callable[[Any], Any]]:
    """--style, --ring and --color; ``ring_auto`` says what ``--ring auto`` does."""
    return [
        click.option("--style", type=_choice(Style), default="heart", show_default=True,
                     help="heart: the heart with a white ring; pin: the heart on a white disc."),
        click.option("--ring", type=AutoOrNumber("auto", float, 0, 0.25), default="auto",
                     show_default=True,
                     help=f"Ring width, a fraction of the emblem, 0 for none; auto: {ring_auto}."),
        click.option("--color", "color", default=UN_BLUE, show_default=True, metavar="HEX",
                     help="The heart's colour."),
    ]  # fmt: skip


BADGE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--config", type=click.Path(dir_okay=False), is_eager=True,
                 expose_value=False, callback=_load_config,
                 help="A campaign preset (TOML) with the same keys as the long options."),
    click.option("--position", type=_choice(Position), default="bottom-right",
                 show_default=True, help="Where the emblem goes; auto picks the least busy place."),
    click.option("--size", type=LENGTH, default="0.25", show_default=True,
                 help="Emblem size: fraction of the shorter side (0 < F <= 1) or pixels (200px)."),
    click.option("--margin", type=LENGTH, default="0.04", show_default=True,
                 help="Distance from the edges: fraction or px."),
    click.option("--offset", type=OffsetType(), default="0,0",
                 help="Fine shift X,Y after placement: fractions or px."),
    click.option("--at", type=PointType(), default=None,
                 help="The emblem's centre X,Y as fractions of the output's width and height, "
                 "instead of --position."),
    click.option("--circle-safe/--no-circle-safe", default=None,
                 help="Keep the emblem inside the circle platforms show "
                 "(default: on when the output is square)."),
    click.option("--opacity", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                 help="0 (invisible) to 1 (opaque)."),
    *_style_options("widened where UN blue would have low contrast with the photo"),
    click.option("--emblem", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="A custom RGBA emblem image instead of the built-in heart."),
    click.option("--crop", type=_choice(Crop), default="none", show_default=True,
                 help="square, or circle (transparent corners)."),
    click.option("--focus", type=_choice(Focus), default="center", show_default=True,
                 help="Which square a crop keeps; auto: the most salient one."),
    click.option("--output-size", type=click.IntRange(min=1), default=None, metavar="N",
                 help="The output's longer side in px (square side when cropped)."),
    click.option("--format", "format_", type=_choice(OutputFormat), default="keep",
                 show_default=True,
                 help="Output format; keep: what -o's extension names, else the input's "
                 "(HEIC becomes JPEG; with a circle crop, PNG)."),
    click.option("--background", default="#FFFFFF", show_default=True, metavar="HEX",
                 help="What transparency becomes in a JPEG."),
    click.option("--quality", type=AutoOrNumber("keep", int, 1, 100), default="keep",
                 show_default=True,
                 help="JPEG/WebP/AVIF quality; keep: a JPEG's own quantisation where possible."),
    click.option("--keep-metadata", is_flag=True,
                 help="Keep all metadata, GPS location included (default: the ICC profile and "
                 "descriptive fields only: author, copyright, title, date, camera, exposure)."),
    click.option("--strip-metadata", is_flag=True,
                 help="Keep nothing but the ICC profile."),
    click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
                 show_default=True, help="Refuse larger images from the header."),
    click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
]  # fmt: skip


def build_options(params: dict[str, Any]) -> BadgeOptions:
    """The validated options from parsed CLI values; a bad value is a usage error."""
    try:
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
    except OptionError as error:
        raise _usage_error(error) from None
    return options


def _usage_error(error: OptionError) -> click.UsageError:
    message = str(error).removeprefix(f"{error.field}: ")
    if error.field == "destination":  # the message starts with the output's name
        return click.UsageError(message)
    name = {"format": "format_"}.get(error.field, error.field)
    context = click.get_current_context(silent=True)
    hints = context.meta.get(PRESET_HINTS, {}) if context else {}
    if context and context.get_parameter_source(name) is ParameterSource.DEFAULT_MAP:
        return click.BadParameter(message, param_hint=hints.get(name))
    return click.BadParameter(message, param_hint=f"'--{error.field.replace('_', '-')}'")


def _debug() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))


def _fail(error: BaseException, *, usage: bool = False) -> NoReturn:
    if _debug() or isinstance(error, click.ClickException):
        raise error
    if usage and isinstance(error, OptionError):
        raise _usage_error(error)
    raise click.ClickException(" ".join(str(error).split()))


class BlueheartGroup(click.Group):
    """Click's group with the contract's error output: every error is one line on stderr,
    exit 1 for failed inputs, 2 for usage errors, 130 when interrupted."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        # A file name that is not UTF-8 reaches the terminal as its own bytes, as ls shows
        # it, instead of stopping the run with UnicodeEncodeError.
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="surrogateescape")
        try:
            with _signals_interrupt((signal.SIGTERM,), _raise_interrupt):
                outcome = super().main(*args, **kwargs)
        except _NoArgsIsHelp as error:
            click.echo(error.ctx.get_help())
            sys.exit(0)
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(outcome if isinstance(outcome, int) else 0)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_interrupt(signals: tuple[int, ...], handler: Any) -> Iterator[None]:
    """Handle ``signals`` with ``handler`` inside the block (when Python lets this thread:
    only the main thread may), as before after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in signals}
    try:
        yield
    finally:
        for number, former in previous.items():
            signal.signal(number, former)


def _stop_on_first_signal(stop: threading.Event) -> Callable[[int, Any], None]:
    """A handler for Ctrl-C and SIGTERM: the first asks the run to stop (it writes its
    report); a second one interrupts at once."""

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    return handle


@click.group(cls=BlueheartGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blueheart")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Put the Blue Heart, a UN-blue heart emblem, on photos.

    \b
    blueheart badge me.jpg                  # writes me-blueheart.jpg
    blueheart badge me.jpg --crop circle --output-size 1080
    blueheart batch photos/ out/ --report report.json
    """


def _badge_command(function: F) -> F:
    return _apply(BADGE_OPTIONS, function)


def _style_command(function: F) -> F:
    return _apply(_style_options("the usual ring (there is no photo to contrast with)"), function)


@cli.command(short_help="Badge one or more photos.")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output file, its extension naming the format; or a folder: a name "
              "ending in /, an existing folder, or, for several INPUTs, a name "
              "without an image extension.")  # fmt: skip
@_badge_command
def badge(inputs: tuple[str, ...], output: str | None, overwrite: bool, **params: Any) -> None:
    """Badge one or more photos.

    Writes "<stem>-blueheart<ext>" beside each INPUT unless -o says otherwise. An existing
    output is never replaced without --overwrite, and an input is never written.

    \b
    blueheart badge me.jpg
    blueheart badge me.heic -o me-avatar.png --crop circle --output-size 1080
    blueheart badge team/*.jpg -o badged/ --position auto
    """
    from blueheart.files import badge_file
    from blueheart.targets import badge_targets

    options = build_options(params)
    try:
        targets = badge_targets(inputs, output, options)
    except OptionError as error:
        _fail(error, usage=True)
    failed = 0
    for source, target in zip(inputs, targets, strict=True):
        try:
            badge_file(source, target, options, overwrite=overwrite)
        except BlueheartError as error:
            if _debug():
                raise
            failed += 1
            click.echo(f"Error: {_one_line(error, source)}", err=True)
            continue
        except OptionError as error:
            _fail(error, usage=True)
        click.echo(str(target))
    if failed:
        sys.exit(1)


def _one_line(error: BlueheartError, source: str) -> str:
    """The error on one line, naming the input; an option this input cannot take (an emblem
    that cannot fit, an output too large) is named as its flag."""
    if not isinstance(error, OptionError):
        return " ".join(str(error).split())
    message = " ".join(str(error).removeprefix(f"{error.field}: ").split())
    return f"{source}: invalid value for '--{error.field.replace('_', '-')}': {message}"


@cli.command("batch", short_help="Badge every photo under SRC_DIR into DEST_DIR.")
@click.argument("source", metavar="SRC_DIR", type=click.Path(file_okay=False))
@click.argument("destination", metavar="DEST_DIR", type=click.Path(file_okay=False))
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: all cores).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a JSON report of every file.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on a Dask cluster (tcp://host:8786, or 'local'); needs the dask extra.",
)
@_badge_command  # fmt: skip
def batch_command(
    source: str,
    destination: str,
    jobs: int | None,
    report: str | None,
    dry_run: bool,
    scheduler: str | None,
    overwrite: bool,
    **params: Any,
) -> None:
    """Badge every photo under SRC_DIR into DEST_DIR, mirroring its folders.

    Files that are not images are skipped; unreadable ones fail with a reason and the batch
    goes on. Outputs that exist are skipped, so re-running resumes (--overwrite redoes them).

    \b
    blueheart batch photos/ out/ --report report.json
    blueheart batch photos/ avatars/ --crop circle --output-size 1080 -j 2
    blueheart batch photos/ out/ --scheduler tcp://scheduler:8786
    """
    from blueheart.batching import (
        Report,
        Result,
        executor_for,
        plan_batch,
        remove_stale_temp_files,
        run_jobs,
    )

    options = build_options(params)
    source_path, destination_path = Path(source), Path(destination)
    try:
        plan = plan_batch(source_path, destination_path, options, overwrite=overwrite)
    except OptionError as error:
        raise click.UsageError(str(error).split(": ", 1)[1]) from None
    if report:
        _check_report(Path(report), plan.inputs, overwrite=overwrite)
    if dry_run:
        for job in plan.jobs:
            click.echo(f"{job.source} -> {job.output}")
        for decided in plan.decided:
            click.echo(f"{decided.source}: {decided.status}: {decided.reason or decided.error}")
        click.echo(f"{len(plan.jobs)} to badge, {len(plan.decided)} decided without reading")
        return
    _hold_destination(destination_path)
    remove_stale_temp_files(destination_path)
    results: list[Result] = list(plan.decided)
    stop = threading.Event()
    show = _progress(len(plan.jobs))
    try:
        with (
            _signals_interrupt((signal.SIGINT, signal.SIGTERM), _stop_on_first_signal(stop)),
            executor_for(jobs or os.cpu_count() or 1, scheduler) as executor,
        ):
            for result in run_jobs(
                plan.jobs, options, executor=executor, overwrite=overwrite, stop=stop
            ):
                results.append(result)
                show(result)
    except OptionError as error:
        raise _usage_error(error) from None
    except KeyboardInterrupt:
        stop.set()
    finally:
        show(None)
    interrupted = stop.is_set()
    if interrupted:
        # Workers stopped mid-photo leave their hidden temp files; the run removes its own.
        remove_stale_temp_files(destination_path)
    outcome = Report(tuple(results), interrupted=interrupted)
    for result in outcome.results:
        if result.status == "failed":
            click.echo(f"failed: {result.error}", err=True)
    if report:
        _write_report(Path(report), outcome.to_json())
    click.echo(outcome.summary() + (" (interrupted)" if interrupted else ""))
    sys.exit(outcome.exit_code)


def _progress(total: int, *, stream: TextIO | None = None) -> Callable[[Any], None]:
    """A progress callback: Click's bar with count, rate and ETA on a terminal, else quiet.
    The line fits the terminal's width at the start; called with None at the end."""
    file = stream or sys.stderr
    if not file.isatty() or total == 0:
        return lambda result: None
    started = time.monotonic()
    done = 0
    label, width, fields = _bar_layout(shutil.get_terminal_size().columns, total)

    def info(_: Any) -> str:
        return _bar_info(fields, done, total, time.monotonic() - started)

    bar = click.progressbar(
        length=total, label=label, width=width, file=file, show_pos=False, show_eta=False,
        show_percent=False, item_show_func=info,
        bar_template="%(label)s  [%(bar)s]  %(info)s" if label else "[%(bar)s]  %(info)s",
    )  # fmt: skip
    bar.__enter__()

    def show(result: Any) -> None:
        nonlocal done
        if result is None:
            bar.__exit__(None, None, None)
            return
        done += 1
        bar.update(1, result)

    return show


def _hold_destination(destination: Path) -> None:
    """Lock DEST until the command ends: one run at a time in a folder."""
    from blueheart.batching import destination_lock

    try:
        click.get_current_context().with_resource(destination_lock(destination))
    except OptionError as error:
        raise click.UsageError(str(error).split(": ", 1)[1]) from None


def _check_report(path: Path, inputs: frozenset[tuple[int, int]], *, overwrite: bool) -> None:
    """Refuse, before anything is badged, a report that could not or may not be written.

    The report goes into an existing folder; it replaces a previous report (a re-run), or
    with --overwrite any regular file, but never an input of the batch nor anything else.
    """
    from blueheart.batching import is_report
    from blueheart.imagefile import check_output, file_identity

    def refuse(reason: str) -> NoReturn:
        _fail(click.BadParameter(reason, param_hint="'--report'"))

    if not path.parent.is_dir():
        refuse(f"{path.parent} {'is not a folder' if path.parent.exists() else 'does not exist'}")
    if file_identity(path) in inputs:
        refuse(f"{path} is an input of the batch; inputs are never written")
    try:
        existing = check_output(path, overwrite=True)
    except BlueheartError as error:
        refuse(str(error))
    if existing and not overwrite and not is_report(path):
        refuse(f"{path} exists and is not a blueheart report (--overwrite replaces it)")


BAR_LABEL = "Badging"
BAR_FIELDS = ("count", "rate", "eta")
MIN_BAR_WIDTH = 10


def _bar_layout(columns: int, total: int) -> tuple[str, int, tuple[str, ...]]:
    """(label, bar width, info fields) for a line shorter than ``columns``: the label goes
    first, then the rate, then the ETA, so that the bar keeps ``MIN_BAR_WIDTH``."""
    shorter = (BAR_FIELDS, ("count", "eta"), ("count",), ())
    choices = [(BAR_LABEL, BAR_FIELDS)] + [("", fields) for fields in shorter]
    for label, fields in choices:
        clutter = len(f"{label}  [" if label else "[") + len("]  ")
        clutter += len(_bar_info(fields, total, total, 1.0))
        width = columns - 1 - clutter
        if width >= MIN_BAR_WIDTH:
            break
    return label, max(width, 1), fields


def _bar_info(fields: tuple[str, ...], done: int, total: int, elapsed: float) -> str:
    """The bar's info, each field at a fixed width: ``14210/20000   38.2 img/s  00:02:31``."""
    rate = min(done / max(elapsed, 1e-6), 99_999.0)
    seconds = min(round((total - done) / rate), 99 * 3600 + 3599) if rate else None
    parts = {
        "count": f"{done:>{len(str(total))}}/{total}",
        "rate": f"{rate:5.1f} img/s" if rate < 1000 else f"{rate:5.0f} img/s",
        "eta": "--:--:--" if seconds is None else _clock(seconds),
    }
    return "  ".join(parts[field] for field in fields)


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _write_report(path: Path, text: str) -> None:
    from blueheart.imagefile import write_atomic

    try:
        write_atomic(path, text.encode("utf-8"), overwrite=True)
    except BlueheartError as error:
        _fail(error)


@cli.command(short_help="Write the emblem itself, as SVG, PNG, WebP, AVIF or TIFF.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="heart.png",
    show_default=True,
    help="heart.svg, or heart.png (.webp, .avif, .tif: transparent rasters).",
)
@click.option(
    "--size",
    type=click.IntRange(min=1, max=16384),
    default=512,
    show_default=True,
    metavar="PX",
    help="Side in pixels.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@_style_command
def emblem(output: str, size: int, overwrite: bool, **params: Any) -> None:
    """Write the emblem itself: SVG, or a transparent PNG, WebP, AVIF or TIFF.

    \b
    blueheart emblem -o heart.svg
    blueheart emblem -o pin.png --size 1024 --style pin
    """
    from blueheart.emblem import HEART_RING, emblem_svg, render_emblem
    from blueheart.formats import emblem_format
    from blueheart.imagefile import save_image_atomic, write_atomic

    target = Path(output)
    style_params = {
        "style": params["style"],
        "ring": HEART_RING if params["ring"] is None else params["ring"],
        "color": params["color"],
    }
    try:
        if emblem_format(target) == "SVG":
            svg = emblem_svg(size=size, **style_params).encode("utf-8")
            write_atomic(target, svg, overwrite=overwrite)
        else:
            save_image_atomic(render_emblem(size, **style_params), target, overwrite=overwrite)
    except OptionError as error:
        _fail(error, usage=True)
    except BlueheartError as error:
        _fail(error)
    click.echo(str(target))


@cli.command(short_help="Contact sheets of a folder's images under a circular mask.")
@click.argument("directory", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="Names the pages: sheet.jpg gives sheet-001.jpg, sheet-002.jpg...",
)
@click.option(
    "--per-page",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    metavar="N",
    help="Tiles per page.",
)
@click.option(
    "--cell",
    type=click.IntRange(min=16, max=2048),
    default=200,
    show_default=True,
    metavar="PX",
    help="Side of each tile in px.",
)
@click.option(
    "--columns",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Tiles per row (default: a near-square grid).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing pages.")  # fmt: skip
def sheet(
    directory: str, output: str, per_page: int, cell: int, columns: int | None, overwrite: bool
) -> None:
    """Draw DIR's images as contact sheets, each under the circular mask platforms apply to
    avatars and captioned with its path. Files that cannot be read are crossed out on the
    page and listed on stderr (exit 1).

    \b
    blueheart batch photos/ out/ --crop square
    blueheart sheet out/ -o check.jpg        # check-001.jpg, check-002.jpg...
    """
    from blueheart.sheet import write_contact_sheets

    try:
        report = write_contact_sheets(directory, output, per_page=per_page, cell=cell,
                                      columns=columns, overwrite=overwrite)  # fmt: skip
    except OptionError as error:
        _fail(error, usage=True)
    except BlueheartError as error:
        _fail(error)
    if not report.pages:
        _fail(click.UsageError(f"{directory}: no images to show"))
    for _, reason in report.unreadable:
        click.echo(f"unreadable: {reason}", err=True)
    for page in report.pages:
        click.echo(str(page))
    click.echo(report.summary())
    sys.exit(report.exit_code)


@cli.command(short_help="Serve the campaign page and its HTTP API.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="A campaign preset (TOML): the options' defaults, [page] texts and locks.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0: every network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes; they share the cores and keep no state.",
)
@click.option(
    "--max-upload",
    type=ByteSize(),
    default="40MB",
    show_default=True,
    help="The largest upload accepted (40MB, 512KB...).",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse larger images from the header.",
)
@click.option(
    "--root-path",
    default="",
    metavar="PATH",
    help="The path a reverse proxy serves the page under, such as /blueheart.",
)
def serve(
    config: str | None,
    host: str,
    port: int,
    workers: int,
    max_upload: int,
    max_pixels: int,
    root_path: str,
) -> None:
    """Serve the campaign page and its HTTP API (the web extra); photos are never stored.

    \b
    blueheart serve
    blueheart serve --config campaign.toml --host 0.0.0.0 --workers 2
    """
    try:
        from blueheart.web import PresetError, ServiceSettings, load_campaign
        from blueheart.web import serve as run_service
    except ImportError as error:
        if error.name not in ("starlette", "uvicorn"):
            raise
        _fail(click.UsageError(f"blueheart serve needs the web extra: {WEB_EXTRA}"))
    cores = max(1, (os.cpu_count() or 1) // workers)
    settings = ServiceSettings(max_upload=max_upload, max_pixels=max_pixels, workers=cores)
    try:
        load_campaign(config)
    except PresetError as error:
        _fail(click.UsageError(str(error)))
    click.echo(f"Serving the Blue Heart at http://{host}:{port}{root_path}/ (Ctrl-C to stop)")
    run_service(config, settings, host=host, port=port, processes=workers, root_path=root_path)


def main() -> None:
    """Console-script entry point."""
    if "--debug" not in sys.argv[1:]:
        _quiet_libraries()
    cli.main(prog_name="blueheart")


def _quiet_libraries() -> None:
    """Keep stderr to blueheart's one line per error: what the decoders' C libraries print
    (libtiff gives dozens of lines for one damaged file) goes to the null device, and Pillow's
    warnings about damage it works around are ignored.

    Only here, in blueheart's own process: the library never touches file descriptor 2 or
    the warning filters, which belong to its host. Python's ``sys.stderr`` moves to a copy of
    the descriptor; batch workers started from this process inherit the same arrangement.
    """
    warnings.simplefilter("ignore")
    try:
        terminal = os.dup(2)
        sink = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    os.dup2(sink, 2)
    os.close(sink)
    sys.stderr = os.fdopen(
        terminal, "w", encoding=sys.stderr.encoding, errors="backslashreplace", buffering=1
    )


if __name__ == "__main__":
    main()
