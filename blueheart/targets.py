"""Where ``blueheart badge`` writes: every input's output, decided before anything is written."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from blueheart.errors import OptionError, input_refused
from blueheart.formats import SUFFIX_FORMATS, badged_name, named_format
from blueheart.options import BadgeOptions

_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)


def badge_targets(
    inputs: Sequence[str | Path], output: str | None, options: BadgeOptions
) -> list[Path]:
    """The output path of each of ``inputs``, in order.

    ``output`` None: "<stem>-blueheart<ext>" beside each input. ``output`` a folder (it ends
    with a slash, exists as a folder, or there are several inputs and it has no image
    extension): that name inside it, the folder created when written. Otherwise, for one
    input, ``output`` itself, whose extension must name a format blueheart writes.
    Raises ``OptionError`` (field ``destination``) when several inputs would go to one file,
    two inputs to one output, or an output would be an input; nothing has been written then.
    """
    sources = [Path(name) for name in inputs]
    if output == "":
        raise OptionError("destination", "the output's name is empty")
    if output is not None and not _is_folder(output, len(sources)):
        if len(sources) > 1:
            raise OptionError(
                "destination",
                f"{output}: names one file, but there are {len(sources)} inputs; "
                "give a folder (end it with /)",
            )
        named_format(Path(output), options.format, needs_alpha=options.needs_alpha)
        targets = [Path(output)]
    else:
        targets = [
            (Path(output) if output is not None else source.parent)
            / badged_name(source, options.format, needs_alpha=options.needs_alpha)
            for source in sources
        ]
    _check_distinct(sources, targets)
    return targets


def _is_folder(output: str, count: int) -> bool:
    if output.endswith(_SEPARATORS) or Path(output).is_dir():
        return True
    return count > 1 and Path(output).suffix.lower() not in SUFFIX_FORMATS


def _check_distinct(sources: list[Path], targets: list[Path]) -> None:
    """No two inputs share an output, and no output is an input."""
    inputs = {source.resolve(): source for source in sources}
    first_for: dict[Path, Path] = {}
    for source, target in zip(sources, targets, strict=True):
        resolved = target.resolve()
        if resolved in inputs:
            raise OptionError("destination", input_refused(target))
        if resolved in first_for:
            raise OptionError(
                "destination",
                f"{first_for[resolved]} and {source} would both be written to {target}; "
                "badge them into different folders",
            )
        first_for[resolved] = source
