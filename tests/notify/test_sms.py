"""SMS against a fake Twilio on loopback: verifying a number, one-segment texts, the daily cap,
Twilio's answers, and the console provider."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from tests.notify.support import SAMPLE_DATA, drain, rows_for
from tests.support.fake_twilio import FROM, twilio_error
from tests.support.services import body_text
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import AuditEvent, NotificationChannel, NotificationStatus, SmsNumber, User
from webapp.models.types import utcnow
from webapp.notify import phones, preferences
from webapp.notify.gsm7 import GSM7_LIMIT, UCS2_LIMIT, is_gsm7, length, one_segment

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: twilio, fast_retries

NUMBER = "+4915123456789"
HTMX = {"HX-Request": "true", "HX-Target": "sms-section"}


def sms_only(user_id: int) -> None:
    for event in EventType:
        preferences.set_preference(user_id, event, NotificationChannel.EMAIL, False)
        preferences.set_preference(user_id, event, NotificationChannel.TELEGRAM, False)
        preferences.set_preference(user_id, event, NotificationChannel.SMS, True)
    db.session.commit()


def verified(user: User) -> None:
    row = SmsNumber(user_id=user.id, phone=NUMBER, verified_at=utcnow(), code_attempts=0)
    db.session.add(row)
    db.session.commit()


def code_from(body: str) -> str:
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


def test_a_number_is_used_only_after_its_code_is_typed(app, auth, client, twilio):
    auth.register_and_login()
    user = User.by_email("alice@example.com")
    sms_only(user.id)

    bad = client.post("/notifications/sms/number", data={"phone": "12345"}, headers=HTMX)
    assert bad.status_code == 422
    assert "That is not a phone number we can text" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SmsNumber)) == 0
    assert twilio.messages == []

    sent = client.post(
        "/notifications/sms/number", data={"phone": "+49 151 2345 6789"}, headers=HTMX
    )
    assert "We sent a 6-digit code" in sent.get_data(as_text=True)
    [body] = twilio.bodies(NUMBER)  # stored and sent in E.164
    assert twilio.messages[0]["From"] == FROM
    code = code_from(body)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    assert rows_for(user.id) == []  # not verified yet: no SMS row

    wrong = client.post("/notifications/sms/verify", data={"code": "000000"}, headers=HTMX)
    assert wrong.status_code == 422 and "4 tries left" in wrong.get_data(as_text=True)
    again = client.post("/notifications/sms/resend", headers=HTMX)
    assert "you can ask for another in" in again.get_data(as_text=True)

    ok = client.post("/notifications/sms/verify", data={"code": code}, headers=HTMX)
    assert "Phone number verified" in ok.get_data(as_text=True)
    assert phones.usable_number(user.id) == NUMBER
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    assert [row.channel for row in rows_for(user.id)] == [NotificationChannel.SMS]
    # The security log records the number, without spelling it out.
    [added] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "phone_added")
    ).all()
    assert added.user_id == user.id and added.description == "Phone number ending in 89 added."
    assert "2345" not in added.description


def test_an_expired_code_or_too_many_tries_verify_nothing(app, auth, twilio):
    user = auth.create_user()
    row = phones.set_number(user.id, NUMBER)
    db.session.commit()
    code = code_from(twilio.bodies(NUMBER)[0])
    row.code_expires_at = utcnow() - timedelta(seconds=1)
    try:
        phones.verify(row, code)
    except phones.PhoneError as exc:
        assert "expired" in str(exc)
    row.code_expires_at = utcnow() + timedelta(minutes=5)
    row.code_attempts = phones.MAX_TRIES
    try:
        phones.verify(row, code)
    except phones.PhoneError as exc:
        assert "Too many wrong codes" in str(exc)
    assert row.verified_at is None


def test_every_event_type_goes_out_in_one_segment_with_its_text(app, auth, twilio):
    user = auth.create_user()
    sms_only(user.id)
    verified(user)
    for event in EventType:
        emit(user.id, event, SAMPLE_DATA[event])
    db.session.commit()
    assert {o.status for o in drain()} == {"sent"}
    bodies = twilio.bodies(NUMBER)
    assert len(bodies) == len(EventType)
    expected = [
        "Tradebots: BUY 0.0025 BTC/USDT at 61,234.50 USDT (Grid BTC)",
        "Tradebots: Stop-loss triggered: Grid BTC; Realized PnL: -8.09 USDT",
        "Tradebots: Take-profit triggered: Grid BTC; Realized PnL: 15.31 USDT",
        "Tradebots: Daily profit target reached: Grid BTC; Realized PnL today: 52.40 USDT",
        "Tradebots: Daily loss limit reached (bot stopped): Grid BTC; Realized PnL today: -31.75",
        "Tradebots: Bot error (bot stopped): Grid BTC; Error: Exchange unreachable after 5 tries",
        "Tradebots: API key rejected by the exchange: Main Binance; Error: The exchange rejected",
    ]
    for start in expected:
        assert any(body.startswith(start) for body in bodies), (start, bodies)
    for body in bodies:
        assert is_gsm7(body) and length(body) <= GSM7_LIMIT


def test_a_text_is_shortened_at_a_word_and_unicode_gets_70():
    long = "Tradebots: " + " ".join(f"word{n}" for n in range(60))
    short = one_segment(long)
    assert length(short) <= GSM7_LIMIT and short.endswith("...")
    assert re.fullmatch(r"Tradebots:( word\d+)+\.\.\.", short)  # whole words only
    emoji = one_segment(
        "Tradebots: Бот Альфа остановлен из-за ошибки биржи, проверьте ключ API сейчас"
    )
    assert not is_gsm7(emoji) and length(emoji) <= UCS2_LIMIT and emoji.endswith("...")
    assert one_segment("Tradebots: [x] costs €5") == "Tradebots: [x] costs €5"
    assert length("[]€") == 6  # extension characters take two septets


def test_over_the_daily_cap_is_skipped_as_rate_limited_and_shown(app, auth, client, twilio):
    app.config.update(NOTIFY_SMS_PER_DAY=2)
    auth.register_and_login()
    user = User.by_email("alice@example.com")
    sms_only(user.id)
    verified(user)
    for _ in range(3):
        emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    drain()
    statuses = [row.status for row in rows_for(user.id)]
    assert statuses == [NotificationStatus.SENT] * 2 + [NotificationStatus.RATE_LIMITED]
    assert len(twilio.bodies(NUMBER)) == 2
    page = client.get("/notifications/history").get_data(as_text=True)
    assert "rate limited" in page and "Over the daily SMS limit of 2: not sent." in page


def test_stop_from_the_recipient_turns_sms_off_and_tells_the_user(app, auth, twilio, smtp_server):
    user = auth.create_user()
    sms_only(user.id)
    verified(user)
    twilio.script(NUMBER, twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    drain()
    [failed, notice] = rows_for(user.id)
    assert failed.status == NotificationStatus.FAILED and "error 21610" in failed.last_error
    assert notice.event_type == "channel_disabled" and notice.channel == NotificationChannel.EMAIL
    assert phones.usable_number(user.id) is None
    assert "replied STOP" in phones.number_of(user.id).disabled_reason
    [email] = smtp_server.wait_for(1)
    text = body_text(email)
    assert "We stopped sending you notifications by SMS." in text
    assert f"We turned SMS off for {NUMBER}: the recipient replied STOP." in text
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    assert len(rows_for(user.id)) == 2  # SMS is off: no new row


def test_429_and_5xx_retry_then_send(app, auth, twilio, fast_retries):
    user = auth.create_user()
    sms_only(user.id)
    verified(user)
    twilio.script(NUMBER, twilio_error(429, 20429, "Too Many Requests"), (503, {}))
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    outcomes = drain()
    assert [o.status for o in outcomes] == ["retry", "retry", "sent"]
    assert len(twilio.bodies(NUMBER)) == 1


def test_the_console_provider_prints_the_text(app, auth, capfd):
    app.config.update(SMS_PROVIDER="console")
    user = auth.create_user()
    sms_only(user.id)
    verified(user)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    assert [o.status for o in drain()] == ["sent"]
    out = capfd.readouterr().out
    assert f"--- SMS to {NUMBER} ---" in out and "Bot error (bot stopped): Grid BTC" in out


def test_the_admin_page_checks_the_sms_provider(app, auth, client, twilio):
    auth.register_and_login("admin@example.com", admin=True)
    ok = client.post("/admin/notifications/check/sms", headers={"HX-Request": "true"})
    assert "SMS provider OK" in ok.get_data(as_text=True)
    app.config.update(TWILIO_AUTH_TOKEN="a-wrong-token")
    refused = client.post("/admin/notifications/check/sms", headers={"HX-Request": "true"})
    assert "SMS provider failed" in refused.get_data(as_text=True)
    assert "401" in refused.get_data(as_text=True)
    assert "a-wrong-token" not in refused.get_data(as_text=True)


def test_the_admin_page_shows_a_success_rate_per_channel(app, auth, client, twilio):
    user = auth.create_user()
    sms_only(user.id)
    verified(user)
    twilio.script(NUMBER, twilio_error(400, 21211, "Invalid To number"))
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    drain()  # the SMS fails (and SMS is turned off), the notice email goes out
    auth.register_and_login("admin@example.com", admin=True)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert 'data-testid="success-sms">0.0 %<' in page
    assert 'data-testid="success-email">100.0 %<' in page
