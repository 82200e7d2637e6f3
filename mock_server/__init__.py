"""A stateful mock of the Axiomatic Sales API."""

__version__ = "0.1.0"
