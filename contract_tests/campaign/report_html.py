"""The HTML page of ``sales-contract report merge``: self-contained (inline style, no script, nothing
fetched), every value escaped. The verdict, checks passed, failed and not exercised per operation and per
check, the rules that were not exercised and why, what was left on the target, and each failure once with
its message, curl line and the commands that replay it."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contract_tests.campaign.merge_report import Campaign, Failure

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d232b}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d8dde3}
.verdict{display:inline-block;padding:.15rem .7rem;border-radius:.3rem;font-weight:700;color:#fff}
.PASS{background:#1f7a3a}.FAIL{background:#b42318}.INCOMPLETE{background:#9a6700}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d8dde3;padding:.3rem .5rem;text-align:left}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#fdecea}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0}pre{background:#f6f8fa;border:1px solid #d8dde3;padding:.6rem;
overflow-x:auto;white-space:pre-wrap;word-break:break-all}section.failure{margin:1.5rem 0}
.muted{color:#5b6673}tr.idle td{color:#5b6673}
"""


def render(campaign: Campaign) -> str:
    """The self-contained report page."""
    e = html.escape
    data = [s.data for s in campaign.suites if s.data]
    shards = sorted({str(s.shard) for s in campaign.suites if s.shard}, key=lambda t: int(t.split("/")[0]))
    missing = ", ".join(f"{i}/{campaign.total_shards}" for i in campaign.missing_shards)
    facts = {
        "verdict": f'<span class="verdict {campaign.verdict}" id="verdict">{campaign.verdict}</span>',
        "targets": e(", ".join(sorted({str(d.get("target")) for d in data})) or "-"),
        "shards": e(", ".join(shards) or "unsharded")
        + (f' <strong id="missing-shards">missing: {e(missing)}</strong>' if campaign.missing_shards else ""),
        "seeds": e(", ".join(str(seed) for seed in sorted({d.get("seed") for d in data}, key=str))),
        "profiles": e(", ".join(sorted({str(d.get("profile")) for d in data}))),
        "example database": e(", ".join(sorted({str(d.get("exampleDb")) for d in data if d.get("exampleDb")})) or "-"),
        "JUnit testsuites": str(len(campaign.suites)),
        "violations": f'<span id="violation-count">{len(campaign.failures)}</span>',
        "not exercised": f'<a href="#not-exercised" id="not-exercised-count">{_rule_count(campaign)} rule(s)</a>',
    }
    if campaign.notes:
        facts["notes"] = '<ul id="notes">' + "".join(f"<li>{e(note)}</li>" for note in campaign.notes) + "</ul>"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Sales API contract campaign: {campaign.verdict}</title><style>{STYLE}</style></head><body>",
        "<h1>Sales API contract campaign</h1>",
        "<dl>" + "".join(f"<dt>{key}</dt><dd>{value}</dd>" for key, value in facts.items()) + "</dl>",
        _not_exercised_section(campaign),
        _operations_table(campaign),
        _checks_table(campaign),
        _failures_section(campaign),
        _left_section(campaign),
    ]
    if campaign.errors:
        parts.append('<h2 id="errors">Test errors outside the checks</h2>')
        for where, case, message in campaign.errors:
            parts.append(f"<p><strong>{e(case)}</strong> <span class='muted'>({e(where)})</span></p>")
            parts.append(f"<pre>{e(message)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _operations_table(campaign: Campaign) -> str:
    e = html.escape
    failed_checks: dict[str, list[Failure]] = defaultdict(list)
    for failure in campaign.failures:
        for operation in failure.operation.split(","):
            failed_checks[operation.strip()].append(failure)
    names = sorted(set(campaign.operations) | set(failed_checks))
    rows = []
    for name in names:
        outcome = campaign.operations.get(name, {"passed": 0, "failed": 0, "skipped": 0})
        links = ", ".join(f'<a href="#{f.anchor}">{e(f.check)}</a>' for f in failed_checks.get(name, []))
        css = ' class="failed"' if links or outcome["failed"] else ""
        rows.append(
            f'<tr{css} data-operation="{e(name)}"><td>{e(name)}</td><td class="n">{outcome["passed"]}</td>'
            f'<td class="n">{outcome["failed"]}</td><td class="n">{outcome["skipped"]}</td><td>{links or "-"}</td></tr>'
        )
    head = (
        "<tr><th>operation</th><th>checks passed</th><th>checks failed</th><th>not exercised</th>"
        "<th>failed checks</th></tr>"
    )
    return f'<h2 id="operations">Per operation</h2><table id="operations-table">{head}{"".join(rows)}</table>'


def _checks_table(campaign: Campaign) -> str:
    e = html.escape
    rows = []
    for name, outcome in sorted(campaign.checks.items()):
        css = ' class="failed"' if outcome["failed"] else (' class="idle"' if not outcome["passed"] else "")
        rows.append(
            f'<tr{css} data-check="{e(name)}"><td>{e(name)}</td><td class="n">{outcome["passed"]}</td>'
            f'<td class="n">{outcome["failed"]}</td><td class="n">{outcome["skipped"]}</td></tr>'
        )
    if not rows:
        return '<h2 id="checks">Per check</h2><p>No check outcomes recorded.</p>'
    head = "<tr><th>check</th><th>passed</th><th>failed</th><th>not exercised</th></tr>"
    return f'<h2 id="checks">Per check</h2><table id="checks-table">{head}{"".join(rows)}</table>'


def _failures_section(campaign: Campaign) -> str:
    e = html.escape
    if not campaign.failures:
        return '<h2 id="failures">Violations</h2><p>None.</p>'
    parts = [f'<h2 id="failures">Violations ({len(campaign.failures)})</h2>']
    for failure in campaign.failures:
        record = failure.record
        replay = ""
        if record.get("file"):
            command = record.get("replay") or f"sales-contract replay {record['file']}"
            replay = f'<p>Replay it where it was found:</p><pre class="replay">{e(str(command))}</pre>'
        parts.append(
            f'<section class="failure" id="{e(failure.anchor)}" data-operation="{e(failure.operation)}"'
            f' data-check="{e(failure.check)}">'
            f'<h3 class="failure-title">{e(failure.operation)} / {e(failure.check)}</h3>'
            f'<p class="muted">target {e(str(record.get("target")))}; found in {e(", ".join(failure.seen_in))}</p>'
            f'<pre class="message">{e(str(record.get("message", "")))}</pre>'
            + (f'<p>Request:</p><pre class="curl">{e(record["curl"])}</pre>' if record.get("curl") else "")
            + replay
            + f'<p>Run it again (same seed):</p><pre class="rerun">{e(str(record.get("rerun", "")))}</pre>'
            + "</section>"
        )
    return "".join(parts)


def _rule_count(campaign: Campaign) -> int:
    return len({rule for rules in campaign.not_exercised.values() for rule in rules})


def _not_exercised_section(campaign: Campaign) -> str:
    """The rules and checks that judged nothing, grouped by why: none of them counts as passed."""
    e = html.escape
    if not campaign.not_exercised:
        return '<h2 id="not-exercised">Not exercised</h2><p>Every rule was exercised.</p>'
    items = "".join(
        f'<li><strong class="reason">{e(reason)}</strong>: <span class="rules">{e(", ".join(rules))}</span></li>'
        for reason, rules in campaign.not_exercised.items()
    )
    return f'<h2 id="not-exercised">NOT EXERCISED (none counted as passed)</h2><ul id="not-exercised-list">{items}</ul>'


def _left_section(campaign: Campaign) -> str:
    """What the runs left on the target, by kind and id, with why."""
    e = html.escape
    uncleaned, closed = campaign.left.get("notCleaned", []), campaign.left.get("closed", [])
    if not uncleaned and not closed:
        return '<h2 id="left">Left on the target</h2><p>Nothing: every resource the runs created was deleted.</p>'
    parts = [f'<h2 id="left">Left on the target ({len(uncleaned)} not cleaned, {len(closed)} closed)</h2>']
    for title, items, anchor in (
        ("Could not be cleaned", uncleaned, "not-cleaned"),
        ("Closed, not deleted (archived, canceled, declined: the API deletes only drafts)", closed, "closed"),
    ):
        if items:
            rows = "".join(
                f"<tr><td>{e(str(i.get('kind')))}</td><td>{e(str(i.get('id')))}</td><td>{e(str(i.get('why')))}</td></tr>"
                for i in items
            )
            parts.append(
                f'<h3>{e(title)}</h3><table id="{anchor}"><tr><th>kind</th><th>id</th><th>why</th></tr>{rows}</table>'
            )
    return "".join(parts)
