"""Imports flow one way: a part of recsys imports only the parts below it (function-level
imports included), so no two parts depend on each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "recsys"
# Lowest first. The package root (``recsys``: its version, and the notebook API it loads on
# first use) sits outside the order.
LAYERS = [
    "errors", "execution", "progress", "choices", "config", "store", "data", "features",
    "models", "evaluation", "experiment", "distributed", "service", "api", "cli",
]  # fmt: skip


def part_of(module: str) -> str | None:
    """The part of recsys a dotted module name lies in (None: the package root; a name that
    is no part, such as ``recsys.__version__``, is not one of `LAYERS`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "recsys" else None


def imports(path: Path) -> list[tuple[int, str]]:
    """Every recsys module the file imports, anywhere in it, with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "recsys":
            found += [(node.lineno, f"recsys.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "recsys"]


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem for p in ROOT.iterdir()
             if p.suffix == ".py" or (p.is_dir() and p.name != "__pycache__")}  # fmt: skip
    assert parts - {"__init__"} == set(LAYERS)


def test_each_part_imports_only_the_parts_below_it():
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        own = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for line, name in imports(path):
            target = part_of(name)
            if target in LAYERS and target != own and LAYERS.index(target) > LAYERS.index(own):
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} {own} imports {name}")
    assert not wrong, "\n".join(wrong)
