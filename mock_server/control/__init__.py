"""The control plane: request journal, fault rules, ``Prefer`` answers, idempotency keys and the state
file. Plain state and decisions, no HTTP: the request pipeline consults them in its documented order
and ``/__admin`` manages them."""

from mock_server.control.plane import ControlPlane

__all__ = ["ControlPlane"]
