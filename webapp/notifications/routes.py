from __future__ import annotations

import functools
import logging
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp.extensions import db
from webapp.fragments import PREFERENCE_CELLS
from webapp.htmx import htmx_target, is_boosted, is_htmx, render_page, template_names
from webapp.i18n.current import gettext as _
from webapp.i18n.timezones import forget_signed_in_timezone
from webapp.models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    QuietHours,
    WebhookEndpoint,
)
from webapp.models.types import utcnow
from webapp.notifications import bp
from webapp.notifications.forms import PhoneCodeForm, PhoneForm, QuietHoursForm, WebhookForm
from webapp.notify import (
    channels,
    dispatch,
    endpoints,
    kinds,
    limits,
    netguard,
    outbox,
    phones,
    preferences,
    status,
)
from webapp.notify.errors import EndpointError, NotResendableError, PreferenceRefusedError
from webapp.notify.kinds import EventType
from webapp.telegram import bot as telegram_bot
from webapp.telegram import linking

logger = logging.getLogger(__name__)

CHANNELS = "notifications/channels.html"
PREFERENCES = "notifications/preferences.html"
HISTORY = "notifications/history.html"
#: The element id an HTMX request targets -> the page template and block that render it.
#: Whichever route answers, a swap gets the block of the page the element lives on.
BLOCKS = {
    "webhook-section": (CHANNELS, "webhook"),
    "telegram-section": (CHANNELS, "telegram"),
    "sms-section": (CHANNELS, "sms"),
    "test-section": (CHANNELS, "tests"),
    "quiet-hours": (PREFERENCES, "quiet"),
    "recent-notifications": (HISTORY, "recent"),
}
#: Where a change made without HTMX lands again (a flash there says how it went).
HOME = {CHANNELS: "notifications.index", PREFERENCES: "notifications.preferences_page"}
HOME[HISTORY] = "notifications.history"
RECENT_LIMIT = 50
POLL_HORIZON = timedelta(seconds=60)
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", ""}
_TIMEZONES: list[Markup] = []


@bp.app_template_global("channel_label")
def channel_label(channel: str) -> str:
    return status.channel_label(channel)


@bp.app_template_global("status_label")
def status_label(value: str) -> str:
    return status.status_label(value)


@bp.app_template_filter("notify_text")
def notify_text(message: str | None) -> str | None:
    """A message of the channels (why one cannot be chosen or used) in the reader's language:
    they may still be English text, which the catalogs translate."""
    return _(message) if message else message


def test_buttons() -> dict[NotificationChannel, str]:
    return {
        NotificationChannel.EMAIL: _("Send a test email"),
        NotificationChannel.WEBHOOK: _("Send a test webhook"),
        NotificationChannel.TELEGRAM: _("Send a test telegram"),
        NotificationChannel.SMS: _("Send a test sms"),
    }


def test_queued(channel: NotificationChannel, ids: str) -> str:
    return {
        NotificationChannel.EMAIL: _("Test email queued (%(ids)s).", ids=ids),
        NotificationChannel.WEBHOOK: _("Test webhook queued (%(ids)s).", ids=ids),
        NotificationChannel.TELEGRAM: _("Test telegram queued (%(ids)s).", ids=ids),
        NotificationChannel.SMS: _("Test sms queued (%(ids)s).", ids=ids),
    }[channel]


def timezone_options() -> Markup:
    """The quiet-hours form's <datalist> of every zone this machine knows: several hundred
    options, the same on every view, written once per process."""
    if not _TIMEZONES:
        names = sorted(limits.timezone_names())
        _TIMEZONES.append(Markup("").join(Markup('<option value="{}">').format(n) for n in names))
    return _TIMEZONES[0]


@bp.before_request
@login_required
def require_login():
    """Every page here is personal, and every change is a form post (a JSON body would reach
    the form fields as numbers or lists, which they are not made for)."""
    if request.method == "POST" and request.mimetype not in FORM_TYPES:
        message = _("This page accepts form posts only; use the buttons and forms on the page.")
        return render_template(
            "errors/error.html", code=415, title=_("Unsupported request"), message=message
        ), 415
    return None


@bp.errorhandler(StaleDataError)
def changed_meanwhile(error: StaleDataError):
    """Another request deleted or changed the row this one was updating (two tabs, a double
    click): say so instead of failing with a 500."""
    db.session.rollback()
    logger.info("notification settings changed by a concurrent request: %s", error)
    return _done(_("This was changed in another tab or window meanwhile; look again."), "error")


def _own_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = endpoints.endpoint_of(current_user.id, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _own_notification(public_id: str) -> Notification:
    row = outbox.notification_of(current_user.id, public_id)
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


def _context(template: str = CHANNELS, **extra) -> dict:
    """What `template` shows, and only that: the three pages share these builders, and a
    page computing the other two pages' values too (forms, the outbox, Telegram) cost
    several queries it never rendered."""
    user_id = current_user.id
    now = utcnow()

    @functools.cache
    def quiet_row() -> QuietHours | None:
        return db.session.get(QuietHours, user_id)

    @functools.cache
    def recent_rows() -> list[Notification]:
        query = outbox.user_notifications(user_id).limit(RECENT_LIMIT)
        return db.session.scalars(query).all()

    builders = {
        "unreachable": lambda: {
            channel: channels.unavailable(user_id, channel) for channel in NotificationChannel
        },
        "telegram_bot": telegram_bot.username,
        "telegram_ready": lambda: telegram_bot.api() is not None,
        "telegram_chat": lambda: linking.chat_of(user_id),
        "telegram_code": lambda: None,
        "sms_number": lambda: phones.number_of(user_id),
        "phone_form": lambda: PhoneForm(formdata=None),
        "code_form": lambda: PhoneCodeForm(formdata=None),
        "phone_display": lambda: phones.display,
        "sms_per_day": lambda: current_app.config.get("NOTIFY_SMS_PER_DAY", 10),
        "event_types": lambda: list(EventType),
        "channels": lambda: list(NotificationChannel),
        "grid": lambda: preferences.grid_for(user_id),
        "blocked": lambda: {
            channel: channels.cannot_choose(user_id, channel) for channel in NotificationChannel
        },
        "endpoints": lambda: endpoints.endpoints_of(user_id),
        "max_endpoints": lambda: endpoints.MAX_ENDPOINTS,
        "webhook_form": lambda: WebhookForm(formdata=None),
        "edit_forms": dict,
        "revealed_for": lambda: None,
        "quiet": quiet_row,
        "quiet_form": lambda: _quiet_form(quiet_row()),
        "timezone_options": timezone_options,
        "recent": recent_rows,
        "polling": lambda: any(_due_soon(row, now) for row in recent_rows()),
        "now": lambda: now,
        "kind_label": lambda: kinds.label,
        "masked_secret": lambda: endpoints.MASKED_SECRET,
        "revealed_secret": lambda: None,
        "notices": dict,
        "test_buttons": test_buttons,
    }
    needs = template_names(template)
    with endpoints.reading():
        context = {
            name: build() for name, build in builders.items() if name in needs and name not in extra
        }
    context.update(extra)
    return context


def _page(
    template: str = CHANNELS,
    status: int = 200,
    notice: str | None = None,
    category: str = "success",
    section: str | None = None,
    **extra,
):
    """`template`'s page, or just the block an HTMX request targets (on whichever page it
    lives); `notice` shows in `section` (by default the targeted one)."""
    target = htmx_target()
    notices = {}
    if notice:
        notices[section or target or ""] = (notice, category)
    if target in BLOCKS and not is_boosted():
        block_template, block = BLOCKS[target]
        context = _context(block_template, notices=notices, **extra)
        return render_block(block_template, block, **context), status
    return render_template(template, **_context(template, notices=notices, **extra)), status


def _partial() -> bool:
    return is_htmx() and not is_boosted()


def _done(
    message: str,
    category: str = "success",
    section: str | None = None,
    template: str = CHANNELS,
    **extra,
):
    """Answer a change: the updated section for HTMX, else back to its page with a flash."""
    if _partial():
        return _page(template, notice=message, category=category, section=section, **extra)
    flash(message, category)
    return redirect(url_for(HOME[template]))


@bp.route("/")
def index():
    """Channels: where we can reach the user, and each channel's set-up."""
    return _page(CHANNELS)


@bp.route("/preferences")
def preferences_page():
    """What to tell me: the event x channel matrix and quiet hours."""
    return _page(PREFERENCES)


@bp.route("/history")
def history():
    """What was sent (or not, and why), with "send again"."""
    return _page(HISTORY)


@bp.route("/preferences/<event_type>/<channel>", methods=["POST"])
def toggle_preference(event_type: str, channel: str):
    try:
        event = EventType(event_type)
        chan = NotificationChannel(channel)
    except ValueError:
        abort(404)
    enabled = request.form.get("enabled") in {"on", "1", "true", "yes"}
    try:
        preferences.set_preference(current_user.id, event, chan, enabled)
    except PreferenceRefusedError as exc:
        db.session.rollback()
        if _partial():
            return _cell(event, chan, preferences.grid_for(current_user.id)[(event, chan)]), 422
        flash(notify_text(str(exc)), "error")
        return redirect(url_for("notifications.preferences_page"))
    db.session.commit()
    if _partial():
        return _cell(event, chan, enabled, saved=True)
    names = {"channel": channel_label(chan), "event": event.label}
    if enabled:
        flash(_("%(channel)s notifications for “%(event)s” turned on.", **names), "success")
    else:
        flash(_("%(channel)s notifications for “%(event)s” turned off.", **names), "success")
    return redirect(url_for("notifications.preferences_page"))


def _cell(event: EventType, chan: NotificationChannel, on: bool, saved: bool = False) -> str:
    """One cell of the matrix; a refused toggle shows it disabled with the reason."""
    return PREFERENCE_CELLS.render(
        event,
        chan,
        on,
        saved,
        channels.cannot_choose(current_user.id, chan),
        channels.unavailable(current_user.id, chan),
    )


def _webhook_refused(form: WebhookForm, refusal: Exception | str, endpoint_id: int | None = None):
    """The form again with why it was refused (an error, or a message id), in the reader's
    language: read once the session is rolled back (the language is the user's, loaded
    from the database)."""
    db.session.rollback()
    if isinstance(refusal, netguard.UnsafeURLError):
        message = refusal.shown()
    elif isinstance(refusal, str):
        message = _(refusal)
    else:
        message = str(refusal)
    field = form.events if message == _(endpoints.NO_EVENTS) else form.url
    field.errors = [*field.errors, message]
    if endpoint_id is None:
        return _page(CHANNELS, 422, webhook_form=form, section="webhook-section")
    return _page(CHANNELS, 422, edit_forms={endpoint_id: form}, section="webhook-section")


@bp.route("/webhooks", methods=["POST"])
def create_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(CHANNELS, 422, webhook_form=form, section="webhook-section")
    try:
        endpoint, secret = endpoints.create_endpoint(
            current_user.id, form.url.data, form.events.data
        )
        db.session.commit()
    except (netguard.UnsafeURLError, EndpointError) as exc:
        return _webhook_refused(form, exc)
    except IntegrityError:
        # Another request (a double click, another tab) added this URL between our check and
        # our insert: the first one showed the secret, this one must not add a second.
        return _webhook_refused(form, endpoints.ALREADY_HAVE_ENDPOINT)
    # The one and only time the secret is shown: rendered into this response, never stored
    # anywhere it could be read back (not in the session cookie, not in a flash).
    return _page(
        CHANNELS,
        revealed_secret=secret,
        revealed_for=endpoint.id,
        notice=_("Webhook endpoint saved. Copy the signing secret now: it is shown only once."),
        section="webhook-section",
    )


@bp.route("/webhooks/<int:endpoint_id>", methods=["POST"])
def update_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(CHANNELS, 422, edit_forms={endpoint_id: form}, section="webhook-section")
    try:
        endpoints.update_url(endpoint, form.url.data)
        endpoints.update_events(endpoint, form.events.data)
    except (netguard.UnsafeURLError, EndpointError) as exc:
        return _webhook_refused(form, exc, endpoint_id)
    try:
        db.session.commit()
    except IntegrityError:  # another request gave another endpoint this URL meanwhile
        return _webhook_refused(form, endpoints.ALREADY_HAVE_ENDPOINT, endpoint_id)
    return _done(_("Webhook endpoint saved."), section="webhook-section")


@bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
def test_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    if not endpoint.enabled:
        return _done(_("Enable this endpoint first."), "error", section="webhook-section")
    (row,) = dispatch.create_test(current_user.id, NotificationChannel.WEBHOOK, endpoint.id)
    db.session.commit()
    return _done(
        test_queued(NotificationChannel.WEBHOOK, row.public_id), "info", section="webhook-section"
    )


@bp.route("/webhooks/<int:endpoint_id>/disable", methods=["POST"])
def disable_webhook(endpoint_id: int):
    endpoints.turn_off(_own_endpoint(endpoint_id))
    db.session.commit()
    return _done(_("Webhook endpoint turned off."), "info", section="webhook-section")


@bp.route("/webhooks/<int:endpoint_id>/rotate", methods=["POST"])
def rotate_webhook_secret(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    return _page(
        CHANNELS,
        revealed_secret=secret,
        revealed_for=endpoint.id,
        notice=_(
            "New signing secret created. Copy it now: it is shown only once. For 24 hours "
            "webhooks are signed with both the new and the previous secret."
        ),
        section="webhook-section",
    )


@bp.route("/webhooks/<int:endpoint_id>/enable", methods=["POST"])
def enable_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    endpoints.enable(endpoint)
    db.session.commit()
    return _done(_("Webhook endpoint enabled again."), section="webhook-section")


@bp.route("/webhooks/<int:endpoint_id>/delete", methods=["POST"])
def delete_webhook(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    endpoints.delete_endpoint(endpoint)
    db.session.commit()
    return _done(_("Webhook endpoint deleted."), "info", section="webhook-section")


@bp.route("/telegram/connect", methods=["POST"])
def telegram_connect():
    """A one-time link for the bot; the section then watches for the chat to be linked."""
    if telegram_bot.api() is None:
        return _done(_("Telegram is not set up on this installation."), "error")
    code = linking.new_code(current_user.id)
    db.session.commit()
    return _page(CHANNELS, telegram_code=code, section="telegram-section")


@bp.route("/telegram/status")
def telegram_status():
    """Polled while a link code waits: the whole section once the chat is linked (the
    request targets only the waiting line), nothing new before."""
    chat = linking.chat_of(current_user.id)
    if chat is None and linking.pending_code_expires(current_user.id) is not None:
        return render_template("notifications/_telegram_waiting.html")
    response = make_response(render_block(CHANNELS, "telegram", **_context(CHANNELS)))
    response.headers["HX-Retarget"] = "#telegram-section"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.route("/telegram/disconnect", methods=["POST"])
def telegram_disconnect():
    linking.unlink(current_user.id)
    db.session.commit()
    return _done(
        _("Telegram disconnected: this installation's bot sends you nothing more."), "info"
    )


@bp.route("/sms/number", methods=["POST"])
def sms_number():
    """Save a (new) number and text it a code; a number that does not parse saves nothing."""
    form = PhoneForm()
    if not form.validate_on_submit():
        return _page(CHANNELS, 422, phone_form=form, section="sms-section")
    try:
        phones.set_number(current_user.id, form.phone.data)
    except phones.PhoneError as exc:
        db.session.rollback()
        form.phone.errors = [*form.phone.errors, str(exc)]
        return _page(CHANNELS, 422, phone_form=form, section="sms-section")
    db.session.commit()
    return _done(_("We sent a 6-digit code to that number: type it below."), section="sms-section")


@bp.route("/sms/verify", methods=["POST"])
def sms_verify():
    form = PhoneCodeForm()
    row = phones.number_of(current_user.id)
    if row is None:
        return _done(_("Add a phone number first."), "error", section="sms-section")
    if not form.validate_on_submit():
        return _page(CHANNELS, 422, code_form=form, section="sms-section")
    try:
        phones.verify(row, form.code.data)
    except phones.PhoneError as exc:
        db.session.commit()  # a wrong code uses one of the tries
        form.code.errors = [*form.code.errors, str(exc)]
        return _page(CHANNELS, 422, code_form=form, section="sms-section")
    db.session.commit()
    return _done(
        _("Phone number verified: SMS notifications can go there now."), section="sms-section"
    )


@bp.route("/sms/resend", methods=["POST"])
def sms_resend():
    row = phones.number_of(current_user.id)
    if row is None:
        return _done(_("Add a phone number first."), "error", section="sms-section")
    try:
        phones.send_code(row)
    except phones.PhoneError as exc:
        db.session.rollback()
        return _done(str(exc), "error", section="sms-section")
    db.session.commit()
    return _done(_("We sent a new code."), section="sms-section")


@bp.route("/sms/remove", methods=["POST"])
def sms_remove():
    phones.remove(current_user.id)
    db.session.commit()
    return _done(_("Phone number removed: no SMS will be sent."), "info", section="sms-section")


@bp.route("/quiet-hours", methods=["POST"])
def quiet_hours():
    form = QuietHoursForm()
    if not form.validate_on_submit():
        return _page(PREFERENCES, 422, quiet_form=form)
    try:
        _save_quiet_hours(form)
    except IntegrityError:  # another request added them meanwhile: update those instead
        db.session.rollback()
        _save_quiet_hours(form)
    message = (
        _(
            "Quiet hours on: %(start)s to %(end)s (%(zone)s).",
            start=f"{form.start.data:%H:%M}",
            end=f"{form.end.data:%H:%M}",
            zone=form.timezone.data,
        )
        if form.enabled.data
        else _("Quiet hours off.")
    )
    return _done(message, template=PREFERENCES)


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
    forget_signed_in_timezone()


@bp.route("/test/<channel>", methods=["POST"])
def send_test(channel: str):
    try:
        chan = NotificationChannel(channel)
    except ValueError:
        abort(404)
    reason = channels.unavailable(current_user.id, chan)
    if reason is not None:
        return _done(notify_text(reason), "error")
    rows = dispatch.create_test(current_user.id, chan)
    db.session.commit()
    ids = ", ".join(row.public_id for row in rows)
    return _done(test_queued(chan, ids), "info")


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
        return _done(str(exc), "error", template=HISTORY)
    db.session.commit()
    return _done(
        _("%(kind)s will be sent again.", kind=kinds.label(row.event_type)),
        "info",
        template=HISTORY,
    )
