"""The CI matrix recipe in ``docs/qa-campaigns.md`` parses, uses the shard, the shared database and the merge,
and each of its ``sales-contract`` commands is accepted by the CLI's own parser."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from contract_tests.campaign.sharding import Shard
from contract_tests.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "qa-campaigns.md"
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def recipe() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "one GitHub Actions workflow in the doc"
    workflow = yaml.safe_load(blocks[0])
    assert isinstance(workflow, dict)
    return workflow


def commands(job: dict[str, Any], **values: str) -> list[list[str]]:
    """Every ``sales-contract`` command of a job, its ``${{ }}`` expressions replaced by ``values``."""
    found = []
    for step in job["steps"]:
        for line in str(step.get("run", "")).split("\n"):
            if line.strip().startswith("sales-contract"):
                text = EXPRESSION.sub(lambda m: values.get(m.group(1), "x"), line)
                found.append(shlex.split(text)[1:])
    return found


def test_the_workflow_runs_a_shard_matrix_with_a_shared_database_then_one_merged_report() -> None:
    workflow = recipe()
    assert workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    jobs = workflow["jobs"]
    fuzz, report = jobs["fuzz"], jobs["report"]
    shards = fuzz["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and len(shards) > 1
    assert fuzz["strategy"]["fail-fast"] is False, "one failing shard must not cancel the others"
    assert report["needs"] == "fuzz" and report["if"] == "always()"

    parser = build_parser()
    runs = [commands(fuzz, **{"matrix.shard": str(shard)}) for shard in shards]
    assert all(len(run) == 1 for run in runs)
    parsed = [parser.parse_args(run[0]) for run in runs]
    assert [args.command for args in parsed] == ["fuzz"] * len(shards)
    assert [args.shard for args in parsed] == [Shard(i, len(shards)) for i in shards]
    assert {args.example_db for args in parsed} == {"$SALES_EXAMPLE_DB"}
    assert {args.target for args in parsed} == {"$SALES_API_BASE_URL"}
    assert workflow["env"]["SALES_EXAMPLE_DB"].startswith("${{ secrets.")
    outputs = {args.output for args in parsed}
    assert len(outputs) == len(shards), "each shard writes its own output directory"

    uploads = [step for step in fuzz["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["if"] == "always()"
    (merge,) = commands(report)
    args = parser.parse_args(merge)
    assert (args.command, args.action) == ("report", "merge")
    assert args.output.endswith(".html") and args.inputs == ["fuzz-*/junit.xml"]
    assert all(output.startswith("fuzz-") for output in outputs)  # what the merge's glob finds


def test_the_readme_shows_the_recipe() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Contract suite", 1)[1].split("\n## ", 1)[0]
    for needle in ("--shard", "--example-db", "sales-contract report merge", "docs/qa-campaigns.md", "matrix"):
        assert needle in section, needle
