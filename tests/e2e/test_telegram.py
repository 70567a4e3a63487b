"""A person connects Telegram in the browser; the real `flask telegram poll` process receives
their /start from the fake Bot API and the page turns "Connected" by itself."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import BrowserUser
from tests.support.processes import start

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: bot_api

CHAT = 777001


def test_connecting_telegram_turns_the_page_connected_by_itself(app, page, bot_api):
    BrowserUser(page).register("alice@example.com")
    page.goto("/notifications/")
    page.get_by_role("button", name="Connect Telegram").click()
    code = page.get_by_test_id("telegram-code").inner_text().removeprefix("/start ")
    link = f"https://t.me/tradebots_test_bot?start={code}"
    expect(page.get_by_test_id("telegram-link")).to_have_attribute("href", link)
    expect(page.get_by_test_id("telegram-waiting")).to_be_visible()

    poller = start(
        app, "flask", "telegram", "poll", TELEGRAM_API_BASE=bot_api.url, TELEGRAM_POLL_TIMEOUT="1"
    )
    try:
        bot_api.push_message(CHAT, f"/start {code}", username="alice_tg")
        connected = page.get_by_test_id("telegram-connected")
        expect(connected).to_contain_text("Connected", timeout=30_000)
        expect(connected).to_contain_text("@alice_tg")
        expect(page.get_by_test_id("telegram-waiting")).to_have_count(0)
        assert "Linked" in bot_api.wait_for_texts(CHAT, 1)[0]
    finally:
        poller.terminate()
        poller.wait(timeout=20)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    page.get_by_test_id("telegram-disconnect").click()
    expect(page.get_by_role("button", name="Connect Telegram")).to_be_visible()
