"""The library's public surface: the names `import blueheart` offers and the types it takes."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import blueheart
from blueheart.options import BadgeOptions


def test_dir_lists_every_public_name() -> None:
    names = dir(blueheart)
    assert set(blueheart.__all__) <= set(names)
    assert {"apply_badge", "badge_file", "BadgeOptions", "write_contact_sheets"} <= set(names)
    for name in blueheart.__all__:
        assert getattr(blueheart, name) is not None


def test_the_typed_init_has_one_parameter_per_field_in_order() -> None:
    """mypy reads BadgeOptions.__init__ from the TYPE_CHECKING block: it must not drift."""
    tree = ast.parse(inspect.getsource(BadgeOptions))
    typed_init = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    parameters = [argument.arg for argument in typed_init.args.args[1:]]
    assert parameters == [field.name for field in dataclasses.fields(BadgeOptions)]
