"""A stateful mock of the Axiomatic Sales API."""

from mock_server.resources import version as _version

__version__ = _version()
"""The installed distribution's version (from its metadata: pyproject.toml is the one source)."""
