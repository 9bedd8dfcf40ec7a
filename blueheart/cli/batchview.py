"""What the terminal shows of a batch: the plan of a dry run, or the bar of the run (which
Ctrl-C and SIGTERM then stop), and the failed files and the summary at the end."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from blueheart.cli.progress import progress_bar
from blueheart.cli.signals import STOP_SIGNALS, handling, hush_cluster_logs, stop_on_first_signal
from blueheart.cli.terminal import printable

if TYPE_CHECKING:
    from blueheart.batching.records import Plan, Report


class BatchView:
    """A batch's ``planned`` and ``progress`` callbacks; the bar and the signal handlers live
    as long as ``during_run``."""

    def __init__(
        self,
        during_run: contextlib.ExitStack,
        stop: threading.Event,
        *,
        dry_run: bool,
        scheduler: str | None,
    ) -> None:
        self.during_run = during_run
        self.stop = stop
        self.dry_run = dry_run
        self.scheduler = scheduler
        self.show: Callable[[Any], None] = _no_bar

    def planned(self, plan: Plan) -> None:
        """The run starts: show its bar, and let Ctrl-C and SIGTERM stop it (a dry run: print
        the plan instead)."""
        if self.dry_run:
            _print_plan(plan)
            return
        self.show = progress_bar(len(plan.jobs))
        self.during_run.callback(self.show, None)
        handler = stop_on_first_signal(self.stop)
        self.during_run.enter_context(handling(STOP_SIGNALS, handler))
        if self.scheduler:
            # A cluster logs a dead worker in many lines; the run's one line per failed
            # file says what it cost.
            hush_cluster_logs()

    def progress(self, result: Any) -> None:
        """One more file done: the bar moves (once the run started)."""
        self.show(result)


def _no_bar(result: Any) -> None:
    """What the bar shows before the run starts: nothing (the results decided by planning)."""


def _print_plan(plan: Plan) -> None:
    for job in plan.jobs:
        click.echo(printable(f"{job.source} -> {job.output}"))
    for decided in plan.decided:
        reason = decided.reason or decided.error
        click.echo(printable(f"{decided.source}: {decided.status}: {reason}"))
    click.echo(f"{len(plan.jobs)} to badge, {len(plan.decided)} decided without reading")


def print_outcome(outcome: Report) -> None:
    """The failed files on stderr, then the summary."""
    for result in outcome.results:
        if result.status == "failed":
            click.echo(printable(f"failed: {result.error}"), err=True)
    click.echo(outcome.summary() + (" (interrupted)" if outcome.interrupted else ""))
