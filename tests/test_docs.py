"""``docs/``: the links resolve, the worked examples are what the mock computes, and the repository
refers to nothing outside itself."""

from __future__ import annotations

import os
import re
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from mock_server.domain.metrics import rate, revenue_rows
from mock_server.domain.money import apply_bps, line_amount, round_div
from mock_server.domain.periods import add_interval
from mock_server.domain.proration import prorated_charge, prorated_credit

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
SKIP_DIRS = {
    ".git",
    ".venv",
    ".venv-ci",
    ".cache",
    "node_modules",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sh", ".txt", ".json", ".js", ".html", ".css"}
OUTSIDE = ("../" + "shared", "SALES_" + "DOMAIN", "/work/" + "shared", "sales-api-" + "reference.txt")


def test_the_domain_pages_exist() -> None:
    names = {page.name for page in PAGES}
    assert {
        "README.md",
        "money.md",
        "statuses.md",
        "invoicing.md",
        "proration.md",
        "dunning.md",
        "dashboard.md",
    } <= names


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to a missing {target}"


def _project_text_files() -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIP_DIRS and not name.endswith(".egg-info")]
        for name in files:
            path = Path(folder, name)
            if path.suffix in TEXT_SUFFIXES or name in {"dev", "run"}:
                found.append(path)
    return found


def test_nothing_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in _project_text_files()
        for needle in OUTSIDE
        if needle in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not offenders, "the repository must stand alone (use docs/ and tests/data/):\n" + "\n".join(offenders)


def test_money_examples() -> None:
    assert (round_div(5, 2), round_div(-5, 2), round_div(-1117875, 10000)) == (3, -3, -112)
    assert (line_amount(3, 3333, 1500), apply_bps(8499, 825)) == (8499, 701)
    assert (line_amount(2, 45000, 1000), apply_bps(81000, 825)) == (81000, 6683)


def test_period_examples() -> None:
    anchor = date(2025, 1, 31)
    assert [add_interval(anchor, "month", 1, n) for n in range(1, 5)] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
    ]
    assert add_interval(date(2024, 1, 31), "month", 1) == date(2024, 2, 29)


def test_proration_examples() -> None:
    # 1. upgrade, 8.25 % tax
    credit, charge = prorated_credit(2000, 21, 31), prorated_charge(5000, 21, 31, True)
    assert (credit, charge, apply_bps(credit, 825), apply_bps(charge, 825)) == (-1355, 3387, -112, 279)
    # 2. downgrade; 3. change of cadence
    assert (prorated_credit(5000, 11, 31), prorated_charge(2000, 11, 31, True)) == (-1774, 710)
    assert prorated_credit(5000, 21, 31) + prorated_charge(50000, 21, 31, False) == 46613
    # 4. JPY and KWD; 5. quantity; 6. February at 19 %
    assert (prorated_credit(980, 15, 30), prorated_charge(1980, 15, 30, True), prorated_credit(12500, 21, 31)) == (
        -490,
        990,
        -8468,
    )
    assert (prorated_credit(3 * 1000, 15, 30), prorated_charge(5 * 1000, 15, 30, True)) == (-1500, 2500)
    credit, charge = prorated_credit(1200, 8, 28), prorated_charge(3000, 8, 28, True)
    assert (credit, charge, apply_bps(credit, 1900) + apply_bps(charge, 1900)) == (-343, 857, 98)


def test_dashboard_examples() -> None:
    assert (rate(3, 5), rate(2, 6), rate(1, 0)) == (0.6, 0.3333, None)
    usd = {
        "USD": (
            Fraction(5800) + Fraction(30000, 12) + Fraction(700 * 52, 12) + Fraction(100 * 365, 12),
            {"a", "b", "c"},
        )
    }
    (row,) = revenue_rows(usd, [], [], [])
    assert (row["mrr"], row["arr"], row["arpa"]) == (14375, 172500, 4792)
    (weekly,) = revenue_rows({"USD": (Fraction(1000 * 52, 12), {"a"})}, [], [], [])
    assert (weekly["mrr"], weekly["arr"]) == (4333, 52000)
