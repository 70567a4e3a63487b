"""/notifications answers bad input and lost races with a clear 4xx, never a 500: time zones
that are folders, ids out of range, JSON instead of a form, and two requests creating or
changing the same thing at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa

from tests.notify.support import SAMPLE_DATA, drain
from tests.notify.test_pages import make_alice_failed_notification
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import (
    NotificationChannel,
    NotificationPreference,
    QuietHours,
    WebhookEndpoint,
)
from webapp.models.types import utcnow
from webapp.notify import endpoints, limits, preferences

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: fast_retries, receiver


def htmx(target: str) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target}


@contextmanager
def meanwhile(statement_prefix: str, action: Callable[[sa.Connection], None]) -> Iterator[None]:
    """Run `action` on a connection of its own, committed, just before the request's first
    statement starting with `statement_prefix` reaches the database: another request
    winning a race, at exactly the worst moment."""
    fired = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if fired or not statement.lstrip().upper().startswith(statement_prefix.upper()):
            return
        fired.append(statement)
        with db.engine.begin() as other:
            action(other)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
    assert fired, f"no statement starting with {statement_prefix!r} was run"


# --- Quiet hours time zones -------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["America", "Etc", "Europe", "../etc/passwd", "Mars/Olympus"])
def test_a_time_zone_that_is_not_a_zone_is_refused_with_a_clear_message(client, auth, zone):
    user = auth.register_and_login()
    data = {"enabled": "y", "start": "22:00", "end": "07:00", "timezone": zone}

    response = client.post("/notifications/quiet-hours", data=data, headers=htmx("quiet-hours"))

    assert response.status_code == 422
    assert "Choose a time zone from the list, e.g. Europe/Berlin." in response.get_data(
        as_text=True
    )
    assert db.session.get(QuietHours, user.id) is None


def test_a_stored_folder_as_time_zone_does_not_stop_delivery_or_the_page(
    app, client, auth, smtp_server
):
    user = auth.register_and_login()
    # Saved before the form checked the list: "America" names a folder of the zone database.
    db.session.add(
        QuietHours(
            user_id=user.id, enabled=True, start_time=time(22), end_time=time(7), timezone="America"
        )
    )
    preferences.set_preference(user.id, EventType.TRADE_EXECUTED, NotificationChannel.EMAIL, True)
    emit(user.id, EventType.TRADE_EXECUTED, SAMPLE_DATA[EventType.TRADE_EXECUTED])
    db.session.commit()

    # 10:15 UTC: outside 22:00-07:00 read as UTC, the fallback.
    assert [o.status for o in drain(now=datetime(2031, 3, 4, 10, 15, tzinfo=UTC))] == ["sent"]
    assert len(smtp_server.wait_for(1)) == 1
    assert limits.zone("America") == limits.zone("UTC")
    assert client.get("/notifications/").status_code == 200


# --- Ids and bodies that never reach the database ---------------------------------------------

BAD_ID_ROUTES = [
    ("GET", "/notifications/%00abc"),
    ("GET", "/notifications/" + "x" * 300),
    ("POST", "/notifications/msg_%00/resend"),
    ("POST", "/notifications/webhooks/2147483648"),
    ("POST", "/notifications/webhooks/9223372036854775807/rotate"),
    ("POST", "/notifications/webhooks/99999999999999999999/enable"),
    ("POST", "/notifications/webhooks/0/delete"),
]


@pytest.mark.parametrize(("method", "path"), BAD_ID_ROUTES)
def test_ids_out_of_range_or_malformed_are_404(client, auth, receiver, method, path):
    make_alice_failed_notification(auth, receiver)
    auth.login("alice@example.com")

    response = client.open(path, method=method, data={"url": "https://8.8.8.8/x"})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/notifications/webhooks", {}),
        ("/notifications/webhooks", {"url": "https://8.8.8.8:99999/hook"}),
        ("/notifications/quiet-hours", {"start": "22:00", "end": "", "timezone": "UTC"}),
        ("/notifications/quiet-hours", {"start": "25:00", "end": "07:00", "timezone": "UTC"}),
    ],
)
def test_missing_or_malformed_fields_are_422_with_the_form(client, auth, path, data):
    auth.register_and_login()
    target = "webhook-section" if "webhooks" in path else "quiet-hours"

    response = client.post(path, data=data, headers=htmx(target))

    assert response.status_code == 422
    assert f'id="{target}"' in response.get_data(as_text=True)


def test_json_instead_of_a_form_is_refused_with_a_message(client, auth):
    user = auth.register_and_login()

    for path, body in [
        ("/notifications/quiet-hours", {"start": 5, "end": [1], "timezone": 5}),
        ("/notifications/webhooks", {"url": "https://8.8.8.8/hook"}),
    ]:
        response = client.post(path, json=body, headers=htmx("quiet-hours"))
        assert response.status_code == 415
        assert "accepts form posts only" in response.get_data(as_text=True)
    assert db.session.get(QuietHours, user.id) is None
    assert endpoints.endpoint_for(user.id) is None


# --- Two requests at once ---------------------------------------------------------------------


def test_a_toggle_racing_another_toggle_of_the_same_switch_succeeds(client, auth):
    user = auth.register_and_login()

    def other_tab_turns_it_off(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(NotificationPreference).values(
                user_id=user.id,
                event_type="trade_executed",
                channel=NotificationChannel.EMAIL,
                enabled=False,
                updated_at=utcnow(),
            )
        )

    with meanwhile("INSERT INTO notification_preferences", other_tab_turns_it_off):
        response = client.post(
            "/notifications/preferences/trade_executed/email",
            data={"enabled": "on"},
            headers=htmx("pref-trade_executed-email"),
        )

    assert response.status_code == 200
    assert "saved" in response.get_data(as_text=True)
    grid = preferences.grid_for(user.id)
    assert grid[(EventType.TRADE_EXECUTED, NotificationChannel.EMAIL)]  # the later click won
    rows = db.session.scalars(sa.select(NotificationPreference).filter_by(user_id=user.id)).all()
    assert len(rows) == 1


def test_the_same_url_added_twice_at_the_same_moment_is_refused_not_a_500(client, auth, receiver):
    user = auth.register_and_login()

    def other_tab_creates_one(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(WebhookEndpoint).values(
                user_id=user.id,
                url=receiver,
                events=["bot_error"],
                secret_encrypted="not-used",
                enabled=True,
                consecutive_failures=0,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )

    with meanwhile("INSERT INTO webhook_endpoints", other_tab_creates_one):
        response = client.post(
            "/notifications/webhooks",
            data={"url": receiver, "events": ["trade_executed"]},
            headers=htmx("webhook-section"),
        )

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "You already have a webhook endpoint with this URL." in body
    assert 'data-testid="webhook-secret"' not in body  # the winner's secret stays valid
    [only] = endpoints.endpoints_of(user.id)
    assert only.events == ["bot_error"] and only.secret_encrypted == "not-used"


def test_quiet_hours_saved_twice_at_the_same_moment_keep_the_later_values(client, auth):
    user = auth.register_and_login()

    def other_tab_saves(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(QuietHours).values(
                user_id=user.id,
                enabled=False,
                start_time=time(1),
                end_time=time(2),
                timezone="UTC",
                updated_at=utcnow(),
            )
        )

    data = {"enabled": "y", "start": "22:30", "end": "06:45", "timezone": "Asia/Tokyo"}
    with meanwhile("INSERT INTO quiet_hours", other_tab_saves):
        response = client.post("/notifications/quiet-hours", data=data, headers=htmx("quiet-hours"))

    assert response.status_code == 200
    assert "Quiet hours on: 22:30 to 06:45 (Asia/Tokyo)." in response.get_data(as_text=True)
    quiet = db.session.get(QuietHours, user.id)
    assert quiet.enabled and quiet.timezone == "Asia/Tokyo"


def test_rotating_an_endpoint_deleted_meanwhile_says_so(client, auth, receiver):
    user = auth.register_and_login()
    endpoint, _secret = endpoints.create_endpoint(user.id, receiver)
    db.session.commit()
    endpoint_id = endpoint.id

    def other_tab_deletes_it(conn: sa.Connection) -> None:
        conn.execute(sa.delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))

    with meanwhile("UPDATE webhook_endpoints", other_tab_deletes_it):
        response = client.post(
            f"/notifications/webhooks/{endpoint_id}/rotate", headers=htmx("webhook-section")
        )

    assert response.status_code == 200
    assert "changed in another tab or window meanwhile" in response.get_data(as_text=True)
    assert endpoints.endpoint_for(user.id) is None
