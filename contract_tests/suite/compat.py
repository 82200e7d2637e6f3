"""Compatibility of Schemathesis 4.32.5's pytest integration with pytest >= 9.2.

``schemathesis.pytest.from_fixture`` renames the running item through ``Node._nodeid``, which
pytest 9.2 replaced by a structured ``_id``. This restores the attribute as a property over
``_id``; it does nothing on a pytest that still has it.
"""

from __future__ import annotations

from _pytest import nodes


def install() -> None:
    if hasattr(nodes.Node, "_nodeid") or not hasattr(nodes.Node, "__slots__"):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # pragma: no cover - older pytest keeps _nodeid
        return

    def get(node: nodes.Node) -> str:
        return node.nodeid

    def set_(node: nodes.Node, value: str) -> None:
        node._id = coerce_node_id(value)

    nodes.Node._nodeid = property(get, set_)  # type: ignore[attr-defined]
