"""`flask telegram ...`: set the installation's bot token, check it, and run the poller."""

from __future__ import annotations

import signal

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.telegram import bot
from webapp.telegram.errors import TokenRefused
from webapp.telegram.poller import Poller

telegram_cli = AppGroup("telegram", help="The Telegram bot: token, status and the poller.")


@telegram_cli.command("set-token")
@click.argument("token")
def set_token(token: str) -> None:
    """Check TOKEN with Telegram (getMe) and store it encrypted; replaces the current one."""
    try:
        me = bot.set_token(token)
    except TokenRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        _(
            "Saved the token of @%(bot)s (%(token)s).",
            bot=me.get("username"),
            token=bot.mask(token.strip()),
        )
    )
    if current_app.config.get("TELEGRAM_BOT_TOKEN"):
        click.echo(_("Note: TELEGRAM_BOT_TOKEN is set in the environment and is used instead."))


@telegram_cli.command("status")
def status() -> None:
    """Which bot is set up (token masked) and whether Telegram accepts it."""
    found = bot.info()
    if found is None:
        raise click.ClickException(_("No Telegram bot token is set (flask telegram set-token)."))
    try:
        me = bot.require_api().get_me()
    except Exception as exc:  # TelegramError: its message never holds the token
        raise click.ClickException(f"{found.masked_token} ({found.source}): {exc}") from None
    click.echo(f"@{me.get('username')} {found.masked_token} ({found.source}): OK")


@telegram_cli.command("poll")
@click.option("--rounds", type=int, default=None, hidden=True)
def poll(rounds: int | None) -> None:
    """Long-poll Telegram for commands (one poller is active at a time)."""
    poller = Poller(int(current_app.config.get("TELEGRAM_POLL_TIMEOUT") or 25))
    signal.signal(signal.SIGTERM, lambda *_: poller.stop.set())
    signal.signal(signal.SIGINT, lambda *_: poller.stop.set())
    poller.run(max_rounds=rounds)
