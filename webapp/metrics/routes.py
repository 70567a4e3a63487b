"""GET /metrics for Prometheus, behind `Authorization: Bearer $METRICS_TOKEN`.

Unset METRICS_TOKEN means no metrics at all: the address answers 404 like any unknown one.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from webapp import metrics
from webapp.extensions import csrf

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
@csrf.exempt
def scrape():
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return (
            "Send Authorization: Bearer <METRICS_TOKEN>.\n",
            401,
            {
                "WWW-Authenticate": 'Bearer realm="metrics"',
                "Content-Type": "text/plain; charset=utf-8",
            },
        )
    from webapp.metrics.collect import render

    return render(), 200, {"Content-Type": CONTENT_TYPE_LATEST}


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method() -> str:
    return request.method if request.method in _METHODS else "other"


def init_request_metrics(app: Flask) -> None:
    """Count every request and its latency by endpoint (the route's name: bounded labels)."""

    @app.before_request
    def _start_timer() -> None:
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("_metrics_started", None)
        if started is not None and request.endpoint != "metrics.scrape":
            endpoint = request.endpoint or "none"
            metrics.HTTP_LATENCY.labels(endpoint=endpoint).observe(time.perf_counter() - started)
            metrics.HTTP_REQUESTS.labels(
                endpoint=endpoint, method=_method(), status=str(response.status_code)
            ).inc()
        return response
