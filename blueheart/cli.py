"""The command line: parse options into ``BadgeOptions``, move files, print, exit.

Pixels never pass through here; heavy modules load inside the commands that need them, so
``blueheart --version`` starts fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from blueheart._version import __version__
from blueheart.errors import BlueheartError, OptionError
from blueheart.options import (
    DEFAULT_MAX_PIXELS,
    BadgeOptions,
    Crop,
    Focus,
    OutputFormat,
    Position,
    Style,
)
from blueheart.units import Length

F = TypeVar("F", bound=Callable[..., Any])
# Click 8.2+ raises this for a bare `blueheart`; its message is the help, not an error.
_NoArgsIsHelp: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())
EXIT_INTERRUPTED = 130


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
    known = {p.name for p in ctx.command.params if isinstance(p, click.Option)} - {"config"}
    defaults = {}
    for key, setting in preset.items():
        name = key.replace("-", "_")
        if name not in known:
            raise click.BadParameter(f"{value}: unknown key {key!r}", ctx, param)
        defaults[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def _apply(decorators: list[Callable[[F], F]], function: F) -> F:
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


STYLE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--style", type=_choice(Style), default="heart", show_default=True,
                 help="heart: the heart with a white ring; pin: the heart on a white disc."),
    click.option("--ring", type=AutoOrNumber("auto", float, 0, 0.25), default="auto",
                 show_default=True,
                 help="Ring width as a fraction of the emblem, 0 for none; auto widens it "
                 "where the blue would have low contrast."),
    click.option("--color", "color", default="#009EDB", show_default=True, metavar="HEX",
                 help="The heart's colour (default UN blue)."),
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
    click.option("--circle-safe/--no-circle-safe", default=None,
                 help="Keep the emblem inside the circle platforms show "
                 "(default: on when the output is square)."),
    click.option("--opacity", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                 help="0 (invisible) to 1 (opaque)."),
    *STYLE_OPTIONS,
    click.option("--emblem", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="A custom RGBA emblem image instead of the built-in heart."),
    click.option("--crop", type=_choice(Crop), default="none", show_default=True,
                 help="square, or circle (transparent corners)."),
    click.option("--focus", type=_choice(Focus), default="center", show_default=True,
                 help="Which square a crop keeps; auto: the most salient one."),
    click.option("--output-size", type=click.IntRange(min=1), default=None, metavar="N",
                 help="The output's longer side in px (square side when cropped)."),
    click.option("--format", "format_", type=_choice(OutputFormat), default="keep",
                 show_default=True, help="Output format; keep: the input's (HEIC becomes JPEG)."),
    click.option("--background", default="#FFFFFF", show_default=True, metavar="HEX",
                 help="What transparency becomes in a JPEG."),
    click.option("--quality", type=AutoOrNumber("keep", int, 1, 100), default="keep",
                 show_default=True,
                 help="JPEG/WebP/AVIF quality; keep: a JPEG's own quantisation where possible."),
    click.option("--keep-metadata", is_flag=True,
                 help="Keep all metadata, GPS location included (default: drop location)."),
    click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
                 show_default=True, help="Refuse larger images from the header."),
    click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
]  # fmt: skip


def build_options(params: dict[str, Any]) -> BadgeOptions:
    """The validated options from parsed CLI values; a bad value is a usage error."""
    try:
        return BadgeOptions(
            position=params["position"],
            size=params["size"],
            margin=params["margin"],
            offset=params["offset"],
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
            max_pixels=params["max_pixels"],
        )
    except OptionError as error:
        raise _usage_error(error) from None


def _usage_error(error: OptionError) -> click.BadParameter:
    hint = {"format": "--format"}.get(error.field, "--" + error.field.replace("_", "-"))
    message = str(error).removeprefix(f"{error.field}: ")
    return click.BadParameter(message, param_hint=f"'{hint}'")


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
        try:
            with _signals_interrupt((signal.SIGTERM,), _raise_interrupt):
                outcome = super().main(*args, **kwargs)
        except _NoArgsIsHelp as error:
            error.show()
            sys.exit(error.exit_code)
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
    return _apply(STYLE_OPTIONS, function)


@cli.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output file (one INPUT) or folder (several INPUTs).")  # fmt: skip
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
    from blueheart.formats import badged_name
    from blueheart.render import badge_file

    options = build_options(params)
    sources = [Path(name) for name in inputs]
    folder = Path(output) if output and (len(sources) > 1 or Path(output).is_dir()) else None
    failed = 0
    for source in sources:
        if output and folder is None:
            target = Path(output)
        else:
            name = badged_name(source, options.format, needs_alpha=options.crop is Crop.CIRCLE)
            target = (folder or source.parent) / name
        if target.resolve() in {s.resolve() for s in sources}:
            _fail(click.UsageError(f"{target}: is an input; inputs are never written"))
        try:
            badge_file(source, target, options, overwrite=overwrite)
        except OptionError as error:
            _fail(error, usage=True)
        except BlueheartError as error:
            if _debug():
                raise
            failed += 1
            click.echo(f"Error: {' '.join(str(error).split())}", err=True)
            continue
        click.echo(str(target))
    if failed:
        sys.exit(1)


@cli.command("batch")
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
    if dry_run:
        for job in plan.jobs:
            click.echo(f"{job.source} -> {job.output}")
        for decided in plan.decided:
            click.echo(f"{decided.source}: {decided.status}")
        click.echo(f"{len(plan.jobs)} to badge, {len(plan.decided)} decided without reading")
        return
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


def _progress(total: int) -> Callable[[Any], None]:
    """A progress callback: Click's bar with count, rate and ETA on a terminal, else quiet.
    Called with None at the end."""
    if not sys.stderr.isatty() or total == 0:
        return lambda result: None
    started = time.monotonic()
    done = 0

    def rate(_: Any) -> str:
        elapsed = max(time.monotonic() - started, 1e-6)
        return f"{done / elapsed:.1f} img/s"

    bar = click.progressbar(
        length=total, label="Badging", show_pos=True, show_eta=True, file=sys.stderr,
        item_show_func=rate,
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


def _write_report(path: Path, text: str) -> None:
    from blueheart.imagefile import write_atomic

    try:
        write_atomic(path, text.encode("utf-8"), overwrite=True)
    except BlueheartError as error:
        _fail(error)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="heart.png",
    show_default=True,
    help="heart.png (RGBA) or heart.svg.",
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
    """Write the emblem itself, as PNG or SVG.

    \b
    blueheart emblem -o heart.svg
    blueheart emblem -o pin.png --size 1024 --style pin
    """
    from blueheart.emblem import HEART_RING, emblem_svg, render_emblem
    from blueheart.formats import OPAQUE_FORMATS, format_of_name
    from blueheart.imagefile import save_image_atomic, write_atomic

    target = Path(output)
    if target.suffix.lower() != ".svg" and format_of_name(target.suffix) in (
        *OPAQUE_FORMATS,
        None,
    ):
        _fail(
            click.BadParameter(
                "the emblem is transparent: name it .png or .svg", param_hint="'-o' / '--output'"
            )
        )
    style_params = {
        "style": params["style"],
        "ring": HEART_RING if params["ring"] is None else params["ring"],
        "color": params["color"],
    }
    try:
        if target.suffix.lower() == ".svg":
            svg = emblem_svg(size=size, **style_params).encode("utf-8")
            write_atomic(target, svg, overwrite=overwrite)
        else:
            save_image_atomic(render_emblem(size, **style_params), target, overwrite=overwrite)
    except OptionError as error:
        _fail(error, usage=True)
    except BlueheartError as error:
        _fail(error)
    click.echo(str(target))


@cli.command()
@click.argument("directory", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The sheet image (JPEG or PNG).",
)
@click.option(
    "--cell",
    type=click.IntRange(min=16, max=2048),
    default=200,
    show_default=True,
    help="Side of each thumbnail in px.",
)
@click.option("--columns", type=click.IntRange(min=1), default=None, help="Thumbnails per row.")
@click.option("--overwrite", is_flag=True, help="Replace an existing sheet.")  # fmt: skip
def sheet(directory: str, output: str, cell: int, columns: int | None, overwrite: bool) -> None:
    """Draw a contact sheet of DIR's images under a platform's circular mask.

    \b
    blueheart batch photos/ out/ --crop square
    blueheart sheet out/ -o check.jpg
    """

    from blueheart.batching import find_images
    from blueheart.imagefile import save_image_atomic
    from blueheart.sheet import contact_sheet

    target = Path(output)
    images = [path for path in find_images(directory) if path.resolve() != target.resolve()]
    if not images:
        _fail(click.UsageError(f"{directory}: no images to show"))
    try:
        save_image_atomic(contact_sheet(images, cell=cell, columns=columns), target,
                          overwrite=overwrite)  # fmt: skip
    except BlueheartError as error:
        _fail(error)
    click.echo(f"{target}: {len(images)} images")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="blueheart")


if __name__ == "__main__":
    main()
