"""Accounts: who may log in, and who is an admin."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db, login
from webapp.models.types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True, index=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    is_admin: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The language the user chose in the footer; None follows the browser (webapp.i18n).
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(8))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    def set_password(self, password: str) -> None:
        method = "scrypt"
        if has_app_context():
            method = current_app.config.get("PASSWORD_HASH_METHOD", method)
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def password_fingerprint(self) -> str:
        """Changes whenever the password does: part of session ids and reset links, so a new
        password logs out every other session and retires every earlier reset link."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def get_id(self) -> str:
        # The third part names the signed-in session (webapp.security.sessions).
        base = f"{self.id}:{self.password_fingerprint}"
        sid = getattr(self, "session_sid", None)
        return f"{base}:{sid}" if sid else base

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalar(sa.select(cls).where(cls.email == cls.normalize_email(email)))


@login.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, rest = session_id.partition(":")
    fingerprint, _, sid = rest.partition(":")
    try:
        user_id_number = int(user_id)
    except ValueError:
        return None
    from webapp.security import sessions

    return sessions.resume(user_id_number, fingerprint, sid)
