"""The errors as data: one base class, each message written once, and hints said in each
front end's words (the library's, the command line's, the web's queries')."""

from __future__ import annotations

import pickle

import pytest

from blueheart import BlueheartError, Hint, OptionError
from blueheart.cli.errors import cli_words
from blueheart.core.errors import (
    HINT,
    EmblemDoesNotFitError,
    OutputExistsError,
    OutputTooLargeError,
    destination_contains_source,
    destination_is_source,
    format_misnamed,
    library_words,
    not_a_report,
    output_exists,
)
from blueheart.web.app import query_words


def test_every_error_is_a_blueheart_error() -> None:
    error = OptionError("size", "expected a fraction from 0 to 1, got 2")
    assert isinstance(error, BlueheartError)
    assert isinstance(error, ValueError)  # as documented
    assert str(error) == "size: expected a fraction from 0 to 1, got 2"


def test_only_an_error_about_the_input_at_hand_lets_a_run_go_on() -> None:
    assert OutputExistsError("x").about_input
    assert not OptionError("size", "bad").about_input
    assert EmblemDoesNotFitError("size", "too big").about_input
    assert OutputTooLargeError("output_size", "too many pixels").about_input


@pytest.mark.parametrize(
    ("error", "library", "command_line"),
    [
        (
            output_exists("out/a {b}.jpg"),
            "out/a {b}.jpg: exists (pass overwrite=True to replace it)",
            "out/a {b}.jpg: exists (use --overwrite to replace it)",
        ),
        (
            not_a_report("r.json"),
            "report: r.json exists and is not a blueheart report (overwrite=True replaces it)",
            "report: r.json exists and is not a blueheart report (--overwrite replaces it)",
        ),
        (
            destination_is_source(),
            "destination: the destination may not be the source: inputs are never written",
            "destination: DEST_DIR may not be SRC_DIR: inputs are never written",
        ),
        (
            destination_contains_source(),
            "destination: the destination may not contain the source",
            "destination: DEST_DIR may not contain SRC_DIR",
        ),
        (
            format_misnamed("a.png", "PNG", "jpeg", ".jpg"),
            "destination: a.png: names PNG, but the format asked for is jpeg; "
            "name it .jpg or pass format='keep'",
            "destination: a.png: names PNG, but the format asked for is jpeg; "
            "name it .jpg or leave out --format",
        ),
    ],
)
def test_each_message_in_the_library_and_the_command_lines_words(
    error: BlueheartError, library: str, command_line: str
) -> None:
    assert str(error) == library == error.say()
    assert error.say(cli_words) == command_line


def test_a_hint_is_said_by_the_parameter_it_names() -> None:
    assert library_words(Hint("overwrite", True)) == "pass overwrite=True"
    assert library_words(Hint("overwrite", True, "set")) == "overwrite=True"
    assert library_words(Hint("source", form="name")) == "the source"
    assert library_words(Hint("quality", "keep", "unset")) == "None (keep)"
    assert cli_words(Hint("output_size", 1080)) == "use --output-size 1080"
    assert cli_words(Hint("quality", "keep", "unset")) is None  # as the library says it


def test_a_missing_value_is_a_word_in_a_query() -> None:
    error = OptionError(
        "quality", f"expected 1 to 100 or {HINT}, got 0", Hint("quality", "keep", "unset")
    )
    assert str(error) == "quality: expected 1 to 100 or None (keep), got 0"
    assert error.say(query_words) == "quality: expected 1 to 100 or keep, got 0"
    assert error.reason(query_words) == "expected 1 to 100 or keep, got 0"


def test_an_option_name_with_a_nul_is_said_as_given() -> None:
    error = OptionError.no_such_option("a\0b", ["size"])
    assert str(error) == "a\0b: no such option" == error.say(cli_words)


def test_an_error_of_a_file_crosses_a_process_boundary() -> None:
    copy = pickle.loads(pickle.dumps(output_exists("a.jpg")))
    assert type(copy) is OutputExistsError
    assert str(copy) == "a.jpg: exists (pass overwrite=True to replace it)"
