"""The backtest form as gunicorn serves it: every field in turn holds a hostile value (NUL,
huge exponents, 40-digit numbers, NaN, infinities, RTL text, 20,000 characters, header
injection); the answer is never a 5xx and the web process logs no traceback."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.bots.helpers import make_bot
from tests.served.test_form_sweep import crawl, sweep
from tests.served.test_trades_export import alice as load_alice
from webapp.extensions import db
from webapp.models import ApiKey, Backtest


def test_the_backtest_form_never_answers_5xx(web, served_exchange):
    alice = load_alice()
    assert web.submit("/keys/demo").status_code in (200, 302)
    key = db.session.scalar(db.select(ApiKey).filter_by(user_id=alice.id))
    bot = make_bot(alice, key, "Backtested")
    forms, _ = crawl(web, [f"/backtests/new?bot={bot.id}"], limit=1)
    forms = [f for f in forms if urlsplit(f.action).path == "/backtests/new"]
    assert len(forms) == 1 and {"quote_amount", "start", "fee_rate", "param_fast"} <= set(
        forms[0].fields
    )
    assert sweep(web, forms) == []
    # the valid variants (a hostile value in a field that may be blank) were queued
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Backtest)) > 0
