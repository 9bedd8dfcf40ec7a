"""What a decoder raises on a damaged or unreadable file, as the file's one line."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator

from PIL import Image

from blueheart.core.errors import (
    BlueheartError,
    TooManyPixelsError,
    UnreadableImageError,
    one_line,
)

# What Pillow's decoders raise on damaged data; mapped to UnreadableImageError.
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
    RuntimeError,  # the AVIF and HEIF plugins' word for a corrupt file
)


@contextlib.contextmanager
def decoding(name: str) -> Iterator[None]:
    """Turn whatever a decoder raises on a damaged image into one ``BlueheartError`` line.

    Warnings of Pillow's decoders about damage they work around are left to the host's warning
    filters: changing those filters is not thread-safe, and they belong to the host.
    """
    try:
        yield
    except BlueheartError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's WebP reader applies Pillow's own limit (the host's setting) while opening.
        raise TooManyPixelsError(f"{name}: {_reason(error)}") from error
    except DECODE_ERRORS as error:
        raise _unreadable(error, name) from error


def _unreadable(error: BaseException, name: str) -> UnreadableImageError:
    """The one line for a file that could not be read: the OS's reason for a read that failed
    (EIO from a failing disk carries an errno; Pillow's own OSErrors about damage do not)."""
    if isinstance(error, OSError) and error.errno is not None:
        return UnreadableImageError(f"{name}: cannot read ({error.strerror or error})")
    return UnreadableImageError(f"{name}: cannot read the image ({_reason(error)})")


def _reason(error: BaseException) -> str:
    text = one_line(str(error)) or type(error).__name__
    return text[:200]
