"""The Home tab: opening it shows your handoffs."""
from __future__ import annotations

from bot.sandbox import SlackDriver, SlackStandIn, render_view
from tests.flow import handoff_submitted


def test_home_tab_lists_my_handoffs(standin: SlackStandIn, driver: SlackDriver) -> None:
    handoff_submitted(standin, driver)
    assert driver.event({"type": "app_home_opened", "user": "U_AE1", "channel": "D_AE1", "tab": "home"}).status == 200
    [call] = standin.wait_for("views.publish", where=lambda c: c.args.get("user_id") == "U_AE1")
    shown = render_view(call.response["view"], standin.user_names())
    assert "H-1" in shown and "Acme Corp" in shown and "As AE" in shown


def test_messages_tab_opening_publishes_nothing(standin: SlackStandIn, driver: SlackDriver) -> None:
    assert driver.event({"type": "app_home_opened", "user": "U_AE1", "channel": "D_AE1", "tab": "messages"}).status == 200
    driver.event({"type": "app_home_opened", "user": "U_SDR1", "channel": "D_SDR1", "tab": "home"})
    standin.wait_for("views.publish", where=lambda c: c.args.get("user_id") == "U_SDR1")
    assert not [c for c in standin.calls_to("views.publish") if c.args.get("user_id") == "U_AE1"]
