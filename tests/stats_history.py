"""A seeded history for the numbers' tests, with the figures worked out by hand.

AMER (New York, 9-17, US holidays, an 8-working-hour SLA from submission). Now is Mon 9 Nov 2026 09:00 EST;
"last 30 days" runs from Sat 10 Oct 14:00 UTC. The US left daylight saving time on Sun 1 Nov.

| H | submitted (New York)  | then                                        | working hours to accept         |
| 1 | Fri 30 Oct 15:00 EDT  | accepted Mon 2 Nov 10:00 EST; met, next step | Fri 2 h + Mon 1 h = 3 h (*) |
| 2 | Mon 2 Nov 09:00 EST   | accepted 12:20; no-show                     | 3 h 20 min                      |
| 3 | Tue 3 Nov 16:00 EST   | accepted Thu 5 Nov 10:00 (deadline Wed 16:00: a breach); met | 1 h + 8 h + 1 h = 10 h |
| 4 | Wed 4 Nov 09:00 EST   | rejected 11:00, "No budget"                 |                                 |
| 5 | Thu 5 Nov 09:00 EST   | rejected 10:00, "Other"; a hostile company name |                             |
| 6 | Fri 6 Nov 09:00 EST   | still waiting (deadline Fri 17:00: a breach) |                                |

(*) a weekend and the change from EDT to EST between the submission and the accept.

Figures: 6 handoffs; 3 accepted, 2 rejected (60%); time to accept median 3 h 20 min, p90 10 h; 2 SLA
breaches; meetings held 3, 1 no-show (33%); IQM → SAO 3 of 5 decided (60%); reject reasons No budget 1,
Other 1; completion 1 of 3 accepted (33%). The 30 days before: nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.handoff import Handoff, State
from storage import handoffs as store
from storage.db import Database
from tests.teams_fixture import AE, SDR, ny, utc

NOW = utc(2026, 11, 9, 14)
HOSTILE = "=HYPERLINK(\"http://evil.example\",\"click\")"


def _handoff(n: int, created: datetime, state: State, **kw: Any) -> Handoff:
    values: dict[str, Any] = dict(
        id=0, state=state, revision=1, submission_key=f"seed-{n}-{created.timestamp()}", sdr_id=SDR, ae_id=AE,
        company=f"Company {n}", contact_name="Jane Doe", need="CI", compelling_event="Renewal", team_id="amer",
        ae_tz="America/New_York", sla_start=created, created_at=created, updated_at=kw.pop("updated_at", created),
        region="AMER",
    )
    values.update(kw)
    return Handoff(**values)


def _store(db: Database, h: Handoff, events: list[tuple[datetime, str, str | None, str | None, str | None]]) -> int:
    with db.write() as session:
        stored = store.insert_handoff(session, h)
        store.add_event(session, stored.id, actor=h.sdr_id, action="submitted", at=h.created_at, from_state=None,
                        to_state="pending")
        for at, action, from_state, to_state, reason in events:
            store.add_event(session, stored.id, actor=h.ae_id, action=action, at=at, from_state=from_state,
                            to_state=to_state, reason=reason)
        return stored.id


def seed_history(db: Database) -> list[int]:
    ids = []
    t1, a1 = ny(2026, 10, 30, 15), ny(2026, 11, 2, 10)
    ids.append(_store(db, _handoff(1, t1, State.ACCEPTED, decided_by=AE, decided_at=a1, meeting_outcome="completed",
                                   outcome_at=ny(2026, 11, 3, 12), next_step="Send pricing",
                                   completed_at=ny(2026, 11, 3, 12), updated_at=ny(2026, 11, 3, 12)),
                      [(a1, "accept", "pending", "accepted", None)]))
    t2, a2 = ny(2026, 11, 2, 9), ny(2026, 11, 2, 12, 20)
    ids.append(_store(db, _handoff(2, t2, State.ACCEPTED, decided_by=AE, decided_at=a2, meeting_outcome="no_show",
                                   outcome_at=ny(2026, 11, 4, 12), updated_at=ny(2026, 11, 4, 12)),
                      [(a2, "accept", "pending", "accepted", None)]))
    t3, a3 = ny(2026, 11, 3, 16), ny(2026, 11, 5, 10)
    ids.append(_store(db, _handoff(3, t3, State.ACCEPTED, decided_by=AE, decided_at=a3, meeting_outcome="completed",
                                   outcome_at=ny(2026, 11, 6, 12), updated_at=ny(2026, 11, 6, 12)),
                      [(a3, "accept", "pending", "accepted", None)]))
    t4, r4 = ny(2026, 11, 4, 9), ny(2026, 11, 4, 11)
    ids.append(_store(db, _handoff(4, t4, State.REJECTED, decided_by=AE, decided_at=r4, rejection_reason="no_budget",
                                   rejection_feedback="tiny", updated_at=r4),
                      [(r4, "reject", "pending", "rejected", "No budget: tiny")]))
    t5, r5 = ny(2026, 11, 5, 9), ny(2026, 11, 5, 10)
    ids.append(_store(db, _handoff(5, t5, State.REJECTED, decided_by=AE, decided_at=r5, rejection_reason="other",
                                   rejection_feedback="-1 seats", company=HOSTILE, updated_at=r5),
                      [(r5, "reject", "pending", "rejected", "Other: -1 seats")]))
    ids.append(_store(db, _handoff(6, ny(2026, 11, 6, 9), State.PENDING), []))
    return ids


def seed_many(db: Database, count: int, start: datetime, *, sdr: str = SDR, ae: str = AE) -> None:
    """`count` plain waiting handoffs, a minute apart, in one transaction (for paging)."""
    with db.write() as session:
        for i in range(count):
            at = start + timedelta(minutes=i)
            store.insert_handoff(session, _handoff(1000 + i, at, State.PENDING, sdr_id=sdr, ae_id=ae,
                                                   company=f"Bulk {i:03d}"))
