"""The AE's decision and what follows it: accept, reject, revise and resubmit, withdraw, reassign, races.

Every test drives the real app with signed Slack requests and reads what the Slack stand-in
recorded and what the SQLite store holds. Nothing of the project is mocked.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import select

from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage import handoffs as store
from bot.core.handoff import Event, Handoff
from bot.core.refs import HandoffRef
from storage.models import OutboxMessage
from flow import handoff_submitted, later, posts_to

DECISIONS = ("accept", "reject", "revise", "withdraw", "reassign")


# ---------------------------------------------------------------------- helpers


def settle(bot: LocalBot) -> None:
    """Let the listeners' background work finish, then deliver everything the outbox owes now."""
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def handoff(bot: LocalBot, handoff_id: int = 1) -> Handoff:
    found = store.get_handoff(bot.db, handoff_id)
    assert found is not None
    return found


def trail(bot: LocalBot, handoff_id: int = 1) -> list[Event]:
    return store.audit_trail(bot.db, handoff_id)


def decisions(bot: LocalBot, handoff_id: int = 1) -> list[Event]:
    return [e for e in trail(bot, handoff_id) if e.action in DECISIONS]


def ephemerals(standin: SlackStandIn, user: str) -> list[str]:
    return [c.args.get("text") or "" for c in standin.calls_to("chat.postEphemeral")
            if c.ok and c.args.get("user") == user]


def updates_of(standin: SlackStandIn, where: tuple[str, str]) -> list[Any]:
    return [c for c in standin.calls_to("chat.update")
            if c.ok and (c.args.get("channel"), str(c.args.get("ts"))) == where]


def action_ids(message: dict[str, Any]) -> list[str]:
    return [el.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions"
            for el in b.get("elements", [])]


def text_of(standin: SlackStandIn, where: tuple[str, str]) -> str:
    return json.dumps(standin.messages[where], ensure_ascii=False)


def notices(standin: SlackStandIn, user: str, word: str) -> list[Any]:
    """Posts (not card posts) to `user` whose fallback text says `word` about H-1."""
    return [c for c in posts_to(standin, user) if f"{word} *H-1" in (c.args.get("text") or "")]


def sdr_card(standin: SlackStandIn, user: str = "U_SDR1") -> tuple[str, str]:
    call = standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == user
                            and "You handed off" in (c.args.get("text") or ""))[0]
    return call.response["channel"], call.response["ts"]


def opened_view(standin: SlackStandIn, before: int) -> dict[str, Any]:
    call = standin.wait_for("views.open", count=before + 1)[before]
    return call.response["view"]


def click_old_card(bot: LocalBot, user: str, action_id: str, card_post: Any) -> None:
    """Click a button on a card as it was first posted (the user's client still shows the old buttons)."""
    channel, ts = card_post.response["channel"], card_post.response["ts"]
    blocks = card_post.response["message"]["blocks"]
    block, element = bot.driver.find_button(blocks, action_id)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": bot.driver.team_id},
        "api_app_id": bot.driver.api_app_id, "token": "legacy",
        "trigger_id": bot.standin.issue_trigger_id(user),
        "team": {"id": bot.driver.team_id, "domain": bot.driver.team_domain},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "directmessage"},
        "message": card_post.response["message"],
        "state": {"values": {}},
        "response_url": bot.standin.response_url_for(user, channel, ts),
        "actions": [{"action_id": action_id, "block_id": block.get("block_id"), "type": "button",
                     "value": element["value"], "action_ts": f"{time.time():.6f}"}],
    }
    assert bot.driver.post_payload(payload).status == 200


def ae_card_posts(standin: SlackStandIn, user: str) -> list[Any]:
    return [c for c in posts_to(standin, user) if "handoff_accept" in str(c.args)]


def reject_form(bot: LocalBot, standin: SlackStandIn, card: tuple[str, str], user: str = "U_AE1") -> str:
    before = len(standin.calls_to("views.open"))
    assert bot.driver.click(user, "handoff_reject", message=card).status == 200
    view = opened_view(standin, before)
    assert view["callback_id"] == "handoff_reject_submit"
    return view["id"]


def rejected(bot: LocalBot, standin: SlackStandIn, card: tuple[str, str]) -> tuple[str, str]:
    """Reject H-1 as U_AE1; return (channel, ts) of the rejection notice the SDR gets."""
    view_id = reject_form(bot, standin, card)
    response = bot.driver.submit_view("U_AE1", view_id, {"reason": "no_budget", "feedback": "No budget until Q3."})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    notice = standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "U_SDR1"
                              and "rejected *H-1" in (c.args.get("text") or ""))[0]
    return notice.response["channel"], notice.response["ts"]


# ---------------------------------------------------------------------- accept


def test_accept_updates_both_cards_in_place_and_tells_the_sdr(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    sdr = sdr_card(standin)
    settle(bot)
    assert "handoff_accept" in action_ids(standin.messages[card])

    assert driver.click("U_AE1", "handoff_accept", message=card).status == 200
    settle(bot)

    # The AE card: edited in place, same channel and ts, no buttons left, says who accepted.
    assert len(updates_of(standin, card)) == 1
    assert action_ids(standin.messages[card]) == []
    assert "Accepted by <@U_AE1>" in text_of(standin, card)
    # The SDR's card: edited in place too, and a new DM says it was accepted.
    assert len(updates_of(standin, sdr)) == 1
    assert "Accepted by <@U_AE1>" in text_of(standin, sdr)
    assert action_ids(standin.messages[sdr]) == []
    accepted = notices(standin, "U_SDR1", "accepted")
    assert len(accepted) == 1 and "<@U_AE1> accepted" in accepted[0].args["text"]

    h = handoff(bot)
    assert (h.state, h.decided_by, h.decided_at) == ("accepted", "U_AE1", bot.clock.now())
    events = trail(bot)
    assert [(e.action, e.from_state, e.to_state, e.actor) for e in events] == [
        ("submitted", None, "pending", "U_SDR1"),
        ("accept", "pending", "accepted", "U_AE1"),
    ]


def test_admin_may_accept(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    driver.click("U_ADMIN", "handoff_accept", message=card)
    settle(bot)
    h = handoff(bot)
    assert (h.state, h.decided_by) == ("accepted", "U_ADMIN")
    assert "Accepted by <@U_ADMIN>" in text_of(standin, card)
    assert ephemerals(standin, "U_ADMIN") == []


def test_stranger_cannot_accept(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    settle(bot)
    updates_before = len(standin.calls_to("chat.update"))

    driver.click("U_STRANGER", "handoff_accept", message=card)
    settle(bot)

    told = ephemerals(standin, "U_STRANGER")
    assert len(told) == 1
    assert "Only the assigned AE (<@U_AE1>) or an admin can accept H-1" in told[0]
    assert handoff(bot).state == "pending"
    assert len(standin.calls_to("chat.update")) == updates_before
    assert updates_of(standin, card) == []
    assert "handoff_accept" in action_ids(standin.messages[card])
    assert decisions(bot) == []


def test_second_accept_says_already_accepted_by_whom_and_when(bot, standin, driver, clock):
    card = handoff_submitted(standin, driver)
    # The second click comes from a client still showing the buttons (the update has not landed).
    first_post = ae_card_posts(standin, "U_AE1")[0]
    driver.click("U_AE1", "handoff_accept", message=card)
    settle(bot)
    accepted_at = clock.now()
    clock.advance(later(minutes=5))

    click_old_card(bot, "U_AE1", "handoff_accept", first_post)
    settle(bot)

    told = ephemerals(standin, "U_AE1")
    assert len(told) == 1
    # 14:00 UTC is 15:00 in Berlin, the clicker's zone.
    assert (f"H-1 was already accepted by <@U_AE1> on <!date^{int(accepted_at.timestamp())}^{{date_short_pretty}} "
            "at {time}|Mon 23 Nov 2026, 15:00 CET>") in told[0]
    assert len(notices(standin, "U_SDR1", "accepted")) == 1
    assert len(decisions(bot)) == 1
    assert handoff(bot).decided_at == accepted_at


# ---------------------------------------------------------------------- reject


def test_reject_opens_a_modal_and_needs_feedback(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    view_id = reject_form(bot, standin, card)

    response = driver.submit_view("U_AE1", view_id, {"reason": "no_need"})
    body = response.json()
    assert body is not None and body["response_action"] == "errors"
    assert set(body["errors"]) == {"feedback"}
    assert view_id in standin.open_views("U_AE1")  # the modal stays open with what was typed
    assert handoff(bot).state == "pending"
    assert decisions(bot) == []


def test_reject_with_feedback_updates_the_card_and_coaches_the_sdr(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    view_id = reject_form(bot, standin, card)
    response = driver.submit_view("U_AE1", view_id, {"reason": "no_decision_path",
                                                      "feedback": "Find who signs before the call."})
    assert response.status == 200 and not response.body
    settle(bot)

    assert len(updates_of(standin, card)) == 1
    assert "Rejected by <@U_AE1>" in text_of(standin, card)
    assert action_ids(standin.messages[card]) == []

    notice = notices(standin, "U_SDR1", "rejected")
    assert len(notice) == 1
    message = standin.messages[(notice[0].response["channel"], notice[0].response["ts"])]
    shown = json.dumps(message)
    assert "No path to the decision maker" in shown
    assert "Find who signs before the call." in shown
    assert action_ids(message) == ["handoff_revise", "handoff_withdraw"]
    buttons = [el["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert buttons == ["Revise and resubmit", "Withdraw"]

    h = handoff(bot)
    assert (h.state, h.rejection_reason, h.rejection_feedback) == (
        "rejected", "no_decision_path", "Find who signs before the call.")
    assert [e.action for e in trail(bot)] == ["submitted", "reject"]


def test_stranger_cannot_open_the_reject_form(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    opened = len(standin.calls_to("views.open"))
    driver.click("U_STRANGER", "handoff_reject", message=card)
    settle(bot)
    told = ephemerals(standin, "U_STRANGER")
    assert len(told) == 1 and "Only the assigned AE (<@U_AE1>) or an admin can reject H-1" in told[0]
    assert len(standin.calls_to("views.open")) == opened
    assert handoff(bot).state == "pending"


# ---------------------------------------------------------------------- revise and resubmit


def test_revise_and_resubmit(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    old_card_post = ae_card_posts(standin, "U_AE1")[0]
    notice = rejected(bot, standin, card)

    # A stranger cannot revise.
    opened = len(standin.calls_to("views.open"))
    driver.click("U_STRANGER", "handoff_revise", message=notice)
    settle(bot)
    assert len(standin.calls_to("views.open")) == opened
    assert "Only the SDR who submitted it (<@U_SDR1>) or an admin can revise H-1" in ephemerals(standin, "U_STRANGER")[0]

    # The SDR opens the form again, prefilled with what was stored.
    driver.click("U_SDR1", "handoff_revise", message=notice)
    view = opened_view(standin, opened)
    assert view["callback_id"] == "handoff_submit"
    assert HandoffRef.parse(view["private_metadata"]) == HandoffRef(1, 1)  # the revision it revises
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements["company"]["initial_value"] == "Acme Corp"
    assert elements["contact_name"]["initial_value"] == "Jane Doe"
    assert elements["need"]["initial_value"] == "Docs for 40 engineers"
    assert elements["ae_id"]["initial_user"] == "U_AE1"
    assert elements["employee_count"]["initial_value"] == "250"

    response = driver.submit_view("U_SDR1", view["id"], {"need": "Docs for 120 engineers, SSO first"})
    assert response.status == 200 and not response.body, response.body
    settle(bot)

    h = handoff(bot)
    assert (h.state, h.revision, h.need) == ("pending", 2, "Docs for 120 engineers, SSO first")
    assert h.company == "Acme Corp" and h.employee_count == 250  # untouched answers kept
    # The old card says it was revised and has no buttons; a fresh card with Accept went out.
    assert "The SDR revised this handoff" in text_of(standin, card)
    assert action_ids(standin.messages[card]) == []
    posts = ae_card_posts(standin, "U_AE1")
    assert len(posts) == 2
    new_card = (posts[1].response["channel"], posts[1].response["ts"])
    assert new_card != card
    assert "handoff_accept" in action_ids(standin.messages[new_card])
    assert "Docs for 120 engineers" in text_of(standin, new_card)
    # The rejection notice loses its buttons.
    assert action_ids(standin.messages[notice]) == []

    # Accept on the old card (revision 1): nothing changes, the clicker hears the card is out of date.
    click_old_card(bot, "U_AE1", "handoff_accept", old_card_post)
    settle(bot)
    told = ephemerals(standin, "U_AE1")
    assert len(told) == 1 and "This card is out of date" in told[0]
    assert handoff(bot).state == "pending"
    assert [e.action for e in decisions(bot)] == ["reject", "revise"]

    # Accept on the new card works.
    driver.click("U_AE1", "handoff_accept", message=new_card)
    settle(bot)
    assert handoff(bot).state == "accepted"
    assert "Accepted by <@U_AE1>" in text_of(standin, new_card)
    assert [e.action for e in decisions(bot)] == ["reject", "revise", "accept"]


# ---------------------------------------------------------------------- withdraw


def test_withdraw_by_the_sdr_and_not_by_the_ae(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    mine = sdr_card(standin)
    settle(bot)

    # The AE is refused.
    driver.click("U_AE1", "handoff_withdraw", message=mine)
    settle(bot)
    told = ephemerals(standin, "U_AE1")
    assert len(told) == 1 and "Only the SDR who submitted it (<@U_SDR1>) or an admin can withdraw H-1" in told[0]
    assert handoff(bot).state == "pending"
    assert updates_of(standin, card) == []

    driver.click("U_SDR1", "handoff_withdraw", message=mine)
    settle(bot)

    h = handoff(bot)
    assert (h.state, h.decided_by) == ("withdrawn", "U_SDR1")
    assert len(updates_of(standin, card)) == 1
    assert "Withdrawn by <@U_SDR1>" in text_of(standin, card)
    assert action_ids(standin.messages[card]) == []
    assert action_ids(standin.messages[mine]) == []
    withdrawn = notices(standin, "U_AE1", "withdrew")
    assert len(withdrawn) == 1 and "<@U_SDR1> withdrew" in withdrawn[0].args["text"]
    assert [e.action for e in trail(bot)] == ["submitted", "withdraw"]


# ---------------------------------------------------------------------- reassign


def test_reassign_to_another_ae(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    old_card_post = ae_card_posts(standin, "U_AE1")[0]
    settle(bot)

    before = len(standin.calls_to("views.open"))
    driver.click("U_AE1", "handoff_reassign", message=card)
    view = opened_view(standin, before)
    assert view["callback_id"] == "handoff_reassign_submit"

    for wrong, says in (("U_AE1", "has it already"), ("U_SDR1", "the SDR"), ("U_BOT", "bot")):
        body = driver.submit_view("U_AE1", view["id"], {"new_ae": wrong}).json()
        assert body is not None and body["response_action"] == "errors", wrong
        assert set(body["errors"]) == {"new_ae"} and says in body["errors"]["new_ae"], (wrong, body)
        assert (handoff(bot).ae_id, handoff(bot).revision) == ("U_AE1", 1)

    response = driver.submit_view("U_AE1", view["id"], {"new_ae": "U_AE2", "note": "Dave covers AMER"})
    assert response.status == 200 and not response.body, response.body
    settle(bot)

    h = handoff(bot)
    assert (h.state, h.ae_id, h.revision) == ("pending", "U_AE2", 2)
    assert "Reassigned to <@U_AE2>" in text_of(standin, card)
    assert action_ids(standin.messages[card]) == []
    fresh = ae_card_posts(standin, "U_AE2")
    assert len(fresh) == 1
    new_card = (fresh[0].response["channel"], fresh[0].response["ts"])
    told_sdr = notices(standin, "U_SDR1", "reassigned")
    assert len(told_sdr) == 1
    assert "from <@U_AE1> to <@U_AE2>" in told_sdr[0].args["text"] and "Dave covers AMER" in told_sdr[0].args["text"]
    reassign = decisions(bot)[-1]
    assert (reassign.action, reassign.actor, reassign.reason) == ("reassign", "U_AE1", "Dave covers AMER")

    # The old AE can no longer accept, even from a client still showing the old buttons.
    click_old_card(bot, "U_AE1", "handoff_accept", old_card_post)
    settle(bot)
    told = ephemerals(standin, "U_AE1")
    assert len(told) == 1 and "Nothing changed" in told[0]
    assert handoff(bot).state == "pending"

    driver.click("U_AE2", "handoff_accept", message=new_card)
    settle(bot)
    h = handoff(bot)
    assert (h.state, h.decided_by) == ("accepted", "U_AE2")
    assert "Accepted by <@U_AE2>" in text_of(standin, new_card)


# ---------------------------------------------------------------------- races


def test_accept_and_reject_at_once_store_exactly_one_outcome(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    view_id = reject_form(bot, standin, card)
    settle(bot)
    start = threading.Barrier(2)

    def accept():
        start.wait()
        return driver.click("U_AE1", "handoff_accept", message=card)

    def reject():
        start.wait()
        return driver.submit_view("U_AE1", view_id, {"reason": "too_small", "feedback": "Under 10 seats."})

    with ThreadPoolExecutor(2) as pool:
        accepted, rejected_ = pool.submit(accept), pool.submit(reject)
        assert accepted.result().status == 200
        reject_response = rejected_.result()
    settle(bot)

    h = handoff(bot)
    assert h.state in ("accepted", "rejected")
    made = decisions(bot)
    assert len(made) == 1
    assert made[0].to_state == h.state
    assert len(updates_of(standin, card)) == 1
    told = ephemerals(standin, "U_AE1")
    if h.state == "accepted":
        body = reject_response.json()
        assert body is not None and body["response_action"] == "update"
        assert "Nothing changed" in json.dumps(body["view"]) and "already accepted" in json.dumps(body["view"])
        assert told == []
        assert h.rejection_reason is None
        assert len(notices(standin, "U_SDR1", "accepted")) == 1 and notices(standin, "U_SDR1", "rejected") == []
    else:
        assert not reject_response.body
        assert len(told) == 1 and "already rejected" in told[0]
        assert notices(standin, "U_SDR1", "accepted") == [] and len(notices(standin, "U_SDR1", "rejected")) == 1


def test_ten_accepts_at_once_accept_once(bot, standin, driver):
    card = handoff_submitted(standin, driver)
    settle(bot)
    start = threading.Barrier(10)

    def accept(_):
        start.wait()
        return driver.click("U_AE1", "handoff_accept", message=card).status

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(accept, range(10))) == [200] * 10
    settle(bot)

    assert handoff(bot).state == "accepted"
    assert [e.action for e in trail(bot)] == ["submitted", "accept"]
    assert len(notices(standin, "U_SDR1", "accepted")) == 1
    with bot.db.read() as session:
        owed = session.exec(select(OutboxMessage).where(OutboxMessage.view == "notice_accepted")).all()
    assert len(owed) == 1
    told = ephemerals(standin, "U_AE1")
    assert len(told) == 9 and all("already accepted" in t for t in told)
    assert len(updates_of(standin, card)) == 1
