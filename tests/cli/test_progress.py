"""The batch's progress bar: it fits the terminal, and its line reads count, rate, ETA."""

from __future__ import annotations

import io
import re

import pytest

from blueheart.cli.progress import bar_info, bar_layout, progress_bar


class Terminal(io.StringIO):
    """What a terminal receives: Click draws its bar only on a TTY."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("columns", [80, 40, 24])
@pytest.mark.parametrize("total", [7, 20000, 1_000_000])
def test_the_progress_bar_fits_the_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: int, total: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    terminal = Terminal()
    show = progress_bar(total, stream=terminal)
    for _ in range(min(total, 500)):
        show("ok")
    show(None)
    lines = re.sub(r"\x1b\[\?25[lh]", "", terminal.getvalue()).replace("\n", "\r").split("\r")
    drawn = [line for line in lines if line.strip()]
    assert drawn and max(len(line) for line in drawn) < columns, max(drawn, key=len)
    if columns >= 40:
        assert f"{min(total, 500)}/{total}" in drawn[-1]


def test_the_progress_line_reads_count_rate_eta_and_sheds_parts_when_narrow() -> None:
    label, width, fields = bar_layout(80, 20000)
    assert (label, fields) == ("Badging", ("count", "rate", "eta"))
    line = f"{label}  [{'#' * width}]  {bar_info(fields, 14210, 20000, 14210 / 40)}"
    assert line.endswith("]  14210/20000   40.0 img/s  00:02:25") and len(line) == 79
    assert bar_layout(40, 20000)[2] == ("count", "eta")
    assert bar_info(("count", "rate", "eta"), 0, 20000, 0.0) == "    0/20000    0.0 img/s  --:--:--"
    assert bar_info(("eta",), 1, 10**9, 3600.0) == "99:59:59"
