"""``sales-contract fuzz``: a time-boxed QA campaign of rounds of the suite's fuzz profile.

Each round runs in a child process with a fresh seed, so the campaign stops at the deadline
whatever the server does; every failure is saved at once as a replayable JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

UNITS = {"s": 1, "m": 60, "h": 3600}
PROGRESS_EVERY = 10.0


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``1h`` or plain seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h)")
    return float(found.group(1)) * UNITS[found.group(2) or "s"]


def add_parser(commands: Any) -> None:
    from contract_tests.campaign import add_cli_options
    from contract_tests.cli import add_target_options

    fuzz = commands.add_parser("fuzz", help="time-boxed fuzzing campaign with replayable failures")
    fuzz.add_argument("target", help="mock or a base URL")
    fuzz.add_argument("--duration", type=parse_duration, default=parse_duration("10m"), help="e.g. 10m (default)")
    fuzz.add_argument("--output", default="sales-fuzz-report", help="directory for failures and the report")
    fuzz.add_argument("--max-examples", type=int, default=None, help="examples per operation and mode per round")
    add_target_options(fuzz)
    add_cli_options(fuzz)


def _round_command(args: argparse.Namespace, seed: int, failures_dir: Path, junit: Path | None = None) -> list[str]:
    from contract_tests.campaign import cli_args

    command = [sys.executable, "-m", "contract_tests.cli", "check", "--target", args.target, "--profile", "fuzz"]
    command += ["--seed", str(seed), "--failures-dir", str(failures_dir), *cli_args(args)]
    if junit is not None:
        command += ["--junit-xml", str(junit)]
    for option, value in (
        ("--api-key", args.api_key),
        ("--entity-id", args.entity_id),
        ("--operations", args.operations),
        ("--max-examples", args.max_examples),
    ):
        if value is not None:
            command += [option, str(value)]
    if args.allow_writes is not None:
        command.append("--allow-writes" if args.allow_writes else "--read-only")
    return command


def _run_round(command: list[str], remaining: float, log: Path, failures: Path) -> int | None:
    """Run one round, printing progress every few seconds; None when the deadline stopped it."""
    deadline = time.monotonic() + remaining
    with open(log, "w") as sink:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            while True:
                try:
                    return process.wait(timeout=max(0.1, min(PROGRESS_EVERY, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        return None
                    found = len(list(failures.glob("*.json")))
                    print(
                        f"    {deadline - time.monotonic():5.0f}s left, {_progress(log)}, {found} failure(s)",
                        flush=True,
                    )
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _progress(log: Path) -> str:
    """How many tests of the round are done, from pytest's progress characters in the round's log."""
    done = sum(len(m) for m in re.findall(r"^[.FEsx]+", log.read_text(errors="replace"), flags=re.M))
    return f"{done} test(s) done"


def run_fuzz(args: argparse.Namespace) -> int:
    from contract_tests import campaign
    from contract_tests.cli import preflight
    from contract_tests.target import UsageError

    try:
        preflight(args.target, args.api_key, args.entity_id)
        campaign.preflight(args)
    except UsageError as exc:
        print(f"sales-contract: {exc}", file=sys.stderr)
        return 2
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    start, rounds, codes = time.monotonic(), 0, []
    where = campaign.describe(args)
    print(f"fuzz: {args.target} for {args.duration:.0f}s, seed {seed}{where}, output {output}", flush=True)
    while (remaining := args.duration - (time.monotonic() - start)) > 1:
        rounds += 1
        round_seed = seed + rounds - 1
        print(f"  round {rounds} (seed {round_seed}), {remaining:.0f}s left", flush=True)
        command = _round_command(args, round_seed, output / "failures", output / "junit" / f"round-{rounds}.xml")
        codes.append(_run_round(command, remaining, output / f"round-{rounds}.log", output / "failures"))
        found = len(list((output / "failures").glob("*.json")))
        print(f"  round {rounds} ended ({_describe(codes[-1])}); failures so far: {found}", flush=True)
        if codes[-1] == 2:
            break
    code = _final_report(output, seed, rounds, codes, time.monotonic() - start, args)
    _merge_rounds(output, args)
    return code


def _merge_rounds(output: Path, args: argparse.Namespace) -> None:
    """``OUTPUT/junit.xml``: the rounds' JUnit files in one, for ``sales-contract report merge``."""
    from contract_tests.merge_report import junit_for_rounds

    junit_for_rounds(sorted((output / "junit").glob("round-*.xml")), output / "failures", output / "junit.xml", args)


def _describe(code: int | None) -> str:
    return {None: "stopped at the deadline", 0: "clean", 1: "violations", 2: "target unusable"}.get(code, str(code))


def _final_report(
    output: Path, seed: int, rounds: int, codes: list[int | None], elapsed: float, args: argparse.Namespace
) -> int:
    from contract_tests.campaign import describe

    shard, where = (str(args.shard) if getattr(args, "shard", None) else None), describe(args)
    failures = [json.loads(path.read_text()) for path in sorted((output / "failures").glob("*.json"))]
    by_check: dict[str, int] = {}
    for failure in failures:
        key = f"{failure['operation']} / {failure['check']}"
        by_check[key] = by_check.get(key, 0) + 1
    report = {"seed": seed, "rounds": rounds, "elapsedSeconds": round(elapsed), "failures": len(failures)}
    report["shard"] = shard  # type: ignore[assignment]
    report["byOperationAndCheck"] = by_check  # type: ignore[assignment]
    (output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"fuzz report: {rounds} round(s) in {elapsed:.0f}s, seed {seed}{where}, {len(failures)} failure file(s)")
    for key, count in sorted(by_check.items()):
        print(f"  {count:>4}  {key}")
    print(f"  details: {output / 'report.json'}, replay one with: sales-contract replay <file>")
    if 2 in codes and not failures:
        return 2
    return 1 if failures else 0


def replay(path: Path) -> int:
    """Re-send the curl request stored in a failure file and print the answer."""
    record = json.loads(path.read_text())
    if not record.get("curl"):
        print("this failure has no recorded request", file=sys.stderr)
        return 2
    method, url, headers, body = parse_curl(record["curl"])
    response = httpx.request(method, url, headers=headers, content=body, timeout=30)
    print(f"{record['operation']} / {record['check']}\n{record['curl']}\n-> {response.status_code}\n{response.text}")
    return 0


def parse_curl(command: str) -> tuple[str, str, dict[str, str], bytes | None]:
    tokens = shlex.split(command)
    method, url, headers, body = "GET", "", {}, None
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if token == "-X":
            method, index = tokens[index + 1], index + 2
        elif token == "-H":
            name, _, value = tokens[index + 1].partition(":")
            headers[name.strip()] = os.path.expandvars(value.strip())
            index += 2
        elif token in ("-d", "--data", "--data-raw"):
            body, index = tokens[index + 1].encode(), index + 2
        else:
            url, index = (token if token.startswith("http") else url), index + 1
    return method, url, headers, body
