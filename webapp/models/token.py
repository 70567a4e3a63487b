"""Personal access tokens for the JSON API: only their SHA-256 hash is stored."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.user import User


class TokenScope(enum.StrEnum):
    READ = "read"  # every GET
    TRADE = "trade"  # everything that changes state

    @property
    def label(self) -> str:
        return {"read": "Read", "trade": "Trade"}[self.value]


class ApiToken(db.Model):
    """One token. The token itself is shown once, when it is made; `prefix` (its first
    characters) lets the owner tell tokens apart afterwards."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    # Hex SHA-256 of the whole token: a stolen database holds nothing that authenticates.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    scopes: so.Mapped[str] = so.mapped_column(sa.String(64))  # comma-separated TokenScope values
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)  # None: never
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_used_ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))

    user: so.Mapped[User] = so.relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id} {self.prefix}… {self.scopes}>"

    @property
    def scope_set(self) -> frozenset[TokenScope]:
        return frozenset(TokenScope(s) for s in self.scopes.split(",") if s)

    def has_scope(self, scope: TokenScope) -> bool:
        return scope in self.scope_set

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def is_active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)
