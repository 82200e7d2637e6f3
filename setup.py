"""Packaging glue that pyproject.toml cannot express: the data folders as subpackages.

``openapi/`` and ``fixtures/`` stay at the top of the repository (the paths people and tools
use), and ship inside the wheel as ``mock_server._openapi`` and ``mock_server._fixtures``
(``package_dir`` maps the one onto the other). ``mock_server.resources`` reads them through
``importlib.resources``, so an editable install (``./dev``) and a built wheel find the same files.
Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

DATA_PACKAGES = {"mock_server._openapi": "openapi", "mock_server._fixtures": "fixtures"}

setup(
    packages=[
        *find_namespace_packages(
            include=["mock_server", "mock_server.*", "contract_tests", "contract_tests.*"], exclude=["*.__pycache__"]
        ),
        *DATA_PACKAGES,
    ],
    package_dir=DATA_PACKAGES,
)
