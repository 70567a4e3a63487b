"""Signal webhooks: a bot's secret URL takes buy / sell / close, its next cycle acts on the
newest one through the real ccxt client and the simulator, and the bot page lists each signal
with what it did. Bad tokens, bad bodies, floods and repeats are refused with nothing stored.
"""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.conftest import PASSWORD
from tests.engine.conftest import step, trades
from webapp.engine import service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.extensions import db
from webapp.models import BotSignal, SignalStatus
from webapp.signals import service as signals

HTMX_SIGNALS = {"HX-Request": "true", "HX-Target": "bot-signals"}


def signal_bot(make_bot, **fields):
    fields.setdefault("strategy", "signal")
    fields.setdefault("params", {})
    return make_bot(**fields)


def url_of(bot) -> str:
    db.session.refresh(bot)
    return f"/signals/{signals.signal_token(bot)}"


def stored(bot) -> list[BotSignal]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(BotSignal).where(BotSignal.bot_id == bot.id).order_by(BotSignal.id)
        )
    )


def send(client, url: str, body: str | bytes, content_type: str = "text/plain"):
    return client.post(url, data=body, headers={"Content-Type": content_type}, csrf=False)


def test_a_tradingview_alert_buys_and_a_json_signal_sells(bot_app, sim, clock, make_bot, client):
    bot = signal_bot(make_bot)
    url = url_of(bot)
    step(sim, clock, "BTC/USDT", "49000")

    # TradingView sends its alert message as text/plain.
    answer = send(client, url, '{"action": "buy", "ticker": "BTCUSDT"}')
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.json["status"] == "pending" and answer.json["action"] == "buy"
    assert len(sim.orders()) == 0  # the bot acts on its next cycle, not in the request

    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED, result.message
    (buy,) = trades(bot)
    assert buy.side.value == "buy" and buy.price == 49000
    (first,) = stored(bot)
    assert first.status is SignalStatus.DONE
    assert first.outcome == "buy: signal buy (price 49000)"
    assert first.body == '{"action": "buy", "ticker": "BTCUSDT"}'

    # Nothing new: the next cycle holds and the signal is not acted on twice.
    step(sim, clock, "BTC/USDT", "49100")
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    assert len(sim.orders()) == 1

    step(sim, clock, "BTC/USDT", "49500")
    answer = send(client, url, b'{"action":"SELL"}', "application/json")
    assert answer.status_code == 202
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    buy, sell = trades(bot)
    assert sell.side.value == "sell" and sell.qty == buy.qty and sell.price == 49500
    assert [s.status for s in stored(bot)] == [SignalStatus.DONE, SignalStatus.DONE]
    assert len(sim.orders()) == 2


def test_the_bot_page_shows_the_url_and_every_signal_with_what_it_did(
    bot_app, sim, clock, make_bot, client
):
    bot = signal_bot(make_bot)
    url = url_of(bot)
    step(sim, clock, "BTC/USDT", "49000")
    send(client, url, '{"action": "sell"}')  # nothing to sell yet
    run_cycle(bot.id)
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})

    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    shown = re.search(
        r'<input type="text" readonly value="([^"]+)"[^>]*data-testid="signal-url"', page
    )
    assert shown and shown.group(1) == f"http://localhost{url}"
    rows = re.findall(r'<tr data-testid="signal-row".*?</tr>', page, re.S)
    assert len(rows) == 1
    assert "Ignored" in rows[0] and "signal sell: no position to sell" in rows[0]
    assert 'data-testid="bot-backtests"' not in page  # a signal bot has nothing to replay

    # The polling fragment alone, while the bot runs.
    fragment = client.get(f"/bots/{bot.id}", headers=HTMX_SIGNALS).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="bot-signals"')
    assert 'hx-trigger="every' in fragment


def test_rotating_the_url_retires_the_old_one(bot_app, sim, clock, make_bot, client):
    bot = signal_bot(make_bot)
    old = url_of(bot)
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    answer = client.post(f"/bots/{bot.id}/signal-url", headers=HTMX_SIGNALS)
    assert answer.status_code == 200
    assert "New signal URL made" in answer.get_data(as_text=True)
    new = url_of(bot)
    assert new != old and new in answer.get_data(as_text=True)

    gone = send(client, old, '{"action": "buy"}')
    assert gone.status_code == 404 and "rotated" in gone.json["error"]
    assert send(client, new, '{"action": "buy"}').status_code == 202
    assert len(stored(bot)) == 1
    # The owner's activity log has the rotation (once: the first URL came with the bot), and
    # neither URL.
    activity = client.get("/security/activity").get_data(as_text=True)
    assert activity.count(f"Signal URL of bot “{bot.name}” (#{bot.id}) rotated.") == 1
    assert old.rsplit("/", 1)[1] not in activity and new.rsplit("/", 1)[1] not in activity


def test_keys_rotate_keeps_every_signal_url_on_its_page(
    bot_app, sim, clock, make_bot, client, runner, encryption_key
):
    bot = signal_bot(make_bot)
    url = url_of(bot)
    before = bot.signal_token_encrypted
    new_key = Fernet.generate_key().decode()
    bot_app.config["ENCRYPTION_KEY"] = f"{new_key},{encryption_key}"
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 signal URLs." in result.output
    assert url.rsplit("/", 1)[1] not in result.output

    bot_app.config["ENCRYPTION_KEY"] = new_key  # the old key is gone
    db.session.expire_all()
    assert bot.signal_token_encrypted != before
    assert url_of(bot) == url  # the same URL, still shown to its owner
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    assert url in client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert send(client, url, '{"action": "buy"}').status_code == 202


def test_the_newest_signal_decides_and_older_ones_are_superseded(
    bot_app, sim, clock, make_bot, client
):
    bot = signal_bot(make_bot)
    url = url_of(bot)
    step(sim, clock, "BTC/USDT", "49000")
    send(client, url, '{"action": "buy"}')
    send(client, url, '{"action": "close"}')
    assert run_cycle(bot.id).outcome is Outcome.HOLD  # flat: the close has nothing to sell
    older, newer = stored(bot)
    assert older.status is SignalStatus.IGNORED
    assert older.outcome == f"A newer signal (#{newer.id}) came first."
    assert newer.status is SignalStatus.IGNORED
    assert newer.outcome == "hold: signal close: no position to sell (price 49000)"
    assert sim.orders() == []


def test_the_same_body_within_five_seconds_acts_once(bot_app, sim, clock, make_bot, client):
    bot_app.config["SIGNAL_DEDUPE_SECONDS"] = 1
    bot = signal_bot(make_bot)
    url = url_of(bot)
    step(sim, clock, "BTC/USDT", "49000")
    first = send(client, url, '{"action": "buy"}')
    again = send(client, url, '{"action": "buy"}')
    assert first.status_code == again.status_code == 202
    assert again.json["status"] == "ignored" and again.json["duplicate_of"] == first.json["id"]
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    assert len(sim.orders()) == 1
    assert [s.status for s in stored(bot)] == [SignalStatus.DONE, SignalStatus.IGNORED]
    assert "acted on once" in stored(bot)[1].outcome

    time.sleep(1.1)  # past the window, the same body is a new signal
    later = send(client, url, '{"action": "buy"}')
    assert later.json["status"] == "pending"


def test_a_stopped_bot_lists_signals_but_never_acts_on_them(bot_app, sim, clock, make_bot, client):
    bot = signal_bot(make_bot, start=False)
    url = url_of(bot)
    answer = send(client, url, '{"action": "buy"}')
    assert answer.status_code == 202
    assert answer.json["status"] == "ignored"
    assert answer.json["outcome"] == "The bot was not running."

    # A signal that waited while the bot was stopped is not acted on when it starts again.
    service.start_bot(bot)
    db.session.commit()
    send(client, url, '{"action": "buy", "n": 2}')
    service.stop_bot(bot)
    db.session.commit()
    time.sleep(0.01)
    service.start_bot(bot)
    db.session.commit()
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.HOLD
    assert stored(bot)[1].outcome == "It arrived before the bot was started."
    assert sim.orders() == []


def test_an_exit_rule_that_fires_first_leaves_the_signal_for_the_next_cycle(
    bot_app, sim, clock, make_bot, client
):
    bot = signal_bot(make_bot, stop_loss_pct="5")
    url = url_of(bot)
    step(sim, clock, "BTC/USDT", "50000")
    send(client, url, '{"action": "buy"}')
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    step(sim, clock, "BTC/USDT", "47000")  # 6% down: the stop-loss sells
    send(client, url, '{"action": "buy", "again": true}')
    result = run_cycle(bot.id)
    assert result.outcome is Outcome.TRADED and trades(bot)[-1].reason.value == "stop_loss"
    assert stored(bot)[-1].status is SignalStatus.PENDING
    step(sim, clock, "BTC/USDT", "47100")
    assert run_cycle(bot.id).outcome is Outcome.TRADED  # the waiting buy
    assert stored(bot)[-1].status is SignalStatus.DONE
    assert [t.side.value for t in trades(bot)] == ["buy", "sell", "buy"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "The body is empty"),
        (b"   ", "The body is empty"),
        (b"buy", "not valid JSON"),
        (b'{"action": "buy"', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"buy"', "must be a JSON object"),
        (b'{"side": "buy"}', 'has no "action"'),
        (b'{"action": null}', 'has no "action"'),
        (b'{"action": "start_deal"}', '"action" must be one of "buy", "sell", "close"'),
        (b'{"action": "hodl"}', '"action" must be one of'),
        (b'{"action": 1}', '"action" must be one of'),
        (b'{"action": NaN}', '"action" must be one of'),
        (b'{"action": 1e999}', '"action" must be one of'),
        (b'{"action": ["buy"]}', '"action" must be one of'),
        (b'{"action": "buy\\u0000"}', '"action" must be one of'),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 5000, "not valid JSON"),
    ],
)
def test_a_malformed_body_is_422_with_its_reason_and_nothing_is_stored(
    bot_app, make_bot, client, body, reason
):
    bot = signal_bot(make_bot)
    answer = send(client, url_of(bot), body)
    assert answer.status_code == 422
    assert reason in answer.json["error"]
    assert stored(bot) == []


def test_unknown_tokens_large_bodies_and_floods_are_refused(bot_app, make_bot, client):
    bot = signal_bot(make_bot)
    url = url_of(bot)
    for path in ("/signals/nope", "/signals/" + "a" * 300, url + "x"):
        answer = send(client, path, '{"action": "buy"}')
        assert answer.status_code == 404 and "No bot has this signal URL" in answer.json["error"]

    big = '{"action": "buy", "pad": "' + "x" * 10 * 1024 + '"}'
    answer = send(client, url, big)
    assert answer.status_code == 413 and answer.json["error"] == "The body is larger than 10 KB."
    at_limit = '{"action": "buy", "pad": "' + "x" * (10 * 1024 - 30) + '"}'
    assert len(at_limit) <= 10 * 1024
    assert send(client, url, at_limit).status_code == 202

    bot_app.config["SIGNALS_PER_MINUTE"] = 3
    for n in range(2):
        assert send(client, url, f'{{"action": "sell", "n": {n}}}').status_code == 202
    flood = send(client, url, '{"action": "sell", "n": 9}')
    assert flood.status_code == 429
    assert "at most 3 signals a minute" in flood.json["error"]
    assert 1 <= int(flood.headers["Retry-After"]) <= 60
    assert len(stored(bot)) == 3


def test_a_bot_whose_strategy_takes_no_signals_has_no_url(bot_app, make_bot, client):
    bot = make_bot()  # threshold
    assert bot.signal_token_hash is None
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert 'data-testid="bot-signals"' not in page
    assert client.post(f"/bots/{bot.id}/signal-url").status_code == 404

    # Switched to signals, it gets a URL; switched away, the URL says it takes none.
    service.update_bot(bot, strategy="signal", params={})
    db.session.commit()
    url = url_of(bot)
    service.update_bot(bot, strategy="threshold", params={"buy_below": "1", "sell_above": "2"})
    db.session.commit()
    answer = send(client, url, '{"action": "buy"}')
    assert answer.status_code == 422 and "does not act on signals" in answer.json["error"]


def test_a_signal_strategy_cannot_be_backtested(bot_app, user, runner):
    result = runner.invoke(
        args=["backtest", "run", "--strategy", "signal", "--symbol", "BTC/USDT",
              "--quote-amount", "100", "--from", "2026-01-01", "--to", "2026-01-02"]
    )  # fmt: skip
    assert result.exit_code != 0
    assert "cannot be backtested" in result.output
