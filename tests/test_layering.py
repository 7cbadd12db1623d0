"""The layers import in one direction only (DESIGN.md, "Architecture")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "labelkitchen"
SHELLS = {"cli", "server"}
CORE_FORBIDDEN = {"store", "services", "server", "cli"}


def _layer(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0].removesuffix(".py") if len(parts) > 1 or parts[0] != "__init__.py" else ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in found if name.startswith("labelkitchen.")}


MODULES = sorted(p for p in SRC.rglob("*.py") if _layer(p))


def _allowed(layer: str) -> set[str] | None:
    if layer in SHELLS:
        return None  # shells may use services and core (never each other; checked below)
    if layer == "services":
        return {"store", "services", *_core()}
    if layer == "store":
        return {"store", *_core()}
    return _core()


def _core() -> set[str]:
    return {_layer(p) for p in MODULES} - SHELLS - {"services", "store"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = _layer(path)
    used = _imports(path)
    allowed = _allowed(layer)
    if allowed is None:
        # The CLI may start the server (`labelkitchen serve`); the server never uses the CLI.
        others = SHELLS - {layer} - ({"server"} if layer == "cli" else set())
        assert not (used & others), f"{path}: a shell imports another shell"
        return
    assert used <= allowed, f"{path} ({layer}) imports {sorted(used - allowed)}"


def test_core_modules_exist_to_check() -> None:
    assert {"schema", "errors", "io"} <= _core()
    assert not (_core() & CORE_FORBIDDEN)
