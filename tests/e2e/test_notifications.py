"""A person sets up notifications in the browser: a preference toggle, a webhook endpoint whose
secret is shown once, and a test that a real worker delivers to a real HTTPS receiver."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from playwright.sync_api import expect
from pytest_httpserver import HTTPServer

from tests.support.processes import start
from webapp.events import EventType
from webapp.extensions import db
from webapp.models import Notification, NotificationChannel, NotificationStatus, User
from webapp.notify import preferences, signing


@pytest.fixture
def receiver(app, tmp_path: Path) -> Iterator[tuple[HTTPServer, str, str]]:
    """An HTTPS webhook receiver on loopback with its own CA; the app trusts and allows it."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    server.start()
    app.config.update(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"], WEBHOOK_CA_BUNDLE=str(bundle))
    try:
        yield server, f"https://127.0.0.1:{server.port}/hook", str(bundle)
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def worker(app, receiver):
    """A real `rq worker` on the notifications queue, configured like the app."""
    _server, _url, bundle = receiver
    proc = start(
        app,
        "rq", "worker", "--url", app.config["REDIS_URL"],
        "--worker-class", "workers.AppWorker", "notifications",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_CA_BUNDLE=bundle,
    )  # fmt: skip
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()


def test_preference_webhook_secret_once_and_a_delivered_test(page, e2e_user, receiver, worker):
    server, url, _bundle = receiver
    page.goto("/")
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()

    # Without an endpoint the webhook column cannot be switched; its hint leads to the set-up.
    tabs = page.get_by_test_id("notification-tabs")
    tabs.get_by_role("link", name="What to tell me").click()
    expect(page.get_by_label("Webhook: Trade executed")).to_be_disabled()
    page.get_by_test_id("pref-trade_executed-webhook-why").get_by_role("link").click()
    expect(tabs.get_by_role("link", name="Channels")).to_have_attribute("aria-current", "page")

    # A private address is refused with the reason.
    add_form = page.locator("#webhook-section form").last
    page.get_by_label("Webhook URL").fill("https://10.0.0.5/hook")
    add_form.get_by_label("Bot error (bot stopped)").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("10.0.0.5 is a private address")).to_be_visible()

    # The allowed local receiver is accepted; its secret is shown exactly once.
    add_form = page.locator("#webhook-section form").last
    page.get_by_label("Webhook URL").fill(url)
    if not add_form.get_by_label("Bot error (bot stopped)").is_checked():
        add_form.get_by_label("Bot error (bot stopped)").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret_element = page.get_by_test_id("webhook-secret")
    expect(secret_element).to_be_visible()
    secret = secret_element.inner_text().strip()
    assert secret.startswith("whsec_")

    # Toggle a preference on its own tab: it saves in place, for the endpoint.
    tabs.get_by_role("link", name="What to tell me").click()
    expect(tabs.get_by_role("link", name="What to tell me")).to_have_attribute(
        "aria-current", "page"
    )
    switch = page.get_by_label("Webhook: Trade executed")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.get_by_test_id("pref-trade_executed-webhook").get_by_role("status")).to_have_text(
        "saved"
    )
    user = User.by_email(e2e_user)
    db.session.expire_all()
    assert preferences.grid_for(user.id)[(EventType.TRADE_EXECUTED, NotificationChannel.WEBHOOK)]
    tabs.get_by_role("link", name="Channels").click()
    expect(page.get_by_test_id("webhook-secret-masked")).to_have_text("whsec_••••")
    expect(page.get_by_test_id("webhook-secret")).to_have_count(0)
    assert secret not in page.content()

    # Send a test webhook: the worker delivers it and the list shows it as sent.
    page.get_by_role("button", name="Send a test webhook").click()
    expect(page.locator("#test-section")).to_contain_text("Test webhook queued")
    tabs.get_by_role("link", name="History").click()
    row = page.get_by_test_id("notification-row").first
    expect(row).to_contain_text("Test notification")
    expect(row.get_by_test_id("status")).to_have_text("sent", timeout=20_000)

    [request] = [r for r, _ in server.log if r.path == "/hook"]
    signing.verify(secret, request.headers, request.get_data())
    db.session.expire_all()
    [sent] = db.session.query(Notification).filter_by(user_id=user.id).all()
    assert sent.status == NotificationStatus.SENT
    assert request.headers["webhook-id"] == sent.public_id
