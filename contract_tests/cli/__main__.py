"""``python -m contract_tests.cli ...``: the ``sales-contract`` command."""

import sys

from contract_tests.cli import main

sys.exit(main())
