"""Due time events: the catch-up before every request, and its shortcut when nothing can be due."""

from __future__ import annotations

from datetime import UTC, datetime

from mock_server.clock import EntityClock
from mock_server.services.timeline import apply_due_events
from mock_server.store import EntityState, Store

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _sent_quote(entity: EntityState, quote_id: str, valid_until: str) -> None:
    quote = {"id": quote_id, "number": f"Q-{quote_id}", "status": "sent", "validUntil": valid_until}
    entity.add("quotes", {**quote, "updatedAt": "2025-01-01T00:00:00Z"})


def _entity() -> EntityState:
    return Store().add_entity(EntityState(id="e", name="E", base_currency="USD", clock=EntityClock()))


def test_an_event_pushed_after_a_catch_up_is_applied_at_the_same_instant() -> None:
    entity = _entity()
    _sent_quote(entity, "later", "2025-06-30")
    apply_due_events(entity, NOW)
    assert entity.read("quotes", "later")["status"] == "sent"
    assert entity.caught_up.mark is not None
    _sent_quote(entity, "past", "2025-02-01")  # due at once: it becomes the first event
    apply_due_events(entity, NOW)
    assert entity.read("quotes", "past")["status"] == "expired"
    assert entity.read("quotes", "later")["status"] == "sent"


def test_a_later_instant_applies_what_became_due() -> None:
    entity = _entity()
    _sent_quote(entity, "q", "2025-03-10")
    apply_due_events(entity, NOW)
    apply_due_events(entity, NOW)  # the shortcut: nothing due
    assert entity.read("quotes", "q")["status"] == "sent"
    apply_due_events(entity, datetime(2025, 3, 11, tzinfo=UTC))
    assert entity.read("quotes", "q")["status"] == "expired"


def test_the_shortcut_never_skips_a_due_event() -> None:
    """Even with a stale mark (same instant, same first event), an event already due is applied:
    the mark is only written after a catch-up, when the first event is not due."""
    entity = _entity()
    _sent_quote(entity, "due", "2025-02-01")
    entity.caught_up.mark = (NOW, None, None)  # a mark from before the quote was sent
    apply_due_events(entity, NOW)
    assert entity.read("quotes", "due")["status"] == "expired"
