"""The structure tells the truth: every mock_server module has a layer in the import contract and a row
in ARCHITECTURE.md, and the one error renderer is the only place that builds ``{"error": ...}`` bodies."""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mock_server"


def _top_level_modules(package: Path = PACKAGE) -> set[str]:
    """``package.x`` for every module file and subpackage directly under ``package`` (``mock_server``)."""
    found = set()
    for path in package.iterdir():
        if path.suffix == ".py" and path.stem != "__init__":
            found.add(f"{package.name}.{path.stem}")
        elif path.is_dir() and (path / "__init__.py").exists():
            found.add(f"{package.name}.{path.name}")
    return found


def _layered_modules() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]["layers"]
    return {name.strip() for line in layers.splitlines() for name in re.split(r"[|:]", line) if name.strip()}


def test_every_module_has_a_layer_in_the_import_contract() -> None:
    missing = sorted(_top_level_modules() - _layered_modules())
    assert not missing, f"modules without a layer in .importlinter: {missing}"
    stale = sorted(_layered_modules() - _top_level_modules())
    assert not stale, f".importlinter names modules that do not exist: {stale}"


def test_every_module_has_a_row_in_architecture_md() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| [^|]* \| `mock_server/([a-z_]+)(?:\.py|/)`", text, flags=re.MULTILINE))
    missing = sorted(m.removeprefix("mock_server.") for m in _top_level_modules() if m.split(".")[1] not in rows)
    assert not missing, f"modules without a row in ARCHITECTURE.md: {missing}"


def test_error_bodies_are_built_in_one_place() -> None:
    builders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict) and any(
                isinstance(key, ast.Constant) and key.value == "error" for key in node.keys
            ):
                builders.append(str(path.relative_to(ROOT)))
    assert builders == ["mock_server/errors.py"], builders


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan: the strongly connected components of more than one module (each an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_cycles_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    """Imports go one way in both packages (function-local and ``TYPE_CHECKING`` imports count too)."""
    import grimp

    built = grimp.build_graph("mock_server", "contract_tests")
    modules = set(built.modules)
    graph = {module: set(built.find_modules_directly_imported_by(module)) & modules for module in modules}
    cycles = _cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(cycle) for cycle in cycles)


SUITE_PACKAGE = ROOT / "contract_tests"


def _suite_modules() -> set[str]:
    return _top_level_modules(SUITE_PACKAGE)


def _suite_layers() -> list[set[str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:contract-suite-layers"]["layers"]
    return [{n.strip() for n in re.split(r"[|:]", line) if n.strip()} for line in layers.splitlines() if line.strip()]


def test_every_suite_module_has_a_layer_in_the_import_contract() -> None:
    layered = set().union(*_suite_layers())
    missing = sorted(_suite_modules() - layered)
    assert not missing, f"contract_tests modules without a layer in .importlinter: {missing}"
    stale = sorted(layered - _suite_modules())
    assert not stale, f".importlinter names contract_tests modules that do not exist: {stale}"


def test_every_suite_module_has_a_row_and_the_same_layer_in_architecture_md() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = dict(
        (name, layer)
        for layer, name in re.findall(r"^\| (C\d) \| `contract_tests/([a-z_]+)(?:\.py|/)`", text, flags=re.MULTILINE)
    )
    layers = _suite_layers()
    for module in sorted(_suite_modules()):
        name = module.removeprefix("contract_tests.")
        assert name in rows, f"contract_tests/{name} has no row in ARCHITECTURE.md's contract suite table"
        position = next(index for index, layer in enumerate(layers) if module in layer)
        assert rows[name] == f"C{position + 1}", (
            f"{name}: layer {rows[name]} in ARCHITECTURE.md, C{position + 1} in .importlinter"
        )
