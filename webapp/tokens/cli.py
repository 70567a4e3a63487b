"""`flask tokens ...`: operators make, list and revoke API tokens for a user."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from webapp.accounts.errors import UnknownUserError
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import ApiToken, User
from webapp.models.types import utcnow
from webapp.tokens import service

tokens_cli = AppGroup("tokens", help="Personal access tokens for the JSON API.")


def _user(email: str) -> User:
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(str(UnknownUserError(User.normalize_email(email))))
    return user


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", "scopes", default="read", show_default=True, help="read, trade or both")
@click.option("--days", type=int, default=None, help="Lifetime in days (default: never expires).")
def create(email: str, name: str, scopes: str, days: int | None) -> None:
    """Create a token for EMAIL and print it (the only time it is shown)."""
    user = _user(email)
    try:
        row, token = service.create_token(user, name, scopes, days)
    except service.InvalidTokenInput as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    if row.expires_at:
        expires = _("expires %(date)s", date=f"{row.expires_at:%Y-%m-%d}")
    else:
        expires = _("never expires")
    click.echo(
        _(
            "Token %(id)s “%(name)s” for %(email)s (%(scopes)s; %(expires)s):",
            id=row.id,
            name=row.name,
            email=user.email,
            scopes=row.scopes,
            expires=expires,
        ),
        err=True,
    )
    click.echo(token)


@tokens_cli.command("list")
@click.argument("email", required=False)
def list_tokens(email: str | None) -> None:
    """Every token (of EMAIL, or of everyone): id, owner, prefix, scopes, status."""
    query = sa.select(ApiToken, User.email).join(User, ApiToken.user_id == User.id)
    if email:
        query = query.where(ApiToken.user_id == _user(email).id)
    now = utcnow()
    for row, owner in db.session.execute(query.order_by(ApiToken.id)):
        if row.revoked_at:
            status = _("revoked")
        else:
            status = _("active") if row.is_active(now) else _("expired")
        if row.last_used_at:
            used = _("last used %(when)s", when=f"{row.last_used_at:%Y-%m-%d %H:%M}")
        else:
            used = _("unused")
        click.echo(
            f"{row.id:>5}  {owner}  {row.prefix}…  {row.name!r}  {row.scopes}  {status}  {used}"
        )


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (whoever owns it)."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(_("No token with id %(id)s.", id=token_id))
    service.revoke_token(row.user_id, row.id)
    db.session.commit()
    click.echo(_("Revoked token %(id)s (%(prefix)s…).", id=row.id, prefix=row.prefix))
