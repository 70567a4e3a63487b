"""Exchange API keys, stored encrypted; only webapp.exchange.clients ever decrypts them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.user import User


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "label"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    exchange: so.Mapped[str] = so.mapped_column(sa.String(32))  # a ccxt exchange id
    label: so.Mapped[str] = so.mapped_column(sa.String(64))
    key_encrypted: so.Mapped[str] = so.mapped_column(sa.Text)
    secret_encrypted: so.Mapped[str] = so.mapped_column(sa.Text)
    key_last4: so.Mapped[str] = so.mapped_column(sa.String(4))
    testnet: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    is_valid: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # When the exchange last gave a definite answer (accepted or rejected the key).
    last_validated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # User-facing text of the last failed check, never a raw exchange message.
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # What the exchange says the key may do (Binance's apiRestrictions), as of the last check;
    # None where the exchange does not tell (a testnet). A key that cannot trade spot serves
    # paper bots only; one not bound to IP addresses gets a warning.
    can_trade: so.Mapped[bool | None] = so.mapped_column(default=None)
    ip_restricted: so.Mapped[bool | None] = so.mapped_column(default=None)

    user: so.Mapped[User] = so.relationship()

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.exchange} {self.label!r} {self.masked_key}>"

    @property
    def masked_key(self) -> str:
        return f"****{self.key_last4}"
