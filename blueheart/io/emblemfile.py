"""A custom emblem file (``--emblem``), read once per version of the file."""

from __future__ import annotations

import functools
from pathlib import Path

from blueheart.core.errors import BlueheartError, OptionError
from blueheart.core.pipeline import CustomEmblem, custom_emblem
from blueheart.io.decoding import decoding
from blueheart.io.reading import open_image

EMBLEM_MAX_PIXELS = 64_000_000
"""The largest custom emblem read (8000 x 8000 px): it is scaled down to its box anyway."""


def load_emblem(path: Path) -> CustomEmblem:
    """The custom emblem in the image file ``path``, opened once per version of the file
    (its modification time and size). Raises ``OptionError`` for the field ``emblem`` if it
    cannot be read as an image: the emblem is an option, and every photo would fail alike."""
    return _read(path, *_version(path))


def _version(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError as error:
        raise OptionError("emblem", f"{path}: cannot read it ({error.strerror})") from None
    return status.st_mtime_ns, status.st_size


@functools.lru_cache(maxsize=8)
def _read(path: Path, mtime_ns: int, file_size: int) -> CustomEmblem:
    try:
        with (
            open_image(path, name=str(path), max_pixels=EMBLEM_MAX_PIXELS) as opened,
            decoding(str(path)),
        ):
            emblem = opened.convert("RGBA")
    except BlueheartError as error:
        raise OptionError("emblem", str(error)) from None
    return custom_emblem(emblem)
