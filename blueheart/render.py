"""One image file in, the badged file out: open -> decode -> badge -> encode -> write.

``badge_file`` and ``badge_bytes`` are the library's entries for files; the pixels go through
``blueheart.pipeline``, imported while the first photo decodes (see ``_decode``).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from blueheart.errors import OptionError, OutputExistsError
from blueheart.formats import OPAQUE_FORMATS, format_of_name, output_format
from blueheart.imagefile import (
    PAGED_FORMATS,
    EncodeSettings,
    decoding,
    encode,
    is_lossless_webp,
    jpeg_settings,
    open_image,
    write_atomic,
)
from blueheart.metadata import read_metadata
from blueheart.options import BadgeOptions, Crop, OutputFormat, hex_to_rgb, resolve_options

CMYK_FORMATS = ("JPEG", "TIFF")
_PIPELINE = "blueheart.pipeline"


def badge_bytes(data: bytes, options: BadgeOptions | None = None, **overrides: Any) -> bytes:
    """Badge an image file held in memory and return the output file's bytes.

    ``data`` is the file's content (JPEG, PNG, WebP, AVIF, GIF, TIFF, BMP; HEIC with the
    ``heif`` extra); the output format follows ``options.format`` (see ``BadgeOptions``).
    Raises a ``BlueheartError`` for data that cannot be read or is too large, and
    ``OptionError`` for invalid options.
    """
    return render_file(data, "input", resolve_options(options, overrides))[0]


def badge_file(
    source: str | Path,
    destination: str | Path,
    options: BadgeOptions | None = None,
    *,
    overwrite: bool = False,
    **overrides: Any,
) -> None:
    """Badge the image file ``source`` and write ``destination`` atomically.

    The source is never written. ``destination``'s folder is created if needed; an existing
    ``destination`` is only replaced with ``overwrite=True``. Raises ``BlueheartError``
    subclasses (unreadable or too large input, output exists, cannot write) and
    ``OptionError``; on any error nothing is written.
    """
    source_path, destination_path = Path(source), Path(destination)
    resolved = resolve_options(options, overrides)
    if destination_path.resolve() == source_path.resolve():
        raise OptionError(
            "destination", f"{destination_path} is the input; inputs are never written"
        )
    named = format_of_name(destination_path.suffix)
    if resolved.format is OutputFormat.KEEP and named:
        if resolved.crop is Crop.CIRCLE and named in OPAQUE_FORMATS:
            raise OptionError(
                "format",
                f"a circle crop needs transparent corners, which {destination_path.suffix} "
                "cannot store; name the output .png, .webp or .avif",
            )
    else:
        named = None
    if not overwrite and destination_path.exists():
        raise OutputExistsError(f"{destination_path}: exists (use --overwrite to replace it)")
    data, _ = render_file(source_path, str(source_path), resolved, written_format=named)
    write_atomic(destination_path, data, overwrite=overwrite)


def render_file(
    source: Path | bytes, name: str, options: BadgeOptions, *, written_format: str | None = None
) -> tuple[bytes, str]:
    """The badged file's bytes and its Pillow format, from a path or a file's bytes.

    ``written_format`` overrides the format ``options`` would choose (an output's name)."""
    with open_image(source, name=name, max_pixels=options.max_pixels) as image, decoding(name):
        written_format = written_format or output_format(
            image.format, options.format, needs_alpha=options.crop is Crop.CIRCLE
        )
        resized = _draft(image, options)
        # Everything read from the file comes before the pixels change: badging clears the
        # frames' own metadata so that no encoder falls back on it (see pipeline.badged_frames).
        metadata = read_metadata(image, keep_location=options.keep_metadata)
        reuse_tables = options.quality is None and not resized and options.crop is Crop.NONE
        comment = image.info.get("comment") if options.keep_metadata else None
        settings = EncodeSettings(
            format=written_format,
            quality=options.quality,
            background=hex_to_rgb(options.background),
            loop=image.info.get("loop"),
            tiff_compression=image.info.get("compression") if image.format == "TIFF" else None,
            png_text=_png_text(image) if options.keep_metadata else None,
            comment=comment if isinstance(comment, bytes) else None,
            lossless=options.quality is None and is_lossless_webp(image),
            **jpeg_settings(image, reuse_tables=reuse_tables),
        )
        _decode(image)
        from blueheart.pipeline import badged_frames

        frames, icc = badged_frames(
            image,
            options,
            keep_cmyk=written_format in CMYK_FORMATS,
            # Pages become frames only of their own format, never of an animation.
            all_frames=image.format not in PAGED_FORMATS or written_format == image.format,
        )
        return encode(frames, settings, replace(metadata, icc_profile=icc)), written_format


def _draft(image: Image.Image, options: BadgeOptions) -> bool:
    """Ask a JPEG to decode at a reduced scale when the output is smaller; True if it resizes."""
    if options.output_size is None:
        return False
    width, height = image.size
    reference = min(width, height) if options.crop is not Crop.NONE else max(width, height)
    scale = options.output_size / reference
    if image.format in ("JPEG", "MPO") and scale < 1:
        image.draft(image.mode, (math.ceil(width * scale), math.ceil(height * scale)))
    return True


def _png_text(image: Image.Image) -> dict[str, str]:
    text = getattr(image, "text", {}) or {}
    return {str(key): str(value) for key, value in text.items()}


def _decode(image: Image.Image) -> None:
    """Decode ``image``; the first time, import the pixel pipeline meanwhile.

    The pipeline brings numpy, ImageCms and the emblem (about 0.1 s to import). Pillow decodes
    without holding the GIL, so on a second core the import hides behind the decode, which
    matters to a one-off run such as ``blueheart badge me.jpg``.
    """
    if _PIPELINE in sys.modules:
        image.load()
        return
    loader = threading.Thread(target=_import_pipeline)
    loader.start()
    try:
        image.load()
    finally:
        loader.join()


def _import_pipeline() -> None:
    # A failure is left for the caller's own import of the module to raise, as usual.
    with contextlib.suppress(Exception):
        importlib.import_module(_PIPELINE)
