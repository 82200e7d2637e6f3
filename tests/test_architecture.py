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


def _strongly_connected_components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: every strongly connected component of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_the_component_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, _strongly_connected_components(graph))) == [["a", "b", "c"], ["d"]]


def test_no_import_time_registry_or_string_keyed_state() -> None:
    """The entity's derived parts are typed members the store builds: nothing registers a rebuilder
    at import time, and there is no ``extras``/``derived`` bag or process-wide change count."""
    from mock_server import store

    for gone in ("_REBUILDERS", "register_index_rebuilder", "bump_revision", "revision"):
        assert not hasattr(store, gone), gone
    fields = set(store.EntityState.__dataclass_fields__)
    assert not fields & {"extras", "derived", "subscription_events"}, fields
    assert {"billing", "dashboard", "caught_up"} <= fields
    one, two = store.Store(), store.Store()
    one.record_change()
    assert (one.revision, two.revision) == (1, 0)


def test_billing_borrows_from_subscriptions_and_never_the_reverse() -> None:
    import grimp

    imports = grimp.build_graph("mock_server")
    billing, subscriptions = "mock_server.services.billing", "mock_server.services.subscriptions"
    assert imports.direct_import_exists(importer=billing, imported=subscriptions)
    assert not imports.chain_exists(importer=subscriptions, imported=billing)


def test_only_the_store_holds_collections() -> None:
    """How resources are packed is the store's business: no other module imports ``Collection``."""
    importers = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "mock_server.packed":
                if any(alias.name == "Collection" for alias in node.names):
                    importers.append(str(path.relative_to(ROOT)))
    assert importers == ["mock_server/store.py"], importers


def test_no_import_cycle() -> None:
    """Imports go one way in both packages (function-local and ``TYPE_CHECKING`` imports count too)."""
    import grimp

    built = grimp.build_graph("mock_server", "contract_tests")
    modules = set(built.modules)
    graph = {module: set(built.find_modules_directly_imported_by(module)) & modules for module in modules}
    cycles = [sorted(c) for c in _strongly_connected_components(graph) if len(c) > 1]
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
