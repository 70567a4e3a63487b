"""The audit log: what users and admins see, that it is append-only, holds no secret, and
that the scheduler's clean-up keeps only the last AUDIT_KEEP_DAYS days."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.bots.helpers import make_bot, make_key, texts
from tests.conftest import PASSWORD
from tests.keys.conftest import SECRETS as API_SECRETS
from webapp import scheduling
from webapp.extensions import db
from webapp.models import ApiKey, AuditEvent
from webapp.models.types import utcnow
from webapp.security.audit import AppendOnlyError


def actions(user_id: int | None = None) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    return list(db.session.scalars(query))


def test_a_users_security_actions_are_recorded_and_shown_to_them_only(
    client, auth, other_client, two_factor
):
    auth.create_user()
    bad = auth.login(password="not-my-password-1")
    assert bad.status_code == 422
    user = auth.register_and_login("bob@example.com")
    client.post("/auth/logout")
    auth.login()
    two_factor.enable()
    client.post("/tokens/", data={"name": "Grafana", "scopes": ["read"], "expires": "30"})
    from webapp.models import User

    alice = User.by_email("alice@example.com")
    key = make_key(alice, "Main")
    bot = make_bot(alice, key, "Trend BTC")
    assert client.post(f"/bots/{bot.id}/start").status_code in (200, 302)
    assert client.post(f"/bots/{bot.id}/stop").status_code in (200, 302)
    assert client.delete(f"/keys/{key.id}").status_code in (200, 302)

    assert actions(alice.id) == [
        "login_failed",
        "login",
        "2fa_enabled",
        "token_created",
        "key_added",
        "bot_started",
        "bot_stopped",
        "key_removed",
    ]
    page = client.get("/security/activity").get_data(as_text=True)
    rows = texts(page, "audit-row")
    assert len(rows) == 8
    assert "Failed sign-in: wrong password." in page and "127.0.0.1" in page
    assert "API key “Main” (****wxyz) deleted." in page
    assert "Bot “Trend BTC”" in page and "Grafana" in page
    assert "bob@example.com" not in page
    assert db.session.scalar(sa.select(ApiKey)) is None

    other_client.post("/auth/login", data={"email": "bob@example.com", "password": PASSWORD})
    bobs = other_client.get("/security/activity").get_data(as_text=True)
    assert "Grafana" not in bobs and len(texts(bobs, "audit-row")) == 2  # bob's two sign-ins
    assert user.id != alice.id
    everything = " ".join(
        f"{e.description} {e.email} {e.ip}" for e in db.session.scalars(sa.select(AuditEvent))
    )
    for secret in [PASSWORD, "not-my-password-1", "never-shown-secret", *API_SECRETS]:
        assert secret not in everything


def test_a_password_reset_and_a_token_revocation_are_recorded(client, auth):
    from webapp import accounts

    user = auth.register_and_login()
    client.post("/tokens/", data={"name": "ci", "scopes": ["read"], "expires": "30"})
    from webapp.models import ApiToken

    token = db.session.scalar(sa.select(ApiToken))
    client.post(f"/tokens/{token.id}/revoke")
    accounts.reset_password(accounts.make_reset_token(user), "a-whole-new-pass-9")
    db.session.commit()
    assert actions(user.id)[-3:] == ["token_created", "token_revoked", "password_changed"]


def test_admins_see_everyones_events_filtered_by_user_and_action(client, auth, other_client):
    auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": "bob@example.com", "password": "wrong-wrong-1"})
    other_client.post("/auth/login", data={"email": "bob@example.com", "password": PASSWORD})
    auth.register_and_login("root@example.com", admin=True)
    everything = client.get("/security/admin/audit").get_data(as_text=True)
    assert len(texts(everything, "audit-row")) == 3
    only_bob = client.get("/security/admin/audit?user=BOB@example.com&action=login_failed")
    rows = texts(only_bob.get_data(as_text=True), "audit-row")
    assert len(rows) == 1 and "bob@example.com" in rows[0] and "login_failed" in rows[0]
    unknown = client.get("/security/admin/audit?action=<script>")
    assert (
        unknown.status_code == 200 and len(texts(unknown.get_data(as_text=True), "audit-row")) == 3
    )


def test_non_admins_cannot_see_the_audit_log(client, auth):
    auth.register_and_login()
    assert client.get("/security/admin/audit").status_code == 403


def test_events_cannot_be_changed_or_deleted(app, auth):
    auth.create_user()
    auth.login()
    event = db.session.scalar(sa.select(AuditEvent))
    event.description = "nothing happened"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(AuditEvent)))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.description)).startswith("Signed in")


def test_the_scheduler_deletes_events_older_than_the_retention(app, auth):
    from workers.security import cleanup_audit

    user = auth.create_user()
    now = utcnow()
    for days in (400, 366, 364, 1):
        db.session.add(
            AuditEvent(
                user_id=user.id,
                action="login",
                description=f"{days} days ago",
                created_at=now - timedelta(days=days),
            )
        )
    db.session.commit()
    assert cleanup_audit() == 2
    assert cleanup_audit() == 0  # safe to run twice
    kept = set(db.session.scalars(sa.select(AuditEvent.description)))
    assert kept == {"364 days ago", "1 days ago"}
    assert "workers.security.cleanup_audit" in {job.func for job in scheduling.PERIODIC_JOBS}
