"""`flask notifications ...`: clean up, sweep, and send a test through a user's channels."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import NotificationChannel, NotificationStatus, User
from webapp.models.types import utcnow
from webapp.notify import channels, delivery, dispatch, jobs, outbox

notifications_cli = AppGroup("notifications", help="Notification outbox maintenance and tests.")


@notifications_cli.command("cleanup")
def cleanup() -> None:
    """Delete old sent and failed notifications (NOTIFY_KEEP_SENT_DAYS / _FAILED_DAYS)."""
    removed = outbox.cleanup()
    click.echo(
        _(
            "Deleted %(sent)d sent and %(failed)d failed notification(s).",
            sent=removed["sent"],
            failed=removed["failed"],
        )
    )


@notifications_cli.command("sweep")
def sweep() -> None:
    """Enqueue every due notification that has no delivery job (as the scheduler does)."""
    click.echo(_("Enqueued %(count)d due notification(s).", count=jobs.sweep()))


@notifications_cli.command("test")
@click.argument("email")
def send_test(email: str) -> None:
    """Send a test notification through every enabled channel of a user, right now."""
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(
            _("No user with the email %(email)s.", email=User.normalize_email(email))
        )
    targets, skipped = [], []
    for channel in NotificationChannel:
        reason = channels.unavailable(user.id, channel)
        if reason is None:
            targets.append(channel)
        else:
            skipped.append(_("%(channel)s: skipped (%(why)s)", channel=channel.value, why=reason))
    rows = [row for channel in targets for row in dispatch.create_test(user.id, channel)]
    ids = [(row.public_id, row.channel) for row in rows]
    db.session.commit()
    failures = 0
    for public_id, channel in ids:
        outcome = _deliver_inline(public_id)
        line = f"{channel.value}: {outcome.status} ({public_id})"
        if outcome.detail:
            line += f": {outcome.detail}"
        if outcome.next_at is not None:
            when = f"{outcome.next_at:%Y-%m-%d %H:%M:%S} UTC"
            line += "; " + _("next attempt %(when)s", when=when)
        click.echo(line)
        if outcome.status != NotificationStatus.SENT.value:
            failures += 1
    for line in skipped:
        click.echo(line)
    if failures:
        raise SystemExit(1)


def _deliver_inline(public_id: str) -> delivery.Outcome:
    """Deliver now, retrying in-process while the retry is due immediately."""
    outcome = delivery.deliver(public_id)
    while outcome.status == "retry" and outcome.next_at is not None:
        if (outcome.next_at - utcnow()).total_seconds() > 1:
            break
        outcome = delivery.deliver(public_id)
    return outcome
