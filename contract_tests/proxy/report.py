"""The proxy's reports, written on exit: JUnit XML (one test case per operation) and a self-contained HTML page."""

from __future__ import annotations

import html
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _faults(snapshot: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    """(name, count, the first messages) per kind of upstream fault."""
    samples = snapshot["upstreamFaults"]
    return [
        ("upstream refused (answered 502)", snapshot["upstreamRefused"], samples.get("refused", [])),
        ("upstream timed out (answered 504)", snapshot["upstreamTimeouts"], samples.get("timeout", [])),
        (
            "upstream failed mid-answer (client connection aborted)",
            snapshot["upstreamAborted"],
            samples.get("aborted", []),
        ),
    ]


def write_junit(path: Path, snapshot: dict[str, Any], upstream: str, seconds: float) -> None:
    operations = snapshot["operations"]
    faults = [fault for fault in _faults(snapshot) if fault[1]]
    suite = ET.Element(
        "testsuite",
        name="sales-contract proxy",
        tests=str(len(operations) + len(faults)),
        failures=str(sum(1 for o in operations.values() if o["violations"])),
        errors=str(len(faults)),
        time=f"{seconds:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("upstream", upstream), ("exchanges", str(snapshot["exchanges"]))):
        ET.SubElement(props, "property", name=name, value=value)
    for name, op in operations.items():
        case = ET.SubElement(suite, "testcase", classname="proxy", name=name)
        statuses = ", ".join(f"{code}x{count}" for code, count in op["statuses"].items())
        ET.SubElement(case, "system-out").text = f"{op['exchanges']} exchanges; statuses {statuses}"
        if op["violations"]:
            first = op["samples"][0] if op["samples"] else {"problems": ["(details dropped)"]}
            failure = ET.SubElement(
                case, "failure", message=f"{op['violations']} violating exchanges: {first['problems'][0]}"[:1000]
            )
            failure.text = "\n\n".join(_sample_text(sample) for sample in op["samples"])
    for name, count, messages in faults:
        case = ET.SubElement(suite, "testcase", classname="proxy.upstream", name=name)
        ET.SubElement(case, "error", message=f"{count} exchanges").text = "\n".join([f"{name}: {count}", *messages])
    ET.indent(suite)
    _atomic_write(path, ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")


def _sample_text(sample: dict[str, Any]) -> str:
    lines = [f"#{sample['exchange']} {sample['method']} {sample['path']} -> {sample['status']}"]
    lines += [f"  - {problem}" for problem in sample["problems"]]
    lines.append(f"  {sample['curl']}")
    return "\n".join(lines)


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.bad{color:#b00020;font-weight:600}.ok{color:#16794a;font-weight:600}
pre{background:#f5f5f7;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
"""


def write_html(path: Path, snapshot: dict[str, Any], upstream: str, seconds: float) -> None:
    e = html.escape
    total = snapshot["violations"]
    rows = []
    for name, op in snapshot["operations"].items():
        cls, verdict = ("bad", f"{op['violations']} violations") if op["violations"] else ("ok", "pass")
        statuses = ", ".join(f"{code}&times;{count}" for code, count in op["statuses"].items())
        rows.append(
            f"<tr><td>{e(name)}</td><td>{op['exchanges']}</td><td>{statuses}</td><td class={cls}>{verdict}</td></tr>"
        )
    details = []
    for name, op in snapshot["operations"].items():
        if op["samples"]:
            details.append(f"<h3>{e(name)}</h3>")
            details += [f"<pre>{e(_sample_text(sample))}</pre>" for sample in op["samples"]]
    faults = "".join(
        f"<li>{e(name)}: {count}{''.join(f'<br><code>{e(m)}</code>' for m in messages)}</li>"
        for name, count, messages in _faults(snapshot)
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sales-contract proxy report</title><style>{_STYLE}</style></head>
<body>
<h1>sales-contract proxy report</h1>
<p>Upstream <code>{e(upstream)}</code>; {snapshot["exchanges"]} exchanges in {seconds:.0f} s;
<span class="{"bad" if total else "ok"}">{total} violating exchanges</span>;
{snapshot["uncheckedBodies"]} bodies too large to check.</p>
<ul>{faults}</ul>
<table><tr><th>operation</th><th>exchanges</th><th>statuses</th><th>verdict</th></tr>
{"".join(rows)}
</table>
<h2>Violations (first {20} per operation; secrets redacted)</h2>
{"".join(details) or "<p>None.</p>"}
</body></html>
"""
    _atomic_write(path, page)
