"""The one frozen, validated options record shared by the library, the CLI and the batch runner.

Each option is declared once, as a field of ``BadgeOptions``: its type, default and an
``Option`` spec (``option()``) holding its kind (the checker, the parser from text, the writer
back to text, the choices or range), its help text and whether a web request may set it. The
command line's flags, the web's query parsing and the campaign presets are made from the specs
(``option_specs()``); adding a field there adds it everywhere.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from typing_extensions import Unpack, deprecated

from blueheart.core.aliases import install_aliases
from blueheart.core.errors import OptionError
from blueheart.core.kinds import (
    COLOUR,
    FLAG,
    MAX_SIDE,
    OFFSET,
    PATH,
    POINT,
    SWITCH,
    Kind,
    choice_kind,
    length_kind,
    number,
    number_kind,
    whole,
    whole_kind,
    word_kind,
)
from blueheart.core.units import Length

UN_BLUE = "#009EDB"
"""UN blue in sRGB: Pantone 2925, as given by the "Flag of the United Nations" article."""

WHITE = "#FFFFFF"
DEFAULT_MAX_PIXELS = 250_000_000
"""Phones make 200-megapixel photos; anything beyond this is refused from the header."""

"""A colour as ``#RRGGBB``, or ``RRGGBB``: a shell takes an unquoted ``#`` for a comment."""


class Position(enum.Enum):
    """Where the emblem goes: one of nine anchors, or ``AUTO`` for the least busy place."""

    TOP_LEFT = "top-left"
    TOP = "top"
    TOP_RIGHT = "top-right"
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM = "bottom"
    BOTTOM_RIGHT = "bottom-right"
    AUTO = "auto"


class Style(enum.Enum):
    """``HEART``: the heart with a white ring; ``PIN``: the heart on a white disc."""

    HEART = "heart"
    PIN = "pin"


class Crop(enum.Enum):
    """How the output is cropped: not at all, to a square, or to a circle."""

    NONE = "none"
    SQUARE = "square"
    CIRCLE = "circle"


class Focus(enum.Enum):
    """Which square a crop keeps: the centred one, or the most salient one."""

    CENTER = "center"
    AUTO = "auto"


class OutputFormat(enum.Enum):
    """The output's file format; ``KEEP`` writes the input's format where platforms take it."""

    KEEP = "keep"
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"


class Policy(enum.Enum):
    """What of the source's metadata the output carries, besides the ICC profile."""

    STRIP = "strip"
    """Nothing."""
    DESCRIPTIVE = "descriptive"
    """The allow-listed descriptive fields (``blueheart.io.metadata``)."""
    KEEP = "keep"
    """Everything but the orientation and the source's layout (and, in a TIFF, what libtiff
    cannot write back)."""


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """The (r, g, b) bytes of a validated ``#RRGGBB`` colour."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@dataclass(frozen=True)
class Option:
    """One option's spec, held by its ``BadgeOptions`` field: its ``kind``; the command
    line's ``help``, ``metavar`` and ``show_default``; ``request``: whether a web request may
    set it (and a campaign lock it); ``cli``: whether the command line has a flag for it;
    ``flags``: instead of one flag, one per choice (choice -> its help), ``--keep-metadata``."""

    kind: Kind
    help: str
    metavar: str | None = None
    show_default: bool = True
    request: bool = False
    cli: bool = True
    flags: Mapping[str, str] = field(default_factory=dict)

    def parse(self, name: str, value: object) -> Any:
        """``value`` (text, or a preset's TOML value) read and checked as field ``name``."""
        return self.kind.check(name, self.kind.parse(name, value))

    def text(self, value: Any) -> str | None:
        """A checked value as text its parser reads back (None: not set)."""
        return self.kind.text(value)


SPEC = "blueheart.option"
"""The key of a field's ``Option`` in its metadata."""


def option(default: Any, kind: Kind, help: str, **spec: Any) -> Any:
    """A ``BadgeOptions`` field with ``default`` and its spec (see ``Option``)."""
    return field(default=default, metadata={SPEC: Option(kind, help, **spec)})


_KEEP_HELP = (
    "Keep all metadata, GPS location included (default: the ICC profile and descriptive "
    "fields only: author, copyright, title, date, camera, exposure)."
)
_HEX_HELP = "RRGGBB or '#RRGGBB' (quote the #)"
"""How a colour is typed: a shell takes what follows an unquoted ``#`` for a comment."""
_NOT_GIVEN: Any = object()
"""What a deprecated alias holds when not given."""


@dataclass(frozen=True)
class BadgeOptions:
    """Everything that decides how one image is badged, validated when built.

    Placement: ``position``; ``size`` and ``margin`` as fractions of the shorter side (float or
    ``Length.fraction``) or ``Length.px``; ``offset`` an (x, y) pair of lengths added after
    placement; ``at`` the emblem's centre as (x, y) fractions of the output's width and height,
    instead of ``position`` (None: use the position); ``circle_safe`` True/False, or None for
    automatic (on when the output is square).
    Style: ``opacity`` 0..1; ``style``; ``ring`` the white ring's width as a fraction of the
    emblem (0 for none), or None for automatic (widened where the blue has low contrast);
    ``color`` as ``#RRGGBB`` (or ``RRGGBB``); ``emblem`` a custom RGBA image file instead of
    the heart.
    Output: ``crop``, ``focus``, ``output_size`` (longer side in px), ``enlarge`` (False:
    ``output_size`` only shrinks, an image already no larger keeps its size), ``format``,
    ``background`` (what transparency becomes in a JPEG), ``quality`` (1-100, or None to keep a
    JPEG's own quantisation), ``metadata`` (a ``Policy``: ``keep`` all metadata, GPS included;
    ``strip`` all but the ICC profile; default ``descriptive``: ICC and descriptive fields, see
    ``blueheart.io.metadata``), ``max_pixels``. ``keep_metadata=True`` and
    ``strip_metadata=True`` are deprecated spellings of ``metadata``, kept for one release.

    Strings are accepted for the enum fields (``position="auto"``); the flags take ``True`` or
    ``False`` only (``"false"`` is an error, not a truthy string). An invalid value raises
    ``OptionError`` (a ``ValueError``) naming the field, what it accepts and what it got.
    Each field's ``Option`` spec (``option_specs()``) says how front ends read it from text.
    """

    position: Position = option(
        Position.BOTTOM_RIGHT, choice_kind(Position), request=True,
        help="Where the emblem goes; auto picks the least busy place, off any face when the "
        "faces extra is installed (blueheart --version says).",
    )  # fmt: skip
    size: Length = option(
        Length.fraction(0.25), length_kind(0.0, 1.0, noun="a size", above_zero=True),
        help="Emblem size: fraction of the shorter side (0 < F <= 1) or pixels (200px).",
        request=True,
    )  # fmt: skip
    margin: Length = option(
        Length.fraction(0.04), length_kind(0.0, 0.5, noun="a margin"), request=True,
        help="Distance from the edges: fraction or px.",
    )  # fmt: skip
    offset: tuple[Length, Length] = option(
        (Length.fraction(0.0), Length.fraction(0.0)), OFFSET, request=True, show_default=False,
        help="Fine shift X,Y after placement: fractions or px.",
    )  # fmt: skip
    at: tuple[float, float] | None = option(
        None, POINT, request=True, show_default=False,
        help="The emblem's centre X,Y as fractions of the output's width and height, "
        "instead of --position.",
    )  # fmt: skip
    circle_safe: bool | None = option(
        None, SWITCH, request=True, show_default=False,
        help="Keep the emblem inside the circle platforms show "
        "(default: on when the output is square).",
    )  # fmt: skip
    opacity: float = option(
        1.0, number_kind(0, 1),
        help="0 (invisible) to 1 (opaque).", request=True,
    )  # fmt: skip
    style: Style = option(
        Style.HEART, choice_kind(Style), request=True,
        help="heart: the heart with a white ring; pin: the heart on a white disc.",
    )  # fmt: skip
    ring: float | None = option(
        None, word_kind("auto", number(0.0, 0.25, noun="a fraction", none_means="auto"),
                         0.0, 0.25),
        help="Ring width, a fraction of the emblem, 0 for none; auto: widened where UN blue "
        "would have low contrast with the photo.", request=True,
    )  # fmt: skip
    color: str = option(
        UN_BLUE, COLOUR, help=f"The heart's colour: {_HEX_HELP}.", metavar="HEX", request=True
    )  # fmt: skip
    emblem: Path | None = option(
        None, PATH, show_default=False,
        help="A custom RGBA emblem image instead of the built-in heart.",
    )  # fmt: skip
    crop: Crop = option(
        Crop.NONE, choice_kind(Crop), help="square, or circle (transparent corners).",
        request=True,
    )  # fmt: skip
    focus: Focus = option(
        Focus.CENTER, choice_kind(Focus), request=True,
        help="Which square a crop keeps; auto: the most salient one, keeping faces whole when "
        "the faces extra is installed.",
    )  # fmt: skip
    output_size: int | None = option(
        None,
        whole_kind(whole(1, unit=" of pixels", optional=True, cap=MAX_SIDE), 1, word="none",
                    unit="px"),
        help="The output's longer side in px (square side when cropped).", metavar="N",
        show_default=False, request=True,
    )  # fmt: skip
    enlarge: bool = option(
        True, FLAG, cli=False,
        help="Whether output_size may enlarge (False: it only shrinks).",
    )  # fmt: skip
    format: OutputFormat = option(
        OutputFormat.KEEP, choice_kind(OutputFormat), request=True,
        help="Output format; keep: what -o's extension names, else the input's "
        "(HEIC becomes JPEG; with a circle crop, PNG).",
    )  # fmt: skip
    background: str = option(
        WHITE, COLOUR, help=f"What transparency becomes in a JPEG: {_HEX_HELP}.", metavar="HEX",
        request=True,
    )  # fmt: skip
    quality: int | None = option(
        None, word_kind("keep", whole(1, 100, none_means="keep"), 1, 100, whole=True),
        help="JPEG/WebP/AVIF quality; keep: a JPEG's own quantisation where possible.",
        request=True,
    )  # fmt: skip
    metadata: Policy = option(
        Policy.DESCRIPTIVE, choice_kind(Policy),
        help="What of the photo's metadata the output keeps besides the ICC profile.",
        flags={"keep": _KEEP_HELP, "strip": "Keep nothing but the ICC profile."},
    )  # fmt: skip
    max_pixels: int = option(
        DEFAULT_MAX_PIXELS, whole_kind(whole(1), 1),
        help="Refuse larger images from the header.",
    )  # fmt: skip

    if TYPE_CHECKING:
        # What __init__ accepts, for type checkers: the names and numbers that __post_init__
        # turns into the typed values above (``OptionValues``).
        def __init__(self, **values: Unpack[OptionValues]) -> None: ...

        @property
        @deprecated("use metadata is Policy.KEEP")
        def keep_metadata(self) -> bool:
            """Deprecated: ``metadata is Policy.KEEP``."""

        @property
        @deprecated("use metadata is Policy.STRIP")
        def strip_metadata(self) -> bool:
            """Deprecated: ``metadata is Policy.STRIP``."""

    def __post_init__(self) -> None:
        for name, spec in _CHECK_ORDER:
            object.__setattr__(self, name, spec.kind.check(name, getattr(self, name)))
        if self.needs_alpha and self.format is OutputFormat.JPEG:
            raise OptionError(
                "format",
                "a circle crop needs transparent corners, which JPEG cannot store; "
                "choose png, webp or avif",
            )

    @property
    def needs_alpha(self) -> bool:
        """Whether the output needs an alpha channel: a circle crop's transparent corners."""
        return self.crop is Crop.CIRCLE

    def replace(self, **changes: Unpack[OptionValues]) -> BadgeOptions:
        """A copy with some fields changed, validated again."""
        current = {spec.name: getattr(self, spec.name) for spec in dataclasses.fields(self)}
        return BadgeOptions(**{**current, **changes})


class OptionValues(TypedDict, total=False):
    """What each ``BadgeOptions`` field accepts as a keyword argument (``BadgeOptions(...)``,
    ``replace``, and the library's ``**overrides``): one key per field, plus the deprecated
    ``keep_metadata`` and ``strip_metadata``."""

    position: Position | str
    size: Length | float
    margin: Length | float
    offset: tuple[Length | float, Length | float]
    at: tuple[float, float] | None
    circle_safe: bool | None
    opacity: float
    style: Style | str
    ring: float | None
    color: str
    emblem: Path | str | None
    crop: Crop | str
    focus: Focus | str
    output_size: int | None
    enlarge: bool
    format: OutputFormat | str
    background: str
    quality: int | None
    metadata: Policy | str
    max_pixels: int
    keep_metadata: bool
    strip_metadata: bool


DEPRECATED_ALIASES = {"keep_metadata": Policy.KEEP, "strip_metadata": Policy.STRIP}
"""Keyword arguments kept for one release, and the ``metadata`` policy each stands for."""
DEPRECATED_SPEC = Option(FLAG, "Deprecated: see metadata.", cli=False)
"""How a deprecated alias is read from text: true or false."""


def option_specs() -> dict[str, Option]:
    """Every option's spec by field name, in the fields' order."""
    return {spec.name: spec.metadata[SPEC] for spec in dataclasses.fields(BadgeOptions)}


_CHECK_ORDER = sorted(option_specs().items(), key=lambda item: item[1].kind.form != "choice")
"""The fields in the order they are checked: the named choices first, then the fields' order."""


install_aliases(BadgeOptions, "metadata", DEPRECATED_ALIASES, Policy.DESCRIPTIVE)


def resolve_options(options: BadgeOptions | None, overrides: Mapping[str, Any]) -> BadgeOptions:
    """``options`` (or the defaults) with ``overrides`` applied; unknown names are an error,
    and ``options`` of another type a ``TypeError``."""
    if options is not None and not isinstance(options, BadgeOptions):
        raise TypeError(f"options: expected a BadgeOptions or None, got {type_name(options)}")
    base = options if options is not None else BadgeOptions()
    for name in overrides:
        if name not in OptionValues.__annotations__:
            raise OptionError(name, "no such option")
    return base.replace(**overrides) if overrides else base


def path_argument(name: str, value: object) -> Path:
    """``value`` as a path; a ``TypeError`` naming the argument ``name`` unless it is a ``str``
    or an ``os.PathLike`` (a library caller's mistake, said as such, not deep in ``pathlib``)."""
    if isinstance(value, str) or (
        isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)
    ):
        return Path(value)
    raise TypeError(f"{name}: expected a path (str or os.PathLike), got {type_name(value)}")


def type_name(value: object) -> str:
    """The type of a wrong argument as a message names it: ``str``, ``PIL.Image.Image``."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
