"""`POST /signals/<token>`: JSON in (as application/json or text/plain), JSON out."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from webapp.extensions import csrf
from webapp.http import drain
from webapp.signals import bp, service

logger = logging.getLogger(__name__)


def _refused(status: int, message: str, headers: dict[str, str] | None = None):
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.route("/signals/<token>", methods=["POST"])
@csrf.exempt
def receive(token: str):
    max_bytes = int(current_app.config["SIGNAL_MAX_BYTES"])
    length = request.content_length
    if length is not None and length > max_bytes:
        drain(length)
        return _refused(413, service.too_large_message())
    request.max_content_length = max_bytes  # a chunked body is cut off here
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _refused(413, service.too_large_message())
    except ClientDisconnected:  # shorter than its Content-Length (see webapp.http)
        return _refused(400, "The body ended before its Content-Length; nothing was done.")
    try:
        receipt = service.receive(token, data, request.remote_addr)
    except service.SignalError as exc:
        return _refused(exc.status, exc.message, exc.headers)
    return jsonify(receipt.answer()), 202
