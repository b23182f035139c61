"""Numbers on demand, through the real app: `/handoff stats` and `/handoff export` as signed slash commands,
checked against figures worked out by hand (tests/stats_history.py), who may see what, the CSV and chart
files uploaded the way files_upload_v2 uploads them, and `handoff-bot export`."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ADMIN

from bot.core.handoff import State
from bot.core.stats import EXPORT_COLUMNS
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from tests.stats_history import HOSTILE, NOW, _handoff, _store
from tests.teams_fixture import AE, AE2, EU_SDR, MANAGER, SDR, ny, settle, utc
from tests.test_commands import ask

ROOT = Path(__file__).resolve().parent.parent


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_team_figures_match_the_hand_computed_ones(seeded: LocalBot) -> None:
    _, text = ask(seeded.driver, MANAGER, "stats team last 30 days")
    assert "Numbers · team AMER Mid-Market · last 30 days" in text
    assert "*Handoffs* 6 (before: 0)" in text
    assert "*Acceptance rate* 60% (before: —) · 3 accepted, 2 rejected" in text
    # 3 h across a weekend and the end of daylight saving time, 3 h 20 min, 10 h.
    assert "*Time to accept* (working hours) median 3 h 20 min (before: —) · p90 10 h (before: —)" in text
    assert "*SLA breaches* 2 (before: 0)" in text
    assert "*No-show rate* 33% (before: —) · 1 of 3 meetings" in text
    assert "*IQM → SAO* 60% (before: —) · 3 of 5 IQMs" in text
    assert "*Completion rate* 33% (before: —) · 1 of 3 accepted are complete" in text
    assert "• No budget: 1" in text and "• Other: 1" in text
    assert f"• <@{SDR}> 6" in text  # handoffs per SDR
    assert "now 1 waiting, 1 overdue" in text
    assert "0.0" not in text
    # The per-rep table: the SDR's line and each AE's.
    assert f"<@{SDR}> SDR · 6 handoffs · accepted 60%" in text
    assert f"<@{AE}> AE · 3 accepted, 2 rejected · median 3 h 20 min, p90 10 h · 2 breaches · 1 waiting" in text
    assert f"<@{AE2}> AE · 0 accepted, 0 rejected · median —, p90 —" in text


def test_this_week_counts_from_monday_in_the_team_zone(seeded: LocalBot) -> None:
    # Friday 16:00 in New York: this week since Monday 00:00 EST has H-2..H-6; the same stretch of last week
    # (Mon 26 Oct 00:00 EDT to Fri 30 Oct 16:00 EDT, across the change of offset) has H-1, submitted at 15:00.
    seeded.clock.set(ny(2026, 11, 6, 16))  # type: ignore[union-attr]
    _, text = ask(seeded.driver, MANAGER, "stats team this week")
    assert "*Handoffs* 5 (before: 1)" in text
    assert "Mon 02 Nov 2026 – Fri 06 Nov 2026 · compared with Mon 26 Oct 2026 – Fri 30 Oct 2026" in text
    seeded.clock.set(NOW)  # type: ignore[union-attr]
    _, monday = ask(seeded.driver, MANAGER, "stats team this week")  # Monday 09:00: nothing yet, nor last Monday
    assert "*Handoffs* 0" in monday


def test_stats_sends_the_weekly_trend_as_a_png(seeded: LocalBot, standin: SlackStandIn) -> None:
    ask(seeded.driver, MANAGER, "stats")
    [done] = standin.wait_for("files.completeUploadExternal", timeout=20)
    [shared] = done.response["files"]
    assert standin.file_bytes(shared["id"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert done.args["channel_id"] == standin.dm_channel_id(MANAGER)
    assert standin.calls_to("files.getUploadURLExternal")[0].ok


@pytest.mark.parametrize(("user", "words", "refusal"), [
    (SDR, "stats team", "AMER Mid-Market's numbers are for its managers and admins"),
    (SDR, f"stats <@{AE}|noah>", f"<@{AE}>'s numbers are for their team's managers and admins"),
    (MANAGER, f"stats <@{EU_SDR}|berta>", f"<@{EU_SDR}>'s numbers are for their team's managers and admins"),
    (MANAGER, "stats team emea", "EMEA's numbers are for its managers and admins"),
    (MANAGER, "stats everyone", "Everyone's numbers are for admins"),
    (SDR, "export team", "AMER Mid-Market's numbers are for its managers and admins"),
    (SDR, "stats next year", "I don't know the period `next year`"),
])
def test_who_may_see_what_is_refused_politely(seeded: LocalBot, standin: SlackStandIn, user: str, words: str,
                                               refusal: str) -> None:
    _, text = ask(seeded.driver, user, words)
    assert refusal in text
    assert "Handoffs*" not in text
    settle(seeded)
    assert not standin.calls_to("files.getUploadURLExternal")


def test_each_sees_what_they_may(seeded: LocalBot) -> None:
    _, own = ask(seeded.driver, SDR, "stats")
    assert "Numbers · one person · last 30 days" in own and "*Handoffs* 6" in own
    _, ae = ask(seeded.driver, AE, "stats quarter")
    assert "*Acceptance rate* 60%" in ae and "quarter" in ae
    _, rep = ask(seeded.driver, MANAGER, f"stats <@{SDR}|nina> quarter")
    assert "*Handoffs* 6 (before: 0)" in rep
    _, everyone = ask(seeded.driver, ADMIN, "stats everyone")
    assert "Numbers · everyone · last 30 days" in everyone and "*Handoffs* 6" in everyone
    _, emea = ask(seeded.driver, ADMIN, "stats team emea")
    assert "*Handoffs* 0\n" in emea  # the same as before: said once


def test_export_sends_a_spreadsheet_safe_csv(seeded: LocalBot, standin: SlackStandIn) -> None:
    _, text = ask(seeded.driver, MANAGER, "export team last 30 days")
    assert "Exporting 6 handoffs" in text
    [done] = standin.wait_for("files.completeUploadExternal", timeout=20,
                              where=lambda c: "csv" in str(c.response.get("files")))
    [shared] = done.response["files"]
    assert shared["name"].startswith("handoffs-amer-") and shared["name"].endswith(".csv")
    rows = list(csv.reader(io.StringIO(standin.file_bytes(shared["id"]).decode())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["handoff"] for r in body] == ["H-1", "H-2", "H-3", "H-4", "H-5", "H-6"]
    assert [r["working_hours_to_accept"] for r in body[:3]] == ["3.00", "3.33", "10.00"]
    assert [r["sla_breached"] for r in body] == ["no", "no", "yes", "no", "no", "yes"]
    assert body[4]["company"] == "'" + HOSTILE  # a formula shows as text
    assert body[3]["reject_reason"] == "No budget"
    assert body[0]["created_at"] == "2026-10-30T19:00:00Z"


def test_cli_export_writes_the_file_for_revenue_operations(seeded: LocalBot, tmp_path: Path) -> None:
    out = tmp_path / "revops.csv"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": seeded.settings.database_url}
    result = subprocess.run([sys.executable, "-m", "bot", "export", "--from", "2026-11-02", "--to", "2026-11-05",
                             "--team", "amer", "--out", str(out)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "4 handoffs written" in result.stderr
    rows = list(csv.reader(out.open(newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [r[0] for r in rows[1:]] == ["H-2", "H-3", "H-4", "H-5"]  # 2 Nov through 5 Nov, UTC days
    assert rows[4][4] == "'" + HOSTILE

    bad = subprocess.run([sys.executable, "-m", "bot", "export", "--from", "2026-11-05", "--to", "2026-11-02"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--to is before --from" in bad.stderr
    nobody = subprocess.run([sys.executable, "-m", "bot", "export", "--from", "2026-11-01", "--to", "2026-11-02",
                             "--team", "mars"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert nobody.returncode == 2 and "no team 'mars'" in nobody.stderr


def test_upload_is_refused_without_the_bytes(standin: SlackStandIn) -> None:
    """The stand-in is truthful about files_upload_v2's three steps: completing an upload whose bytes never
    came is refused, as Slack does."""
    from slack_sdk import WebClient

    client = WebClient(token=standin.token, base_url=standin.base_url)
    got = client.files_getUploadURLExternal(filename="a.csv", length=3)
    with pytest.raises(Exception, match="file_upload_not_found"):
        client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "a"}])
    done = client.files_upload_v2(content="a,b", filename="b.csv", channel="C_GENERAL")
    assert standin.file_bytes(done["file"]["id"]) == b"a,b"
    assert standin.shared_files("C_GENERAL")[0].filename == "b.csv"


def test_help_and_driver_unused(driver: SlackDriver) -> None:
    _, text = ask(driver, "U_SDR1", "help")
    assert "`/handoff stats" in text and "`/handoff export" in text


def test_the_30_days_before_are_counted_as_the_period_was(seeded: LocalBot) -> None:
    """A month on, the same history is the period before: every figure moves to "before" unchanged."""
    seeded.clock.set(utc(2026, 12, 9, 14))  # type: ignore[union-attr]
    _, text = ask(seeded.driver, MANAGER, "stats team last 30 days")
    assert "*Handoffs* 0 (before: 6)" in text
    assert "(before: 60%)" in text
    assert "median — (before: 3 h 20 min) · p90 — (before: 10 h)" in text
    assert "*SLA breaches* 0 (before: 2)" in text
    assert "now 1 waiting, 1 overdue" in text
    assert f"<@{AE}> AE · 0 accepted, 0 rejected · median —, p90 — · 0 breaches · 1 waiting" in text


def test_a_handoff_accepted_then_rejected_counts_each_decision_and_its_sao(seeded: LocalBot) -> None:
    """H-7 (to the second AE): accepted after 1 h, then rejected. Both decisions count, each to its figure, and
    the meeting it was accepted for counts as an SAO though the handoff ended rejected."""
    t7 = ny(2026, 11, 6, 10)
    _store(seeded.db, _handoff(7, t7, State.REJECTED, ae_id=AE2, decided_by=AE2, decided_at=t7 + timedelta(hours=2),
                               rejection_reason="other", updated_at=t7 + timedelta(hours=2)),
           [(t7 + timedelta(hours=1), "accept", "pending", "accepted", None),
            (t7 + timedelta(hours=2), "reject", "accepted", "rejected", "Timing: next quarter")])
    _, text = ask(seeded.driver, MANAGER, "stats team last 30 days")
    assert "*Handoffs* 7 (before: 0)" in text
    assert "*Acceptance rate* 57% (before: —) · 4 accepted, 3 rejected" in text
    assert "median 3 h 10 min (before: —)" in text  # 1 h, 3 h, 3 h 20 min, 10 h
    assert "*IQM → SAO* 67% (before: —) · 4 of 6 IQMs" in text
    assert "• Timing: 1" in text
    assert f"<@{AE2}> AE · 1 accepted, 1 rejected · median 1 h, p90 1 h · 0 breaches · 0 waiting" in text
    assert f"<@{SDR}> SDR · 7 handoffs · accepted 57%" in text
