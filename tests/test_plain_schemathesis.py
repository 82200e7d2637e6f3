"""Plain Schemathesis reaches every operation: the ``st`` CLI with ``contract_tests/plain-schemathesis.toml``.

What a QA engineer runs first, with no project code: the spec, the demo key and entity, the
default phases and checks. The spec's examples and links and the demo fixtures must be consistent
enough that every operation answers a 2xx at least once, and no check may fail except what the
config file justifies. ``--max-examples 10`` and a fixed seed keep it near a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from livemock import start_mock

from contract_tests.process import stop

pytestmark = [pytest.mark.slow, pytest.mark.live]

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "sales.yaml"
CONFIG = ROOT / "contract_tests" / "plain-schemathesis.toml"
ST = Path(sys.executable).with_name("st")


def _operations() -> dict[tuple[str, str], str]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {
        (method.upper(), path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _outcomes(ndjson: Path) -> tuple[Counter[str], list[str]]:
    """(2xx answers per operationId, failed checks as "check on operation") from the NDJSON event log."""
    operations = _operations()
    successes: Counter[str] = Counter()
    failed: list[str] = []
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        recorder = event.get("ScenarioFinished", {}).get("recorder", {})
        for case_id, case in recorder.get("cases", {}).items():
            value = case["value"]
            response = (recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}
            operation = operations.get((value["method"].upper(), value["path"]))
            if operation and 200 <= response.get("status_code", 0) < 300:
                successes[operation] += 1
        for checks in recorder.get("checks", {}).values():
            failed += [f"{check['name']} on {recorder['label']}" for check in checks if check["status"] != "success"]
    return successes, failed


@pytest.mark.skipif(not ST.exists(), reason="needs the Schemathesis CLI in the virtualenv")
def test_plain_schemathesis_gets_a_2xx_from_every_operation(tmp_path: Path) -> None:
    process, url = start_mock("--fixtures", "demo", "--log-level", "warning")
    try:
        command = [str(ST), "--config-file", str(CONFIG), "run", str(SPEC), "--url", url, "--seed", "1"]
        command += ["--max-examples", "10", "--no-color", "--report", "ndjson,json", "--report-dir", str(tmp_path)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    finally:
        server_errors = stop(process, timeout=20, hung_is_error=True).stderr
    output = result.stdout[-6000:]
    assert "Traceback" not in server_errors, server_errors[-3000:]
    report = json.loads(next(tmp_path.glob("json-*.json")).read_text(encoding="utf-8"))
    assert report["operations"]["tested"] == len(_operations()) == 21, output
    assert report["errors"] == [] and report["failures"] == [], output
    successes, failed = _outcomes(next(tmp_path.glob("ndjson-*.ndjson")))
    assert failed == [], output
    missing = sorted(set(_operations().values()) - set(successes))
    assert missing == [], f"operations that never answered 2xx: {missing}\n{output}"
    assert result.returncode == 0, output
