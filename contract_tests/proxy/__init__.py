"""``sales-contract proxy``: a validating, recording reverse proxy in front of a live Sales API server.

Every exchange that passes through is forwarded unchanged, then checked against the contract
(``spec.py``) and against the contract suite's independent oracle (``invariants.py``); violations
are kept (``violations.py``), printed, served at ``/__proxy/violations`` and written as JUnit and
HTML on exit (``report.py``); ``--record`` turns the resources seen into a fixtures file
(``record.py``). ``server.py`` is the ASGI app, ``run.py`` the command.
"""
