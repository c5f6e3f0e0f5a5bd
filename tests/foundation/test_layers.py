"""The package's layers (llmpp/layers.py): imports only run downwards and never in a circle.

Every import of every module under ``llmpp/`` is read with ``ast`` — at module level,
inside functions (lazy imports) and under ``if TYPE_CHECKING:`` — and resolved to the
module it names. The checks run on any package root, so the last tests plant each kind
of violation in a throw-away package and watch the checks catch it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from llmpp.layers import PACKAGE, PARTS, Part, markdown_table, part_of

ROOT = Path(__file__).resolve().parents[2]
TESTING = "llmpp.testing"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def _resolve(name: str, known: Iterable[str]) -> str | None:
    """The longest known module that ``name`` starts with (``a.b.C`` -> ``a.b``)."""
    known = set(known)
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in its file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):  # every node: lazy and TYPE_CHECKING imports included
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # `from a import b` names module a.b when b is a module, else something in a
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != PACKAGE:
                continue
            resolved = _resolve(target, known)
            if resolved is not None and resolved != name:
                found.add(resolved)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = modules_under(root)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def unlisted(graph: dict[str, set[str]], part: Callable[[str], Part | None]) -> list[str]:
    return sorted(name for name in graph if part(name) is None)


def climbing(graph: dict[str, set[str]], part: Callable[[str], Part | None]) -> list[str]:
    """``importer -> imported`` for each import into a higher layer."""
    bad = []
    for name, imported in sorted(graph.items()):
        own = part(name)
        for target in sorted(imported):
            theirs = part(target)
            if own and theirs and theirs.layer > own.layer:
                bad.append(f"{name} (layer {own.layer}) -> {target} (layer {theirs.layer})")
    return bad


def into_testing(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{name} -> {target}"
        for name, imported in graph.items()
        if not (name == TESTING or name.startswith(TESTING + "."))
        for target in imported
        if target == TESTING or target.startswith(TESTING + ".")
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def part_graph(graph: dict[str, set[str]], part: Callable[[str], Part | None]) -> dict:
    """The imports between parts (packages and top-level modules); a part's own are left out."""
    edges: dict[str, set[str]] = {}
    for name, imported in graph.items():
        own = part(name)
        if own is None:
            continue
        edges.setdefault(own.name, set())
        for target in imported:
            theirs = part(target)
            if theirs is not None and theirs.name != own.name:
                edges[own.name].add(theirs.name)
    return edges


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """The package's import graph, parsed when a test needs it (not at collection, which
    every pytest-xdist worker of both tiers does)."""
    return import_graph(ROOT)


def test_every_module_is_in_the_layer_table(graph) -> None:
    assert not unlisted(graph, part_of), (
        f"modules with no row in llmpp/layers.py: {unlisted(graph, part_of)}"
    )


def test_every_row_of_the_layer_table_names_modules(graph) -> None:
    stale = [part.name for part in PARTS if not any(part_of(name) == part for name in graph)]
    assert not stale, f"rows of llmpp/layers.py naming no module: {stale}"


def test_no_import_climbs_a_layer(graph) -> None:
    bad = climbing(graph, part_of)
    assert not bad, "imports into a higher layer (llmpp/layers.py):\n" + "\n".join(bad)


def test_no_import_cycle_between_modules(graph) -> None:
    assert not cycles(graph), f"modules importing each other: {cycles(graph)}"


def test_no_import_cycle_between_packages(graph) -> None:
    found = cycles(part_graph(graph, part_of))
    assert not found, f"packages importing each other: {found}"


def test_product_code_never_imports_the_testing_package(graph) -> None:
    bad = into_testing(graph)
    assert not bad, f"fakes and contract suites are for tests: {bad}"


def test_the_docs_layer_table_is_the_codes() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = re.search(r"^## Layers\n(.*?)(?=^## )", doc, flags=re.S | re.M)
    assert section, "docs/ARCHITECTURE.md has no '## Layers' section"
    table = "\n".join(line for line in section.group(1).splitlines() if line.startswith("|"))
    assert table == markdown_table(), (
        "docs/ARCHITECTURE.md's layer table differs from llmpp/layers.py; paste "
        "`python -c 'from llmpp.layers import markdown_table; print(markdown_table())'`"
    )


def test_stages_are_the_only_root_config_readers() -> None:
    """Library packages never take the stage's root config (a cheap proxy: the helpers
    that used to take it are gone)."""
    for path in modules_under(ROOT).values():
        text = path.read_text()
        assert "def latency_from_config" not in text
        assert "SearchSession.from_config" not in text


# The checks themselves, on a throw-away package named like ours.

LOW = Part("llmpp.low", 1, "")
HIGH = Part("llmpp.high", 2, "")


def toy_part(name: str) -> Part | None:
    return {"llmpp.low": LOW, "llmpp.high": HIGH}.get(".".join(name.split(".")[:2]))


def toy_package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for relative, text in {"llmpp/__init__.py": "", "llmpp/low/__init__.py": "",
                           "llmpp/high/__init__.py": "", **files}.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    graph = import_graph(tmp_path)
    graph.pop(PACKAGE)  # the toy's root is not part of the toy table
    return graph


@pytest.mark.parametrize(
    "text",
    [
        "from llmpp.high.top import thing\n",
        "import llmpp.high.top\n",
        "from ..high import top\n",
        "def later():\n    from llmpp.high.top import thing\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from llmpp.high import top\n",
    ],
    ids=["from", "import", "relative", "lazy", "type-checking"],
)
def test_the_walker_catches_an_import_that_climbs(tmp_path: Path, text: str) -> None:
    graph = toy_package(tmp_path, {"llmpp/low/base.py": text, "llmpp/high/top.py": "thing = 1\n"})
    assert climbing(graph, toy_part) == ["llmpp.low.base (layer 1) -> llmpp.high.top (layer 2)"]


def test_the_walker_catches_cycles_of_modules_and_of_packages(tmp_path: Path) -> None:
    graph = toy_package(tmp_path, {
        "llmpp/low/a.py": "from llmpp.low import b\n",
        "llmpp/low/b.py": "def f():\n    from llmpp.low.a import x\n",
        "llmpp/high/c.py": "from llmpp.low import a\n",
        "llmpp/high/d.py": "",
    })
    assert cycles(graph) == [["llmpp.low.a", "llmpp.low.b"]]
    assert cycles(part_graph(graph, toy_part)) == []
    two_ways = {"llmpp.low.a": {"llmpp.high.d"}, "llmpp.high.d": set(),
                "llmpp.high.c": {"llmpp.low.b"}, "llmpp.low.b": set()}
    assert cycles(part_graph(two_ways, toy_part)) == [["llmpp.high", "llmpp.low"]]


def test_the_walker_catches_unlisted_modules_and_testing_imports(tmp_path: Path) -> None:
    graph = toy_package(tmp_path, {
        "llmpp/stray.py": "",
        "llmpp/low/uses_fakes.py": "from llmpp.testing.toy import ToyPredictor\n",
        "llmpp/testing/__init__.py": "",
        "llmpp/testing/toy.py": "",
    })
    assert "llmpp.stray" in unlisted(graph, toy_part)
    assert into_testing(graph) == ["llmpp.low.uses_fakes -> llmpp.testing.toy"]
