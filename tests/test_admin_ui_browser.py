"""The admin web UI used as a person would, in headless Chromium (Debian's, driven by Playwright).

The server runs with ``--admin-token``: the page loads without it, asks for it, then sends it. The
test advances an entity's clock a month, the app bills the subscription's new period, the page shows
the invoice (it refreshes live), the test pays it there and finds the app's request in the journal;
it makes a stub from a journal entry, and visits the fault and state pages. A second test reads the
demo entity's page: money with each currency's exponent, the "advance to" example, error messages.
A screenshot of every page goes to ``reports/screenshots/`` for a reviewer.

CI installs chromium with ``scripts/ci-system-deps.sh``; elsewhere the test is skipped without it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import CHROMIUM, QUIET_FLAGS
from livemock import running_mock

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
TOKEN = "ui-test-token"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    args = ["--fixtures", "empty", "--clock", "2025-03-01T00:00:00Z", "--admin-token", TOKEN, "--log-level", "warning"]
    with running_mock(*args, stop_signal=signal.SIGINT, stop_timeout=15) as url:
        yield url


class App:
    """The developer's app: calls the Sales API with the entity's key."""

    def __init__(self, url: str) -> None:
        self.admin = httpx.Client(base_url=url + "/__admin", headers={"Authorization": f"Bearer {TOKEN}"})
        created = self.admin.post("/entities", json={"name": "Acme (UI test)", "clock": "2025-03-01T00:00:00Z"}).json()
        self.entity_id: str = created["entityId"]
        self.sales = httpx.Client(
            base_url=url + "/api/sales",
            params={"entityId": self.entity_id},
            headers={"Authorization": f"Bearer {created['apiKeys']['readWrite']}"},
        )

    def close(self) -> None:
        self.admin.close()
        self.sales.close()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.sales.post(path, json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()


def test_clock_invoice_payment_journal_and_stub(server: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (scripts/ci-system-deps.sh)")
    from playwright.sync_api import expect

    app = App(server)
    customer = app.admin.post(f"/entities/{app.entity_id}/customers", json={"name": "Ada", "currency": "USD"}).json()
    plan_body = {"code": "team", "name": "Team", "currency": "USD", "amount": 4900, "interval": "month"}
    plan = app.post("/plans", plan_body)
    subscription = app.post("/subscriptions", {"planId": plan["id"], "customerId": customer["id"]})
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        _use_the_ui(app, server, subscription, expect)
    finally:
        app.close()


@contextlib.contextmanager
def _admin_page(server: str, height: int) -> Iterator[Any]:
    """The admin UI of ``server`` in a page of headless Chromium; no script error may happen on it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=QUIET_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": height})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server + "/__admin/ui")
        yield page
        browser.close()
    assert errors == []


def _use_the_ui(app: App, server: str, subscription: dict[str, Any], expect: Any) -> None:
    with _admin_page(server, 860) as page:
        # the page loads without the token, asks for it, then uses it for every call
        expect(page.locator("#token-form")).to_be_visible()
        page.screenshot(path=str(SHOTS / "0-token.png"))
        page.fill("#token", TOKEN)
        page.click("#token-form button")
        row = page.locator(f'tr[data-entity="{app.entity_id}"]')
        expect(row).to_be_visible()
        row.click()
        expect(page.locator("#entity-now")).to_have_text("2025-03-01T00:00:00Z")
        before = page.locator("tr[data-invoice]").count()

        page.click("#advance-month")
        expect(page.locator("#entity-now")).to_have_text("2025-04-01T00:00:00Z")
        billed = app.sales.post(f"/subscriptions/{subscription['id']}/generate-invoice", json={})
        assert billed.status_code == 201, billed.text
        expect(page.locator("tr[data-invoice]")).to_have_count(before + 1)
        page.screenshot(path=str(SHOTS / "1-entities.png"), full_page=True)
        pay = page.locator("button.pay").first
        expect(pay).to_be_visible()
        invoice_row = page.locator("tr[data-invoice]").filter(has=page.locator("button.pay")).first
        invoice_id = invoice_row.get_attribute("data-invoice")
        pay.click()
        expect(page.locator(f'tr[data-invoice="{invoice_id}"] .invoice-status')).to_have_text("paid")
        paid = app.admin.get(f"/entities/{app.entity_id}/invoices").json()["data"]
        assert [i["status"] for i in paid if i["id"] == invoice_id] == ["paid"]

        # the journal shows the app's request that made the invoice, bodies on click
        page.click("a[data-tab=journal]")
        entry = page.locator("#journal tbody tr").filter(has_text="/generate-invoice")
        expect(entry).to_have_count(1)
        expect(entry.locator(".ok").first).to_have_text("✓ spec")
        entry.click()
        expect(page.locator("#exchange-response")).to_contain_text(str(invoice_id))
        expect(page.locator("#exchange-request")).to_contain_text("authorization: [redacted]")
        page.select_option("#f-method", "GET")
        expect(page.locator("#journal tbody tr")).to_have_count(0)
        # the live journal picks up the app's next request by itself
        assert app.sales.get("/subscriptions").status_code == 200
        entry = page.locator("#journal tbody tr").filter(has_text="/api/sales/subscriptions")
        expect(entry).to_have_count(1, timeout=10_000)
        entry.click()
        expect(page.locator("#exchange-response")).to_contain_text(subscription["id"])
        page.select_option("#f-method", "")
        page.screenshot(path=str(SHOTS / "2-journal.png"), full_page=True)

        # a stub from that journal entry: the next identical request is answered by it
        page.click("#stub-from-entry")
        expect(page.locator("#tab-stubs")).to_be_visible()
        page.click("#stub-create")
        expect(page.locator("#stubs tr[data-stub]")).to_have_count(1)
        page.screenshot(path=str(SHOTS / "3-stubs.png"), full_page=True)
        stubbed = app.sales.get("/subscriptions")
        assert stubbed.headers.get("x-mock-stub")
        page.click("#stubs tr[data-stub] button")
        expect(page.locator("#stubs tr[data-stub]")).to_have_count(0)

        page.click("a[data-tab=faults]")
        page.fill("#faults-json", '{"rules": [{"operationId": "listPlans", "status": 503}]}')
        page.click("#faults-save")
        expect(page.locator("#status")).to_have_text("fault rules saved")
        assert app.sales.get("/plans").status_code == 503
        page.screenshot(path=str(SHOTS / "4-faults.png"), full_page=True)
        page.click("#faults-clear")
        expect(page.locator("#status")).to_have_text("faults removed")

        page.click("a[data-tab=state]")
        page.click("#state-export")
        expect(page.locator("#state-download")).to_be_visible()
        page.screenshot(path=str(SHOTS / "5-state.png"), full_page=True)


DEMO = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
GULF = "0b6f3c2e-7d1a-4e59-a8c4-2f9d5e1b7a60"  # the demo entity's KWD customer
MONEY_CASES = [(87683, "USD", "876.83 USD"), (1078, "JPY", "1,078 JPY"), (12500, "KWD", "12.500 KWD"),
               (5, "USD", "0.05 USD"), (7, "KWD", "0.007 KWD"), (-123456789, "EUR", "-1,234,567.89 EUR"),
               (9007199254740991, "JPY", "9,007,199,254,740,991 JPY"), (0, "BHD", "0.000 BHD")]  # fmt: skip


def _formatted(minor: int, currency: str) -> str:
    """The expected text, worked out apart from the page's script (exponent from the domain's table)."""
    from mock_server.domain.money import exponent

    places = exponent(currency)
    whole, fraction = divmod(abs(minor), 10**places)
    text = f"{whole:,}" + (f".{fraction:0{places}d}" if places else "")
    return ("-" if minor < 0 else "") + f"{text} {currency}"


@pytest.fixture(scope="module")
def demo_server() -> Iterator[str]:
    with running_mock("--clock", "2025-03-01T00:00:00Z", "--log-level", "warning", stop_signal=signal.SIGINT) as url:
        yield url


def test_money_dates_and_messages_as_a_person_reads_them(demo_server: str) -> None:
    """Money with its currency's exponent (1,078 JPY, not 10.78), the page opening on the demo entity,
    an "advance to" example after the entity's clock, one error for an empty advance, messages
    cleared on a tab switch."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (scripts/ci-system-deps.sh)")
    from playwright.sync_api import expect

    assert [_formatted(minor, currency) for minor, currency, _ in MONEY_CASES] == [text for *_, text in MONEY_CASES]
    with httpx.Client(base_url=demo_server) as http:  # a KWD invoice beside the demo's USD and JPY ones
        auth, params = {"Authorization": "Bearer ak_demo_readwrite"}, {"entityId": DEMO}
        plan = {"code": "kw-monthly", "name": "KW", "currency": "KWD", "amount": 12345, "interval": "month"}
        plan_id = http.post("/api/sales/plans", params=params, headers=auth, json=plan).json()["id"]
        made = http.post("/api/sales/subscriptions", params=params, headers=auth,
                         json={"planId": plan_id, "customerId": GULF})  # fmt: skip
        assert made.status_code == 201, made.text
        billed = http.post(f"/api/sales/subscriptions/{made.json()['id']}/generate-invoice", params=params,
                           headers=auth, json={})  # fmt: skip
        assert billed.status_code == 201, billed.text
        invoices = http.get(f"/__admin/entities/{DEMO}/invoices").json()["data"]
    assert {"USD", "JPY", "KWD"} <= {i["currency"] for i in invoices}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with _admin_page(demo_server, 900) as page:
        # it opens on the first entity, the demo one, with its invoices
        expect(page.locator("#entity-name")).to_have_text("Demo Co")
        expect(page.locator(f'tr[data-entity="{DEMO}"]')).to_have_class("clickable selected")
        expect(page.locator("tr[data-invoice]")).to_have_count(len(invoices))
        for invoice in invoices:
            cells = page.locator(f'tr[data-invoice="{invoice["id"]}"] td')
            expect(cells.nth(4)).to_have_text(_formatted(invoice["total"], invoice["currency"]))
            expect(cells.nth(5)).to_have_text(_formatted(invoice["amountDue"], invoice["currency"]))
        expect(page.locator("#invoices")).to_contain_text("1,078 JPY")
        page.screenshot(path=str(SHOTS / "6-money-by-currency.png"), full_page=True)
        # the script's one table of exponents is the domain's, and its formatting is exact
        table = page.evaluate("CURRENCY_EXPONENTS")
        from mock_server.domain.money import THREE_DECIMAL, ZERO_DECIMAL

        assert {c for c, e in table.items() if e == 0} == ZERO_DECIMAL
        assert {c for c, e in table.items() if e == 3} == THREE_DECIMAL and set(table.values()) == {0, 3}
        shown = page.evaluate("cases => cases.map(([minor, currency]) => money(minor, currency))", MONEY_CASES)
        assert shown == [text for *_, text in MONEY_CASES]
        # the "advance to" example comes after the entity's clock (2025-03-01)
        expect(page.locator("#advance-to")).to_have_attribute("placeholder", "2025-04-01T00:00:00Z")
        # an empty advance: one message, no request
        page.click("#advance-to-go")
        expect(page.locator("#status")).to_have_text("enter an instant to advance to, e.g. 2025-04-01T00:00:00Z")
        expect(page.locator("#status")).to_have_class("error")
        # a bad one: the server's message, once
        page.fill("#advance-to", "next week")
        page.click("#advance-to-go")
        expect(page.locator("#status")).to_contain_text("must be an RFC 3339 instant")
        assert page.locator("#status").inner_text().count("must be an RFC 3339 instant") == 1
        page.screenshot(path=str(SHOTS / "7-advance-error.png"))
        expect(page.locator("#entity-now")).to_have_text("2025-03-01T00:00:00Z")  # nothing moved
        # a message belongs to its tab
        page.click("a[data-tab=journal]")
        expect(page.locator("#status")).to_have_text("")
        page.click("a[data-tab=entities]")
        page.fill("#advance-to", "2025-04-01T00:00:00Z")
        page.click("#advance-to-go")
        expect(page.locator("#status")).to_have_text("clock advanced to 2025-04-01T00:00:00Z")
        expect(page.locator("#advance-to")).to_have_attribute("placeholder", "2025-05-01T00:00:00Z")
        page.click("a[data-tab=stubs]")
        expect(page.locator("#status")).to_have_text("")
