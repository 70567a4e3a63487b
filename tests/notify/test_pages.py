"""The /notifications pages: login, ownership, HTMX toggles, webhook setup, quiet hours,
tests and "send again"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rq import Queue

from tests.notify.support import SAMPLE_DATA, drain, rows_for
from webapp.events import EventType, emit
from webapp.extensions import db, redis_ext
from webapp.models import NotificationChannel, NotificationStatus, QuietHours, WebhookEndpoint
from webapp.models.types import utcnow
from webapp.notify import endpoints, outbox, preferences

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: fast_retries, receiver

HTMX = {"HX-Request": "true"}


def htmx(target: str) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target}


def secret_in(page: str) -> str | None:
    match = re.search(r'data-testid="webhook-secret">(whsec_[^<]+)<', page)
    return match.group(1) if match else None


def make_alice_failed_notification(auth, receiver_url: str | None = None) -> dict[str, object]:
    """Alice with a webhook endpoint and one failed notification: every id-bearing route."""
    user = auth.create_user("alice@example.com")
    row = outbox.add_notification(user.id, "bot_error", NotificationChannel.EMAIL, {"x": 1})
    row.status = NotificationStatus.FAILED
    endpoint, _secret = endpoints.create_endpoint(user.id, receiver_url or "https://8.8.8.8/h")
    db.session.commit()
    return {"public_id": row.public_id, "endpoint_id": endpoint.id}


ID_ROUTES = [
    ("GET", "/notifications/{public_id}"),
    ("POST", "/notifications/{public_id}/resend"),
    ("POST", "/notifications/webhooks/{endpoint_id}"),
    ("POST", "/notifications/webhooks/{endpoint_id}/rotate"),
    ("POST", "/notifications/webhooks/{endpoint_id}/enable"),
    ("POST", "/notifications/webhooks/{endpoint_id}/delete"),
]
ALL_ROUTES = [
    ("GET", "/notifications/"),
    ("GET", "/notifications/preferences"),
    ("GET", "/notifications/history"),
    ("POST", "/notifications/preferences/bot_error/email"),
    ("POST", "/notifications/webhooks"),
    ("POST", "/notifications/quiet-hours"),
    ("POST", "/notifications/test/email"),
    *ID_ROUTES,
]


@pytest.fixture
def alice_ids(app, auth, receiver):
    return make_alice_failed_notification(auth, receiver)


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_route_requires_login(client, alice_ids, method, path):
    response = client.open(path.format(**alice_ids), method=method)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_another_user_gets_404_for_alices_notifications_and_endpoint(
    client, auth, alice_ids, method, path
):
    auth.create_user("bob@example.com")
    auth.login("bob@example.com")
    endpoint_before = db.session.get(WebhookEndpoint, alice_ids["endpoint_id"]).secret_encrypted

    response = client.open(path.format(**alice_ids), method=method, data={"url": "https://x.io"})

    assert response.status_code == 404
    endpoint = db.session.get(WebhookEndpoint, alice_ids["endpoint_id"])
    assert endpoint is not None and endpoint.secret_encrypted == endpoint_before
    assert endpoint.url.startswith("https://127.0.0.1")
    assert [row.status for row in rows_for(endpoint.user_id)] == [NotificationStatus.FAILED]


def test_alice_sees_only_her_own_history(client, auth, alice_ids):
    auth.create_user("bob@example.com")
    auth.login("bob@example.com")
    page = client.get("/notifications/history").get_data(as_text=True)
    assert alice_ids["public_id"] not in page
    assert "Nothing sent yet." in page
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Add endpoint" in page  # Bob has no endpoint; Alice's is not shown


def test_toggling_a_preference_saves_in_place(client, auth):
    user = auth.register_and_login()
    assert not preferences.grid_for(user.id)[(EventType.TRADE_EXECUTED, NotificationChannel.EMAIL)]

    response = client.post(
        "/notifications/preferences/trade_executed/email", data={"enabled": "on"}, headers=HTMX
    )

    assert response.status_code == 200
    cell = response.get_data(as_text=True)
    assert cell.strip().startswith('<td id="pref-trade_executed-email"')
    assert "checked" in cell and "saved" in cell
    assert preferences.grid_for(user.id)[(EventType.TRADE_EXECUTED, NotificationChannel.EMAIL)]

    client.post("/notifications/preferences/trade_executed/email", data={}, headers=HTMX)
    assert not preferences.grid_for(user.id)[(EventType.TRADE_EXECUTED, NotificationChannel.EMAIL)]
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'aria-label="Email: Trade executed">' in page  # unchecked in the full page too


def test_a_toggle_without_csrf_token_is_refused(client, auth):
    user = auth.register_and_login()
    response = client.post(
        "/notifications/preferences/trade_executed/email",
        data={"enabled": "on"},
        headers=HTMX,
        csrf=False,
    )
    assert response.status_code == 400
    assert not preferences.grid_for(user.id)[(EventType.TRADE_EXECUTED, NotificationChannel.EMAIL)]


def test_unknown_event_or_channel_is_404(client, auth):
    auth.register_and_login()
    assert client.post("/notifications/preferences/nope/email").status_code == 404
    assert client.post("/notifications/preferences/bot_error/fax").status_code == 404
    assert client.post("/notifications/test/fax").status_code == 404


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("https://127.0.0.1:8443/hook", "127.0.0.1 is a loopback address"),
        ("https://169.254.169.254/latest", "169.254.169.254 is a link-local address"),
        ("http://8.8.8.8/hook", "Webhook URLs must use https://"),
        ("https://user:pw@8.8.8.8/hook", "must not contain a user name or password"),
    ],
)
def test_an_unsafe_webhook_url_is_refused_on_save_with_the_reason(client, auth, url, message):
    user = auth.register_and_login()
    response = client.post(
        "/notifications/webhooks",
        data={"url": url, "events": ["bot_error"]},
        headers=htmx("webhook-section"),
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert body.strip().startswith('<section id="webhook-section">')
    assert endpoints.endpoint_for(user.id) is None


def test_the_secret_is_shown_once_on_creation_and_once_per_rotation(client, auth, receiver):
    user = auth.register_and_login()

    response = client.post(
        "/notifications/webhooks",
        data={"url": receiver, "events": ["bot_error"]},
        headers=htmx("webhook-section"),
    )

    assert response.status_code == 200
    first = secret_in(response.get_data(as_text=True))
    assert first and first.startswith("whsec_")
    endpoint = endpoints.endpoint_for(user.id)
    assert endpoints.signing_secrets(endpoint) == [first]
    page = client.get("/notifications/").get_data(as_text=True)
    assert first not in page and secret_in(page) is None
    assert "whsec_••••" in page

    response = client.post(
        f"/notifications/webhooks/{endpoint.id}/rotate", headers=htmx("webhook-section")
    )
    second = secret_in(response.get_data(as_text=True))
    assert second and second != first
    assert first not in response.get_data(as_text=True)
    assert endpoints.signing_secrets(endpoints.endpoint_for(user.id)) == [second, first]
    page = client.get("/notifications/").get_data(as_text=True)
    assert second not in page and "previous secret also signs until" in page
    # The Security page's activity says when, and for which host, never the secret.
    activity = client.get("/security/activity").get_data(as_text=True)
    host = receiver.split("//", 1)[1].split("/", 1)[0]
    assert "Webhook secret rotated" in activity
    assert f"Webhook secret for {host} rotated." in activity
    assert first not in activity and second not in activity


def test_changing_the_url_is_checked_too(client, auth, receiver):
    user = auth.register_and_login()
    endpoint, _ = endpoints.create_endpoint(user.id, receiver)
    db.session.commit()
    response = client.post(
        f"/notifications/webhooks/{endpoint.id}",
        data={"url": "https://192.168.1.10/x", "events": ["bot_error"]},
        headers=htmx("webhook-section"),
    )
    assert response.status_code == 422
    assert "192.168.1.10 is a private address" in response.get_data(as_text=True)
    assert endpoints.endpoint_for(user.id).url == receiver


def test_deleting_and_re_enabling_the_endpoint(client, auth, receiver):
    user = auth.register_and_login()
    endpoint, _ = endpoints.create_endpoint(user.id, receiver)
    endpoint.enabled = False
    endpoint.disabled_reason = "gone"
    db.session.commit()
    client.post(f"/notifications/webhooks/{endpoint.id}/enable")
    assert endpoints.endpoint_for(user.id).enabled
    client.post(f"/notifications/webhooks/{endpoint.id}/delete")
    assert endpoints.endpoint_for(user.id) is None


def test_quiet_hours_are_saved_and_a_bad_time_zone_is_refused(client, auth):
    user = auth.register_and_login()
    data = {"enabled": "y", "start": "22:30", "end": "06:45", "timezone": "Mars/Olympus"}
    response = client.post("/notifications/quiet-hours", data=data, headers=htmx("quiet-hours"))
    assert response.status_code == 422
    assert "Choose a time zone from the list" in response.get_data(as_text=True)
    assert db.session.get(QuietHours, user.id) is None

    data["timezone"] = "Asia/Tokyo"
    response = client.post("/notifications/quiet-hours", data=data, headers=htmx("quiet-hours"))
    assert response.status_code == 200
    assert "Quiet hours on: 22:30 to 06:45 (Asia/Tokyo)." in response.get_data(as_text=True)
    quiet = db.session.get(QuietHours, user.id)
    assert quiet.enabled and quiet.timezone == "Asia/Tokyo"
    assert f"{quiet.start_time:%H:%M}-{quiet.end_time:%H:%M}" == "22:30-06:45"
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'value="Asia/Tokyo"' in page and 'value="22:30"' in page


def test_send_a_test_email_goes_through_the_outbox_and_shows_as_sent(client, auth, smtp_server):
    user = auth.register_and_login("tester@example.com")

    response = client.post("/notifications/test/email", headers=htmx("recent-notifications"))

    body = response.get_data(as_text=True)
    assert "Test email queued" in body and "pending" in body
    assert 'hx-trigger="every 2s"' in body  # the list refreshes itself while pending
    [row] = rows_for(user.id)
    assert row.event_type == "test"
    assert any(
        row.public_id in job
        for job in Queue("notifications", connection=redis_ext.conn).get_job_ids()
    )

    drain()

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "tester@example.com"
    assert "Test notification" in message["Subject"]
    fragment = client.get("/notifications/history", headers=htmx("recent-notifications"))
    text = fragment.get_data(as_text=True)
    assert 'data-testid="status">sent<' in text and "every 2s" not in text


def test_a_test_webhook_needs_an_endpoint(client, auth):
    user = auth.register_and_login()
    response = client.post("/notifications/test/webhook", headers=htmx("recent-notifications"))
    assert "Add (or enable) a webhook endpoint first." in response.get_data(as_text=True)
    assert rows_for(user.id) == []


def test_send_again_resets_a_failed_notification_and_queues_it(
    client, auth, smtp_server, fast_retries
):
    user = auth.register_and_login()
    row = outbox.add_notification(user.id, "bot_error", NotificationChannel.EMAIL, {"x": 1})
    row.status, row.attempts, row.last_error = NotificationStatus.FAILED, 3, "HTTP 500"
    db.session.commit()
    public_id = row.public_id

    response = client.post(
        f"/notifications/{public_id}/resend", headers=htmx("recent-notifications")
    )

    assert response.status_code == 200
    [row] = rows_for(user.id)
    assert row.status == NotificationStatus.PENDING and row.attempts == 0
    drain()
    assert rows_for(user.id)[0].status == NotificationStatus.SENT
    # A sent notification cannot be "sent again".
    response = client.post(
        f"/notifications/{public_id}/resend", headers=htmx("recent-notifications")
    )
    assert "Only a failed notification can be sent again." in response.get_data(as_text=True)


def test_the_detail_page_shows_the_payload_and_error(client, auth):
    user = auth.register_and_login()
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    [row] = rows_for(user.id)
    page = client.get(f"/notifications/{row.public_id}").get_data(as_text=True)
    assert "Exchange unreachable after 5 tries" in page and row.public_id in page


def test_the_nav_links_to_the_page(client, auth):
    auth.register_and_login()
    assert 'href="/notifications/"' in client.get("/").get_data(as_text=True)


def test_no_page_ever_shows_a_stored_secret(client, auth, receiver):
    user = auth.register_and_login()
    endpoint, secret = endpoints.create_endpoint(user.id, receiver)
    db.session.commit()
    for path in ("/notifications/", f"/notifications/webhooks/{endpoint.id}/enable"):
        response = client.open(path, method="GET" if path.endswith("/") else "POST")
        assert response.status_code in (200, 302)
        assert secret not in response.get_data(as_text=True)


def test_the_list_stops_refreshing_when_only_held_rows_remain(client, auth):
    user = auth.register_and_login()
    db.session.add(
        QuietHours(
            user_id=user.id,
            enabled=True,
            start_time=(utcnow() - timedelta(hours=1)).time().replace(microsecond=0),
            end_time=(utcnow() + timedelta(hours=2)).time().replace(microsecond=0),
            timezone="UTC",
        )
    )
    preferences.set_preference(user.id, EventType.TRADE_EXECUTED, NotificationChannel.EMAIL, True)
    emit(user.id, EventType.TRADE_EXECUTED, SAMPLE_DATA[EventType.TRADE_EXECUTED])
    db.session.commit()
    assert "every 2s" in client.get("/notifications/history").get_data(as_text=True)

    [outcome] = drain()

    assert outcome.status == "held"
    page = client.get("/notifications/history").get_data(as_text=True)
    assert "every 2s" not in page
    assert "waits until" in page


def test_three_pages_share_the_tabs_and_each_holds_its_own_part(client, auth):
    auth.register_and_login()
    pages = {
        "/notifications/": ("Channels", 'id="webhook-section"', 'id="preferences"'),
        "/notifications/preferences": ("What to tell me", 'id="preferences"', 'id="sms-section"'),
        "/notifications/history": ("History", 'id="recent-notifications"', 'id="quiet-hours"'),
    }
    for path, (tab, holds, not_here) in pages.items():
        page = client.get(path).get_data(as_text=True)
        for link in ("/notifications/", "/notifications/preferences", "/notifications/history"):
            assert f'href="{link}"' in page, (path, link)
        assert re.search(rf'aria-current="page">{tab}</a>', page), path
        assert holds in page and not_here not in page, path
    assert 'id="quiet-hours"' in client.get("/notifications/preferences").get_data(as_text=True)
    assert 'id="test-section"' in client.get("/notifications/").get_data(as_text=True)


def test_a_swap_gets_the_block_of_the_page_it_lives_on_whatever_the_url(client, auth):
    """A tab left open on the old single page still polls /notifications/ for the history."""
    auth.register_and_login()
    old = client.get("/notifications/", headers=htmx("recent-notifications"))
    assert old.get_data(as_text=True).strip().startswith('<section id="recent-notifications"')
    test = client.post("/notifications/test/email", headers=htmx("test-section"))
    body = test.get_data(as_text=True)
    assert body.strip().startswith('<section id="test-section"') and "Test email queued" in body


def test_changes_without_htmx_land_on_their_own_page(client, auth):
    user = auth.register_and_login()
    toggled = client.post("/notifications/preferences/trade_executed/email", data={"enabled": "on"})
    assert toggled.headers["Location"].endswith("/notifications/preferences")
    data = {"enabled": "y", "start": "22:00", "end": "07:00", "timezone": "UTC"}
    quiet = client.post("/notifications/quiet-hours", data=data)
    assert quiet.headers["Location"].endswith("/notifications/preferences")
    row = outbox.add_notification(user.id, "bot_error", NotificationChannel.EMAIL, {"x": 1})
    row.status = NotificationStatus.FAILED
    db.session.commit()
    again = client.post(f"/notifications/{row.public_id}/resend", follow_redirects=True)
    assert again.request.path == "/notifications/history"
    assert "will be sent again" in again.get_data(as_text=True)


def test_the_webhook_column_is_disabled_until_there_is_an_endpoint(client, auth, receiver):
    user = auth.register_and_login()
    page = client.get("/notifications/preferences").get_data(as_text=True)
    cell = re.search(r'<td id="pref-trade_executed-webhook".*?</td>', page, re.S).group(0)
    assert "disabled" in cell and "Add a webhook endpoint first." in cell
    assert 'href="/notifications/#webhook-section"' in cell
    email_cell = re.search(r'<td id="pref-trade_executed-email".*?</td>', page, re.S).group(0)
    assert "disabled" not in email_cell

    refused = client.post(
        "/notifications/preferences/trade_executed/webhook", data={"enabled": "on"}, headers=HTMX
    )

    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert body.strip().startswith('<td id="pref-trade_executed-webhook"')
    assert "Add a webhook endpoint first." in body and "saved" not in body
    assert "checked" not in body
    assert not preferences.grid_for(user.id)[
        (EventType.TRADE_EXECUTED, NotificationChannel.WEBHOOK)
    ]
    plain = client.post(
        "/notifications/preferences/trade_executed/webhook",
        data={"enabled": "on"},
        follow_redirects=True,
    )
    assert "Add a webhook endpoint first." in plain.get_data(as_text=True)

    # With an endpoint the column works and the hint is gone.
    endpoints.create_endpoint(user.id, receiver, ["bot_error"])
    db.session.commit()
    ok = client.post(
        "/notifications/preferences/trade_executed/webhook", data={"enabled": "on"}, headers=HTMX
    )
    assert ok.status_code == 200 and "saved" in ok.get_data(as_text=True)
    assert "Add a webhook endpoint first." not in ok.get_data(as_text=True)
    assert preferences.grid_for(user.id)[(EventType.TRADE_EXECUTED, NotificationChannel.WEBHOOK)]
