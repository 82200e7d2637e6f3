"""The contract suite's oracle against the worked examples of docs/, then properties.

The oracle is written independently of ``mock_server``; if it is wrong, the suite accuses a
correct server, so it gets its own tests.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from contract_tests import oracle


def sub(
    amount: int, start: str, end: str, interval: str = "month", count: int = 1, **extra: object
) -> dict[str, object]:
    return {
        "status": "active",
        "unitAmount": amount,
        "quantity": 1,
        "interval": interval,
        "intervalCount": count,
        "currentPeriodStart": start,
        "currentPeriodEnd": end,
        **extra,
    }


def plan(amount: int, interval: str = "month", count: int = 1) -> dict[str, object]:
    return {"amount": amount, "interval": interval, "intervalCount": count}


def test_rounding_is_half_away_from_zero() -> None:
    assert [oracle.round_half_away(Fraction(n, 2)) for n in (5, -5, 3, -3)] == [3, -3, 2, -2]
    assert oracle.round_half_away(Fraction(-1117875, 10000)) == -112


def test_worked_example_1_upgrade() -> None:
    got = oracle.expected_proration(sub(2000, "2025-03-01", "2025-04-01"), plan(5000), date(2025, 3, 11))
    assert (got["daysInPeriod"], got["daysRemaining"]) == (31, 21)
    assert (got["credit"], got["charge"], got["net"]) == (-1355, 3387, 2032)
    assert [oracle.tax_amount(a, 825) for a in (-1355, 3387)] == [-112, 279]


def test_worked_example_2_downgrade() -> None:
    got = oracle.expected_proration(sub(5000, "2025-03-01", "2025-04-01"), plan(2000), date(2025, 3, 21))
    assert (got["credit"], got["charge"], got["net"]) == (-1774, 710, -1064)


def test_worked_example_3_cadence_change() -> None:
    got = oracle.expected_proration(sub(5000, "2025-03-01", "2025-04-01"), plan(50000, "year"), date(2025, 3, 11))
    assert (got["credit"], got["charge"], got["sameCadence"]) == (-3387, 50000, False)
    assert oracle.add_interval(date(2025, 3, 11), "year", 1) == date(2026, 3, 11)


def test_worked_example_4_jpy_and_kwd() -> None:
    jpy = oracle.expected_proration(sub(980, "2025-04-01", "2025-05-01"), plan(1980), date(2025, 4, 16))
    assert (jpy["credit"], jpy["charge"], jpy["net"]) == (-490, 990, 500)
    kwd = oracle.expected_proration(sub(12500, "2025-03-01", "2025-04-01"), plan(1), date(2025, 3, 11))
    assert kwd["credit"] == -8468


def test_mrr_example() -> None:
    subs = [
        sub(2000, "", ""),
        sub(60000, "", "", "year"),
        sub(15000, "", "", "month", 3),
        sub(1000, "", "", "week"),
        sub(99999, "", "", status="canceled"),
    ]
    for item in subs:
        item.setdefault("currency", "USD")
    exact = oracle.exact_mrr(subs)["USD"]
    assert (oracle.round_half_away(exact), oracle.round_half_away(12 * exact)) == (16333, 196000)


def test_month_end_anchor_clamps() -> None:
    anchor = date(2025, 1, 31)
    ends = [oracle.add_interval(anchor, "month", 1, n) for n in (1, 2, 3)]
    assert ends == [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]


def test_invoice_credit_rules() -> None:
    lines = [{"amount": 2000, "taxRateBps": 0, "taxAmount": 0}]
    invoice = {"lines": lines, "subtotal": 2000, "taxTotal": 0, "total": 2000, "creditApplied": 1064}
    invoice |= {"amountDue": 936, "status": "open"}
    assert oracle.problems_invoice(invoice, credit_before=1064) == []
    assert oracle.problems_invoice(invoice, credit_before=0)
    assert oracle.problems_invoice({**invoice, "creditApplied": 2000, "amountDue": 0}, credit_before=5000)


@given(st.integers(1, 10**6), st.integers(0, 10**7), st.integers(0, 10000), st.sampled_from([0, 825, 1999, 5000]))
def test_line_amount_matches_exact_decimal(quantity: int, price: int, discount: int, rate: int) -> None:
    exact = Fraction(quantity * price * (10000 - discount), 10000)
    amount = oracle.line_amount(quantity, price, discount)
    assert abs(amount - exact) <= Fraction(1, 2)
    assert oracle.tax_amount(amount, rate) * 10000 - amount * rate <= 5000


def test_dashboard_rates_round_to_four_decimals() -> None:
    assert oracle.rate(1, 3) == 0.3333 and oracle.rate(2, 3) == 0.6667 and oracle.rate(0, 0) is None


def test_churn_window_and_base() -> None:
    subs = [
        {"startDate": "2025-01-01", "trialEnd": None, "canceledAt": "2025-03-20T00:00:00Z"},  # base, churned
        {"startDate": "2025-01-01", "trialEnd": None, "canceledAt": None},  # base
        {"startDate": "2025-03-10", "trialEnd": None, "canceledAt": "2025-03-25T00:00:00Z"},  # churned, not base
        {"startDate": "2025-01-01", "trialEnd": None, "canceledAt": "2025-02-01T00:00:00Z"},  # before the window
    ]
    churn = oracle.expected_churn(subs, "2025-04-01T00:00:00Z")
    assert churn == {"windowDays": 30, "canceledSubscriptions": 2, "subscriptionChurnRate": 0.5}


def test_periods_count_from_the_anchor_through_leap_days_and_month_ends() -> None:
    anchor = date(2024, 1, 31)
    assert [oracle.add_interval(anchor, "month", 1, n) for n in (1, 2, 3, 13)] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2025, 2, 28),
    ]
    assert oracle.add_interval(date(2024, 2, 29), "year", 1) == date(2025, 2, 28)
    good = sub(3100, "2024-02-29", "2024-03-31", billingCycleAnchor="2024-01-31")
    assert oracle.problems_subscription_dates(good) == []
    drifted = sub(3100, "2024-02-29", "2024-03-29", billingCycleAnchor="2024-01-31")
    assert "ends 2024-03-31" in oracle.problems_subscription_dates(drifted)[0]
    off_grid = sub(3100, "2024-03-15", "2024-04-15", billingCycleAnchor="2024-01-31")
    assert "not a period boundary" in oracle.problems_subscription_dates(off_grid)[0]
    quarterly = sub(9000, "2025-05-30", "2025-08-31", "month", 3, billingCycleAnchor="2024-11-30")
    assert "ends 2025-08-30" in oracle.problems_subscription_dates(quarterly)[0]


def test_trial_ends_due_dates_and_quote_validity() -> None:
    trialing = {"startDate": "2024-02-20", "trialEnd": "2024-03-05", "status": "trialing"}
    assert oracle.problems_new_subscription(trialing, {"trialDays": 14}) == []  # across Feb 29
    assert oracle.problems_new_subscription({**trialing, "trialEnd": "2024-03-06"}, {"trialDays": 14})
    assert oracle.problems_new_subscription({**trialing, "trialEnd": "2024-03-06"}, {}) == []  # plan default: unknown
    invoice = {
        "issueDate": "2024-02-28",
        "dueDate": "2024-03-01",
        "periodStart": "2024-02-28",
        "periodEnd": "2024-03-28",
    }
    assert oracle.problems_invoice_dates(invoice, 2) == []
    assert oracle.problems_invoice_dates(invoice, 1)
    quote = {"issueDate": "2025-01-31", "validUntil": "2025-03-02"}
    assert oracle.problems_quote_dates(quote, {}) == []
    assert oracle.problems_quote_dates({**quote, "validUntil": "2025-03-01"}, {})
    assert oracle.problems_quote_dates({**quote, "validUntil": "2025-01-30"}, None)


def test_a_subscription_canceled_in_its_trial_keeps_the_trial_period() -> None:
    canceled = {
        "status": "canceled",
        "interval": "year",
        "intervalCount": 1,
        "trialEnd": "2025-03-15",
        "billingCycleAnchor": "2025-03-15",
        "currentPeriodStart": "2025-03-01",
        "currentPeriodEnd": "2025-03-15",
    }
    assert oracle.problems_subscription_dates(canceled) == []
    wrong_end = {**canceled, "currentPeriodEnd": "2026-03-01"}
    assert "trialEnd is 2025-03-15" in oracle.problems_subscription_dates(wrong_end)[0]


def test_numbers_must_increase_and_never_repeat() -> None:
    assert oracle.number_sequence("SO-000042", "SO") == 42 and oracle.number_sequence("SO-000042", "Q") is None
    assert oracle.problems_numbers_increase(["Q-000001", "Q-000002", "Q-000010"], "Q") == []
    reused = oracle.problems_numbers_increase(["SO-000005", "SO-000006", "SO-000006"], "SO")
    assert reused == ["SO-000006 was given after SO-000006: numbers must increase and never repeat"]
    assert oracle.problems_numbers_increase(["INV-000003", "INV-000002"], "INV")
    assert "not a Q-nnnnnn number" in oracle.problems_numbers_increase(["Q-12", "Q-000001"], "Q")[0]


def test_newest_first_and_creation_order() -> None:
    def item(rid: str, at: str, number: str | None = None) -> dict[str, object]:
        return {"id": rid, "createdAt": f"2025-03-0{at}T00:00:00Z", "number": number}

    newest_first = [item("c", "3", "Q-000003"), item("b", "3", "Q-000002"), item("a", "1", "Q-000001")]
    assert oracle.problems_newest_first(newest_first, "Q") == []
    assert oracle.problems_creation_order(newest_first, ["a", "b", "c"]) == []
    oldest_first = newest_first[::-1]
    assert len(oracle.problems_newest_first(oldest_first, "Q")) == 3  # one createdAt rise, two number rises
    assert len(oracle.problems_newest_first(oldest_first)) == 1  # equal createdAt: only numbers can tell
    assert "expected ['c', 'a']" in oracle.problems_creation_order(oldest_first, ["a", "c"])[0]
    assert "does not show" in oracle.problems_creation_order(newest_first, ["a", "z"])[0]


def test_lines_are_judged_against_the_request() -> None:
    sent = [
        {"description": "x", "quantity": 3, "unitPrice": 12345},
        {"quantity": 1, "unitPrice": 1001, "discountBps": 5000},
    ]
    exact = [
        {"unitPrice": 12345, "amount": 37035, "taxAmount": 3055},
        {"unitPrice": 1001, "amount": 501, "taxAmount": 41},
    ]
    assert oracle.problems_lines_as_sent({"lines": exact}, sent, 825) == []
    tens = [{"unitPrice": 12350, "amount": 37050, "taxAmount": 3057}, exact[1]]
    assert oracle.problems_lines_as_sent({"lines": tens}, sent, 825) == [
        "lines/0/unitPrice is 12350, 12345 from the request",
        "lines/0/amount is 37050, 37035 from the request",
        "lines/0/taxAmount is 3057, 3055 from the request",
    ]
    assert oracle.problems_lines_as_sent({"lines": exact[:1]}, sent, 825) == ["2 lines were sent, the answer has 1"]


def test_proration_halves_round_away_from_zero() -> None:
    """A 2-day period changed after one day: 2001 -> 3001 is a credit of -1000.5 and a charge of 1500.5."""
    got = oracle.expected_proration(
        sub(2001, "2025-03-01", "2025-03-03", "day", 2), plan(3001, "day", 2), date(2025, 3, 2)
    )
    assert (got["daysInPeriod"], got["daysRemaining"], got["credit"], got["charge"]) == (2, 1, -1001, 1501)
