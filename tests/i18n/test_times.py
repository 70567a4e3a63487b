"""Every time a user reads is in their time zone (the one kept with quiet hours) and written
the way their language writes dates; the zone is always named."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest

from tests.bots.helpers import add_trade, make_bot
from tests.conftest import PASSWORD
from tests.i18n.conftest import set_locale
from webapp.extensions import db
from webapp.models import QuietHours

#: 21:30:05 UTC on the last day of a month: in Istanbul it is already the next day and month.
AT = datetime(2026, 3, 31, 21, 30, 5, tzinfo=UTC)


def _zone(user, name: str) -> None:
    db.session.add(
        QuietHours(user_id=user.id, start_time=time(22), end_time=time(7), timezone=name)
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("locale", "zone", "shown"),
    [
        ("en", None, "2026-03-31 21:30:05 UTC"),
        ("en", "Europe/Istanbul", "2026-04-01 00:30:05 GMT+03:00"),
        ("tr", "Europe/Istanbul", "1.04.2026 00:30:05 GMT+03:00"),
        (
            "fr",
            "Europe/Paris",
            "31/03/2026 23:30:05 UTC+02:00",
        ),  # summer time since 29 March; CLDR: "UTC" in French
        ("fr", "America/New_York", "31/03/2026 17:30:05 UTC-04:00"),
    ],
)
def test_a_trade_time_is_shown_in_the_users_zone_and_language(client, auth, locale, zone, shown):
    user = auth.register_and_login()
    set_locale(user, locale)
    if zone:
        _zone(user, zone)
    add_trade(make_bot(user, None, "Zoned"), "buy", "1", "100", at=AT)
    page = client.get("/trades/").get_data(as_text=True)
    assert shown in page, re.findall(r".{20}:30:05.{12}", page)


def test_a_zone_this_machine_does_not_know_falls_back_to_utc(client, auth):
    user = auth.register_and_login()
    _zone(user, "Mars/Olympus_Mons")
    add_trade(make_bot(user, None, "Zoned"), "buy", "1", "100", at=AT)
    assert "2026-03-31 21:30:05 UTC" in client.get("/trades/").get_data(as_text=True)


def test_each_user_sees_their_own_zone(client, other_client, auth):
    alice = auth.register_and_login()
    bob = auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": bob.email, "password": PASSWORD})
    _zone(alice, "Asia/Tokyo")
    add_trade(make_bot(alice, None, "Alice's"), "buy", "1", "100", at=AT)
    add_trade(make_bot(bob, None, "Bob's"), "buy", "1", "100", at=AT)
    assert "2026-04-01 06:30:05 GMT+09:00" in client.get("/trades/").get_data(as_text=True)
    assert "2026-03-31 21:30:05 UTC" in other_client.get("/trades/").get_data(as_text=True)


@pytest.mark.parametrize("locale", ["en", "tr", "fr"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Istanbul", "Europe/Paris", "America/New_York",
                                  "Asia/Kolkata", "Australia/Lord_Howe"])  # fmt: skip
def test_the_compiled_patterns_write_what_babel_writes(app, locale, zone):
    """The `dt` filter compiles the numeric date patterns once; across DST changes, half-hour
    zones, midnight and month ends it must write exactly what Babel writes."""
    import random

    from flask import g
    from flask_babel import force_locale, get_timezone, refresh
    from flask_babel import format_datetime as babel_datetime

    from webapp.templating import TIME_PATTERNS, date_pattern, format_datetime

    rng = random.Random(f"{locale}{zone}")
    moments = [datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)]
    moments += [datetime.fromtimestamp(rng.uniform(0, 4_000_000_000), UTC) for _ in range(300)]
    moments.append(datetime(2026, 12, 31, 23, 59, 59))  # naive: UTC, as the database keeps it
    with app.test_request_context():
        g._recipient_timezone = zone  # as `as_recipient` sets it
        refresh()
        with force_locale(locale):
            for moment in moments:
                for style, time_part in TIME_PATTERNS.items():
                    pattern = date_pattern() if style == "date" else (
                        time_part if style == "time" else f"{date_pattern()} {time_part}"
                    )  # fmt: skip
                    expected = babel_datetime(moment, pattern)
                    if style != "date":
                        label = "UTC" if zone == "UTC" else babel_datetime(moment, "ZZZZ")
                        expected = f"{expected} {label}"
                    assert format_datetime(moment, style) == expected, (moment, style)
            assert str(get_timezone()) == zone


def test_a_zone_saved_on_the_preferences_page_shows_on_the_next_page(client, auth):
    """The zone comes with the session's own query on each request: a change reads at once."""
    user = auth.register_and_login()
    add_trade(make_bot(user, None, "Zoned"), "buy", "1", "100", at=AT)
    assert "2026-03-31 21:30:05 UTC" in client.get("/trades/").get_data(as_text=True)
    data = {"enabled": "y", "start": "22:30", "end": "06:45", "timezone": "Asia/Tokyo"}
    assert client.post("/notifications/quiet-hours", data=data).status_code in (200, 302, 303)
    assert "2026-04-01 06:30:05 GMT+09:00" in client.get("/trades/").get_data(as_text=True)
    data["timezone"] = "Europe/Istanbul"
    client.post("/notifications/quiet-hours", data=data)
    assert "2026-04-01 00:30:05 GMT+03:00" in client.get("/trades/").get_data(as_text=True)
