"""Signal webhooks: `POST /signals/<token>` tells a bot to buy, sell, close or start a deal.

No session, no CSRF: the secret in the URL is the credential, as in the alerts of charting
services (TradingView) that send them. `service` holds the rules; the cycle acts on what is
stored (webapp.engine.cycle).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signals", __name__)

from webapp.signals import routes  # noqa: E402,F401
