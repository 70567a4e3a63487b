"""The engine's own texts (activity log, stop reasons, a signal's reason) in the reader's language.

The engine writes each text once, in English, where the JSON API, the logs and the exports read
it. Pages translate it when they show it: every text the engine writes is listed below as a
catalog msgid with placeholders; a stored text is matched against them, its values are read
back (numbers, nested texts such as a strategy's reason inside a cycle line), and the
translation is filled with them, numbers in the reader's format. Rows written before a text
was listed, and what is not the engine's (an exchange's own error message), read as written.

`tests/i18n/test_engine_texts.py` runs real cycles and fails when the engine writes a text
this module does not recognise, so the two cannot drift apart silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from webapp.i18n import current
from webapp.i18n.current import gettext
from webapp.i18n.marks import N_
from webapp.i18n.numbers import quantity_text

#: Why a webhook endpoint was turned off (written by webapp.notify.channels.webhook).
WEBHOOK_GONE = N_("The receiver answered 410 Gone, which means it wants no more webhooks.")
WEBHOOK_FAILING = N_(
    "%(count)s notifications in a row failed every attempt (last error: %(error)s)"
)
#: Whole texts: activity lines, stop reasons, the last error.
TEXTS = [
    N_("Started."),
    N_("Stopped by you."),
    N_("Stopped to be deleted."),
    N_("Stopped: the account is being deleted."),
    N_("Stopped by the operator's kill switch."),
    N_("Stopped by the operator."),
    N_("Stopped by you (all bots)."),
    N_("Its API key was deleted."),
    N_("Its API key can no longer trade spot."),
    N_("New day: resumed after yesterday's target."),
    N_("Settings changed: %(fields)s."),
    N_("Created: %(strategy)s on %(symbol)s %(timeframe)s, %(mode)s mode."),
    N_("sell: you asked to sell the position (price %(price)s)"),
    N_("hold: %(why)s (price %(price)s)"),
    N_("%(side)s: %(why)s (price %(price)s); no order: %(reason)s"),
    N_("%(side)s: %(why)s (price %(price)s)"),
    N_("Order %(order)s ended unfilled."),
    N_("Order %(order)s was accepted but is not filled yet; the next cycle checks it."),
    N_("Order %(order)s never reached the exchange; nothing was traded."),
    N_("Waiting for the exchange to confirm order %(order)s."),
    # Resting limit orders (webapp.engine.resting); a tag is the strategy's name for one.
    N_("Resting orders: %(count)s open, %(fills)s fills this cycle (price %(price)s)"),
    N_("The price is below the grid's lower price %(lower)s: no new order until it comes back."),
    N_("The price is above the grid's upper price %(upper)s: no new order until it comes back."),
    N_("Waiting for the price to reach the trigger price %(trigger)s: no order until then."),
    N_("Order %(tag)s placed: %(side)s %(qty)s %(base)s at %(price)s %(quote)s."),
    N_("Order %(tag)s rests on the exchange: %(side)s %(qty)s %(base)s at %(price)s %(quote)s."),
    N_("Order %(tag)s was sent but the exchange did not answer; the next cycle checks it."),
    N_("Order %(tag)s (%(order)s) never reached the exchange; nothing was traded."),
    N_(
        "Order %(tag)s (%(order)s): the exchange's order by this id is not this bot's; nothing "
        "was traded."
    ),
    N_("Order %(tag)s was refused by the exchange: %(error)s"),
    N_("Order %(tag)s canceled: %(why)s."),
    N_("no longer wanted"),
    N_("replaced at a new price or size"),
    N_("the bot stopped"),
    N_("Order %(tag)s not placed: %(reason)s; nor %(count)s more."),
    N_("Order %(tag)s not placed: %(reason)s."),
    N_("its price rounds to 0 at a tick of %(step)s"),
    N_("its quantity rounds to 0 at a step of %(step)s"),
    N_("its price is not above 0"),
    N_("The exchange would refuse this bot's orders: %(reason)s."),
    N_("its levels are closer than the market's price tick of %(step)s"),
    N_("its quantity is not above 0"),
    N_(
        "This bot may spend up to %(amount)s %(quote)s but the key holds %(free)s %(quote)s "
        "free: lower its orders or add funds, then start it again."
    ),
    # A grid past its stop-below or take-above (webapp.strategies.grid), then stopped.
    N_("Closed: its orders were canceled."),
    N_("Closed: its orders were canceled and its position sold."),
    N_("Closed: %(why)s; its orders were canceled."),
    N_("Closed: %(why)s; its orders were canceled and its position sold."),
    N_("the price %(price)s reached the grid's stop-below %(stop)s"),
    N_("the price %(price)s reached the grid's take-above %(take)s"),
    # DCA deals (webapp.strategies.dca): the bot's note, and what a signal did.
    N_("No deal open: %(why)s."),
    N_("cooling down after the last deal"),
    N_("waiting for a start_deal signal"),
    N_("waiting for RSI(%(period)s) below %(level)s"),
    N_("deal %(deal)s opened"),
    N_("deal %(deal)s is open"),
    N_("deal %(deal)s closed at the price"),
    N_("the deal is opening"),
    N_("the deal is closing"),
    N_("no deal is open"),
    N_("no position"),
    N_("the deal's stop-loss fired"),
    N_("Bought %(qty)s %(base)s at %(price)s %(quote)s, fee %(fee)s %(quote)s%(rest)s."),
    N_("Sold %(qty)s %(base)s at %(price)s %(quote)s, fee %(fee)s %(quote)s%(rest)s."),
    N_(
        "Daily loss limit reached: %(pnl)s %(quote)s realized today (limit %(limit)s "
        "%(quote)s). Start it again when ready."
    ),
    N_(
        "Daily profit target reached: %(pnl)s %(quote)s realized today (target %(target)s "
        "%(quote)s). Paused until %(until)s UTC."
    ),
    N_("%(error)s (failed cycle %(count)s of %(limit)s in a row)"),
    N_("%(error)s (failing for %(failing)s; stops after %(grace)s)"),
    N_("Stopped after %(count)s failed cycles in a row. Last error: %(error)s"),
    N_("Stopped after %(failing)s of failed cycles. Last error: %(error)s"),
    N_("The exchange rejected its API key: %(error)s"),
    WEBHOOK_GONE,
    WEBHOOK_FAILING,
    N_("The exchange no longer lists %(symbol)s."),
    # Why a bot cannot start (webapp.engine.service.start_bot), shown where Start was pressed.
    N_(
        "Trading is halted on this installation by its operator: no bot can start or trade "
        "until the halt is lifted."
    ),
    N_("This bot has no API key (it was deleted). Choose a key first."),
    N_(
        "The API key “%(label)s” cannot be used: %(reason)s Check it on the keys page, then "
        "start the bot again."
    ),
    N_("it has not been validated."),
    N_(
        "Live trading is turned off on this server (LIVE_TRADING_ENABLED is not set), so no "
        "real order can be sent. Use paper mode, or ask the operator to enable live trading."
    ),
    N_(
        "This API key may not trade spot at the exchange, so it serves paper bots only. Enable "
        "spot trading for it in the exchange's API Management, or choose paper mode."
    ),
    N_("The strategy “%(strategy)s” is no longer available; choose another one."),
    N_("This bot is in the middle of a cycle; try again in a few seconds."),
    N_("The strategy settings are invalid: %(error)s"),
    N_("Nothing can be sold: %(reason)s."),
    N_("The sell order ended without a fill."),
    N_("The exchange accepted the sell order; it is recorded once it fills."),
    # Why a cycle decided what it did: the exit rules, then the strategies.
    N_("stop-loss %(pct)s%%: price %(price)s <= %(trigger)s (entry %(entry)s)"),
    N_("take-profit %(pct)s%%: price %(price)s >= %(trigger)s (entry %(entry)s)"),
    N_(
        "not enough data: need %(need)s closed candles for EMA(%(fast)s)/EMA(%(slow)s), "
        "have %(have)s"
    ),
    N_(
        "cross up but already in position: fast EMA(%(fast)s) %(fast_ema)s > "
        "slow EMA(%(slow)s) %(slow_ema)s"
    ),
    N_("fast EMA(%(fast)s) %(fast_ema)s crossed above slow EMA(%(slow)s) %(slow_ema)s"),
    N_(
        "cross down but no position to sell: fast EMA(%(fast)s) %(fast_ema)s < "
        "slow EMA(%(slow)s) %(slow_ema)s"
    ),
    N_("fast EMA(%(fast)s) %(fast_ema)s crossed below slow EMA(%(slow)s) %(slow_ema)s"),
    N_("no cross: fast EMA(%(fast)s) %(fast_ema)s %(relation)s slow EMA(%(slow)s) %(slow_ema)s"),
    N_("close %(price)s >= sell above %(sell)s"),
    N_("close %(price)s below sell above %(sell)s; holding position"),
    N_("close %(price)s <= buy below %(buy)s"),
    N_("close %(price)s above buy below %(buy)s; waiting to buy"),
    N_("waiting for a signal"),
    N_("signal buy: already in a position"),
    N_("signal %(action)s: no position to sell"),
    N_("signal %(action)s"),
    N_("signal %(action)s: %(why)s"),
    # What became of a received signal (webapp.signals.service), besides a cycle's line.
    N_("The same body arrived less than %(seconds)s s ago; acted on once."),
    N_("The bot was not running."),
    N_("It arrived before the bot was started."),
    N_("A newer signal (#%(id)s) came first."),
    # Why an order could not be sized.
    N_("order size must be greater than 0"),
    N_(
        "order of %(amount)s%(quote)s buys less than the smallest amount step "
        "(%(step)s%(base)s) at %(price)s"
    ),
    N_("position of %(held)s%(base)s is smaller than the smallest amount step (%(step)s%(base)s)"),
    N_("order of %(qty)s%(base)s is below the exchange minimum of %(min)s%(base)s"),
    N_("order of %(notional)s%(quote)s is below the exchange minimum of %(min)s%(quote)s"),
]
#: What a trade's line may add after its fee, in this order.
SUFFIXES = [
    N_(", realized %(pnl)s %(quote)s%(rest)s"),
    N_(" (%(trade_reason)s)%(rest)s"),
    N_(" - recovered after an interrupted cycle%(rest)s"),
    N_(
        "; %(qty)s %(base)s is left as dust, too little to sell on its own: it counts as "
        "closed and goes with the next sell%(rest)s"
    ),
    N_(" (%(note)s)"),
]
#: How a fill's fee in another asset was valued (several are joined by "; ").
NOTES = [
    N_("fee of %(fee)s %(asset)s valued at the fill price"),
    N_("fee of %(fee)s %(asset)s valued at %(rate)s %(quote)s"),
    N_("fee paid in %(assets)s is not counted in PnL"),
]
#: Durations in the failure lines.
DURATIONS = [N_("%(count)s s"), N_("%(count)s min")]
#: Single words inside texts; their msgids are the pages' own.
WORDS = {
    "side": {"buy": N_("buy"), "sell": N_("sell")},
    "mode": {"paper": N_("paper"), "live": N_("live")},
    "trade_reason": {
        "stop-loss": N_("stop-loss"),
        "take-profit": N_("take-profit"),
        "manual": N_("manual"),
    },
}

_NUMBER = r"-?\d+(?:\.\d+)?"
#: How each placeholder's value looks; what is not listed is any text, as short as matches.
_SHAPES = {
    **{name: "|".join(map(re.escape, words)) for name, words in WORDS.items()},
    **{
        name: _NUMBER
        for name in [
            "price",
            "pct",
            "trigger",
            "entry",
            "qty",
            "fee",
            "pnl",
            "limit",
            "target",
            "amount",
            "step",
            "held",
            "min",
            "notional",
            "rate",
            "need",
            "have",
            "fast",
            "slow",
            "fast_ema",
            "slow_ema",
            "sell",
            "buy",
            "count",
            "fills",
            "lower",
            "upper",
            "seconds",
            "id",
            "free",
            "stop",
            "take",
            "deal",
            "period",
            "level",
        ]
    },
    # A signal's action, as sent (JSON values are not translated).
    "action": "buy|sell|close|start_deal",
    # Currencies: a code, after a space where the engine glues it to a number (" USDT").
    **{name: r"\s?[^\s,;()]+" for name in ("base", "quote", "asset")},
    "relation": "[<>=]",
    # What follows a trade's fee starts as one of SUFFIXES does.
    "rest": r"(?:(?:, | \(| - |; ).*)?",
}
#: Placeholders that hold a text of their own, and the texts it may be.
_NESTED = {"why": "texts", "reason": "texts", "error": "texts", "rest": "suffixes"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(msgid: str) -> re.Pattern[str]:
    parts, seen, end = ["^"], set(), 0
    for match in _PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[end : match.start()].replace("%%", "%")))
        name = match.group(1)
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            parts.append(f"(?P<{name}>{_SHAPES.get(name, '.+?')})")
            seen.add(name)
        end = match.end()
    parts += [re.escape(msgid[end:].replace("%%", "%")), "$"]
    return re.compile("".join(parts), re.S)


_TABLES = {
    name: [(msgid, _pattern(msgid)) for msgid in msgids]
    for name, msgids in (
        ("texts", TEXTS),
        ("suffixes", SUFFIXES),
        ("notes", NOTES),
        ("durations", DURATIONS),
    )
}


def unrecognised(texts: Iterable[str]) -> list[str]:
    """Those of `texts` that are none of the engine's, nor hold one it does not know (a
    nested reason); what the tests check. An exchange's own message inside an error line
    counts as known: it is data."""
    return sorted(t for t in texts if not _known(t, "texts", top=True))


def _known(text: str, table: str, top: bool = False) -> bool:
    found = _match(text, table)
    if found is None:
        return not text or (not top and table == "texts")
    _msgid, values = found
    for name, value in values.items():
        if name in ("why", "rest") and not _known(value, _NESTED[name], top=True):
            return False
        if name == "note" and not all(_known(p, "notes") for p in value.split("; ")):
            return False
    return True


def _match(text: str, table: str) -> tuple[str, dict[str, str]] | None:
    for msgid, pattern in _TABLES[table]:
        found = pattern.match(text)
        if found:
            return msgid, found.groupdict()
    return None


def _value(name: str, value: str, locale: str) -> str:
    if name in WORDS:
        return gettext(WORDS[name][value])
    if name in _NESTED:
        return _translate(value, _NESTED[name], locale)
    if name == "note":
        return "; ".join(_translate(part, "notes", locale) for part in value.split("; "))
    if name in ("failing", "grace"):
        return _translate(value, "durations", locale)
    if re.fullmatch(_NUMBER, value):
        try:
            return quantity_text(Decimal(value))
        except InvalidOperation:  # pragma: no cover - the pattern allows only numbers
            return value
    return value


def _translate(text: str, table: str, locale: str) -> str:
    if not text:
        return text
    found = _match(text, table)
    if found is None:  # an exchange error is a msgid of its own (webapp/exchange/errors.py)
        return gettext(text)
    msgid, values = found
    return gettext(msgid, **{k: _value(k, v, locale) for k, v in values.items()})


@lru_cache(maxsize=4096)
def _cached(text: str, locale: str) -> str:
    return _translate(text, "texts", locale)


def engine_text(text: str | None) -> str:
    """A text the engine stored, in the reader's language (English stays as stored)."""
    if not text:
        return text or ""
    locale = current.language()
    if locale.startswith("en"):
        return text
    return _cached(text, locale)
