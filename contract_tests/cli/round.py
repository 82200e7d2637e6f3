"""``python -m contract_tests.cli.round CONFIG.json``: one round of a fuzz campaign, as ``fuzz`` starts it.

CONFIG.json is the round's :class:`~contract_tests.campaign.run_config.RunConfig` (``RunConfig.to_json``),
its only argument: no option and no secret on the command line or in the file (the secrets come from the
environment variables the file names). The round runs ``check``'s code path with it (``check.execute``).
"""

from __future__ import annotations

import sys

from contract_tests import cli_common, interrupts
from contract_tests.campaign.run_config import RunConfig
from contract_tests.cli import check
from contract_tests.target import UsageError


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        return cli_common.report_usage("check", None, "usage: python -m contract_tests.cli.round CONFIG.json")
    junit = None
    try:
        with open(argv[0]) as file:
            run = RunConfig.from_json(file.read())
        junit = run.junit_xml
        with interrupts.deferring_interrupts():
            return check.execute(run)
    except OSError as exc:
        return cli_common.report_usage("check", junit, f"cannot read the round's config {argv[0]}: {exc}")
    except KeyboardInterrupt:
        return cli_common.report_usage("check", junit, "the round was interrupted")
    except UsageError as exc:
        return cli_common.report_usage("check", junit, str(exc))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
