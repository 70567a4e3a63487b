"""Exchange API keys: list, add (checked with the exchange, as the page does), delete.

A key's secret is never part of any answer; the key itself only masked (****abcd).
"""

from __future__ import annotations

from webapp.api import ApiBlueprint, auth
from webapp.api.problems import ApiError, validation_error
from webapp.api.routes import problems, register_domain_errors
from webapp.api.schemas import KeyCreateSchema, KeyDeletedSchema, KeyListSchema, KeySchema
from webapp.exchange.errors import ExchangeUnavailable, RateLimited
from webapp.extensions import db
from webapp.keys import service
from webapp.models import ApiKey

blp = ApiBlueprint("api_keys", __name__, url_prefix="/api/v1/keys", description="Exchange API keys")
register_domain_errors(blp)


def key_dict(api_key: ApiKey) -> dict:
    return {
        "id": api_key.id,
        "exchange": api_key.exchange,
        "label": api_key.label,
        "key": api_key.masked_key,
        "testnet": api_key.testnet,
        "is_valid": api_key.is_valid,
        "last_validated_at": api_key.last_validated_at,
        "last_error": api_key.last_error,
        "created_at": api_key.created_at,
    }


@blp.route("", methods=["GET"])
@blp.response(200, KeyListSchema)
@problems(blp)
def list_keys():
    """Your exchange API keys, oldest first."""
    return {"items": [key_dict(k) for k in service.keys_for_user(auth.current_user())]}


@blp.route("", methods=["POST"])
@blp.arguments(KeyCreateSchema)
@blp.response(201, KeySchema)
@problems(blp, 400, 409, 413, 415, 503)
def add_key(fields):
    """Check a key with the exchange, then store it encrypted (nothing is stored unless the
    exchange accepts it)."""
    try:
        api_key = service.add_key(
            auth.current_user(),
            fields["exchange"],
            fields["label"],
            fields["api_key"],
            fields["api_secret"],
            testnet=fields["testnet"],
        )
    except service.InvalidKeyInput as exc:
        db.session.rollback()
        raise validation_error({exc.field: str(exc)}) from None
    except service.LabelTaken as exc:
        db.session.rollback()
        raise validation_error({"label": str(exc)}) from None
    except service.KeyNotSaved as exc:
        db.session.rollback()
        if isinstance(exc.error, ExchangeUnavailable | RateLimited):
            raise ApiError(
                503, str(exc), code="exchange_unavailable", headers={"Retry-After": "30"}
            ) from None
        raise ApiError(422, str(exc), code="key_rejected") from None
    db.session.commit()
    return key_dict(api_key), 201, {"Location": f"/api/v1/keys/{api_key.id}"}


@blp.route("/<id:key_id>", methods=["GET"])
@blp.response(200, KeySchema)
@problems(blp, 404)
def get_key(key_id: int):
    """One of your keys."""
    api_key = db.session.scalar(service.key_for_user(auth.current_user(), key_id))
    if api_key is None:
        raise ApiError(404)
    return key_dict(api_key)


@blp.route("/<id:key_id>", methods=["DELETE"])
@blp.response(200, KeyDeletedSchema)
@problems(blp, 404, 409)
def delete_key(key_id: int):
    """Delete a key; the bots using it are stopped first (and keep their history)."""
    api_key = db.session.scalar(service.key_for_user(auth.current_user(), key_id))
    if api_key is None:
        raise ApiError(404)
    label = api_key.label
    try:
        stopped = service.delete_key(auth.current_user(), api_key.id)
    except service.KeyBusy as exc:
        db.session.rollback()
        raise ApiError(409, str(exc), code="busy", headers={"Retry-After": "30"}) from None
    db.session.commit()
    message = f"Deleted key “{label}”."
    if stopped:
        message += f" Stopped {stopped} bot{'s' if stopped != 1 else ''} that used it."
    return {"deleted": True, "bots_stopped": stopped, "message": message}
