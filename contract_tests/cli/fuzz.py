"""``sales-contract fuzz``: a time-boxed QA campaign of rounds of the suite's fuzz profile.

Each round runs in a child process with a fresh seed and the time left as its budget, so no
request is sent after the deadline whatever the server does. The campaign builds its
:class:`RunConfig` once; a round gets it (with its seed, budget and JUnit file) as
``OUTPUT/round-N.json``, the only argument of ``python -m contract_tests.cli.round``, and the secrets
that file names in its environment. Every failure is saved at once as a replayable JSON file,
every created resource in a ledger that the campaign sweeps at the end (also after SIGTERM or Ctrl-C).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from contract_tests import campaign, cli_common, interrupts
from contract_tests.campaign import progress
from contract_tests.campaign.run_config import RunConfig
from contract_tests.cli import scratch
from contract_tests.cli.check import preflight, shared_config
from contract_tests.cli_common import Command
from contract_tests.target import UsageError

NOTICE = "NOT EXERCISED on this target"  # the first line of a round's upfront notice (Recorder.notice_lines)
DURATION = "10m"
PROGRESS_EVERY = 10.0
CLEANUP_GRACE = 60.0  # seconds a round may take after its budget to clean up before it is stopped
STOP_GRACE = 30.0  # seconds between SIGTERM and SIGKILL


def configure(parser: argparse.ArgumentParser) -> None:
    # deprecated (use --target; removed next release): accepted, not shown
    parser.add_argument("legacy_target", nargs="?", default=None, metavar="TARGET", help=argparse.SUPPRESS)
    parser.add_argument(
        "--duration",
        type=cli_common.parse_duration,
        default=cli_common.parse_duration(DURATION),
        metavar="DURATION",
        help=f"no request is sent after it, e.g. 90s, 30m; then the campaign cleans up (default: {DURATION})",
    )
    parser.add_argument(
        "--output", default="sales-fuzz-report", metavar="DIR", help="directory for failures and the report"
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="examples per operation and mode per round (default: the fuzz profile's)",
    )
    campaign.add_cli_options(parser)


def run_fuzz(args: argparse.Namespace) -> int:
    if args.legacy_target:
        if args.target:
            raise UsageError("give the target once: --target URL (the positional form is deprecated)")
        print("sales-contract fuzz: the positional target is deprecated, use --target", file=sys.stderr)
        args.target = args.legacy_target
    resolved = cli_common.resolve(args)
    try:
        with interrupts.deferring_interrupts(), scratch.entities(resolved, "fuzz") as made:
            resolved = scratch.adopt(made, resolved, args)
            preflight(resolved)
            campaign.preflight(args)
            return Campaign(args, resolved, made).run()
    except KeyboardInterrupt:
        raise UsageError("the campaign was interrupted (its scratch entities were deleted)") from None


COMMAND = Command(
    "fuzz",
    "time-boxed fuzzing campaign with replayable failures",
    configure,
    run_fuzz,
    defaults={"seed": "a random one"},
)


class Campaign:
    """Rounds of ``check`` with the fuzz profile in child processes until the deadline; every created resource
    goes to a ledger, so whatever stops a round (its budget, SIGTERM, SIGKILL) the campaign cleans up."""

    def __init__(
        self, args: argparse.Namespace, resolved: cli_common.Resolved, made: scratch.Scratch | None = None
    ) -> None:
        self.args, self.resolved, self.scratch = args, resolved, made
        self.output = Path(args.output)
        self.ledger = self.output / "ledger.jsonl"
        self.failures = self.output / "failures"
        self.progress = self.output / "progress.json"
        self.display = progress.Display(sys.stdout, PROGRESS_EVERY)
        self.examples = 0  # generated requests of the rounds that ended
        self.process: subprocess.Popen[str] | None = None
        self.stopping: str | None = None
        self.notice_shown = False
        self.config = self._config()

    def _config(self) -> RunConfig:
        """What every round runs with (each its own seed, budget and JUnit file), built once."""
        config = replace(
            shared_config(self.args, self.resolved),
            profile="fuzz",
            failures_dir=str(self.failures),
            ledger=str(self.ledger),
            progress=str(self.progress),
            scratch=self.scratch is not None,
        )
        if self.scratch is None:
            return config
        main, other = self.scratch.main, self.scratch.other
        config = replace(config, readonly_key=main.readonly_key)
        return config if other is None else replace(config, other_entity_id=other.id, other_key=other.key)

    def run(self) -> int:
        self.output.mkdir(parents=True, exist_ok=True)
        args = self.args
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
        start, rounds, codes = time.monotonic(), 0, []
        where = campaign.describe(args)
        scope = f", in {self.scratch.describe()}" if self.scratch else ""
        print(
            f"fuzz: {self.resolved.target} for {args.duration:.0f}s, seed {seed}{where}, output {self.output}{scope}",
            flush=True,
        )
        with interrupts.handling({signal.SIGTERM: self._stop, signal.SIGINT: self._stop}):
            try:
                while not self.stopping and (remaining := args.duration - (time.monotonic() - start)) > 1:
                    rounds += 1
                    round_seed = seed + rounds - 1
                    self.display.line(f"  round {rounds} (seed {round_seed}), {remaining:.0f}s left")
                    config = replace(
                        self.config,
                        seed=round_seed,
                        budget=round(remaining, 1),
                        junit_xml=str(self.output / "junit" / f"round-{rounds}.xml"),
                    )
                    command = self._round_command(config, self.output / f"round-{rounds}.json")
                    codes.append(self._run_round(command, config, remaining, self.output / f"round-{rounds}.log"))
                    found = len(list(self.failures.glob("*.json")))
                    self.display.line(
                        f"  round {rounds} ended ({_describe(codes[-1])}); {progress.examples(self.examples)} in all, "
                        f"failures so far: {found}"
                    )
                    if codes[-1] == cli_common.EXIT_USAGE and not self.stopping:
                        break
            finally:
                self.progress.unlink(missing_ok=True)
                leftovers = self._sweep()
        elapsed = time.monotonic() - start
        code = _final_report(self.output, seed, rounds, codes, elapsed, leftovers, self.stopping, args)
        _write_junit(self.args, self.output, code, self.stopping, self.resolved.target, leftovers)
        return code

    def _stop(self, signum: int, _frame: object) -> None:
        """SIGTERM/Ctrl-C: stop the round (it cleans up), then sweep and report."""
        self.stopping = signal.Signals(signum).name
        self.display.line(f"fuzz: {self.stopping} received, stopping the round and cleaning up")
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def _round_command(self, config: RunConfig, path: Path) -> list[str]:
        """Write the round's config to ``path``; the command that runs it (``path`` its only argument)."""
        path.write_text(config.to_json())
        return [sys.executable, "-m", "contract_tests.cli.round", str(path)]

    @staticmethod
    def _round_env(config: RunConfig) -> dict[str, str]:
        """The round's environment: the secrets its config names (never on its command line or in the file)."""
        return {**os.environ, "PYTHONUNBUFFERED": "1", **config.secrets_env()}

    def _run_round(self, command: list[str], config: RunConfig, remaining: float, log: Path) -> int | None:
        """Run one round (its budget is the time left), showing what it does; None when it had to be stopped."""
        deadline = time.monotonic() + remaining + CLEANUP_GRACE
        self.progress.unlink(missing_ok=True)
        with open(log, "w") as sink:
            self.process = process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, text=True, env=self._round_env(config)
            )
            try:
                while True:
                    try:
                        wait = max(0.1, min(self.display.every, deadline - time.monotonic()))
                        return process.wait(timeout=wait)
                    except subprocess.TimeoutExpired:
                        if time.monotonic() >= deadline:
                            return None
                        self._show_notice(log)
                        found = len(list(self.failures.glob("*.json")))
                        left = max(0.0, deadline - CLEANUP_GRACE - time.monotonic())
                        doing = progress.describe(progress.read(self.progress), self.examples)
                        self.display.progress(f"{left:5.0f}s left: {doing}, {found} failure(s)")
            finally:
                _stop_process(process)
                self.process = None
                self.examples += int((progress.read(self.progress) or {}).get("examples") or 0)
                self._show_notice(log)

    def _show_notice(self, log: Path) -> None:
        """Once, from the first round that prints it: the rules this target cannot serve, and why."""
        if self.notice_shown:
            return
        lines = log.read_text(errors="replace").splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith(NOTICE)), None)
        if start is None:
            return
        block = [lines[start], *itertools.takewhile(lambda line: line.startswith("  "), lines[start + 1 :])]
        if start + len(block) == len(lines) and self.process is not None:
            return  # the round may still be writing it
        self.display.line("\n".join(block))
        self.notice_shown = True

    def _sweep(self) -> list[dict[str, str]]:
        """Clean what a stopped round could not (from the ledger), then list what is left, with why."""
        from contract_tests.cleanup import leftovers, pending, sweep

        if not pending(self.ledger):
            return leftovers(self.ledger)
        if self.resolved.is_mock:
            return leftovers(self.ledger)  # the in-process mock died with its round
        from contract_tests.client import SalesApi, make_http_client
        from contract_tests.target import live_target

        target = live_target(
            self.resolved.target,
            api_key=self.resolved.api_key,
            entity_id=self.resolved.entity_id,
            allow_writes=True,
            admin_token=self.resolved.admin_token,
            timeout=self.resolved.timeout,
            other_entity_id=self.resolved.other_entity_id,
            other_key=self.resolved.other_key,
        )
        print(f"fuzz: cleaning up {len(pending(self.ledger))} resource(s) a stopped round left", flush=True)
        with make_http_client(target) as http:
            other = None
            if target.other_entity_id and target.other_key:
                them = replace(target, entity_id=target.other_entity_id, api_key=target.other_key)
                other = SalesApi(them, http)
            sweep(self.ledger, SalesApi(target, http), other)
        return leftovers(self.ledger)


def _stop_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _describe(code: int | None) -> str:
    return {None: "stopped at the deadline", 0: "clean", 1: "violations", 2: "target unusable"}.get(code, str(code))


def _final_report(
    output: Path,
    seed: int,
    rounds: int,
    codes: list[int | None],
    elapsed: float,
    leftovers: list[dict[str, str]],
    stopped_by: str | None,
    args: argparse.Namespace,
) -> int:
    from contract_tests.cleanup import leftovers as ledger_entries
    from contract_tests.report import replay_command

    failures, replays = [], []
    for path in sorted((output / "failures").glob("*.json")):
        try:
            failures.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a file cut short by a kill
        replays.append(replay_command(str(path), failures[-1].get("replay")))
    closed = ledger_entries(output / "ledger.jsonl", "closed")
    by_check: dict[str, int] = {}
    for failure in failures:
        key = f"{failure['operation']} / {failure['check']}"
        by_check[key] = by_check.get(key, 0) + 1
    report: dict[str, Any] = {
        "seed": seed,
        "rounds": rounds,
        "elapsedSeconds": round(elapsed),
        "failures": len(failures),
        "byOperationAndCheck": by_check,
        "stoppedBy": stopped_by,
        "notCleaned": leftovers,
        "closed": closed,
        "shard": str(args.shard) if args.shard else None,
    }
    (output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    where = campaign.describe(args)
    print(f"fuzz report: {rounds} round(s) in {elapsed:.0f}s, seed {seed}{where}, {len(failures)} failure file(s)")
    for key, count in sorted(by_check.items()):
        print(f"  {count:>4}  {key}")
    if leftovers:
        print(f"  {len(leftovers)} resource(s) could not be cleaned up:")
        for item in leftovers:
            print(f"    - {item['kind']} {item['id']}: {item['why']}")
    else:
        print("  cleanup: everything the campaign created was deleted or closed")
    if closed:
        print(f"  {len(closed)} resource(s) closed, not deleted (archived/canceled/declined; ids in report.json)")
    if replays:
        print("  replay a failure where it was found:")
        for command in replays[:20]:
            print(f"    {command}")
        if len(replays) > 20:
            print(f"    ... and {len(replays) - 20} more in {output / 'failures'}")
    print(f"  details: {output / 'report.json'}")
    if failures:
        return cli_common.EXIT_VIOLATION
    if stopped_by or cli_common.EXIT_USAGE in codes:
        return cli_common.EXIT_USAGE
    return cli_common.EXIT_OK


def _write_junit(
    args: argparse.Namespace,
    output: Path,
    code: int,
    stopped_by: str | None,
    target: str,
    left: list[dict[str, str]] | None = None,
) -> None:
    """``OUTPUT/junit.xml`` (and ``--junit-xml``): the rounds' JUnit files in one, with the results that
    ``sales-contract report merge`` reads, the failures of a round that wrote none, and an error case when
    the campaign could not run or was stopped (exit 2)."""
    from contract_tests.campaign.merge_report import junit_for_rounds

    problem = None
    if code == cli_common.EXIT_USAGE:
        problem = f"stopped by {stopped_by}" if stopped_by else "the target was unusable (see the round logs)"
    rounds = sorted((output / "junit").glob("round-*.xml"), key=lambda path: int(path.stem.split("-")[1]))
    for path in [output / "junit.xml", *([Path(args.junit_xml)] if args.junit_xml else [])]:
        junit_for_rounds(
            rounds,
            output / "failures",
            path,
            target=target,
            shard=str(args.shard) if args.shard else None,
            example_db=args.example_db,
            writes=args.allow_writes,
            error=problem,
            left=left,
        )
