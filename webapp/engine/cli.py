"""`flask bots ...`: look at bots, run the tick or one cycle by hand, start and stop bots."""

from __future__ import annotations

import logging

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from webapp.engine import service
from webapp.engine.errors import BotError
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import Bot, BotActivity, BotState, User
from webapp.models.types import utcnow
from webapp.numbers import plain as _num

logger = logging.getLogger(__name__)

bots_cli = AppGroup("bots", help="Trading bots: list them, run the tick or one cycle.")


def _bot(bot_id: int) -> Bot:
    bot = db.session.get(Bot, bot_id)
    if bot is None:
        raise click.ClickException(_("No bot with id %(id)s.", id=bot_id))
    return bot


@bots_cli.command("list")
@click.option("--user", "email", help="Only this user's bots (email).")
def list_bots(email: str | None) -> None:
    """Every bot: id, owner, name, symbol, strategy, status, position, today's PnL."""
    query = (
        sa.select(Bot, BotState, User.email)
        .join(BotState, BotState.bot_id == Bot.id)
        .join(User, User.id == Bot.user_id)
        .order_by(Bot.id)
    )
    if email:
        query = query.where(User.email == User.normalize_email(email))
    today = utcnow().date()
    head = [_("owner"), _("name"), _("symbol"), _("strategy"), _("mode"), _("status")]
    head += [_("position"), _("pnl today")]
    click.echo("{:>5}  {:<24} {:<20} {:<11} {:<10} {:<5} {:<8} {:>14} {:>12}".format("id", *head))
    for bot, state, owner in db.session.execute(query):
        status = state.status.value
        if state.is_paused():
            status = "paused"
        pnl = state.realized_pnl_today if state.pnl_day == today else 0
        click.echo(
            f"{bot.id:>5}  {owner[:24]:<24} {bot.name[:20]:<20} {bot.symbol:<11} "
            f"{bot.strategy:<10} {bot.mode.value:<5} {status:<8} "
            f"{_num(state.position_qty):>14} {_num(pnl):>12}"
        )


@bots_cli.command("tick")
def tick_command() -> None:
    """Run the scheduler's tick once: queue the cycles of every due bot."""
    from webapp.engine.tick import tick

    click.echo(str(tick()))


@bots_cli.command("cycle")
@click.argument("bot_id", type=int)
@click.option("--force", is_flag=True, help="Run even if the bot is stopped or paused.")
def cycle_command(bot_id: int, force: bool) -> None:
    """Run one cycle of a bot now, in this process, and print what it decided."""
    from webapp.engine.cycle import Outcome, run_cycle

    _bot(bot_id)
    last_id = db.session.scalar(
        sa.select(sa.func.max(BotActivity.id)).where(BotActivity.bot_id == bot_id)
    )
    db.session.rollback()
    result = run_cycle(bot_id, None, force=force)
    click.echo(str(result))
    query = sa.select(BotActivity).where(BotActivity.bot_id == bot_id)
    if last_id is not None:
        query = query.where(BotActivity.id > last_id)
    for row in db.session.scalars(query.order_by(BotActivity.id)):
        click.echo(f"  {row.at:%H:%M:%S} {row.kind.value:<6} {row.message}")
    if result.outcome in (Outcome.NOT_RUNNING, Outcome.PAUSED):
        click.echo(_("Use --force to run it anyway."))
    if result.outcome in (Outcome.ERROR, Outcome.LOCKED, Outcome.NOT_FOUND):
        raise SystemExit(1)


@bots_cli.command("start")
@click.argument("bot_id", type=int)
def start_command(bot_id: int) -> None:
    """Start a bot (its first cycle runs at the next tick)."""
    bot = _bot(bot_id)
    try:
        service.start_bot(bot)
    except BotError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(_("Bot %(id)s (%(name)s) is running.", id=bot.id, name=bot.name))


@bots_cli.command("stop")
@click.argument("bot_id", type=int)
@click.option("--reason", default="Stopped by the operator.", show_default=True)
def stop_command(bot_id: int, reason: str) -> None:
    """Stop a bot."""
    bot = _bot(bot_id)
    service.stop_bot(bot, reason)
    db.session.commit()
    click.echo(_("Bot %(id)s (%(name)s) is stopped.", id=bot.id, name=bot.name))


def _stop_all_question(user: User | None, sell: bool) -> str:
    if user is None:
        if sell:
            return _("Stop all running bots of EVERY user and sell their positions?")
        return _("Stop all running bots of EVERY user?")
    if sell:
        return _("Stop all running bots of %(email)s and sell their positions?", email=user.email)
    return _("Stop all running bots of %(email)s?", email=user.email)


@bots_cli.command("stop-all")
@click.option("--user", "email", help="Only this user's bots (email); default: everyone's.")
@click.option("--sell", is_flag=True, help="Then sell each stopped bot's open position.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def stop_all(email: str | None, sell: bool, yes: bool) -> None:
    """The kill switch: stop every running bot, optionally selling their positions."""
    from webapp.engine import killswitch

    user = None
    if email:
        user = User.by_email(email)
        if user is None:
            raise click.ClickException(
                _("No account with the email %(email)s.", email=User.normalize_email(email))
            )
    if not yes:
        click.confirm(_stop_all_question(user, sell), abort=True)
    result = killswitch.stop_all(user, sell=sell)
    click.echo(result.summary())
