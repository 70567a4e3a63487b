"""Notifications: the outbox (list, one, send again), preferences, counts and the webhook
endpoint, through the same webapp.notify functions as the notifications page."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from webapp.api import ApiBlueprint, auth, pagination
from webapp.api.problems import ApiError, validation_error
from webapp.api.routes import problems, register_domain_errors
from webapp.api.schemas import (
    DeletedSchema,
    NotificationSchema,
    NotificationsPageSchema,
    NotificationsQuerySchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
    StatsSchema,
    WebhookCreateSchema,
    WebhookListSchema,
    WebhookSchema,
    WebhookSecretSchema,
    WebhookUpdateSchema,
)
from webapp.events import EventType
from webapp.extensions import db
from webapp.models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    WebhookEndpoint,
)
from webapp.notify import dispatch, endpoints, kinds, netguard, outbox, preferences, status
from webapp.notify.errors import EndpointError, NotResendableError, PreferenceRefusedError

blp = ApiBlueprint(
    "api_notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Notifications, preferences and the webhook endpoints",
)
register_domain_errors(blp)


def notification_dict(row: Notification) -> dict:
    return {
        "id": row.public_id,
        "event_type": row.event_type,
        "label": kinds.label(row.event_type),
        "channel": row.channel.value,
        "status": row.status.value,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "last_status_code": row.last_status_code,
        "payload": dict(row.payload or {}),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "next_attempt_at": row.next_attempt_at,
        "sent_at": row.sent_at,
        "endpoint_id": row.endpoint_id,
    }


def webhook_dict(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
        "consecutive_failures": endpoint.consecutive_failures,
        "last_success_at": endpoint.last_success_at,
        "secret_rotated_at": endpoint.secret_rotated_at,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "created_at": endpoint.created_at,
        "events": list(endpoint.events or []),
    }


def _enum(enum_cls, value: str | None, field: str, errors: dict):
    if value is None:
        return None
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum_cls)
        errors[field] = f"Choose one of: {choices}."
        return None


@blp.route("", methods=["GET"])
@blp.arguments(NotificationsQuerySchema, location="query")
@blp.response(200, NotificationsPageSchema)
@problems(blp)
def list_notifications(args):
    """Your notifications, newest first, by status, channel and event type, a page a time."""
    user = auth.current_user()
    errors: dict[str, str] = {}
    state = _enum(NotificationStatus, args.get("status"), "status", errors)
    channel = _enum(NotificationChannel, args.get("channel"), "channel", errors)
    kind = args.get("event_type") or None
    if kind is not None and kind not in kinds.ALL_KINDS:
        errors["event_type"] = "Unknown event type."
    if errors:
        raise validation_error(errors)
    query = outbox.user_notifications(user.id, status=state, channel=channel, kind=kind)
    after = pagination.decode(args.get("cursor"), (int,))
    if after is not None:
        query = query.where(Notification.id < after[0])
    limit = args["limit"]
    rows = list(db.session.scalars(query.limit(limit + 1)))
    cursor = pagination.encode(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    link_args = pagination.query_args("status", "channel", "event_type")
    headers = pagination.next_link(
        "api_notifications.list_notifications", cursor, {**link_args, "limit": limit}
    )
    return {"items": [notification_dict(r) for r in rows], "next_cursor": cursor}, 200, headers


def _own(public_id: str) -> Notification:
    row = outbox.notification_of(auth.current_user().id, public_id)
    if row is None:
        raise ApiError(404)
    return row


@blp.route("/<public_id>", methods=["GET"])
@blp.response(200, NotificationSchema)
@problems(blp, 404)
def get_notification(public_id: str):
    """One notification with its delivery status, attempts and last error."""
    return notification_dict(_own(public_id))


@blp.route("/<public_id>/resend", methods=["POST"])
@blp.response(200, NotificationSchema)
@problems(blp, 404)
def resend(public_id: str):
    """Send a failed notification again from scratch ("send again" on the page)."""
    row = _own(public_id)
    try:
        outbox.resend(row)
    except NotResendableError as exc:
        db.session.rollback()
        raise ApiError(422, str(exc), code="refused") from None
    db.session.commit()
    return notification_dict(row)


def _grid(user_id: int) -> dict:
    grid = preferences.grid_for(user_id)
    return {
        "items": [
            {"event_type": event.value, "channel": channel.value, "enabled": enabled}
            for (event, channel), enabled in grid.items()
        ]
    }


@blp.route("/preferences", methods=["GET"])
@blp.response(200, PreferencesSchema)
@problems(blp)
def get_preferences():
    """Which events reach you on which channel (your choices over the defaults)."""
    return _grid(auth.current_user().id)


@blp.route("/preferences", methods=["PUT"])
@blp.arguments(PreferencesUpdateSchema)
@blp.response(200, PreferencesSchema)
@problems(blp, 400, 413, 415)
def put_preferences(body):
    """Turn event types on or off per channel; pairs not listed keep their setting."""
    user_id = auth.current_user().id
    errors: dict[str, str] = {}
    changes = []
    for index, item in enumerate(body["items"]):
        event = _enum(EventType, item["event_type"], f"items.{index}.event_type", errors)
        channel = _enum(NotificationChannel, item["channel"], f"items.{index}.channel", errors)
        changes.append((event, channel, item["enabled"]))
    if errors:
        raise validation_error(errors)
    try:
        for event, channel, enabled in changes:
            preferences.set_preference(user_id, event, channel, enabled)
    except PreferenceRefusedError as exc:  # nothing of this request is kept
        db.session.rollback()
        raise ApiError(422, str(exc), code="refused") from None
    db.session.commit()
    return _grid(user_id)


@blp.route("/stats", methods=["GET"])
@blp.response(200, StatsSchema)
@problems(blp)
def stats():
    """Your notifications counted by status, channel and type, with the success rate."""
    counts = status.counts(auth.current_user().id)
    return {
        "total": counts.total,
        "by_status": counts.by_status,
        "by_channel": counts.by_channel,
        "by_type": counts.by_type,
        "success_rate": counts.success_rate,
    }


# -- the webhook endpoint ------------------------------------------------------------------


def _own_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = endpoints.endpoint_of(auth.current_user().id, endpoint_id)
    if endpoint is None:
        raise ApiError(404)
    return endpoint


@blp.route("/webhooks", methods=["GET"])
@blp.response(200, WebhookListSchema)
@problems(blp)
def list_webhooks():
    """Your webhook endpoints, oldest first; their secrets are never shown again."""
    return {"items": [webhook_dict(e) for e in endpoints.endpoints_of(auth.current_user().id)]}


def _refused(exc: Exception, field: str = "url") -> ApiError:
    db.session.rollback()
    if isinstance(exc, EndpointError) and str(exc) == endpoints.NO_EVENTS:
        field = "events"
    if isinstance(exc, EndpointError) and str(exc) in {
        endpoints.ALREADY_HAVE_ENDPOINT,
        endpoints.TOO_MANY,
    }:
        return ApiError(409, str(exc), code="conflict")
    return validation_error({field: str(exc)})


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookSecretSchema)
@problems(blp, 400, 409, 413, 415)
def create_webhook(body):
    """Add a webhook endpoint; the answer holds its whsec_ signing secret, only this once.

    Without `events` it gets the events of the webhook column of your preferences."""
    user_id = auth.current_user().id
    events = body.get("events")
    if events is None:
        grid = preferences.grid_for(user_id)
        events = [e.value for e in EventType if grid[(e, NotificationChannel.WEBHOOK)]] or None
    try:
        endpoint, secret = endpoints.create_endpoint(user_id, body["url"], events)
        db.session.commit()
    except (netguard.UnsafeURLError, EndpointError) as exc:
        raise _refused(exc) from None
    except IntegrityError:  # another request added this URL between the check and the insert
        db.session.rollback()
        raise ApiError(409, endpoints.ALREADY_HAVE_ENDPOINT, code="conflict") from None
    headers = {"Location": f"/api/v1/notifications/webhooks/{endpoint.id}"}
    return {**webhook_dict(endpoint), "secret": secret}, 201, headers


@blp.route("/webhooks/<id:endpoint_id>", methods=["GET"])
@blp.response(200, WebhookSchema)
@problems(blp, 404)
def get_webhook(endpoint_id: int):
    """One webhook endpoint (without its secret)."""
    return webhook_dict(_own_endpoint(endpoint_id))


@blp.route("/webhooks/<id:endpoint_id>", methods=["PATCH"])
@blp.arguments(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
@problems(blp, 400, 404, 409, 413, 415)
def update_webhook(body, endpoint_id: int):
    """Change an endpoint's URL, its events, or turn it off and on; fields left out keep
    their value."""
    endpoint = _own_endpoint(endpoint_id)
    try:
        if "url" in body:
            endpoints.update_url(endpoint, body["url"])
        if "events" in body:
            endpoints.update_events(endpoint, body["events"])
    except (netguard.UnsafeURLError, EndpointError) as exc:
        raise _refused(exc) from None
    if body.get("enabled") is True:
        endpoints.enable(endpoint)
    elif body.get("enabled") is False:
        endpoints.turn_off(endpoint)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, endpoints.ALREADY_HAVE_ENDPOINT, code="conflict") from None
    return webhook_dict(endpoint)


@blp.route("/webhooks/<id:endpoint_id>/test", methods=["POST"])
@blp.response(201, NotificationSchema)
@problems(blp, 404)
def test_webhook(endpoint_id: int):
    """Queue a test notification to this endpoint ("send a test" on the page)."""
    endpoint = _own_endpoint(endpoint_id)
    if not endpoint.enabled:
        raise ApiError(422, "Enable this endpoint first.", code="refused")
    (row,) = dispatch.create_test(endpoint.user_id, NotificationChannel.WEBHOOK, endpoint.id)
    db.session.commit()
    return notification_dict(row), 201


@blp.route("/webhooks/<id:endpoint_id>", methods=["DELETE"])
@blp.response(200, DeletedSchema)
@problems(blp, 404)
def delete_webhook(endpoint_id: int):
    """Delete your webhook endpoint: no webhook goes out from then on."""
    endpoints.delete_endpoint(_own_endpoint(endpoint_id))
    db.session.commit()
    return {"deleted": True, "message": "Webhook endpoint deleted."}


@blp.route("/webhooks/<id:endpoint_id>/rotate", methods=["POST"])
@blp.response(200, WebhookSecretSchema)
@problems(blp, 404)
def rotate_webhook(endpoint_id: int):
    """A new signing secret (shown only now); the previous one keeps signing for 24 hours."""
    endpoint = _own_endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    return {**webhook_dict(endpoint), "secret": secret}
