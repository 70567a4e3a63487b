"""Helpers for the Telegram tests: link a chat the way a user does, run the poller once."""

from __future__ import annotations

import re

from webapp.extensions import db
from webapp.telegram import linking
from webapp.telegram.poller import Poller


def poll(rounds: int = 1) -> int:
    """Handle what the fake Bot API has queued, as `flask telegram poll` does."""
    from webapp.telegram import bot

    poller = Poller(poll_timeout=0)
    handled = 0
    try:
        for _ in range(rounds):
            assert poller._lock()
            handled += poller.poll_once(bot.require_api())
    finally:
        poller._unlock()
    return handled


def link_chat(fake, user_id: int, chat_id: int, username: str = "alice_tg") -> None:
    """A user presses Connect, then Start in Telegram."""
    code = linking.new_code(user_id).code
    db.session.commit()
    fake.push_message(chat_id, f"/start {code}", username=username)
    poll()
    assert linking.chat_of(user_id) is not None


def code_in(html: str) -> str:
    match = re.search(r"/start ([A-Za-z0-9_-]+)</code>", html)
    assert match, "no /start code on the page"
    return match.group(1)


def deliver_all(user_id: int, timeout: float = 20.0) -> None:
    """Deliver in this process until none of the user's rows is pending, on the real clock
    (a chat takes one message a second, so some rows wait for the next second)."""
    import time

    from tests.notify.support import drain, rows_for
    from webapp.models import NotificationStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drain()
        if all(row.status != NotificationStatus.PENDING for row in rows_for(user_id)):
            return
        time.sleep(0.05)
    raise AssertionError("notifications still pending")
