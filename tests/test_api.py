"""The library's public surface: the names `import blueheart` offers and the types it takes."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

import pytest

import blueheart
from blueheart.executors import executor_for
from blueheart.options import BadgeOptions

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
