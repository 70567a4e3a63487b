"""`flask` commands for operators. Each area adds its own group here."""

from __future__ import annotations

import logging

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp import accounts, logs, scheduling
from webapp.extensions import db, redis_ext
from webapp.models import User

logger = logging.getLogger(__name__)

users_cli = AppGroup("users", help="Create users and manage their passwords.")


def _prompt_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


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
    click.echo(f"Created {'admin' if admin else 'user'} {user.email} (id {user.id}).")


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
    click.echo(f"Password changed for {user.email}.")


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
    click.echo(f"{user.email} is {'no longer ' if revoke else ''}an admin.")


@users_cli.command("list")
def list_users() -> None:
    """List users with their role."""
    for user in db.session.scalars(sa.select(User).order_by(User.id)):
        role = "admin" if user.is_admin else "user"
        click.echo(f"{user.id:>5}  {role:<5}  {user.email}")


schedule_cli = AppGroup("schedule", help="Periodic jobs held by rq-scheduler.")


@schedule_cli.command("sync")
def schedule_sync() -> None:
    """Make rq-scheduler's periodic jobs match the code (`schedule run` does it too)."""
    changes = scheduling.sync_schedule(redis_ext.conn)
    for line in changes:
        click.echo(line)
    click.echo(f"Schedule in sync ({len(scheduling.PERIODIC_JOBS)} periodic jobs).")


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
        click.echo(f"{job_id:<40} {func:<45} next {when:%Y-%m-%d %H:%M:%S} UTC")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(schedule_cli)

    from webapp.notify.cli import notifications_cli

    app.cli.add_command(notifications_cli)

    from webapp.telegram.cli import telegram_cli

    app.cli.add_command(telegram_cli)

    from webapp.engine.cli import bots_cli

    app.cli.add_command(bots_cli)

    from webapp.exchange.sim.cli import sim_cli

    app.cli.add_command(sim_cli)

    from webapp.keys.cli import keys_cli

    app.cli.add_command(keys_cli)

    from webapp.tokens.cli import tokens_cli

    app.cli.add_command(tokens_cli)

    from webapp.backtest.cli import backtest_cli, candles_cli

    app.cli.add_command(candles_cli)
    app.cli.add_command(backtest_cli)
