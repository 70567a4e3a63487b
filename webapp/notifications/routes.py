from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp.events import EventType
from webapp.extensions import db
from webapp.htmx import htmx_target, is_boosted, is_htmx, render_page
from webapp.models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    QuietHours,
    WebhookEndpoint,
)
from webapp.models.types import utcnow
from webapp.notifications import bp
from webapp.notifications.forms import QuietHoursForm, WebhookForm
from webapp.notify import endpoints, kinds, limits, netguard, outbox, preferences
from webapp.notify.errors import EndpointError, NotResendableError

logger = logging.getLogger(__name__)

TEMPLATE = "notifications/index.html"
BLOCKS = {
    "webhook-section": "webhook",
    "quiet-hours": "quiet",
    "recent-notifications": "recent",
}
RECENT_LIMIT = 50
POLL_HORIZON = timedelta(seconds=60)
#: Ids in URLs are checked before they reach the database: PostgreSQL refuses an integer out
#: of its range or a string with a NUL byte with an error, which would be a 500.
MAX_ID = 2**31 - 1
PUBLIC_ID = re.compile(r"msg_[0-9A-Za-z_-]{1,36}")
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", ""}
_TIMEZONES: list[str] = []


def timezones() -> list[str]:
    if not _TIMEZONES:
        _TIMEZONES.extend(sorted(limits.timezone_names()))
    return _TIMEZONES


@bp.before_request
@login_required
def require_login():
    """Every page here is personal, and every change is a form post (a JSON body would reach
    the form fields as numbers or lists, which they are not made for)."""
    if request.method == "POST" and request.mimetype not in FORM_TYPES:
        message = "This page accepts form posts only; use the buttons and forms on the page."
        return render_template(
            "errors/error.html", code=415, title="Unsupported request", message=message
        ), 415
    return None


@bp.errorhandler(StaleDataError)
def changed_meanwhile(error: StaleDataError):
    """Another request deleted or changed the row this one was updating (two tabs, a double
    click): say so instead of failing with a 500."""
    db.session.rollback()
    logger.info("notification settings changed by a concurrent request: %s", error)
    return _done("This was changed in another tab or window meanwhile; look again.", "error")


def _own_endpoint(endpoint_id: int) -> WebhookEndpoint:
    if not 0 < endpoint_id <= MAX_ID:
        abort(404)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.user_id != current_user.id:
        abort(404)
    return endpoint


def _own_notification(public_id: str) -> Notification:
    if not PUBLIC_ID.fullmatch(public_id):
        abort(404)
    row = db.session.scalar(
        sa.select(Notification).where(
            Notification.public_id == public_id, Notification.user_id == current_user.id
        )
    )
    if row is None:
        abort(404)
    return row


def _quiet_form(quiet: QuietHours | None) -> QuietHoursForm:
    if request.method == "POST" and request.endpoint == "notifications.quiet_hours":
        return QuietHoursForm()
    form = QuietHoursForm(formdata=None)
    if quiet is not None:
        form.enabled.data = quiet.enabled
        form.start.data = quiet.start_time
        form.end.data = quiet.end_time
        form.timezone.data = quiet.timezone
    return form


def _due_soon(row: Notification, now) -> bool:
    """Refresh the list while something is about to change (not for a row held until morning)."""
    return row.status == NotificationStatus.PENDING and (
        row.next_attempt_at is None or row.next_attempt_at <= now + POLL_HORIZON
    )


def _context(**extra) -> dict:
    now = utcnow()
    user_id = current_user.id
    endpoint = endpoints.endpoint_for(user_id)
    quiet = db.session.get(QuietHours, user_id)
    recent = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .limit(RECENT_LIMIT)
    ).all()
    context = {
        "event_types": list(EventType),
        "channels": list(NotificationChannel),
        "grid": preferences.grid_for(user_id),
        "endpoint": endpoint,
        "webhook_form": WebhookForm(formdata=None, url=endpoint.url if endpoint else None),
        "quiet": quiet,
        "quiet_form": _quiet_form(quiet),
        "timezones": timezones(),
        "recent": recent,
        "polling": any(_due_soon(row, now) for row in recent),
        "now": now,
        "kind_label": kinds.label,
        "masked_secret": endpoints.MASKED_SECRET,
        "revealed_secret": None,
        "notices": {},
        "rotation_overlap_until": (
            endpoint.previous_secret_expires_at
            if endpoint
            and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now
            else None
        ),
    }
    context.update(extra)
    return context


def _page(
    status: int = 200,
    notice: str | None = None,
    category: str = "success",
    section: str | None = None,
    **extra,
):
    """The page, or just the section an HTMX request targets; `notice` shows in `section`
    (by default the targeted one)."""
    notices = {}
    if notice:
        notices[section or htmx_target() or ""] = (notice, category)
    return render_page(TEMPLATE, blocks=BLOCKS, **_context(notices=notices, **extra)), status


def _partial() -> bool:
    return is_htmx() and not is_boosted()


def _done(message: str, category: str = "success", **extra):
    """Answer a change: the updated section for HTMX, else back to the page with a flash."""
    if _partial():
        return _page(notice=message, category=category, **extra)
    flash(message, category)
    return redirect(url_for("notifications.index"))


@bp.route("/")
def index():
    return _page()


@bp.route("/preferences/<event_type>/<channel>", methods=["POST"])
def toggle_preference(event_type: str, channel: str):
    try:
        event = EventType(event_type)
        chan = NotificationChannel(channel)
    except ValueError:
        abort(404)
    enabled = request.form.get("enabled") in {"on", "1", "true", "yes"}
    preferences.set_preference(current_user.id, event, chan, enabled)
    db.session.commit()
    if _partial():
        return render_template(
            "notifications/_pref_cell.html",
            event=event,
            channel=chan,
            on=enabled,
            saved=True,
            endpoint=endpoints.endpoint_for(current_user.id),
        )
    flash(
        f"{chan.label} notifications for “{event.label}” turned {'on' if enabled else 'off'}.",
        "success",
    )
    return redirect(url_for("notifications.index"))


def _webhook_refused(form: WebhookForm, message: str):
    form.url.errors = [*form.url.errors, message]
    db.session.rollback()
    return _page(422, webhook_form=form)


@bp.route("/webhooks", methods=["POST"])
def create_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(422, webhook_form=form)
    try:
        endpoint, secret = endpoints.create_endpoint(current_user.id, form.url.data)
        db.session.commit()
    except (netguard.UnsafeURLError, EndpointError) as exc:
        return _webhook_refused(form, str(exc))
    except IntegrityError:
        # A second request (a double click, another tab) created it between our check and
        # our insert: the first one showed the secret, this one must not replace it.
        db.session.rollback()
        if endpoints.endpoint_for(current_user.id) is None:
            raise
        return _webhook_refused(form, endpoints.ALREADY_HAVE_ENDPOINT)
    # The one and only time the secret is shown: rendered into this response, never stored
    # anywhere it could be read back (not in the session cookie, not in a flash).
    return _page(
        revealed_secret=secret,
        notice="Webhook endpoint saved. Copy the signing secret now: it is shown only once.",
        section="webhook-section",
        webhook_form=WebhookForm(formdata=None, url=endpoint.url),
    )


@bp.route("/webhooks/<int:endpoint_id>", methods=["POST"])
def update_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(422, webhook_form=form)
    try:
        endpoints.update_url(endpoint, form.url.data)
    except netguard.UnsafeURLError as exc:
        return _webhook_refused(form, str(exc))
    db.session.commit()
    return _done("Webhook URL saved.")


@bp.route("/webhooks/<int:endpoint_id>/rotate", methods=["POST"])
def rotate_webhook_secret(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    return _page(
        revealed_secret=secret,
        notice="New signing secret created. Copy it now: it is shown only once. For 24 hours "
        "webhooks are signed with both the new and the previous secret.",
        section="webhook-section",
    )


@bp.route("/webhooks/<int:endpoint_id>/enable", methods=["POST"])
def enable_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    endpoints.enable(endpoint)
    db.session.commit()
    return _done("Webhook endpoint enabled again.")


@bp.route("/webhooks/<int:endpoint_id>/delete", methods=["POST"])
def delete_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    db.session.delete(endpoint)
    db.session.commit()
    logger.info("user %s deleted the webhook endpoint", current_user.id)
    return _done("Webhook endpoint deleted.", "info")


@bp.route("/quiet-hours", methods=["POST"])
def quiet_hours():
    form = QuietHoursForm()
    if not form.validate_on_submit():
        return _page(422, quiet_form=form)
    try:
        _save_quiet_hours(form)
    except IntegrityError:  # another request added them meanwhile: update those instead
        db.session.rollback()
        _save_quiet_hours(form)
    message = (
        f"Quiet hours on: {form.start.data:%H:%M} to {form.end.data:%H:%M} ({form.timezone.data})."
        if form.enabled.data
        else "Quiet hours off."
    )
    return _done(message)


def _save_quiet_hours(form: QuietHoursForm) -> None:
    quiet = db.session.get(QuietHours, current_user.id)
    if quiet is None:
        quiet = QuietHours(user_id=current_user.id)
        db.session.add(quiet)
    quiet.enabled = form.enabled.data
    quiet.start_time = form.start.data
    quiet.end_time = form.end.data
    quiet.timezone = form.timezone.data
    quiet.updated_at = utcnow()
    db.session.commit()


@bp.route("/test/<channel>", methods=["POST"])
def send_test(channel: str):
    try:
        chan = NotificationChannel(channel)
    except ValueError:
        abort(404)
    if chan == NotificationChannel.WEBHOOK:
        endpoint = endpoints.endpoint_for(current_user.id)
        if endpoint is None or not endpoint.enabled:
            return _done("Add (or enable) a webhook endpoint first.", "error")
    row = outbox.create_test(current_user.id, chan)
    db.session.commit()
    return _done(f"Test {chan.label.lower()} queued ({row.public_id}).", "info")


@bp.route("/<public_id>")
def detail(public_id: str):
    row = _own_notification(public_id)
    return render_page("notifications/detail.html", row=row, kind_label=kinds.label)


@bp.route("/<public_id>/resend", methods=["POST"])
def resend(public_id: str):
    row = _own_notification(public_id)
    try:
        outbox.resend(row)
    except NotResendableError as exc:
        db.session.rollback()
        return _done(str(exc), "error")
    db.session.commit()
    return _done(f"{kinds.label(row.event_type)} will be sent again.", "info")
