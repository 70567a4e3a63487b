"""Rate limits and quiet hours postpone notifications; nothing is dropped and order holds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tests.notify.support import SAMPLE_DATA, drain, rows_for
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import NotificationChannel, NotificationStatus, QuietHours
from webapp.notify import limits, preferences

T0 = datetime(2031, 3, 4, 10, 15, tzinfo=UTC)  # a fixed clock: 10:15 UTC


def trades(user_id: int, count: int) -> None:
    preferences.set_preference(user_id, EventType.TRADE_EXECUTED, NotificationChannel.EMAIL, True)
    for n in range(count):
        data = dict(SAMPLE_DATA[EventType.TRADE_EXECUTED], bot_name=f"bot-{n}")
        emit(user_id, EventType.TRADE_EXECUTED, data)
    db.session.commit()


def sent_bots(smtp_server) -> list[str]:
    return [message["Subject"].rsplit("(", 1)[1].rstrip(")") for message in smtp_server.messages]


def test_over_the_hourly_limit_notifications_wait_for_the_next_hour_in_order(
    app, auth, smtp_server
):
    app.config.update(NOTIFY_USER_HOURLY_LIMIT=2, NOTIFY_USER_DAILY_LIMIT=100)
    user = auth.create_user()
    trades(user.id, 5)

    outcomes = drain(now=T0)

    assert [o.status for o in outcomes].count("sent") == 2
    assert sent_bots(smtp_server) == ["bot-0", "bot-1"]
    waiting = [row for row in rows_for(user.id) if row.status == NotificationStatus.PENDING]
    assert len(waiting) == 3
    # The first waits for the next hour; the others wait behind it.
    assert waiting[0].next_attempt_at == datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
    assert all(row.next_attempt_at >= waiting[0].next_attempt_at for row in waiting)
    assert drain(now=T0 + timedelta(minutes=30)) == []  # same hour: still full

    drain(now=T0 + timedelta(hours=1))
    assert sent_bots(smtp_server) == ["bot-0", "bot-1", "bot-2", "bot-3"]
    drain(now=T0 + timedelta(hours=2))

    assert sent_bots(smtp_server) == [f"bot-{n}" for n in range(5)]  # all, once, in order
    assert {row.status for row in rows_for(user.id)} == {NotificationStatus.SENT}


def test_the_daily_limit_holds_until_midnight_utc(app, auth, smtp_server):
    app.config.update(NOTIFY_USER_HOURLY_LIMIT=100, NOTIFY_USER_DAILY_LIMIT=1)
    user = auth.create_user()
    trades(user.id, 2)

    drain(now=T0)

    assert sent_bots(smtp_server) == ["bot-0"]
    [waiting] = [row for row in rows_for(user.id) if row.status == NotificationStatus.PENDING]
    assert waiting.next_attempt_at == datetime(2031, 3, 5, tzinfo=UTC)
    drain(now=datetime(2031, 3, 5, 0, 0, 1, tzinfo=UTC))
    assert sent_bots(smtp_server) == ["bot-0", "bot-1"]


def test_the_global_per_minute_limit_spans_users(app, auth, smtp_server):
    app.config.update(NOTIFY_GLOBAL_PER_MINUTE=3)
    alice = auth.create_user("alice@example.com")
    bob = auth.create_user("bob@example.com")
    trades(alice.id, 2)
    trades(bob.id, 2)

    drain(now=T0)
    assert len(smtp_server.messages) == 3
    drain(now=T0 + timedelta(minutes=1))
    assert len(smtp_server.messages) == 4
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "alice@example.com",
        "alice@example.com",
        "bob@example.com",
        "bob@example.com",
    ]


def quiet(user_id: int, start: time, end: time, tz: str) -> None:
    db.session.add(
        QuietHours(user_id=user_id, enabled=True, start_time=start, end_time=end, timezone=tz)
    )
    db.session.commit()


def test_quiet_hours_hold_routine_events_but_not_critical_ones(app, auth, smtp_server):
    user = auth.create_user()
    quiet(user.id, time(22, 0), time(7, 0), "Europe/Berlin")
    trades(user.id, 1)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    night = datetime(2031, 3, 4, 23, 30, tzinfo=UTC)  # 00:30 in Berlin (CET, UTC+1)

    outcomes = {o.status for o in drain(now=night)}

    assert outcomes == {"held", "sent"}
    [message] = smtp_server.messages
    assert "Bot error" in message["Subject"]  # critical: straight through
    trade = rows_for(user.id)[0]
    assert trade.status == NotificationStatus.PENDING
    assert trade.next_attempt_at == datetime(2031, 3, 5, 6, 0, tzinfo=UTC)  # 07:00 Berlin

    assert drain(now=datetime(2031, 3, 5, 5, 59, tzinfo=UTC)) == []
    drain(now=datetime(2031, 3, 5, 6, 0, tzinfo=UTC))
    assert len(smtp_server.messages) == 2
    assert rows_for(user.id)[0].status == NotificationStatus.SENT


def test_quiet_until_handles_same_day_and_overnight_periods_and_dst():
    overnight = QuietHours(enabled=True, start_time=time(22), end_time=time(7), timezone="UTC")
    assert limits.quiet_until(overnight, datetime(2031, 1, 1, 21, 59, tzinfo=UTC)) is None
    assert limits.quiet_until(overnight, datetime(2031, 1, 1, 22, 0, tzinfo=UTC)) == datetime(
        2031, 1, 2, 7, tzinfo=UTC
    )
    assert limits.quiet_until(overnight, datetime(2031, 1, 2, 6, 59, tzinfo=UTC)) == datetime(
        2031, 1, 2, 7, tzinfo=UTC
    )
    assert limits.quiet_until(overnight, datetime(2031, 1, 2, 7, 0, tzinfo=UTC)) is None

    lunch = QuietHours(
        enabled=True, start_time=time(12), end_time=time(13), timezone="America/New_York"
    )
    # 12:30 in New York on a summer day (EDT, UTC-4) ends at 13:00 EDT = 17:00 UTC.
    assert limits.quiet_until(lunch, datetime(2031, 7, 1, 16, 30, tzinfo=UTC)) == datetime(
        2031, 7, 1, 17, tzinfo=UTC
    )
    # The same local hour in winter (EST, UTC-5) is an hour later in UTC.
    assert limits.quiet_until(lunch, datetime(2031, 1, 6, 17, 30, tzinfo=UTC)) == datetime(
        2031, 1, 6, 18, tzinfo=UTC
    )
    lunch.enabled = False
    assert limits.quiet_until(lunch, datetime(2031, 7, 1, 16, 30, tzinfo=UTC)) is None


def test_a_critical_event_does_not_wait_behind_a_rate_limited_trade(app, auth, smtp_server):
    app.config.update(NOTIFY_USER_HOURLY_LIMIT=1)
    user = auth.create_user()
    trades(user.id, 2)  # the first uses the hour's only slot; the second waits
    drain(now=T0)
    app.config.update(NOTIFY_USER_HOURLY_LIMIT=2)  # room for one more this hour
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()

    drain(now=T0 + timedelta(minutes=1))

    subjects = [m["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 2 and "Bot error" in subjects[1]
    assert rows_for(user.id)[1].status == NotificationStatus.PENDING  # the trade still waits
