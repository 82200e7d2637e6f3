"""Package data, not code: this folder ships in the wheel as ``mock_server._openapi`` (see setup.py).

Read the documents through ``mock_server.resources`` (``spec_path()``, ``admin_spec_path()``).
"""
