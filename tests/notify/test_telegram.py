"""Telegram against a fake Bot API on loopback: the token, linking, commands, sending."""

from __future__ import annotations

import html
import itertools
import time
from datetime import timedelta

import sqlalchemy as sa

from tests.bots.helpers import make_bot
from tests.notify.support import SAMPLE_DATA, drain, rows_for
from tests.notify.telegram_support import code_in, deliver_all, link_chat, poll
from tests.support.fake_telegram import BLOCKED, CHAT_NOT_FOUND, TOKEN, too_many
from webapp import crypto
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    BotStatus,
    NotificationChannel,
    NotificationStatus,
    TelegramBot,
    TelegramChat,
    User,
)
from webapp.models.types import utcnow
from webapp.notify import preferences
from webapp.notify.channels.telegram import MAX_CHARS, message_text
from webapp.telegram import linking

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: bot_api, fast_retries

CHAT = 4242
OTHER_CHAT = 5353
HTMX = {"HX-Request": "true", "HX-Target": "telegram-section"}


def telegram_only(user_id: int) -> None:
    for event in EventType:
        preferences.set_preference(user_id, event, NotificationChannel.EMAIL, False)
        preferences.set_preference(user_id, event, NotificationChannel.TELEGRAM, True)
    db.session.commit()


# --- the token ---------------------------------------------------------------------------


def test_set_token_checks_with_getme_and_stores_it_encrypted(app, runner, bot_api):
    refused = runner.invoke(args=["telegram", "set-token", "111:WrongTokenThatTelegramRefuses"])
    assert refused.exit_code != 0
    assert "Telegram refused the token: 401 Unauthorized" in refused.output
    db.session.expire_all()
    row = db.session.get(TelegramBot, 1)
    assert crypto.decrypt(row.token_encrypted) == TOKEN  # the working token was kept

    garbage = runner.invoke(args=["telegram", "set-token", "not a token"])
    assert garbage.exit_code != 0 and "That is not a bot token" in garbage.output

    result = runner.invoke(args=["telegram", "set-token", TOKEN])
    assert result.exit_code == 0, result.output
    assert "@tradebots_test_bot" in result.output and "123456789:••••89ab" in result.output
    assert TOKEN not in result.output
    db.session.expire_all()
    row = db.session.get(TelegramBot, 1)
    assert TOKEN not in row.token_encrypted and crypto.decrypt(row.token_encrypted) == TOKEN
    status = runner.invoke(args=["telegram", "status"])
    assert "OK" in status.output and TOKEN not in status.output


# --- linking -----------------------------------------------------------------------------


def test_connect_links_the_chat_once_and_the_page_turns_connected(app, auth, client, bot_api):
    auth.register_and_login()
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Connect Telegram" in page

    answer = client.post("/notifications/telegram/connect", headers=HTMX)
    body = answer.get_data(as_text=True)
    code = code_in(body)
    assert f"https://t.me/tradebots_test_bot?start={code}" in body
    assert 'id="telegram-waiting"' in body and 'hx-trigger="every 2s"' in body
    waiting = client.get("/notifications/telegram/status", headers={"HX-Request": "true"})
    assert "Waiting for you" in waiting.get_data(as_text=True)

    bot_api.push_message(CHAT, f"/start {code}", username="alice_tg")
    poll()
    assert "Linked" in bot_api.texts(CHAT)[-1]
    done = client.get("/notifications/telegram/status", headers={"HX-Request": "true"})
    assert done.headers["HX-Retarget"] == "#telegram-section"
    assert "Connected" in done.get_data(as_text=True) and "@alice_tg" in done.get_data(as_text=True)
    assert "hx-trigger" not in done.get_data(as_text=True)  # the polling stopped

    # The same code from another chat: a polite no, and the link stays as it was.
    bot_api.push_message(OTHER_CHAT, f"/start {code}", username="mallory")
    poll()
    assert "do not know that code" in bot_api.texts(OTHER_CHAT)[-1]
    user = User.by_email("alice@example.com")
    assert linking.chat_of(user.id).chat_id == CHAT
    linked = db.session.scalars(
        sa.select(AuditEvent.description).where(
            AuditEvent.user_id == user.id, AuditEvent.action == "telegram_linked"
        )
    ).all()
    assert linked == ["Telegram chat linked."]

    client.post("/notifications/telegram/disconnect", headers=HTMX)
    assert linking.chat_of(user.id) is None


def test_an_expired_or_unknown_code_binds_nothing(app, auth, bot_api):
    user = auth.create_user()
    code = linking.new_code(user.id, now=utcnow() - timedelta(minutes=11)).code
    db.session.commit()
    bot_api.push_message(CHAT, f"/start {code}")
    bot_api.push_message(CHAT, "/start made-up-code")
    poll()
    expired, unknown = bot_api.texts(CHAT)
    assert "expired" in expired and "do not know that code" in unknown
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TelegramChat)) == 0


# --- commands ----------------------------------------------------------------------------


def test_commands_act_only_in_a_linked_chat_and_only_on_the_users_own_bots(app, auth, bot_api):
    alice = auth.create_user("alice@example.com")
    bob = auth.create_user("bob@example.com")
    mine = make_bot(alice, name="Alpha", status=BotStatus.RUNNING)
    bobs = make_bot(bob, name="Bravo", status=BotStatus.RUNNING)
    link_chat(bot_api, alice.id, CHAT)

    bot_api.push_message(OTHER_CHAT, "/stop Alpha")  # an unlinked chat
    bot_api.push_message(CHAT, "/stop Bravo")  # someone else's bot
    bot_api.push_message(CHAT, "/status")
    poll()
    assert bot_api.texts(OTHER_CHAT) == [
        "This chat is not linked to a Tradebots account. Open the notifications page and "
        "press “Connect Telegram” to link it."
    ]
    not_yours, status = bot_api.texts(CHAT)[-2:]
    assert not_yours == "You have no bot called “Bravo”."
    assert "<b>Alpha</b> (BTC/USDT): Running" in status and "Bravo" not in status
    db.session.expire_all()
    assert db.session.get(type(mine), mine.id).state.status == BotStatus.RUNNING
    assert db.session.get(type(bobs), bobs.id).state.status == BotStatus.RUNNING

    bot_api.push_message(CHAT, "/stop alpha")
    bot_api.push_message(CHAT, "/mute 2")
    bot_api.push_message(CHAT, "/mute lots")
    poll()
    stopped, muted, refused = bot_api.texts(CHAT)[-3:]
    assert stopped == "Bot “Alpha” stopped."
    assert "Routine notifications wait until" in muted and "from 0 to 168" in refused
    db.session.expire_all()
    assert db.session.get(type(mine), mine.id).state.status == BotStatus.STOPPED
    assert linking.chat_of(alice.id).muted_until > utcnow() + timedelta(hours=1)


def test_stopall_asks_first_and_its_button_acts_only_for_the_linked_chat(app, auth, bot_api):
    alice = auth.create_user("alice@example.com")
    bots = [make_bot(alice, name=f"B{n}", status=BotStatus.RUNNING) for n in range(2)]
    link_chat(bot_api, alice.id, CHAT)

    bot_api.push_message(CHAT, "/stopall")
    bot_api.push_callback(OTHER_CHAT, "stopall:yes")  # a button pressed elsewhere
    poll()
    question = bot_api.sent(CHAT)[-1]
    assert question.params["text"] == "Stop all 2 running bots?"
    buttons = question.params["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["stopall:yes", "stopall:no"]
    db.session.expire_all()
    assert {db.session.get(type(b), b.id).state.status for b in bots} == {BotStatus.RUNNING}

    bot_api.push_callback(CHAT, "stopall:yes")
    poll()
    assert bot_api.texts(CHAT)[-1] == "Stopped 2 bots: B0, B1."
    db.session.expire_all()
    assert {db.session.get(type(b), b.id).state.status for b in bots} == {BotStatus.STOPPED}


def test_a_restarted_poller_handles_no_update_twice(app, auth, bot_api):
    alice = auth.create_user()
    link_chat(bot_api, alice.id, CHAT)
    bot_api.push_message(CHAT, "/help")
    assert poll(rounds=2) == 1
    # A new poller (a restart: nothing in memory) starts from the stored offset; the Bot API
    # would hand the same updates out again to anyone asking from an older offset.
    assert poll(rounds=2) == 0
    helps = [t for t in bot_api.texts(CHAT) if "<b>Tradebots commands</b>" in t]
    assert len(helps) == 2  # one after linking, one for /help: never again after the restart
    offsets = [c.params["offset"] for c in bot_api.calls if c.method == "getUpdates"]
    assert offsets[-1] == bot_api.next_update_id + 1


def test_a_second_poller_waits_while_the_first_holds_the_lock(app, bot_api):
    from webapp.telegram.poller import Poller

    first = Poller(poll_timeout=0)
    assert first._lock()
    second = Poller(poll_timeout=0)
    second.stop.wait = lambda timeout=None: False  # do not sleep between rounds
    second.run(max_rounds=2)
    assert not [c for c in bot_api.calls if c.method == "getUpdates"]
    first._unlock()
    second.run(max_rounds=1)
    assert [c for c in bot_api.calls if c.method == "getUpdates"]


# --- sending -----------------------------------------------------------------------------


def test_every_event_type_arrives_with_its_text_and_values_escaped(app, auth, bot_api):
    user = auth.create_user()
    telegram_only(user.id)
    link_chat(bot_api, user.id, CHAT)
    before = len(bot_api.texts(CHAT))
    for event in EventType:
        emit(user.id, event, dict(SAMPLE_DATA[event], bot_name="<b>x</b>"))
    db.session.commit()
    deliver_all(user.id)
    assert {row.status for row in rows_for(user.id)} == {NotificationStatus.SENT}
    texts = bot_api.texts(CHAT)[before:]
    x = "&lt;b&gt;x&lt;/b&gt;"
    expected_first_lines = {
        EventType.TRADE_EXECUTED: f"<b>BUY 0.0025 BTC/USDT at 61,234.50 USDT ({x})</b>",
        EventType.STOP_LOSS_TRIGGERED: f"<b>Stop-loss triggered: {x}</b>",
        EventType.TAKE_PROFIT_TRIGGERED: f"<b>Take-profit triggered: {x}</b>",
        EventType.DAILY_PROFIT_TARGET_REACHED: f"<b>Daily profit target reached: {x}</b>",
        EventType.DAILY_LOSS_LIMIT_REACHED: f"<b>Daily loss limit reached (bot stopped): {x}</b>",
        EventType.BOT_ERROR: f"<b>Bot error (bot stopped): {x}</b>",
        EventType.API_KEY_INVALID: "<b>API key rejected by the exchange: Main Binance</b>",
    }
    facts = {
        EventType.STOP_LOSS_TRIGGERED: "Realized PnL: -8.09 USDT",
        EventType.TAKE_PROFIT_TRIGGERED: "Realized PnL: 15.31 USDT",
        EventType.DAILY_PROFIT_TARGET_REACHED: "Daily profit target: 50 USDT",
        EventType.DAILY_LOSS_LIMIT_REACHED: "Daily loss limit: 30 USDT",
        EventType.BOT_ERROR: "Error: Exchange unreachable after 5 tries",
        EventType.API_KEY_INVALID: "Bots stopped: 2",
    }
    by_headline = {text.split("\n")[0]: text for text in texts}
    assert len(texts) == len(EventType)
    for event in EventType:
        text = by_headline[expected_first_lines[event]]
        if event in facts:
            assert facts[event] in text
        assert text.endswith('<a href="http://testserver.local/bots/7">Open in Tradebots</a>') or (
            event == EventType.API_KEY_INVALID and "/keys/" in text
        )
        assert "<b>x</b>" not in text
    assert {c.params["parse_mode"] for c in bot_api.sent(CHAT)} == {"HTML"}


def test_a_message_longer_than_telegram_allows_is_shortened_at_a_word():
    data = dict(SAMPLE_DATA[EventType.BOT_ERROR], error="word & " * 2000)
    text = message_text("bot_error", data, "http://x")
    assert len(text) <= MAX_CHARS
    assert "…" in text and text.endswith("Open in Tradebots</a>")
    body = html.unescape(text.split("\n")[-2])
    assert body.endswith("&…") or body.endswith("word…")


def test_429_waits_retry_after_then_sends(app, auth, bot_api, fast_retries):
    user = auth.create_user()
    telegram_only(user.id)
    link_chat(bot_api, user.id, CHAT)
    bot_api.script(CHAT, too_many(7))
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    now = utcnow()
    [retry] = drain(now=now)
    assert retry.status == "retry" and retry.next_at >= now + timedelta(seconds=7)
    assert drain(now=now + timedelta(seconds=3)) == []  # not before Telegram allows
    time.sleep(1.1)  # the refused attempt counts as the chat's message of this second
    [sent] = drain(now=now + timedelta(seconds=8))
    assert sent.status == "sent"


def test_a_blocked_bot_unlinks_the_chat_fails_the_row_and_tells_the_user(app, auth, bot_api):
    user = auth.create_user()
    telegram_only(user.id)
    link_chat(bot_api, user.id, CHAT)
    bot_api.script(CHAT, BLOCKED)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    drain()
    rows = rows_for(user.id)
    failed = [r for r in rows if r.channel == NotificationChannel.TELEGRAM]
    assert [r.status for r in failed] == [NotificationStatus.FAILED]
    assert "the bot was blocked in Telegram" in failed[0].last_error
    assert linking.chat_of(user.id) is None
    notice = [r for r in rows if r.event_type == "channel_disabled"]
    assert notice and notice[0].channel == NotificationChannel.EMAIL
    # No chat, no new Telegram rows; the page says so.
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    assert len([r for r in rows_for(user.id) if r.channel == NotificationChannel.TELEGRAM]) == 1


def test_chat_not_found_unlinks_too(app, auth, bot_api):
    user = auth.create_user()
    telegram_only(user.id)
    link_chat(bot_api, user.id, CHAT)
    bot_api.script(CHAT, CHAT_NOT_FOUND)
    emit(user.id, EventType.API_KEY_INVALID, SAMPLE_DATA[EventType.API_KEY_INVALID])
    db.session.commit()
    drain()
    assert linking.chat_of(user.id) is None


def test_sends_to_one_chat_stay_a_second_apart(app, auth, bot_api):
    app.config.update(NOTIFY_USER_HOURLY_LIMIT=-1)
    user = auth.create_user()
    telegram_only(user.id)
    link_chat(bot_api, user.id, CHAT)
    for _ in range(3):
        emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    bot_api.reset()
    deliver_all(user.id)
    times = [c.at for c in bot_api.sent(CHAT)]
    assert len(times) == 3
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))  # a second apart


def test_telegram_defaults_follow_email_and_test_sends(app, auth, client, bot_api):
    auth.register_and_login()
    user = User.by_email("alice@example.com")
    grid = preferences.grid_for(user.id)
    for event in EventType:
        assert (
            grid[(event, NotificationChannel.TELEGRAM)] == grid[(event, NotificationChannel.EMAIL)]
        )
    refused = client.post("/notifications/test/telegram", follow_redirects=True)
    assert "Connect Telegram first" in refused.get_data(as_text=True)
    link_chat(bot_api, user.id, CHAT)
    client.post("/notifications/test/telegram")
    drain()
    assert "<b>Test notification: Example bot</b>" in bot_api.texts(CHAT)[-1]


def test_the_admin_page_checks_the_bot_with_getme(app, auth, client, bot_api):
    auth.register_and_login("admin@example.com", admin=True)
    ok = client.post("/admin/notifications/check/telegram", headers={"HX-Request": "true"})
    assert "Telegram (getMe) OK" in ok.get_data(as_text=True)
    app.config.update(TELEGRAM_BOT_TOKEN="111:RevokedTokenTelegramRefuses")
    refused = client.post("/admin/notifications/check/telegram", headers={"HX-Request": "true"})
    assert "Telegram (getMe) failed" in refused.get_data(as_text=True)
    assert "401 Unauthorized" in refused.get_data(as_text=True)
    assert "RevokedToken" not in refused.get_data(as_text=True)
