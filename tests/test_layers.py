"""The package's shape: layers read bottom to top, and the public names are listed alike.

Each package is a layer (see ARCHITECTURE.md); a module imports only from its own layer
or those below; the web service calls the public library alone. A new module fails here
until it lives in a layer's package.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import blueheart

PACKAGE = Path(blueheart.__file__).resolve().parent
LAYERS = ("core", "io", "batching", "web", "cli")
"""The packages, bottom to top: each imports only from its own package and those below (the
command line starts the web service). ``_version`` is below them all; the public face
``__init__`` stands on ``batching``; ``__main__`` is the command line's."""
RANK = {name: rank for rank, name in enumerate(LAYERS)}
RANK |= {"_version": -1, "__init__": RANK["batching"], "__main__": RANK["cli"]}


def module_names() -> list[str]:
    """Every module of the package, as ``blueheart.x`` or ``blueheart.web.x``."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        names.append(".".join(("blueheart", *parts)))
    return names


def source_of(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported(name: str) -> set[str]:
    """The blueheart modules ``name`` imports, wherever the import stands (in a function, under
    TYPE_CHECKING): ``blueheart`` itself for ``from blueheart import X``."""
    found = set()
    for node in ast.walk(ast.parse(source_of(name).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {module for module in found if module == "blueheart" or module.startswith("blueheart.")}


def layer_key(name: str) -> str:
    """The layer (package) a module belongs to; ``__init__`` for ``blueheart`` itself."""
    parts = name.split(".")
    return "__init__" if name == "blueheart" else parts[1]


@pytest.mark.parametrize("name", [n for n in module_names() if not n.endswith("__main__")])
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_every_module_lives_in_a_layer() -> None:
    stray = {layer_key(name.removesuffix(".__init__")) for name in module_names()} - set(RANK)
    assert not stray, f"put these modules in one of the layers' packages {LAYERS}: {stray}"


def test_the_layers_are_the_packages() -> None:
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(LAYERS), (
        "a new package is a new layer: add it to LAYERS and ARCHITECTURE.md"
    )


@pytest.mark.parametrize("name", module_names())
def test_no_module_imports_one_above_it(name: str) -> None:
    own = RANK[layer_key(name.removesuffix(".__init__"))]
    above = {
        module
        for module in imported(name)
        if module != "blueheart" and RANK[layer_key(module)] > own
    }
    assert not above, f"{name} (layer {own}) imports from a layer above: {above}"


@pytest.mark.parametrize(
    "name",
    [n for n in module_names() if RANK[layer_key(n.removesuffix(".__init__"))] < RANK["web"]],
)
def test_only_front_ends_import_the_public_face(name: str) -> None:
    assert "blueheart" not in imported(name), f"{name} imports blueheart's public names"


@pytest.mark.parametrize("name", [n for n in module_names() if n.startswith("blueheart.web")])
def test_the_web_service_calls_only_the_public_library(name: str) -> None:
    outside = {m for m in imported(name) if m != "blueheart" and not m.startswith("blueheart.web")}
    assert not outside, f"{name} imports library internals: {outside}"


def test_the_three_lists_of_public_names_agree() -> None:
    """``__init__``'s TYPE_CHECKING imports, its ``_LAZY`` table and ``__all__`` name the
    same things: each lazy name once, from the module that defines it."""
    tree = ast.parse(source_of("blueheart").read_text(encoding="utf-8"))
    checked = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    typed = {
        alias.name: statement.module
        for statement in checked.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    eager = {
        alias.asname or alias.name
        for statement in tree.body
        if isinstance(statement, ast.ImportFrom) and statement.module != "__future__"
        and statement.module not in ("importlib", "typing")
        for alias in statement.names
    }  # fmt: skip
    assert typed == blueheart._LAZY
    assert sorted(blueheart.__all__) == sorted({*typed, *eager})
    assert len(blueheart.__all__) == len(set(blueheart.__all__))
    for name, module in blueheart._LAZY.items():
        assert name in vars(importlib.import_module(module)), f"{module} has no {name}"
