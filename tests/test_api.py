"""The library's public surface: the names `import blueheart` offers and the types it takes."""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import photo, reopen

import blueheart
from blueheart.batching.executors import executor_for
from blueheart.core.options import BadgeOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_dir_lists_every_public_name() -> None:
    names = dir(blueheart)
    assert set(blueheart.__all__) <= set(names)
    assert {"apply_badge", "badge_file", "BadgeOptions", "write_contact_sheets"} <= set(names)
    for name in blueheart.__all__:
        assert getattr(blueheart, name) is not None


def test_the_typed_init_takes_the_option_values() -> None:
    """mypy reads BadgeOptions.__init__ from the TYPE_CHECKING block: keywords typed by
    ``OptionValues``, whose keys are the fields' (tests/test_options.py)."""
    tree = ast.parse(inspect.getsource(BadgeOptions))
    typed_init = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    assert typed_init.args.args[1:] == [] and typed_init.args.kwarg is not None
    assert ast.unparse(typed_init.args.kwarg.annotation) == "Unpack[OptionValues]"


def extra_packages(extra: str) -> list[str]:
    """The distribution names an extra of pyproject.toml installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [re.split(r"[<>=;\[ ]", spec)[0] for spec in project["optional-dependencies"][extra]]


def test_a_scheduler_without_the_dask_extra_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(blueheart.OptionError) as caught, executor_for(1, "local"):
        pass
    assert "pip install '.[dask]' in a blueheart checkout" in str(caught.value)
    assert f"pip install {' '.join(extra_packages('dask'))})" in str(caught.value)


def test_no_hint_names_a_package_that_does_not_exist() -> None:
    sources = [path.read_text(encoding="utf-8") for path in (ROOT / "blueheart").rglob("*.py")]
    assert not [text for text in sources if "blueheart[" in text]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: blueheart.apply_badge(None), "image: expected a PIL.Image.Image, got NoneType"),
        (
            lambda: blueheart.apply_badge("me.jpg"),
            "image: expected a PIL.Image.Image, got str (use badge_file for paths)",
        ),
        (lambda: blueheart.badge_bytes(None), "data: expected bytes, got NoneType"),
        (
            lambda: blueheart.badge_bytes("text"),
            "data: expected bytes, got str (use badge_file for paths)",
        ),
        (lambda: blueheart.preview_bytes(42), "data: expected bytes, got int"),
        (
            lambda: blueheart.badge_file(None, "out.jpg"),
            "source: expected a path (str or os.PathLike), got NoneType",
        ),
        (
            lambda: blueheart.badge_file("in.jpg", b"out.jpg"),
            "destination: expected a path (str or os.PathLike), got bytes",
        ),
        (
            lambda: blueheart.batch(None, "out"),
            "source: expected a path (str or os.PathLike), got NoneType",
        ),
        (
            lambda: blueheart.batch("photos", "out", "bottom-right"),
            "options: expected a BadgeOptions or None, got str",
        ),
        (
            lambda: blueheart.apply_badge(photo(64, 48), {"size": 0.2}),
            "options: expected a BadgeOptions or None, got dict",
        ),
        (
            lambda: blueheart.write_emblem(None),
            "path: expected a path (str or os.PathLike), got NoneType",
        ),
    ],
)
def test_an_argument_of_the_wrong_type_is_a_type_error_naming_it(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(TypeError) as raised:
        call()
    assert str(raised.value) == message


def test_badge_bytes_and_preview_bytes_take_a_bytearray_and_a_memoryview() -> None:
    data = io.BytesIO()
    photo(64, 48).save(data, "JPEG")
    for held in (bytearray(data.getvalue()), memoryview(data.getvalue())):
        assert reopen(blueheart.badge_bytes(held)).size == (64, 48)
        assert blueheart.preview_bytes(held).output_size == (64, 48)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("emblem", "a\0b.png", "emblem: expected a path without NUL characters"),
        ("emblem", 3, "emblem: expected a path, got 3"),
        ("output_size", 10**40, f"output_size: expected a whole number of pixels up to {2**31 - 1}, got {10**40}"),
    ],
)  # fmt: skip
def test_an_option_no_file_or_image_can_take_is_an_option_error(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(blueheart.OptionError) as raised:
        BadgeOptions(**{field: value})  # type: ignore[arg-type]
    assert str(raised.value) == message
