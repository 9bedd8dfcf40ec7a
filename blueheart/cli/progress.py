"""The batch's progress bar on a terminal: a line that fits the terminal's width, with the
count, the rate and the time left. A front end's display, not the library's."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import click

BAR_LABEL = "Badging"
BAR_FIELDS = ("count", "rate", "eta")
MIN_BAR_WIDTH = 10
MAX_RATE = 99_999.0
"""The fastest rate shown, in images a second: the field holds five digits."""
MAX_ETA_S = 99 * 3600 + 59 * 60 + 59
"""The longest time left shown, 99:59:59: the field holds two digits of hours."""
WHOLE_RATE = 1000
"""From this many images a second, the rate is shown without a decimal."""
_EPSILON_S = 1e-6


def bar_layout(columns: int, total: int) -> tuple[str, int, tuple[str, ...]]:
    """(label, bar width, info fields) for a line shorter than ``columns``: the label goes
    first, then the rate, then the ETA, so that the bar keeps ``MIN_BAR_WIDTH``."""
    shorter = (BAR_FIELDS, ("count", "eta"), ("count",), ())
    choices = [(BAR_LABEL, BAR_FIELDS)] + [("", fields) for fields in shorter]
    for label, fields in choices:
        clutter = len(f"{label}  [" if label else "[") + len("]  ")
        clutter += len(bar_info(fields, total, total, 1.0))
        width = columns - 1 - clutter
        if width >= MIN_BAR_WIDTH:
            break
    return label, max(width, 1), fields


def bar_info(fields: tuple[str, ...], done: int, total: int, elapsed: float) -> str:
    """The bar's info, each field at a fixed width: ``14210/20000   38.2 img/s  00:02:31``."""
    rate = min(done / max(elapsed, _EPSILON_S), MAX_RATE)
    seconds = min(round((total - done) / rate), MAX_ETA_S) if rate else None
    parts = {
        "count": f"{done:>{len(str(total))}}/{total}",
        "rate": f"{rate:5.1f} img/s" if rate < WHOLE_RATE else f"{rate:5.0f} img/s",
        "eta": "--:--:--" if seconds is None else clock(seconds),
    }
    return "  ".join(parts[field] for field in fields)


def clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def progress_bar(total: int, *, stream: TextIO | None = None) -> Callable[[Any], None]:
    """A progress callback: Click's bar with count, rate and ETA on a terminal, else quiet.
    The line fits the terminal's width at the start; called with None at the end."""
    file = stream or sys.stderr
    if not file.isatty() or total == 0:
        return lambda result: None
    started = time.monotonic()
    done = 0
    label, width, fields = bar_layout(shutil.get_terminal_size().columns, total)

    def info(_: Any) -> str:
        return bar_info(fields, done, total, time.monotonic() - started)

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
