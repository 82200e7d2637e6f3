"""``python -m contract_tests.cli ...``: the ``sales-contract`` command (fuzz runs its rounds this way)."""

import sys

from contract_tests.cli import main

sys.exit(main())
