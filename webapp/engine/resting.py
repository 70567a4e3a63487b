"""Resting orders: keep on the exchange the limit orders a strategy wants.

A strategy that rests orders (`Strategy.rests_orders`) answers each cycle with the orders it
wants (`OrderWant`: tag, side, limit price, quantity). The cycle then

1. syncs: learns what became of each of the bot's active orders (live: one open-orders
   request, and a lookup by client order id of each order no longer open; paper: the candles
   since the order was placed) and records every new fill, partial or whole, as a trade;
2. asks the strategy, showing it what rests and what has filled (`Book`);
3. reconciles: cancels the active orders no longer wanted (or wanted at another side, price
   or size) and places the wanted ones that are missing.

An order's row is committed before the order is sent (webapp.models.order), so a worker
killed in between leaves a row the next sync looks up, and a tag with an active row is never
placed again. A sent order is never resent to learn its fate; only the exchange's "Order does
not exist." after PENDING_GRACE retires an intent. The trades of an order's fills carry its
client order id, with ".2", ".3"... for the second and later parts.

Paper bots keep the same book in the database and fill it by the backtest's rule against live
prices: a resting buy at P fills at P in the first candle after the one last closed when it
was placed whose low is at or below P (a sell: high at or above P), or once the price is there;
it pays the maker fee. Candle times are the market's, so the rule holds whatever this host's
clock says. An order
placed across the price (a buy above it) fills at once at the price, as a taker.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import ccxt
import sqlalchemy as sa

from webapp.engine import ledger, orders
from webapp.engine.accounting import round_to_step, to_decimal
from webapp.engine.marketdata import MarketInfo
from webapp.engine.placement import PENDING_GRACE
from webapp.engine.service import log_activity
from webapp.exchange.errors import ExchangeError, OrderNotFound, translate_errors
from webapp.extensions import db
from webapp.models import (
    ACTIVE_STATUSES,
    ActivityKind,
    Bot,
    BotMode,
    BotOrder,
    BotState,
    OrderStatus,
    Trade,
    TradeReason,
    TradeSide,
)
from webapp.models.bot import quantize
from webapp.numbers import plain as _fmt
from webapp.strategies.base import Candle, Position, UnknownStrategyError
from webapp.strategies.book import Book, BookOrder, OrderWant
from webapp.strategies.registry import get_strategy

logger = logging.getLogger(__name__)

#: Why an order is canceled (its activity line, and its note).
NOT_WANTED = "no longer wanted"
REPLACED = "replaced at a new price or size"
STOPPED = "the bot stopped"

ZERO = Decimal(0)

#: Binance order states and what they mean for a resting order.
_STATUSES = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.OPEN,
    "PENDING_NEW": OrderStatus.OPEN,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.OPEN,
    "EXPIRED": OrderStatus.CANCELED,
    "EXPIRED_IN_MATCH": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "OPEN": OrderStatus.OPEN,  # ccxt's unified names, when `info` has no status
    "CLOSED": OrderStatus.FILLED,
}


@dataclass(frozen=True)
class Seen:
    """What is known of an order now, cumulative since it was placed."""

    status: OrderStatus
    executed_qty: Decimal = ZERO
    cost: Decimal = ZERO  # quote
    fee: Decimal = ZERO  # quote
    held_qty: Decimal = ZERO  # executed minus a buy's fee taken in base
    exchange_order_id: str | None = None
    note: str = ""


@dataclass
class Reconciled:
    """What one cycle did to the bot's resting orders."""

    trades: list[Trade] = field(default_factory=list)
    placed: list[BotOrder] = field(default_factory=list)
    canceled: list[BotOrder] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (tag, why)

    def summary(self) -> str:
        parts = []
        if self.trades:
            parts.append(f"{len(self.trades)} fills")
        if self.placed:
            parts.append(f"{len(self.placed)} orders placed")
        if self.canceled:
            parts.append(f"{len(self.canceled)} canceled")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return ", ".join(parts) or "orders unchanged"


# -- sizes the exchange takes --------------------------------------------------------------


def normalize(market: MarketInfo, want: OrderWant) -> OrderWant:
    """The want at prices and sizes the market takes: a buy's price rounded down to the tick
    and a sell's up (never a worse price than asked), the quantity down to the step."""
    price, qty = _rounded(
        market.price_step, market.amount_step, want.side, to_decimal(want.price),
        to_decimal(want.qty),
    )  # fmt: skip
    return OrderWant(want.tag, want.side, price, qty)


@functools.lru_cache(maxsize=4096)
def _rounded(
    price_step: Decimal | None, amount_step: Decimal | None, side: str, price: Decimal, qty
) -> tuple[Decimal, Decimal]:
    """Cached: a ladder asks for the same few prices and sizes every cycle."""
    if price_step:
        rounding = ROUND_FLOOR if side == "buy" else ROUND_CEILING
        price = (price / price_step).to_integral_value(rounding) * price_step
    return quantize(price), quantize(round_to_step(qty, amount_step))


def refusal(market: MarketInfo, want: OrderWant) -> str | None:
    """Why the exchange would refuse this (normalized) order, or None."""
    base, quote = f" {market.base}", f" {market.quote}"
    if want.price <= 0:
        if market.price_step:
            return f"its price rounds to 0 at a tick of {_fmt(market.price_step)}"
        return "its price is not above 0"
    if want.qty <= 0:
        if market.amount_step:
            return f"its quantity rounds to 0 at a step of {_fmt(market.amount_step)}"
        return "its quantity is not above 0"
    if market.min_qty and want.qty < market.min_qty:
        return (
            f"order of {_fmt(want.qty)}{base} is below the exchange minimum of "
            f"{_fmt(market.min_qty)}{base}"
        )
    notional = quantize(want.qty * want.price)
    if market.min_notional and notional < market.min_notional:
        return (
            f"order of {_fmt(notional)}{quote} is below the exchange minimum of "
            f"{_fmt(market.min_notional)}{quote}"
        )
    return None


def preflight(market: MarketInfo, wants: Sequence[OrderWant]) -> str | None:
    """The first reason the exchange would refuse some of these orders, or None: checked
    before a bot starts, so a bad ladder is a message on its page, not a failed cycle."""
    seen: dict[tuple[str, Decimal], str] = {}
    for want in wants:
        order = normalize(market, want)
        problem = refusal(market, order)
        if problem:
            return problem
        key = (order.side, order.price)
        if key in seen and market.price_step:
            return (
                f"its levels are closer than the market's price tick of {_fmt(market.price_step)}"
            )
        seen[key] = order.tag
    return None


#: normalize and refusal of recent wants, by the want object's id (each entry holds its want,
#: so that id is not reused while kept): a strategy answering with the same OrderWant objects
#: cycle after cycle (a grid between fills) has each checked once per market object.
_CHECKED: dict[int, _Checked] = {}
_CHECKED_MAX = 4096


@dataclass(frozen=True, slots=True)
class _Checked:
    want: OrderWant
    market: MarketInfo
    order: OrderWant  # normalized
    terms: tuple[str, Decimal, Decimal]  # the order's (side, price, qty)
    problem: str | None


def _check(market: MarketInfo, want: OrderWant) -> _Checked:
    order = normalize(market, want)
    checked = _Checked(
        want, market, order, (order.side, order.price, order.qty), refusal(market, order)
    )
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[id(want)] = checked
    return checked


@dataclass(frozen=True)
class Steps:
    """What reconciling the resting orders to the wanted ones takes, in this order."""

    cancel: list[tuple[str, str]]  # (tag, why: NOT_WANTED or REPLACED)
    place: list[OrderWant]  # normalized
    refused: list[tuple[str, str]]  # (tag, why the exchange would refuse it)


def plan(
    market: MarketInfo,
    resting: dict[str, tuple[str, Decimal, Decimal]],
    wants: Sequence[OrderWant],
) -> Steps:
    """The one reconcile rule, for live and paper cycles and for backtests: `resting` maps
    each active order's tag to (side, price, qty). A want the exchange would refuse is left
    out; an order wanted again at the same side, price and size stays; any other is canceled,
    and every wanted tag without an order is placed."""
    wanted: dict[str, OrderWant] = {}
    terms: dict[str, tuple[str, Decimal, Decimal]] = {}
    refused = []
    for want in wants:
        checked = _CHECKED.get(id(want))
        if checked is None or checked.want is not want or checked.market is not market:
            checked = _check(market, want)
        order = checked.order
        if checked.problem:
            refused.append((order.tag, checked.problem))
        else:
            wanted[order.tag] = order
            terms[order.tag] = checked.terms
    if terms == resting:  # the common case: everything wanted rests as wanted
        return Steps([], [], refused)
    cancel = []
    for tag, (side, price, qty) in resting.items():
        want = wanted.get(tag)
        if want is not None and (want.side, want.price, want.qty) == (side, price, qty):
            continue
        cancel.append((tag, NOT_WANTED if want is None else REPLACED))
    keep = {tag for tag in resting} - {tag for tag, _why in cancel}
    place = [want for tag, want in wanted.items() if tag not in keep]
    return Steps(cancel, place, refused)


# -- the book --------------------------------------------------------------------------------


def active_orders(bot_id: int) -> list[BotOrder]:
    return list(
        db.session.scalars(
            sa.select(BotOrder)
            .where(BotOrder.bot_id == bot_id, BotOrder.status.in_(ACTIVE_STATUSES))
            .order_by(BotOrder.id)
        )
    )


def rests_orders(bot: Bot) -> bool:
    """Whether the bot's strategy keeps limit orders resting (its page shows them)."""
    try:
        return get_strategy(bot.strategy).rests_orders
    except UnknownStrategyError:
        return False


def ended_orders(bot_id: int, limit: int = 20) -> list[BotOrder]:
    """The bot's newest orders that ended (filled, canceled, rejected), newest first."""
    return list(
        db.session.scalars(
            sa.select(BotOrder)
            .where(BotOrder.bot_id == bot_id, BotOrder.status.not_in(ACTIVE_STATUSES))
            .order_by(BotOrder.id.desc())
            .limit(limit)
        )
    )


def _ended_with_fills(bot_id: int):
    """The bot's orders that ended with something filled (a WHERE clause)."""
    return sa.and_(
        BotOrder.bot_id == bot_id,
        BotOrder.status.not_in(ACTIVE_STATUSES),
        BotOrder.executed_qty > 0,
    )


def filled_orders(bot_id: int) -> list[BookOrder]:
    """Every order of the bot that ended with something filled, oldest first."""
    rows = db.session.scalars(
        sa.select(BotOrder).where(_ended_with_fills(bot_id)).order_by(BotOrder.id)
    )
    return [shown(row) for row in rows]


def book_for(
    bot: Bot,
    state: BotState,
    price: Decimal,
    candles: Sequence[Candle],
    active: list[BotOrder],
    market_ms: int = 0,
    signal: str | None = None,
) -> Book:
    """What the strategy is shown: its active orders by tag and, for each tag, the newest
    order that ended with something filled since the bot started (oldest first)."""
    ended = _ended_with_fills(bot.id)
    if state.started_at is not None:
        ended = sa.and_(ended, BotOrder.created_at >= state.started_at)
    newest = sa.select(sa.func.max(BotOrder.id)).where(ended).group_by(BotOrder.tag)
    rows = db.session.scalars(
        sa.select(BotOrder).where(BotOrder.id.in_(newest)).order_by(BotOrder.id)
    )
    return Book(
        price=price,
        candles=candles,
        position=Position(state.position_qty, state.position_avg_price),
        active={row.tag: shown(row) for row in active},
        filled=tuple(shown(row) for row in rows),
        ts=market_ms,
        signal=signal,
        start_price=state.start_price,
    )


def shown(row: BotOrder) -> BookOrder:
    return BookOrder(
        tag=row.tag,
        side=row.side.value,
        price=row.price,
        qty=row.qty,
        executed_qty=row.executed_qty,
        status=row.status.value,
        average_price=row.average_price,
        held_qty=row.held_qty,
        seq=row.id,
        fee=row.fee,
        closed_ts=row.closed_ts,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- recording what happened -----------------------------------------------------------------


def _apply(
    bot: Bot, state: BotState, row: BotOrder, seen: Seen, now: datetime, market_ms: int
) -> Trade | None:
    """Record what `seen` adds to what `row` already has (a new fill becomes one trade) and
    its status; flushes. Seeing the same thing twice records nothing. `market_ms` is the
    market's time now (see RestingBook.market_ms)."""
    trade = None
    executed = seen.executed_qty - row.executed_qty
    if executed > 0:
        cost = seen.cost - row.filled_cost
        price = quantize(cost / executed) if cost > 0 else row.price
        fill = orders.Fill(
            qty=seen.held_qty - row.held_qty,
            price=price,
            fee=max(ZERO, seen.fee - row.fee),
            exchange_order_id=seen.exchange_order_id or row.exchange_order_id,
            executed_at=now,
            note=seen.note,
        )
        part = row.fills + 1
        client_order_id = row.client_order_id if part == 1 else f"{row.client_order_id}.{part}"
        trade = ledger.record_fill(
            bot, state, row.side.value, fill, TradeReason.SIGNAL, client_order_id, now,
            symbol=row.symbol, mode=row.mode,
        )  # fmt: skip
        row.executed_qty = quantize(seen.executed_qty)
        row.filled_cost = quantize(seen.cost if seen.cost > 0 else row.filled_cost + cost)
        row.fee = quantize(max(row.fee, seen.fee))
        row.held_qty = quantize(seen.held_qty)
        row.fills = part
    if seen.exchange_order_id:
        row.exchange_order_id = seen.exchange_order_id
    if seen.status != row.status:
        row.status = seen.status
        if not seen.status.is_active:
            row.closed_at = now
            row.closed_ts = market_ms
    row.updated_at = now
    db.session.flush()
    return trade


def _seen_live(client: ccxt.Exchange, market: MarketInfo, row: BotOrder, order: dict) -> Seen:
    info = order.get("info") or {}
    raw_status = str(info.get("status") or order.get("status") or "").upper()
    status = _STATUSES.get(raw_status, OrderStatus.OPEN)
    executed = to_decimal(info.get("executedQty") or order.get("filled") or 0)
    cost = to_decimal(info.get("cummulativeQuoteQty") or order.get("cost") or 0)
    exchange_order_id = str(info.get("orderId") or order.get("id") or "") or None
    if executed > row.executed_qty:  # only then are its fills worth a request
        price = cost / executed if cost > 0 else row.price
        fee, held, note = orders.order_fees(client, market, order, row.symbol, executed, price)
    else:
        fee, held, note = row.fee, row.held_qty, ""
    if status is OrderStatus.REJECTED and executed > 0:
        status = OrderStatus.CANCELED
    return Seen(status, executed, cost, fee, held, exchange_order_id, note)


def _seen_paper(
    market: MarketInfo, row: BotOrder, price: Decimal, candles: Sequence[Candle], now: datetime
) -> Seen | None:
    """Filled by the backtest's rule, or None while it rests."""
    mark = row.placed_after_ts
    after = [c for c in candles if mark is not None and c.ts > mark]
    if row.side is TradeSide.BUY:
        touched = price <= row.price or any(Decimal(repr(c.low)) <= row.price for c in after)
    else:
        touched = price >= row.price or any(Decimal(repr(c.high)) >= row.price for c in after)
    if not touched:
        return None
    return _paper_fill(market, row, row.price, market.maker_fee)


def _paper_fill(market: MarketInfo, row: BotOrder, price: Decimal, rate: Decimal | None) -> Seen:
    qty = row.qty
    cost = quantize(qty * price)
    fee = quantize(cost * (market.taker_fee if rate is None else rate))
    return Seen(OrderStatus.FILLED, qty, cost, fee, qty)


# -- one cycle -------------------------------------------------------------------------------


class RestingBook:
    """A bot's resting orders for one cycle: `sync`, then `reconcile` to the wanted set."""

    def __init__(
        self,
        bot: Bot,
        state: BotState,
        market: MarketInfo,
        price: Decimal,
        candles: Sequence[Candle],
        now: datetime,
    ) -> None:
        if state.pending_client_order_id:
            raise RuntimeError("settle the bot's market order before its resting orders")
        self.bot, self.state, self.market = bot, state, market
        self.price, self.candles, self.now = price, candles, now
        self.paper = bot.mode == BotMode.PAPER
        self._client: ccxt.Exchange | None = None
        self.done = Reconciled()
        self.active = active_orders(bot.id)

    @functools.cached_property
    def market_ms(self) -> int:
        """The market's time now, epoch ms: the open of the candle in progress (this host's
        clock only without candles, when a stopped bot winds down)."""
        if self.candles:
            step = ccxt.Exchange.parse_timeframe(self.bot.timeframe) * 1000
            return int(self.candles[-1].ts + step)
        return _ms(self.now)

    @property
    def client(self) -> ccxt.Exchange:
        if self._client is None:
            self._client = orders.live_client(self.bot)
        return self._client

    def book(self, signal: str | None = None) -> Book:
        return book_for(
            self.bot, self.state, self.price, self.candles, self.active, self.market_ms, signal
        )

    # -- 1. what became of each active order ---------------------------------------------

    def sync(self) -> None:
        """Record every fill since the last cycle; commits."""
        if not self.active:
            return
        if self.paper:
            for row in self.active:
                if row.status is OrderStatus.INTENT:  # a paper order rests once written
                    row.status = OrderStatus.OPEN
                seen = _seen_paper(self.market, row, self.price, self.candles, self.now)
                if seen is not None:
                    self._record(row, seen)
        else:
            self._sync_live()
        self.active = [row for row in self.active if row.status.is_active]
        db.session.commit()

    def _sync_live(self) -> None:
        symbols = {row.symbol for row in self.active}
        open_now: dict[str, dict] = {}
        for symbol in sorted(symbols):
            with translate_errors():
                for order in self.client.fetch_open_orders(symbol):
                    info = order.get("info") or {}
                    client_id = info.get("clientOrderId") or order.get("clientOrderId")
                    if client_id:
                        open_now[str(client_id)] = order
        for row in self.active:
            order = open_now.get(row.client_order_id or "")
            if order is not None:
                self._record(row, _seen_live(self.client, self.market, row, order))
            else:  # ended since (or never arrived): ask for it by its id
                self._look_up(row)

    def _look_up(self, row: BotOrder) -> None:
        try:
            with translate_errors():
                order = self.client.fetch_order(
                    None, row.symbol, {"origClientOrderId": row.client_order_id}
                )
        except OrderNotFound as exc:
            if exc.code != orders.ORDER_DOES_NOT_EXIST:
                raise
            if row.status is OrderStatus.INTENT and self.now - row.created_at < PENDING_GRACE:
                return  # it may still arrive: ask again next cycle
            self._end(
                row,
                OrderStatus.REJECTED,
                "never reached the exchange",
                f"Order {row.tag} ({row.client_order_id}) never reached the exchange; nothing "
                "was traded.",
            )
            return
        created = orders.order_created_at(order)
        if created is not None and created < row.created_at - orders.ORDER_TIME_SLACK:
            self._end(
                row,
                OrderStatus.REJECTED,
                "the exchange's order by this id is older than it",
                f"Order {row.tag} ({row.client_order_id}): the exchange's order by this id is "
                "not this bot's; nothing was traded.",
            )
            return
        self._record(row, _seen_live(self.client, self.market, row, order))

    def _record(self, row: BotOrder, seen: Seen) -> None:
        was = row.status
        trade = _apply(self.bot, self.state, row, seen, self.now, self.market_ms)
        if trade is not None:
            self.done.trades.append(trade)
        if was is OrderStatus.INTENT and row.status is OrderStatus.OPEN and not self.paper:
            self._say(f"Order {row.tag} rests on the exchange: {self._describe(row)}.")

    def _end(self, row: BotOrder, status: OrderStatus, note: str, line: str) -> None:
        row.status = status
        row.note = note[:300]
        row.closed_at = row.updated_at = self.now
        row.closed_ts = self.market_ms
        self._say(line)

    # -- 3. to the wanted set --------------------------------------------------------------

    def reconcile(self, wants: Sequence[OrderWant]) -> Reconciled:
        """Cancel what is not wanted, place what is missing; commits after each order, so
        what was done is recorded whatever happens next."""
        resting_now = {row.tag: (row.side.value, row.price, row.qty) for row in self.active}
        steps = plan(self.market, resting_now, wants)
        self.done.refused.extend(steps.refused)
        by_tag = {row.tag: row for row in self.active}
        for tag, why in steps.cancel:
            self.cancel(by_tag[tag], why)
        resting = {row.tag for row in self.active}  # a cancel that did not finish stays
        for want in steps.place:
            if want.tag not in resting:
                self.place(want)
        if self.done.refused:  # one line a cycle, however many
            tag, why = self.done.refused[0]
            more = len(self.done.refused) - 1
            if more:
                self._say(f"Order {tag} not placed: {why}; nor {more} more.")
            else:
                self._say(f"Order {tag} not placed: {why}.")
        db.session.commit()
        return self.done

    def place(self, want: OrderWant) -> BotOrder | None:
        row = BotOrder(
            bot_id=self.bot.id,
            tag=want.tag,
            side=TradeSide(want.side),
            symbol=self.bot.symbol,
            mode=self.bot.mode,
            price=want.price,
            qty=want.qty,
            status=OrderStatus.INTENT,
            created_at=self.now,
            updated_at=self.now,
        )
        db.session.add(row)
        db.session.flush()
        row.client_order_id = orders.resting_order_id(self.bot, row.id)
        self.active.append(row)
        if self.paper:
            row.status = OrderStatus.OPEN
            row.placed_after_ts = self.candles[-1].ts if self.candles else None
            crosses = want.price >= self.price if want.side == "buy" else want.price <= self.price
            if crosses:  # a real exchange fills it at once, at the price, as a taker
                self._record(row, _paper_fill(self.market, row, self.price, None))
            self.done.placed.append(row)
            self._say(f"Order {row.tag} placed: {self._describe(row)}.")
            db.session.flush()
            self.active = [r for r in self.active if r.status.is_active]
            return row
        db.session.commit()  # the intent, before the order leaves
        try:
            with translate_errors():
                order = self.client.create_order(
                    row.symbol,
                    "limit",
                    want.side,
                    float(want.qty),
                    float(want.price),
                    {"newClientOrderId": row.client_order_id, "timeInForce": "GTC"},
                )
        except ExchangeError as exc:
            if orders.is_unknown_outcome(exc):
                logger.info(
                    "bot %s: order %s outcome unknown (%s); the next cycle looks it up",
                    self.bot.id,
                    row.client_order_id,
                    exc.summary(),
                )
                self._say(
                    f"Order {row.tag} was sent but the exchange did not answer; the next cycle "
                    "checks it."
                )
                db.session.commit()
                return row
            self._end(
                row,
                OrderStatus.REJECTED,
                f"refused by the exchange: {exc}",
                f"Order {row.tag} was refused by the exchange: {exc}",
            )
            self.active.remove(row)
            db.session.commit()
            return None
        self._record(row, _seen_live(self.client, self.market, row, order))
        if row.status is OrderStatus.INTENT:
            row.status = OrderStatus.OPEN
        self.done.placed.append(row)
        self._say(f"Order {row.tag} placed: {self._describe(row)}.")
        self.active = [r for r in self.active if r.status.is_active]
        db.session.commit()
        return row

    def cancel(self, row: BotOrder, why: str) -> None:
        """Cancel one active order, recording whatever it filled before; commits. `why` is
        one of NOT_WANTED, REPLACED, STOPPED."""
        if self.paper:
            if row.status.is_active:
                self._end(row, OrderStatus.CANCELED, why, f"Order {row.tag} canceled: {why}.")
        else:
            self._cancel_live(row, why)
        if not row.status.is_active:
            self.active.remove(row)
            self.done.canceled.append(row)
        db.session.commit()

    def _cancel_live(self, row: BotOrder, why: str) -> None:
        try:
            with translate_errors():
                order = self.client.cancel_order(
                    None, row.symbol, {"origClientOrderId": row.client_order_id}
                )
        except OrderNotFound:
            # Ended already (filled, or never arrived): learn which.
            self._look_up(row)
            if row.status.is_active:
                return  # an intent that may still arrive: cancel it next cycle
            if row.status is OrderStatus.FILLED:
                return
        else:
            self._record(row, _seen_live(self.client, self.market, row, order))
        if row.status.is_active:  # the answer said it still rests (PENDING_CANCEL)
            return
        if row.status is OrderStatus.CANCELED:
            row.note = why
            self._say(f"Order {row.tag} canceled: {why}.")

    def cancel_all(self) -> Reconciled:
        """Cancel every active order (the bot stopped); commits."""
        for row in list(self.active):
            self.cancel(row, STOPPED)
        return self.done

    # -- words -----------------------------------------------------------------------------

    def _describe(self, row: BotOrder) -> str:
        base, quote = self.market.base, self.market.quote
        return f"{row.side.value} {_fmt(row.qty)} {base} at {_fmt(row.price)} {quote}"

    def _say(self, text: str) -> None:
        log_activity(self.bot.id, ActivityKind.ORDER, text)
