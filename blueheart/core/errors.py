"""The exceptions blueheart raises for bad images, bad files and impossible requests."""

from __future__ import annotations

import struct
from collections.abc import Iterable

EXIT_FAILED = 1
"""The exit code of a run in which some input failed."""
EXIT_INTERRUPTED = 130
"""The exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells say)."""


def one_line(text: str) -> str:
    """``text`` on one line, as every message blueheart gives: each run of whitespace (line
    breaks included) made one space."""
    return " ".join(text.split())


ECHO_LIMIT = 100
"""The characters of a value an error message echoes at most: a 10,000-character query
parameter gets its first 100 and an ellipsis, not a page of its own text back."""


def clipped(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text``, or its first ``limit`` characters and ``...`` when it is longer."""
    return text if len(text) <= limit else f"{text[:limit]}..."


def did_you_mean(word: str, known: Iterable[str], *, prefix: str = "") -> str:
    """``" (did you mean '<prefix><closest>'?)"``, the closest of ``known`` to ``word`` (a
    misspelt key or option name), or ``""`` when none is close."""
    import difflib  # only on this error's way: import blueheart stays light

    # 0.7, not difflib's 0.6: 'bogus' is not a misspelt 'focus'; 'sise' is one of 'size'.
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.7)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def input_refused(path: object, *, same_file: bool = False) -> str:
    """The one wording for an output (or a report) that would be an input:
    ``"<path>: is an input; inputs are never written"``, with ``" (the same file)"`` after
    "input" when ``same_file`` (found by device and inode: a hard link, a bind mount)."""
    how = " (the same file)" if same_file else ""
    return f"{path}: is an input{how}; inputs are never written"


class BlueheartError(Exception):
    """Base class of every error blueheart raises for an image or a file."""


class UnreadableImageError(BlueheartError):
    """The file is not an image, or is truncated or corrupt."""


class NotAnImageError(UnreadableImageError):
    """The data is no image blueheart reads at all: empty, text, or an unknown format."""


class UnsupportedFormatError(BlueheartError):
    """The image format cannot be read or written with what is installed."""


class ImageTooLargeError(BlueheartError):
    """The image (or animation) is larger than the configured pixel limit."""


class OutputExistsError(BlueheartError):
    """The output file exists and overwriting was not asked for."""


class OutputWriteError(BlueheartError):
    """The output could not be written (permissions, full disk, bad folder)."""


class OptionError(ValueError):
    """An option value is invalid, or impossible for the image at hand.

    ``field`` names the option (as the library spells it) so callers and the CLI can point
    at it.
    """

    def __init__(self, field: str, message: str) -> None:
        # Messages end with the value as given (", got <value>"): that, and the name, echo
        # what anyone may send, so both are clipped here, for the CLI and the service alike.
        asked, got, value = message.rpartition(", got ")
        said = f"{asked}{got}{clipped(value)}" if got else message
        super().__init__(f"{clipped(field)}: {said}")
        self.field = field

    @classmethod
    def no_such_option(cls, name: str, known: Iterable[str]) -> OptionError:
        """``"<name>: no such option"``, naming the closest of the ``known`` option names when
        one is close (``" (did you mean 'position'?)"``)."""
        return cls(name, f"no such option{did_you_mean(name, known)}")


class EmblemDoesNotFitError(OptionError, BlueheartError):
    """The emblem, as asked, cannot fit this image: an option error and an image error both."""


class OutputTooLargeError(OptionError, ImageTooLargeError):
    """The output size asked for would make more pixels than the limit allows for this image."""


EXIF_ERRORS = (
    SyntaxError,
    struct.error,
    TypeError,
    AttributeError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    EOFError,
)
"""What Pillow raises on a damaged EXIF block (a RATIONAL stored as text, a count that does
not fit the type, a bad offset), reading it or writing it back. Cameras write such blocks and
viewers show the photo anyway: the block is left out, the photo is badged."""
