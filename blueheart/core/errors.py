"""The exceptions blueheart raises for bad images, bad files and impossible requests."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import NamedTuple

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


class Hint(NamedTuple):
    """A word of a message that names one of the caller's parameters, kept as data so each
    interface says it in its own words (the library ``pass overwrite=True``, the command line
    ``use --overwrite``).

    ``form``: ``"pass"`` how to ask for ``value``; ``"set"`` the setting itself; ``"name"`` the
    parameter itself (``value`` unused); ``"unset"`` the parameter left out, ``value`` saying
    what that means (``keep``).
    """

    parameter: str
    value: object = True
    form: str = "pass"


Words = Callable[[Hint], "str | None"]
"""How an interface says a ``Hint``; None: as the library says it."""

HINT = "\0"
"""Where a message's next hint goes (NUL: no path holds it, and ``repr`` escapes it)."""


def library_words(hint: Hint) -> str:
    """A hint in the library's words: ``pass overwrite=True``, ``overwrite=True``, ``the
    destination``, ``None (keep)``."""
    if hint.form == "name":
        return f"the {hint.parameter}"
    if hint.form == "unset":
        return f"None ({hint.value})"
    setting = f"{hint.parameter}={hint.value!r}"
    return f"pass {setting}" if hint.form == "pass" else setting


def say(template: str, hints: tuple[Hint, ...], words: Words) -> str:
    """``template`` with each ``HINT`` replaced by the next of ``hints`` in ``words``."""
    if not hints:
        return template
    head, *tails = template.split(HINT)
    said = (
        (words(hint) or library_words(hint)) + tail for hint, tail in zip(hints, tails, strict=True)
    )
    return head + "".join(said)


OVERWRITE = Hint("overwrite", True)
KEEP_FORMAT = Hint("format", "keep")
SOURCE = Hint("source", form="name")
DESTINATION = Hint("destination", form="name")


class BlueheartError(Exception):
    """Base class of every error blueheart raises: for an image, a file, or an option.

    The message may hold ``hints``, each at a ``HINT`` in it: ``str()`` says them in the
    library's words, ``say`` in any interface's.
    """

    about_input = True
    """Whether the error is about the input at hand (it failed; a batch goes on), not about
    what was asked (a usage error)."""

    def __init__(self, message: str = "", *hints: Hint) -> None:
        self.template = message
        self.hints = hints
        super().__init__(say(message, hints, library_words))

    def say(self, words: Words = library_words) -> str:
        """The message, its hints in ``words``."""
        return say(self.template, self.hints, words)


class UnreadableImageError(BlueheartError):
    """The file is not an image, or is truncated or corrupt."""


class NotAnImageError(UnreadableImageError):
    """The data is no image blueheart reads at all: empty, text, or an unknown format."""


class UnsupportedFormatError(BlueheartError):
    """The image format cannot be read or written with what is installed."""


class ImageTooLargeError(BlueheartError):
    """The image is over a limit: its pixels (``TooManyPixelsError``), or its frames, pages,
    JPEG scans or ICC profile, or pixels its header claims that its data cannot hold."""


class TooManyPixelsError(ImageTooLargeError):
    """The image, or its frames or pages together, is over the pixel limit (``max_pixels``)."""


class OutputExistsError(BlueheartError):
    """The output file exists and overwriting was not asked for."""


class OutputWriteError(BlueheartError):
    """The output could not be written (permissions, full disk, bad folder)."""


class OptionError(ValueError, BlueheartError):
    """An option value is invalid, or impossible for the image at hand.

    ``field`` names the option (as the library spells it) so callers and the CLI can point
    at it; ``str()`` is ``"<field>: <reason>"``.
    """

    about_input = False

    def __init__(self, field: str, message: str, *hints: Hint) -> None:
        # Messages end with the value as given (", got <value>"): that, and the name, echo
        # what anyone may send, so both are clipped here, for the CLI and the service alike.
        asked, got, value = message.rpartition(", got ")
        message = f"{asked}{got}{clipped(value)}" if got else message
        # The field stays out of the template: a name from a query string may hold a NUL.
        self.field = field
        self.template = message
        self.hints = hints
        ValueError.__init__(self, f"{clipped(field)}: {say(message, hints, library_words)}")

    def say(self, words: Words = library_words) -> str:
        """``"<field>: <reason>"``, the hints in ``words``."""
        return f"{clipped(self.field)}: {self.reason(words)}"

    def reason(self, words: Words = library_words) -> str:
        """The message without the field, the hints in ``words``."""
        return say(self.template, self.hints, words)

    @classmethod
    def no_such_option(cls, name: str, known: Iterable[str]) -> OptionError:
        """``"<name>: no such option"``, naming the closest of the ``known`` option names when
        one is close (``" (did you mean 'position'?)"``)."""
        return cls(name, f"no such option{did_you_mean(name, known)}")


class EmblemDoesNotFitError(OptionError):
    """The emblem, as asked, cannot fit this image: an option error about this image."""

    about_input = True


class OutputTooLargeError(OptionError, ImageTooLargeError):
    """The output size asked for would make more pixels than the limit allows for this image."""

    about_input = True


def output_exists(path: object) -> OutputExistsError:
    """``"<path>: exists (pass overwrite=True to replace it)"``."""
    return OutputExistsError(f"{path}: exists ({HINT} to replace it)", OVERWRITE)


def not_a_report(path: object) -> OptionError:
    """A report path holding some other file: ``(overwrite=True replaces it)``."""
    message = f"{path} exists and is not a blueheart report ({HINT} replaces it)"
    return OptionError("report", message, OVERWRITE._replace(form="set"))


def destination_is_source() -> OptionError:
    """``"destination: the destination may not be the source: inputs are never written"``."""
    message = f"{HINT} may not be {HINT}: inputs are never written"
    return OptionError("destination", message, DESTINATION, SOURCE)


def destination_contains_source() -> OptionError:
    """``"destination: the destination may not contain the source"``."""
    return OptionError("destination", f"{HINT} may not contain {HINT}", DESTINATION, SOURCE)


def format_misnamed(name: object, written: str, requested: str, extension: str) -> OptionError:
    """An output name whose extension names another format than the one asked for."""
    message = (
        f"{name}: names {written}, but the format asked for is {requested}; "
        f"name it {extension} or {HINT}"
    )
    return OptionError("destination", message, KEEP_FORMAT)


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
