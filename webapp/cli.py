"""`flask` commands for operators. Each area adds its own group here."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import refresh

from webapp import accounts, logs, scheduling
from webapp.extensions import db, redis_ext
from webapp.i18n import locales
from webapp.i18n.current import gettext as _
from webapp.models import User

logger = logging.getLogger(__name__)

users_cli = AppGroup("users", help="Create users and manage their passwords.")


def _prompt_password() -> str:
    return click.prompt(
        _("Password"),
        hide_input=True,
        confirmation_prompt=_("Repeat for confirmation"),
    )


@users_cli.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
def create_user(email: str, admin: bool) -> None:
    """Create a user (asks for the password)."""
    password = _prompt_password()
    try:
        user = accounts.create_user(email, password, is_admin=admin)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    if admin:
        click.echo(_("Created admin %(email)s (id %(id)s).", email=user.email, id=user.id))
    else:
        click.echo(_("Created user %(email)s (id %(id)s).", email=user.email, id=user.id))


@users_cli.command("set-password")
@click.argument("email")
def set_password(email: str) -> None:
    """Set a user's password (asks for it)."""
    password = _prompt_password()
    try:
        user = accounts.set_password(email, password)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(_("Password changed for %(email)s.", email=user.email))


@users_cli.command("set-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the admin role away instead.")
def set_admin(email: str, revoke: bool) -> None:
    """Give a user the admin role (or take it away)."""
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(str(accounts.UnknownUserError(User.normalize_email(email))))
    user.is_admin = not revoke
    db.session.commit()
    if revoke:
        click.echo(_("%(email)s is no longer an admin.", email=user.email))
    else:
        click.echo(_("%(email)s is an admin.", email=user.email))


@users_cli.command("list")
def list_users() -> None:
    """List users with their role."""
    for user in db.session.scalars(sa.select(User).order_by(User.id)):
        role = _("admin") if user.is_admin else _("user")
        click.echo(f"{user.id:>5}  {role:<5}  {user.email}")


schedule_cli = AppGroup("schedule", help="Periodic jobs held by rq-scheduler.")


@schedule_cli.command("sync")
def schedule_sync() -> None:
    """Make rq-scheduler's periodic jobs match the code (`schedule run` does it too)."""
    changes = scheduling.sync_schedule(redis_ext.conn)
    for line in changes:
        click.echo(line)
    count = len(scheduling.PERIODIC_JOBS)
    click.echo(_("Schedule in sync (%(count)d periodic jobs).", count=count))


@schedule_cli.command("run")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the schedule (the bots tick is due every few seconds).",
)
@click.option("--burst", is_flag=True, help="Move the due jobs onto their queues once, then exit.")
def schedule_run(interval: float, burst: bool) -> None:
    """The scheduler process: sync the periodic jobs, then move due jobs onto their queues.

    Runs rq-scheduler against the app's REDIS_URL with the app's logging, so LOG_FORMAT=json
    covers its lines too. SIGTERM or Ctrl-C stops it after the pass under way.
    """
    logs.configure_scheduler_logging(current_app)
    try:
        changes = scheduling.sync_schedule(redis_ext.conn)
    except scheduling.REDIS_DOWN as exc:
        logger.error("Scheduler cannot reach Redis: %s", exc)
        raise SystemExit(1) from None
    for line in changes:
        logger.info("%s", line)
    logger.info("Schedule in sync (%d periodic jobs).", len(scheduling.PERIODIC_JOBS))
    try:
        scheduling.run_scheduler(redis_ext.conn, interval=interval, burst=burst)
    except scheduling.REDIS_DOWN as exc:  # at start-up; later outages are retried
        logger.error("Scheduler cannot reach Redis: %s", exc)
        raise SystemExit(1) from None


@schedule_cli.command("list")
def schedule_list() -> None:
    """Show every scheduled job and its next run."""
    for job_id, func, when in scheduling.scheduled_jobs(redis_ext.conn):
        when_text = f"{when:%Y-%m-%d %H:%M:%S} UTC"
        click.echo(f"{job_id:<40} {func:<45} " + _("next %(when)s", when=when_text))


#: Long-running services: what they say goes to logs (English) or, rendered for a recipient,
#: in the recipient's language, never in the language of the terminal that started them.
SERVICES = {"schedule run", "telegram poll", "sim serve"}


def _in_terminal_language(callback: Callable) -> Callable:
    @functools.wraps(callback)
    def run(*args, **kwargs):
        token = locales.terminal.set(locales.environment_locale())
        refresh()  # a locale an enclosing app context already looked up must not stick
        try:
            return callback(*args, **kwargs)
        finally:
            locales.terminal.reset(token)
            refresh()

    run.speaks_terminal_language = True
    return run


def speak_terminal_language(group: click.Group, prefix: str = "") -> None:
    """Make the commands of `group` answer in the language of the terminal (LANG and friends),
    as command-line programs do; the services in SERVICES keep English. The groups live at
    module level, so a second app in the same process finds them already wrapped."""
    for name, command in group.commands.items():
        qualified = f"{prefix}{name}"
        if isinstance(command, click.Group):
            speak_terminal_language(command, f"{qualified} ")
        elif qualified in SERVICES or command.callback is None:
            continue
        elif not getattr(command.callback, "speaks_terminal_language", False):  # once per process
            command.callback = _in_terminal_language(command.callback)


def register_cli(app: Flask) -> None:
    from webapp.backtest.cli import backtest_cli, candles_cli
    from webapp.engine.cli import bots_cli
    from webapp.exchange.sim.cli import sim_cli
    from webapp.keys.cli import keys_cli
    from webapp.notify.cli import notifications_cli
    from webapp.telegram.cli import telegram_cli
    from webapp.tokens.cli import tokens_cli

    for group in (
        users_cli,
        schedule_cli,
        notifications_cli,
        telegram_cli,
        bots_cli,
        sim_cli,
        keys_cli,
        tokens_cli,
        candles_cli,
        backtest_cli,
    ):
        app.cli.add_command(group)
        speak_terminal_language(group, f"{group.name} ")
