"""How bot figures look on a page: shared by the bot, trade and dashboard pages.

Amounts are stored with 12 decimal places; pages show them without the trailing zeros
(quantities, prices) or with a fixed number of places (PnL, in the quote currency), and never
in scientific notation.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from flask import current_app

from webapp.engine.reports import BotReport
from webapp.i18n.current import gettext as _
from webapp.i18n.engine_text import engine_text
from webapp.i18n.labels import (
    ACTIVITY_KINDS,
    ORDER_STATUSES,
    REASON_LABELS,
    SIGNAL_STATUSES,
    SIGNALS,
    name_of,
)
from webapp.i18n.numbers import decimal_text, integer_text, percent_text, quantity_text
from webapp.models import BotState, BotStatus, Trade
from webapp.models.types import utcnow
from webapp.numbers import plain
from webapp.strategies import Candle, UnknownStrategyError, get_strategy

#: Decimal places of PnL figures (quote currency): small paper bots make fractions of a cent.
PNL_PLACES = 4


def pnl(value: Decimal | None) -> str:
    """A PnL figure as shown everywhere: thousands separators, PNL_PLACES places, signed."""
    if value is None:
        return "—"
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = decimal_text(number, PNL_PLACES)
    return "+" + text if number > 0 else text


def amount(value: Decimal | None) -> str:
    """An unsigned quote-currency figure (e.g. a drawdown) with PNL_PLACES places."""
    if value is None:
        return "—"
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return decimal_text(number, PNL_PLACES)


def sign_class(value: Decimal | None) -> str:
    """CSS class for a signed amount: green above zero, red below."""
    if value is None or value == 0:
        return ""
    return "pos" if value > 0 else "neg"


def percent(fraction: Decimal | None) -> str:
    """A fraction in [0, 1] as a percentage with one decimal ("—" when there is none)."""
    if fraction is None:
        return "—"
    return percent_text(fraction, 1)


def today_pnl(state: BotState | None, today: date | None = None) -> Decimal:
    """The bot's realized PnL of the current UTC day (the engine's running figure)."""
    if state is None or state.pnl_day != (today or utcnow().date()):
        return Decimal(0)
    return state.realized_pnl_today


def status_label(state: BotState | None) -> tuple[str, str]:
    """(text, badge class) for a bot's status; a bot resting until tomorrow shows "Paused"."""
    if state is None:
        return _("Stopped"), ""
    if state.status == BotStatus.RUNNING:
        if state.is_paused():
            return _("Paused"), "badge-warn"
        return _("Running"), "badge-ok"
    if state.status == BotStatus.ERROR:
        return _("Error"), "badge-danger"
    return _("Stopped"), ""


def reason_label(reason: object) -> str:
    return name_of(REASON_LABELS, reason)


def activity_kind(kind: object) -> str:
    return name_of(ACTIVITY_KINDS, kind)


def signal_label(signal: object) -> str:
    """ "buy", "sell" or "hold" in the reader's language (also a trade's side)."""
    return name_of(SIGNALS, signal)


def order_status(status: object) -> str:
    """A resting order's status in the reader's language."""
    return name_of(ORDER_STATUSES, status)


def signal_status(status: object) -> str:
    """A received signal's status (pending, done, ignored) in the reader's language."""
    return name_of(SIGNAL_STATUSES, status)


def strategy_label(name: str) -> str:
    """A strategy's display name; its stored name if it is no longer registered."""
    try:
        return get_strategy(name).label
    except UnknownStrategyError:
        return name


def poll_seconds() -> int:
    """How often pages showing running bots refresh their live parts (BOT_PAGE_POLL_SECONDS)."""
    return max(1, int(current_app.config.get("BOT_PAGE_POLL_SECONDS", 5)))


def _epoch(at: datetime) -> float:
    return round(at.timestamp(), 3)


def pnl_chart_json(report: BotReport, quote: str = "", start: datetime | None = None) -> str:
    """The cumulative realized PnL curve for charts.js: {"x": [epoch s], "y": [float], ...}.

    The curve starts at 0 at `start` (the first trade, usually a buy), else just before the
    first sell, so even a single sell draws a step. Floats are fine here: the chart only
    draws; every figure in text comes from the Decimals.
    """
    xs: list[float] = []
    ys: list[float] = []
    points = report.pnl_series
    if points:
        first = _epoch(points[0][0])
        xs.append(min(_epoch(start), first - 1) if start is not None else first - 1)
        ys.append(0.0)
        for at, cumulative in points:
            xs.append(_epoch(at))
            ys.append(float(cumulative))
    label = (
        _("Cumulative realized PnL (%(quote)s)", quote=quote)
        if quote
        else _("Cumulative realized PnL")
    )
    return _script_json({"kind": "pnl", "label": label, "x": xs, "y": ys})


class Mark(NamedTuple):
    """A horizontal line on the price chart: a resting order (`buy`, `sell`), a grid level
    with none (`level`), or a grid's `trigger`, `stop` or `take` price."""

    price: Decimal
    kind: str


def price_chart_json(
    candles: Sequence[Candle],
    price: Decimal,
    trades: Iterable[Trade],
    timeframe_seconds: int,
    symbol: str = "",
    marks: Sequence[Mark] = (),
) -> str:
    """Closes of `candles` and the current price, with each trade as a buy or sell marker.

    uPlot wants every series on the same x values, so a trade is drawn on the candle it
    happened in (at its own fill price); the current price sits at the start of the candle
    still open (the exchange's clock, not ours), and a trade after the last closed candle
    goes there. Trades before the first candle are left out. `marks` are drawn across it, and
    the price scale reaches them.
    """
    lines = [{"p": float(m.price), "k": m.kind} for m in marks]
    starts = [c.ts / 1000 for c in candles]
    if not starts:
        return _script_json(
            {"kind": "price", "x": [], "y": [], "buys": [], "sells": [], "marks": lines}
        )
    xs = [*starts, starts[-1] + timeframe_seconds]
    ys = [c.close for c in candles] + [float(price)]
    buys: list[float | None] = [None] * len(xs)
    sells: list[float | None] = [None] * len(xs)
    for trade in trades:
        at = trade.executed_at.timestamp()
        if at < starts[0]:
            continue
        index = min(bisect_right(starts, at) - 1, len(xs) - 1)
        if at >= starts[index] + timeframe_seconds:
            index = len(xs) - 1
        target = buys if trade.side.value == "buy" else sells
        target[index] = float(trade.price)
    label = _("%(symbol)s close", symbol=symbol) if symbol else _("Close")
    return _script_json(
        {
            "kind": "price",
            "label": label,
            "x": xs,
            "y": ys,
            "buys": buys,
            "sells": sells,
            "marks": lines,
        }
    )


def _script_json(data: object) -> str:
    """JSON safe inside <script type="application/json"> (no "</script>" can close it)."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


FILTERS = {
    "plain": plain,
    "qty": quantity_text,
    "int_text": integer_text,
    "pnl": pnl,
    "amount": amount,
    "sign_class": sign_class,
    "percent": percent,
    "engine_text": engine_text,
    "reason_label": reason_label,
    "activity_kind": activity_kind,
    "signal_label": signal_label,
    "signal_status": signal_status,
    "order_status": order_status,
}
