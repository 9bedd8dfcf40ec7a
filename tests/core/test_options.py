"""Each option declared once: the specs held by the ``BadgeOptions`` fields, the typed keyword
arguments, the deprecated metadata flags, and every front end made from the specs."""

from __future__ import annotations

import dataclasses
import io
import warnings
from pathlib import Path
from typing import Any

import pytest
from helpers import photo
from hypothesis import given
from hypothesis import strategies as st

from blueheart import (
    BadgeOptions,
    Length,
    OptionError,
    OptionValues,
    Policy,
    Position,
    badge_bytes,
    emblem_svg,
    option_specs,
    read_preset,
    render_emblem,
)
from blueheart.cli.commands import cli
from blueheart.cli.params import FLAGS
from blueheart.core.options import DEPRECATED_ALIASES, Option
from blueheart.web.params import PARSERS, option_texts

SPECS = option_specs()
FIELDS = [field.name for field in dataclasses.fields(BadgeOptions)]


# -- the declaration ---------------------------------------------------------------------


def test_the_typed_keywords_are_the_fields_and_the_deprecated_aliases() -> None:
    """``OptionValues`` types ``BadgeOptions(**values)``: it may never drift from the fields."""
    keys = list(OptionValues.__annotations__)
    assert keys == [*FIELDS, *DEPRECATED_ALIASES]
    assert OptionValues.__required_keys__ == frozenset()


def test_every_field_has_a_spec_in_the_fields_order() -> None:
    assert list(SPECS) == FIELDS
    assert all(isinstance(spec, Option) and spec.help for spec in SPECS.values())


@pytest.mark.parametrize("name", FIELDS)
def test_each_default_reads_back_from_its_text(name: str) -> None:
    default = getattr(BadgeOptions(), name)
    text = SPECS[name].text(default)
    assert SPECS[name].parse(name, default if text is None else text) == default


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("position", "auto", Position.AUTO),
        ("size", "0.25", Length.fraction(0.25)),
        ("size", "200PX", Length.px(200)),
        ("size", 0.5, Length.fraction(0.5)),
        ("margin", "10px", Length.px(10)),
        ("offset", "0.05,-20px", (Length.fraction(0.05), Length.px(-20))),
        ("offset", [0.1, "3px"], (Length.fraction(0.1), Length.px(3))),
        ("at", "0.5,0.3", (0.5, 0.3)),
        ("at", [0.25, 1], (0.25, 1.0)),
        ("at", "none", None),
        ("circle_safe", "auto", None),
        ("circle_safe", "off", False),
        ("circle_safe", True, True),
        ("opacity", "0.6", 0.6),
        ("ring", "auto", None),
        ("ring", "0", 0.0),
        ("color", "#00aaff", "#00AAFF"),
        ("color", "00aaff", "#00AAFF"),
        ("background", " 000000 ", "#000000"),
        ("emblem", "mark.png", Path("mark.png")),
        ("output_size", "1080", 1080),
        ("output_size", "1080px", 1080),
        ("output_size", " 1080 PX ", 1080),
        ("output_size", "none", None),
        ("enlarge", "false", False),
        ("quality", "keep", None),
        ("quality", 85, 85),
        ("metadata", "strip", Policy.STRIP),
        ("max_pixels", "1000", 1000),
    ],
)
def test_each_kind_reads_its_text(name: str, text: object, value: object) -> None:
    assert SPECS[name].parse(name, text) == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("position", "middle", "expected one of top-left, top, top-right, left, center, right, bottom-left, bottom, bottom-right, auto, got 'middle'"),
        ("size", "big", "expected a fraction like 0.25 or pixels like 200px, got 'big'"),
        ("size", "0", "expected a size above 0, got 0"),
        ("size", "2", "expected a fraction from 0 to 1, got 2"),
        ("margin", "1e400px", "expected a finite number, got '1e400px'"),
        ("size", "1e308px", "expected at most 1,000,000,000 px, got '1e308px'"),
        ("offset", "5e9px,0", "expected at most 1,000,000,000 px, got '5e9px'"),
        ("margin", "nan", "expected a finite number, got 'nan'"),
        ("offset", "1", "expected X,Y (fractions or px), got '1'"),
        ("at", "2,2", "expected x and y from 0 to 1, got (2.0, 2.0)"),
        ("circle_safe", "yes", "expected true, false or auto, got 'yes'"),
        ("ring", "0.5", "expected a fraction from 0 to 0.25 or None (auto), got 0.5"),
        ("ring", "wide", "expected auto or a number from 0 to 0.25, got 'wide'"),
        ("quality", "1.5", "expected keep or a number from 1 to 100, got '1.5'"),
        ("color", "blue", "expected a colour as #RRGGBB, got 'blue'"),
        ("output_size", "0", "expected a whole number of pixels above 0, got 0"),
        ("output_size", "0px", "expected a whole number of pixels above 0, got 0"),
        ("output_size", "1080mm", "expected a whole number of pixels such as 1080 or 1080px, got '1080mm'"),
        ("output_size", "1.5px", "expected a whole number of pixels such as 1080 or 1080px, got '1.5px'"),
        ("max_pixels", "10px", "expected a whole number, got '10px'"),
        ("metadata", "all", "expected one of strip, descriptive, keep, got 'all'"),
        ("size", {"a": 1}, "expected a string, a number or true/false, got a dict"),
    ],
)  # fmt: skip
def test_bad_text_is_an_option_error_naming_the_field(
    name: str, text: object, message: str
) -> None:
    with pytest.raises(OptionError) as raised:
        SPECS[name].parse(name, text)
    assert str(raised.value) == f"{name}: {message}" and raised.value.field == name


def test_the_library_takes_a_colour_without_its_hash() -> None:
    options = BadgeOptions(color="00aa55", background="ffffff")
    assert (options.color, options.background) == ("#00AA55", "#FFFFFF")
    assert options.replace(color="#00aa55") == options
    assert render_emblem(64, color="00aa55").getpixel((32, 32)) == (0x00, 0xAA, 0x55, 255)
    assert 'fill="#00AA55"' in emblem_svg(size=64, color="00aa55")
    with pytest.raises(OptionError, match="expected a colour as #RRGGBB, got '##00aa55'"):
        BadgeOptions(color="##00aa55")


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.kind.form == "choice"])
def test_the_choices_are_the_enums_values(name: str) -> None:
    kind = type(getattr(BadgeOptions(), name))
    assert SPECS[name].kind.choices == tuple(member.value for member in kind)


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.kind.high is not None])
def test_the_range_shown_is_the_range_checked(name: str) -> None:
    """The Click types and the messages are made from ``low``/``high``: the checker agrees."""
    kind = SPECS[name].kind
    assert kind.low is not None and kind.high is not None
    value = (kind.low, kind.low) if kind.form in ("offset", "point") else kind.high
    kind.check(name, value if kind.form != "length" else Length.fraction(kind.high))
    for outside in (kind.high + 0.01, kind.low - 0.01):
        bad = (outside, outside) if kind.form in ("offset", "point") else outside
        bad = Length.fraction(outside) if kind.form == "length" else bad
        with pytest.raises(OptionError):
            kind.check(name, bad)


def _valid(name: str, spec: Option) -> st.SearchStrategy[Any]:
    """Values field ``name`` takes, before its check."""
    kind = spec.kind
    fraction = st.floats(kind.low or 0.0, kind.high or 1.0, exclude_min=name == "size")
    pixels = st.floats(0.5, 1e5).map(Length.px)
    length = st.one_of(fraction.map(Length.fraction), pixels)
    if kind.form == "offset":
        length = st.one_of(
            st.floats(-1, 1).map(Length.fraction), st.floats(-1e5, 1e5).map(Length.px)
        )
    strategies: dict[str, st.SearchStrategy[Any]] = {
        "choice": st.sampled_from(kind.choices),
        "length": length,
        "offset": st.tuples(length, length),
        "point": st.none() | st.tuples(st.floats(0, 1), st.floats(0, 1)),
        "switch": st.sampled_from([None, True, False]),
        "flag": st.booleans(),
        "number": st.floats(kind.low or 0.0, kind.high or 1.0),
        "word": st.none() | st.integers(1, 100) if kind.whole else st.none() | fraction,
        "whole": st.integers(1, 2**31 - 1) | (st.none() if kind.word else st.nothing()),
        "colour": st.from_regex(r"#?[0-9A-Fa-f]{6}", fullmatch=True),
        "path": st.none() | st.from_regex(r"[a-z][a-z0-9_-]{0,20}\.png", fullmatch=True),
    }
    return strategies[kind.form]


@pytest.mark.parametrize("name", FIELDS)
def test_text_of_a_value_reads_back_to_the_same_text(name: str) -> None:
    """For every valid value: its text parses, and the parsed value writes the same text."""
    spec = SPECS[name]

    @given(_valid(name, spec))
    def round_trip(value: Any) -> None:
        text = spec.text(spec.kind.check(name, value))
        if text is not None:
            assert spec.text(spec.parse(name, text)) == text

    round_trip()


# -- metadata: one policy, and the deprecated flags ------------------------------------------


def test_metadata_is_a_policy_descriptive_by_default() -> None:
    assert BadgeOptions().metadata is Policy.DESCRIPTIVE
    assert BadgeOptions(metadata="strip").metadata is Policy.STRIP
    from blueheart.io.metadata import Policy as FromMetadata

    assert FromMetadata is Policy


@pytest.mark.parametrize(("alias", "policy"), DEPRECATED_ALIASES.items())
def test_the_old_flags_still_work_with_a_deprecation_warning(alias: str, policy: Policy) -> None:
    with pytest.warns(DeprecationWarning, match=f"^{alias} is deprecated: use metadata=") as caught:
        options = BadgeOptions(**{alias: True})  # type: ignore[misc]
    assert options.metadata is policy and caught[0].filename == __file__
    with pytest.warns(DeprecationWarning, match=alias):
        assert getattr(options, alias) is True
    with pytest.warns(DeprecationWarning, match=alias):
        assert BadgeOptions().replace(**{alias: True}).metadata is policy  # type: ignore[misc]
    with pytest.warns(DeprecationWarning, match=alias):
        assert (
            BadgeOptions(metadata=policy).replace(**{alias: False}).metadata is Policy.DESCRIPTIVE
        )  # type: ignore[misc]


def test_the_library_takes_the_old_flags_and_blames_the_callers_line() -> None:
    data = io.BytesIO()
    photo(64, 48).save(data, "JPEG")
    with pytest.warns(DeprecationWarning, match="keep_metadata") as caught:
        badge_bytes(data.getvalue(), keep_metadata=True)
    assert caught[0].filename == __file__


def test_both_old_flags_are_still_the_same_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(OptionError) as raised:
            BadgeOptions(keep_metadata=True, strip_metadata=True)
        with pytest.raises(OptionError, match=r"^strip_metadata: keep_metadata and strip"):
            BadgeOptions(metadata="keep").replace(strip_metadata=True)
    assert (
        str(raised.value) == "strip_metadata: keep_metadata and strip_metadata exclude each other"
    )


def test_the_new_field_warns_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        options = BadgeOptions(metadata="keep").replace(size=0.3)
        assert options == BadgeOptions(metadata=Policy.KEEP, size=0.3)


# -- every front end is made from the specs ------------------------------------------------


def _cli_names(command: str) -> set[str]:
    params = cli.commands[command].params  # type: ignore[attr-defined]
    return {param.name for param in params}


def test_the_commands_have_a_flag_for_each_cli_option() -> None:
    expected = set()
    for name, spec in SPECS.items():
        if spec.cli:
            expected |= {f"{choice}_{name}" for choice in spec.flags} or {name}
    own = {"inputs", "output", "config", "overwrite"}
    assert _cli_names("badge") == expected | own
    assert _cli_names("batch") - expected == own - {"inputs", "output"} | {
        "source", "destination", "jobs", "report", "dry_run", "scheduler",
    }  # fmt: skip
    assert set(FLAGS) == {name for name, spec in SPECS.items() if spec.cli}
    assert {"style", "ring", "color"} <= _cli_names("emblem")


def test_the_web_parses_and_writes_exactly_the_request_options() -> None:
    request = [name for name, spec in SPECS.items() if spec.request]
    assert list(PARSERS) == request
    assert list(option_texts(BadgeOptions())) == request
    assert {"emblem", "max_pixels", "metadata", "enlarge"}.isdisjoint(request)


def test_a_preset_reads_every_option(tmp_path: Path) -> None:
    defaults = BadgeOptions()
    lines = []
    for name, spec in SPECS.items():
        text = spec.text(getattr(defaults, name))
        if text is not None and name != "emblem":
            lines.append(f'{name.replace("_", "-")} = "{text}"')
    mark = tmp_path / "mark.png"
    mark.write_bytes(b"")
    lines.append(f'emblem = "{mark}"')
    preset = tmp_path / "all.toml"
    preset.write_text("\n".join(lines) + "\n")
    read = read_preset(preset)
    expected = {name for name in FIELDS if SPECS[name].text(getattr(defaults, name)) is not None}
    assert set(read.options) == expected | {"emblem"} and not read.others
    assert all(read.options[name] == getattr(defaults, name) for name in expected)
