"""Every page of the app, in Turkish and in French, has no English UI text left: each GET
route is requested as a signed-in admin with data on every page (a key, bots with trades
and a stop reason, a backtest, a sweep, notifications, a token), in English and in the
language, and any text that reads the same in both must be a name, a symbol or user data.
A route added without a translated page fails `test_every_page_is_covered` until it is listed
here."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import url_for

from tests.bots.helpers import add_activity, add_trade, make_bot, make_key
from tests.i18n.conftest import EVERYWHERE, SAME_WORDS, same_as_english, set_locale
from tests.i18n.test_pages_backtest import SWEEP, allowed, finished, reasons
from webapp.engine import service as engine_service
from webapp.extensions import db
from webapp.models import BotStatus, NotificationChannel
from webapp.notify import dispatch
from webapp.tokens import service as tokens

#: GET routes that are not a page a person reads in their language, and why.
NOT_PAGES = {
    "static": "files",
    "main.favicon": "an icon",
    "main.healthz": "a probe for load balancers",
    "metrics.scrape": "Prometheus' text format",
    "backtest.trades_csv": "CSV for spreadsheets, the same in every language",
    "trades.export_csv": "CSV for spreadsheets, the same in every language",
    "bots.strategy_fields": "a fragment of the bot form, checked with the form "
    "(test_pages_bot_form.py)",
    "bots.price_chart": "chart data; its labels are checked with the bot page",
    "notifications.telegram_status": "a polling fragment, checked in the notifications tests",
}
#: Pages for a visitor who is not signed in, or in the middle of signing in: their own tests
#: (test_pages.py, test_pages_accounts.py) render them in each language.
SIGNED_OUT = {
    "auth.login",
    "auth.register",
    "auth.reset_request",
    "auth.reset_password",
    "security.login_code",
}
USER_DATA = {
    # Strategies by the names bots store, and the entry point group plugins declare (code).
    "threshold",
    "signal",
    "grid",
    "dca",
    "webapp.strategies",
    "Trend BTC",
    "Trend BTC · Tradebots",
    "Dip ETH",
    "100 USDT",
    # A strategy's parameters by the names the API and the form's fields use.
    "fast = 3",
    "slow = 5",
    "Main",
    "bench script",
    "admin@example.com",
    "Cycle 1: hold.",
    "Stopped by the operator.",
    "binance",
    "ema_cross",
    "Redis",
    "openapi.json",
    "****wxyz",
    "Main · Binance ****wxyz",  # the bot form's choice of key: its name, exchange and mask
    "Binance",
    "JSON API",
    "Authorization: Bearer tb_…",
    # Names of protocols, commands, headers and formats, written as their specs write them.
    "SMTP",
    "Telegram (getMe)",
    "Standard Webhooks",
    "flask schedule sync",
    "flask telegram set-token",
    "webhook-id",
    "webhook-signature",
    "webhook-timestamp",
    '{"type", "timestamp", "data"}',
    "https://example.com/hooks/tradebots",
}
#: Text that is data by its shape: a token's prefix, a two-factor secret, an audit event's
#: code (its description beside it is translated), a page title made of words the language
#: spells as English does.
DATA_SHAPES = re.compile(
    r"tb_[\w-]+…|[A-Z2-7]{32}|[a-z]+(_[a-z]+)+|login|Services?"
    r"|(Bots|Sessions|Services?|Notifications) · Tradebots"
    r"|msg_[0-9A-Z]{26}|\{ \".*\}"  # a notification's id and its data (JSON), as sent
)


@pytest.fixture
def world(auth):
    """An admin with something on every page."""
    user = auth.register_and_login("admin@example.com", admin=True)
    key = make_key(user)
    running = make_bot(user, key, "Trend BTC", status=BotStatus.RUNNING)
    add_trade(running, "buy", "0.01", "100", at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    add_trade(running, "sell", "0.01", "110", pnl="0.1", at=datetime(2026, 3, 1, 13, tzinfo=UTC))
    add_activity(running, "Cycle 1: hold.")
    stopped = make_bot(user, key, "Dip ETH", symbol="ETH/USDT", status=BotStatus.RUNNING)
    engine_service.stop_bot(stopped, "Stopped by the operator.")
    backtest = finished(user)
    finished(user, sweep=SWEEP, segment="in")
    _, _token = tokens.create_token(user, "bench script", "read")
    notification = dispatch.create_test(user.id, NotificationChannel.EMAIL)[0]
    db.session.commit()
    return {
        "user": user,
        "bot_id": running.id,
        "backtest_id": backtest.id,
        "sweep": SWEEP,
        "public_id": notification.public_id,
        "data": USER_DATA | reasons(backtest),
    }


def pages(app, world) -> dict[str, str]:
    """endpoint -> the address it is requested at, for every signed-in page."""
    found = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint in SIGNED_OUT:
            continue
        if rule.rule.startswith("/api/v1"):
            continue  # the JSON API: English for scripts, tested in tests/api
        values = {name: world[name] for name in rule.arguments}
        with app.test_request_context():
            found[rule.endpoint] = url_for(rule.endpoint, **values)
    return found


def test_every_page_is_covered(app, world):
    """The list below is the app's: a new GET route is either translated and checked here
    or named in NOT_PAGES / SIGNED_OUT with the reason."""
    covered = pages(app, world)
    assert {"main.index", "bots.detail", "notifications.detail", "security.index"} <= set(covered)
    html_rules = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if "GET" in r.methods and not r.rule.startswith("/api/v1")
    }
    assert html_rules == set(covered) | set(NOT_PAGES) | SIGNED_OUT


#: Pages whose translation is not finished yet (none now; a page added before its strings are
#: translated goes here). Strict: a page that becomes fully translated fails the test until it
#: is taken off this list.
PENDING: set[str] = set()


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_every_page_speaks_the_language(app, client, world, locale):
    user, known = world["user"], allowed(locale) | world["data"] | EVERYWHERE | SAME_WORDS[locale]
    untranslated = {}
    for endpoint, path in sorted(pages(app, world).items()):
        set_locale(user, "en")
        english = client.get(path)
        set_locale(user, locale)
        translated = client.get(path)
        assert english.status_code == translated.status_code == 200, path
        same = same_as_english(
            english.get_data(as_text=True), translated.get_data(as_text=True), known
        )
        same = [text for text in same if not DATA_SHAPES.fullmatch(text)]
        if same:
            untranslated[endpoint] = same
    unfinished = {k: v for k, v in untranslated.items() if k not in PENDING}
    assert not unfinished, "\n".join(f"{k}: {v}" for k, v in unfinished.items())
    assert set(untranslated) == PENDING, (
        f"translated now, take off PENDING: {PENDING - set(untranslated)}"
    )
