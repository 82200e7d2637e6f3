"""The pytest layers of the contract suite (their fixtures and hooks: ``contract_tests/conftest.py``)."""
