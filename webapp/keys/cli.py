"""`flask keys ...`: operators list, re-check and re-encrypt stored exchange API keys."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from webapp import crypto
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.keys import service
from webapp.models import ApiKey, User
from webapp.notify import endpoints
from webapp.signals import service as signals
from webapp.telegram import bot as telegram_bot

keys_cli = AppGroup("keys", help="Stored exchange API keys: list, re-check, re-encrypt.")


@keys_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret with the newest (first) ENCRYPTION_KEY.

    Exchange API keys, webhook signing secrets, two-factor secrets, bots' signal URLs and the
    Telegram bot token alike. Rotation:
    put a new key in front of ENCRYPTION_KEY, restart, run this, then remove the old key.
    All or nothing: if anything cannot be decrypted, nothing changes.
    """
    try:
        count = service.rotate_all()
        webhooks = endpoints.reencrypt_all()
        from webapp.security import twofactor

        totp = twofactor.reencrypt_all()
        telegram = telegram_bot.reencrypt()
        signal_urls = signals.reencrypt_all()
    except crypto.DecryptionError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(_("Re-encrypted %(count)d keys with the newest ENCRYPTION_KEY.", count=count))
    click.echo(_("Re-encrypted %(count)d webhook endpoint secrets.", count=webhooks))
    click.echo(_("Re-encrypted %(count)d two-factor secrets.", count=totp))
    click.echo(_("Re-encrypted %(count)d signal URLs.", count=signal_urls))
    if telegram:
        click.echo(_("Re-encrypted the Telegram bot token."))


@keys_cli.command("list")
def list_keys() -> None:
    """Every stored key: id, owner, label, exchange, masked key, validity."""
    rows = db.session.execute(
        sa.select(ApiKey, User.email).join(User, ApiKey.user_id == User.id).order_by(ApiKey.id)
    )
    for api_key, email in rows:
        state = _("valid") if api_key.is_valid else _("invalid")
        net = " testnet" if api_key.testnet else ""
        click.echo(
            f"{api_key.id:>5}  {email}  {api_key.label!r}  {api_key.exchange}{net}  "
            f"{api_key.masked_key}  {state}"
        )


@keys_cli.command("validate")
@click.argument("key_id", type=int, required=False)
def validate(key_id: int | None) -> None:
    """Re-check one key (KEY_ID) or every key with the exchange now.

    Exits with status 1 if any checked key is invalid or could not be checked.
    """
    ids = [key_id] if key_id is not None else service.all_key_ids()
    all_good = True
    for one_id in ids:
        api_key = service.revalidate(one_id)
        db.session.commit()
        if api_key is None:
            raise click.ClickException(_("No API key with id %(id)s.", id=one_id))
        state = _("valid") if api_key.is_valid else _("invalid")
        detail = f": {api_key.last_error}" if api_key.last_error else ""
        all_good = all_good and api_key.is_valid and not api_key.last_error
        click.echo(f"{api_key.id:>5}  {api_key.label!r}  {api_key.masked_key}  {state}{detail}")
    if not all_good:
        raise SystemExit(1)
