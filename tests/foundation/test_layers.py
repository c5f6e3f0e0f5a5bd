"""The package's layers: imports only run downwards (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "llmpp"
TOP = ("llmpp.stages", "llmpp.pipeline")  # only the stages and the CLI may import these


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_name(path).split(".")[: -node.level]
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def allowed_to_import_top(name: str) -> bool:
    return name.startswith("llmpp.stages") or name == "llmpp.cli"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_import_runs_up_into_stages_or_pipeline(path: Path) -> None:
    name = module_name(path)
    bad = []
    for imported in imports_of(path):
        for top in TOP:
            if imported == top or imported.startswith(top + "."):
                if allowed_to_import_top(name) or name.startswith(top):
                    continue
                bad.append(imported)
    assert not bad, f"{name} imports {bad}: library code receives objects, not stages"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_product_code_never_imports_the_testing_package(path: Path) -> None:
    name = module_name(path)
    if name.startswith("llmpp.testing"):
        return
    bad = [i for i in imports_of(path) if i == "llmpp.testing" or i.startswith("llmpp.testing.")]
    assert not bad, f"{name} imports {bad}: fakes and contract suites are for tests"


def test_the_walker_sees_an_upward_import(tmp_path) -> None:
    """The check itself: a library module importing a stage is caught."""
    fake = PACKAGE / "search" / "_layer_probe.py"
    text = "from llmpp.stages.common import run_dir\n"
    tree_imports = {n.module for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ImportFrom)}
    assert "llmpp.stages.common" in tree_imports
    assert not allowed_to_import_top(module_name(fake))


def test_stages_are_the_only_root_config_readers() -> None:
    """Library packages never take the stage's root config: no ``cfg.task``-style reads of
    several groups through one ``cfg`` parameter outside stages (a cheap proxy: the helpers
    that used to take it are gone)."""
    for path in MODULES:
        text = path.read_text()
        assert "def latency_from_config" not in text
        assert "SearchSession.from_config" not in text
