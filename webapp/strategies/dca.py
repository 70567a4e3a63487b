"""DCA: a base order, safety orders that average the entry down, one take-profit.

A deal opens with the base order (`base_order` worth, bought at once: a limit order across the
price). Safety order n then rests `deviation_pct * (1 + s + ... + s^(n-1))` % below the base
order's fill price (s is `step_scale`, 3Commas' convention) and costs
`safety_order * v^(n-1)` (v is `volume_scale`); `max_active_safety_orders` of them rest at
once, the next one placed as one fills. One sell of the whole position rests at the average
entry * (1 + `take_profit_pct` / 100), replaced as each safety order fills; the average entry
is the position's, buy fees included, so the take-profit is measured from break-even. With a
`stop_loss_pct`, the position is sold at once when the price falls that far below the average
entry. When the take-profit (or the stop) fills the deal is over: what still rests is
canceled, and the next deal opens `cooldown_minutes` later, when its entry condition holds
(at once, on RSI, or on a `start_deal` signal).

Like the grid, the strategy keeps no memory: the deal is read back from the bot's orders
(tags `d<deal>b`, `d<deal>s<n>`, `d<deal>tp`, `d<deal>sl`) each cycle.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.numbers import plain
from webapp.strategies.base import (
    Decision,
    ParamSpec,
    ParamType,
    ParamValue,
    Position,
    Signal,
    Strategy,
    fmt_price,
)
from webapp.strategies.book import Book, BookOrder, OrderWant
from webapp.strategies.indicators import Rsi
from webapp.strategies.registry import register
from webapp.strategies.threshold import MAX_PRICE

logger = logging.getLogger(__name__)

#: The base order and a stop are limits this far across the price: they fill at once, as a
#: market order would, yet never at any price.
SLIPPAGE = Decimal("0.01")
PLACES = Decimal(1).scaleb(-12)
MINUTE_MS = 60_000
_TAG = re.compile(r"^d(\d+)(b|s(\d+)|tp|sl)$")

ENTRIES = (
    ("immediately", _l("Immediately")),
    ("rsi", _l("When the RSI is below a level")),
    ("signal", _l("On a start_deal signal")),
)


@dataclass(frozen=True)
class Level:
    """One order of a deal's ladder: the base order (n 0) or safety order n."""

    n: int
    price: Decimal
    qty: Decimal
    cost: Decimal  # quote
    deviation_pct: Decimal  # below the base order's fill price
    order: BookOrder | None = None  # what happened to it (resting or filled), if placed

    @property
    def filled(self) -> bool:
        return self.order is not None and self.order.status != "open" and _got(self.order)

    @property
    def resting(self) -> bool:
        return self.order is not None and self.order.status in ("open", "intent")


@dataclass
class Deal:
    """A deal as the bot's orders tell it."""

    number: int
    base: BookOrder | None = None
    safety: dict[int, BookOrder] = field(default_factory=dict)
    take_profit: BookOrder | None = None
    stop: BookOrder | None = None
    active: dict[str, BookOrder] = field(default_factory=dict)

    @property
    def base_price(self) -> Decimal | None:
        if self.base is None or not _got(self.base) or self.base.status == "open":
            return None
        return self.base.average_price

    @property
    def closed_by(self) -> BookOrder | None:
        """The sell that ended the deal (take-profit or stop), once it filled whole."""
        for order in (self.take_profit, self.stop):
            if order is not None and order.status == "filled":
                return order
        return None

    @property
    def filled_safety(self) -> int:
        """How many safety orders filled (they fill in turn, from the nearest down)."""
        return max((n for n, o in self.safety.items() if _got(o) and o.status != "open"), default=0)


def level_tag(deal: int, n: int) -> str:
    """The tag of a deal's base order (n 0) or of its safety order n."""
    return f"d{deal}b" if n == 0 else f"d{deal}s{n}"


def is_open(deal: Deal | None) -> bool:
    """A deal under way: its base order placed (deal 0, a position held at restart, has
    none), its take-profit or stop not filled yet."""
    return (
        deal is not None and deal.closed_by is None and (deal.base is not None or not deal.number)
    )


def _got(order: BookOrder) -> bool:
    return order.executed_qty > 0


def deals(orders: Iterable[BookOrder]) -> dict[int, Deal]:
    """The deals the orders belong to, by number, in the order given (a later order of a
    tag wins), keyed 1, 2... in the order they began. A bot started again numbers its deals
    from 1 again: a base order for a number that already has one begins a new deal."""
    found: dict[int, Deal] = {}
    latest: dict[int, int] = {}  # deal number -> its key in `found`
    for order in orders:
        match = _TAG.match(order.tag)
        if match is None:
            continue
        number, kind = int(match[1]), match[2]
        key = latest.get(number)
        if key is None or (kind == "b" and found[key].base is not None):
            key = latest[number] = len(found) + 1
        deal = found.setdefault(key, Deal(number))
        if kind == "b":
            deal.base = order
        elif kind == "tp":
            deal.take_profit = order
        elif kind == "sl":
            deal.stop = order
        else:
            deal.safety[int(match[3])] = order
        if order.status in ("open", "intent"):
            deal.active[order.tag] = order
    return found


@register
class DcaStrategy(Strategy):
    name = "dca"
    label = _l("DCA")
    description = _l(
        "Opens a deal with a base order, buys more with safety orders resting below it as the "
        "price falls (lowering the average entry), and sells the whole position with one "
        "take-profit order above the average entry."
    )
    rests_orders = True
    plans_from_price = True
    signal_actions = ("start_deal", "close")
    params = (
        ParamSpec.positive(
            name="base_order",
            label=_l("Base order"),
            max=MAX_PRICE,
            help=_l("What the deal's first buy costs, in the quote currency."),
        ),
        ParamSpec.positive(
            name="safety_order",
            label=_l("Safety order"),
            max=MAX_PRICE,
            help=_l("What the first safety order costs, in the quote currency."),
        ),
        ParamSpec(
            name="max_safety_orders",
            label=_l("Safety orders"),
            type=ParamType.INT,
            default=5,
            min=0,
            max=50,
            help=_l("How many safety orders a deal may fill (0 to 50)."),
        ),
        ParamSpec.positive(
            name="deviation_pct",
            label=_l("Price deviation (%)"),
            default=Decimal(1),
            max=Decimal(99),
            help=_l("How far below the base order's fill price the first safety order sits."),
        ),
        ParamSpec.positive(
            name="step_scale",
            label=_l("Step scale"),
            default=Decimal(1),
            max=Decimal(10),
            help=_l("Each safety order's step below the previous one, times the step before."),
        ),
        ParamSpec.positive(
            name="volume_scale",
            label=_l("Volume scale"),
            default=Decimal(1),
            max=Decimal(10),
            help=_l("Each safety order costs this many times the previous one."),
        ),
        ParamSpec(
            name="max_active_safety_orders",
            label=_l("Active safety orders"),
            type=ParamType.INT,
            default=1,
            min=1,
            max=50,
            help=_l("How many safety orders rest on the exchange at once."),
        ),
        ParamSpec.positive(
            name="take_profit_pct",
            label=_l("Take profit (%)"),
            default=Decimal(1),
            max=Decimal(1000),
            help=_l("The whole position is sold this far above the average entry."),
        ),
        ParamSpec.positive(
            name="stop_loss_pct",
            label=_l("Deal stop-loss (%)"),
            max=Decimal(99),
            optional=True,
            help=_l("Optional: sell the position at once this far below the average entry."),
        ),
        ParamSpec(
            name="cooldown_minutes",
            label=_l("Cooldown (minutes)"),
            type=ParamType.INT,
            default=0,
            min=0,
            max=10080,
            help=_l("How long to wait after a deal closes before the next one opens."),
        ),
        ParamSpec(
            name="entry",
            label=_l("Deal entry"),
            type=ParamType.CHOICE,
            default="immediately",
            choices=ENTRIES,
            help=_l("When a new deal opens."),
        ),
        ParamSpec(
            name="rsi_period",
            label=_l("RSI period"),
            type=ParamType.INT,
            default=14,
            min=2,
            max=100,
            help=_l("Used when the deal entry is on the RSI."),
        ),
        ParamSpec.positive(
            name="rsi_below",
            label=_l("RSI below"),
            default=Decimal(30),
            max=Decimal(100),
            help=_l("A deal opens when the RSI of the closed candles is below this level."),
        ),
    )

    @classmethod
    def replays(cls, values: Mapping[str, ParamValue]) -> bool:
        return values.get("entry") != "signal"

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        needed = ("max_safety_orders", "deviation_pct", "step_scale")
        if any(values.get(name) is None for name in needed):
            return {}
        count = int(values["max_safety_orders"])
        if count and _deviation(values, count) >= 100:
            return {
                "deviation_pct": _(
                    "The last safety order would sit %(pct)s%% below the base order: the "
                    "deviations of all the safety orders must add up to less than 100%%.",
                    pct=fmt_price(_deviation(values, count).quantize(Decimal("0.01"))),
                )
            }
        return {}

    @property
    def required_candles(self) -> int:
        return self._rsi_window() if self.values["entry"] == "rsi" else 1

    def _rsi_window(self) -> int:
        """RSI is read over this many closed candles, live and in backtests alike."""
        return int(self.values["rsi_period"]) * 5 + 1

    def decide(self, candles, position: Position) -> Decision:
        """Never asked by the engine (it asks `wanted_orders`)."""
        return Decision(Signal.HOLD, "waiting for a signal")

    def capital(self) -> Decimal:
        return self.deal_cost()

    def book_summary(self, orders: Sequence[BookOrder]) -> dict[str, Any]:
        return {"deals": [report.as_dict() for report in deal_reports(orders)]}

    # -- the ladder ------------------------------------------------------------------------

    def deal_cost(self) -> Decimal:
        """What a deal spends when every safety order fills (quote)."""
        return Decimal(self.values["base_order"]) + sum(
            (self.safety_cost(n) for n in range(1, self.max_safety + 1)), Decimal(0)
        )

    @property
    def max_safety(self) -> int:
        return int(self.values["max_safety_orders"])

    def safety_cost(self, n: int) -> Decimal:
        volume = Decimal(self.values["volume_scale"])
        return (Decimal(self.values["safety_order"]) * volume ** (n - 1)).quantize(PLACES)

    def deviation(self, n: int) -> Decimal:
        return _deviation(self.values, n)

    def ladder(self, base_price: Decimal) -> list[Level]:
        """The base order and every safety order of a deal whose base filled at
        `base_price`."""
        base_cost = Decimal(self.values["base_order"])
        levels = [Level(0, base_price, _qty(base_cost, base_price), base_cost, Decimal(0))]
        for n in range(1, self.max_safety + 1):
            dev = self.deviation(n)
            price = (base_price * (1 - dev / 100)).quantize(PLACES)
            cost = self.safety_cost(n)
            levels.append(Level(n, price, _qty(cost, price), cost, dev))
        return levels

    def planned_orders(self, price: Decimal | None = None) -> list[OrderWant]:
        """A deal's orders at full size if it opened at `price`."""
        if price is None or price <= 0:
            return []
        levels = self.ladder(price)
        return [OrderWant(level_tag(1, lv.n), "buy", lv.price, lv.qty) for lv in levels]

    # -- one cycle ---------------------------------------------------------------------------

    def current(self, book: Book) -> Deal | None:
        """The newest deal (open or closed), or None before the first one."""
        found = deals((*book.filled, *book.active.values()))
        return found[len(found)] if found else None

    def wanted_orders(self, book: Book) -> list[OrderWant]:
        return self._answer(book)[0]

    def signal_outcome(self, book: Book) -> tuple[bool, str]:
        return self._answer(book)[1]

    def _answer(self, book: Book) -> tuple[list[OrderWant], tuple[bool, str]]:
        deal = self.current(book)
        signal = book.signal
        if is_open(deal):
            if deal.number and deal.base_price is None:  # the base order is on its way
                return [_keep(o) for o in deal.active.values()], (False, "the deal is opening")
            return self._in_deal(book, deal, signal)
        if signal == "close":
            return [], (False, "no deal is open")
        number = deal.number + 1 if deal is not None else 1
        if deal is None and book.position.is_open:
            # A bot restarted while it holds: the position is the deal, take profit on it.
            return self._in_deal(book, Deal(0), signal)
        wait = self.waiting_text(book, deal)
        if wait is not None:
            return [], (False, wait)
        qty = _qty(Decimal(self.values["base_order"]), book.price)
        want = OrderWant(level_tag(number, 0), "buy", book.price * (1 + SLIPPAGE), qty)
        return [want], (signal == "start_deal", f"deal {number} opened")

    def waiting_text(self, book: Book, deal: Deal | None) -> str | None:
        """Why no deal opens now, or None when one may."""
        if deal is not None:
            closed = deal.closed_by
            cooldown = int(self.values["cooldown_minutes"]) * MINUTE_MS
            ended = closed.closed_ts if closed is not None else None
            if ended is not None and cooldown and book.ts < ended + cooldown:
                return "cooling down after the last deal"
        entry = self.values["entry"]
        if entry == "signal" and book.signal != "start_deal":
            return "waiting for a start_deal signal"
        if entry == "rsi":
            value = self.rsi(book)
            if value is None or Decimal(repr(value)) >= Decimal(self.values["rsi_below"]):
                return (
                    f"waiting for RSI({self.values['rsi_period']}) below {self.values['rsi_below']}"
                )
        return None

    def rsi(self, book: Book) -> float | None:
        rsi = Rsi(int(self.values["rsi_period"]))
        value = None
        for candle in list(book.candles)[-self._rsi_window() :]:
            value = rsi.update(candle.close)
        return value

    def _in_deal(
        self, book: Book, deal: Deal, signal: str | None
    ) -> tuple[list[OrderWant], tuple[bool, str]]:
        position = book.position
        stop = deal.stop
        if stop is not None and stop.status in ("open", "intent"):
            return [_keep(stop)], (False, "the deal is closing")
        if not position.is_open:
            return [], (False, "no position")
        sell_now = OrderWant(f"d{deal.number}sl", "sell", book.price * (1 - SLIPPAGE), position.qty)
        if signal == "close":
            return [sell_now], (True, f"deal {deal.number} closed at the price")
        stop_price = self.stop_price(position)
        if stop_price is not None and book.price <= stop_price:
            return [sell_now], (False, "the deal's stop-loss fired")
        wants = [self.take_profit(deal.number, position)]
        if deal.base_price is not None:
            filled = deal.filled_safety
            last = min(filled + int(self.values["max_active_safety_orders"]), self.max_safety)
            for level in self.ladder(deal.base_price)[filled + 1 : last + 1]:
                wants.append(
                    OrderWant(level_tag(deal.number, level.n), "buy", level.price, level.qty)
                )
        return wants, (False, f"deal {deal.number} is open")

    def take_profit(self, number: int, position: Position) -> OrderWant:
        price = position.avg_price * (1 + Decimal(self.values["take_profit_pct"]) / 100)
        return OrderWant(f"d{number}tp", "sell", price.quantize(PLACES), position.qty)

    def stop_price(self, position: Position) -> Decimal | None:
        pct = self.values.get("stop_loss_pct")
        if pct is None or not position.is_open:
            return None
        return position.avg_price * (1 - Decimal(pct) / 100)

    def steady_band(self, book: Book) -> tuple[Decimal, Decimal] | None:
        """In a deal whose orders rest, only the stop (if any) depends on the price."""
        deal = self.current(book)
        if deal is None or deal.closed_by is not None or deal.base_price is None:
            return None
        if deal.stop is not None or book.signal is not None:
            return None
        stop = self.stop_price(book.position)
        return (stop if stop is not None else Decimal(0)), Decimal("Infinity")

    def note(self, book: Book) -> str | None:
        deal = self.current(book)
        if is_open(deal):
            return None
        wait = self.waiting_text(book, deal)
        return f"No deal open: {wait}." if wait else None


@dataclass(frozen=True)
class DealReport:
    """A deal's figures from its filled orders: what a hand calculation gives."""

    number: int
    orders: tuple[BookOrder, ...]  # what filled, oldest first
    opened: int | None  # epoch ms
    closed: int | None
    closed_by: str | None  # "take-profit", "stop" or None while open
    bought_qty: Decimal
    cost: Decimal  # quote spent on the buys, their fees included
    average_entry: Decimal | None
    take_profit: Decimal | None  # the price it sold at (or rests at, while open)
    profit: Decimal | None  # after every fee, once closed

    def as_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else plain(value)

        return {
            "deal": self.number,
            "opened": self.opened,
            "closed": self.closed,
            "closed_by": self.closed_by,
            "orders": [
                {
                    "tag": o.tag,
                    "side": o.side,
                    "price": text(o.average_price),
                    "qty": text(o.executed_qty),
                    "fee": text(o.fee),
                }
                for o in self.orders
            ],
            "bought_qty": text(self.bought_qty),
            "cost": text(self.cost),
            "average_entry": text(self.average_entry),
            "take_profit": text(self.take_profit),
            "profit": text(self.profit),
        }


def deal_reports(orders: Iterable[BookOrder]) -> list[DealReport]:
    """Every deal the orders tell of, oldest first (active orders only lend the resting
    take-profit's price)."""
    reports = []
    for number, deal in sorted(deals(orders).items()):
        done = sorted(
            (o for o in (deal.base, *deal.safety.values(), deal.take_profit, deal.stop) if o),
            key=lambda o: o.seq,
        )
        done = [o for o in done if _got(o) and o.status != "open" and o.average_price]
        buys = [o for o in done if o.side == "buy"]
        sells = [o for o in done if o.side == "sell"]
        if not buys:  # deal 0: a position held at a restart, bought by an earlier deal
            continue
        held = sum((o.held_qty or o.executed_qty for o in buys), Decimal(0))
        cost = sum((o.average_price * o.executed_qty + o.fee for o in buys), Decimal(0))
        closing = deal.closed_by
        profit = None
        if closing is not None:
            proceeds = sum((o.average_price * o.executed_qty - o.fee for o in sells), Decimal(0))
            profit = proceeds - cost
        tp = deal.take_profit
        reports.append(
            DealReport(
                number=number,
                orders=tuple(done),
                opened=buys[0].closed_ts,
                closed=closing.closed_ts if closing is not None else None,
                closed_by=_closed_by(deal, closing),
                bought_qty=held,
                cost=cost,
                average_entry=(cost / held).quantize(Decimal(1).scaleb(-8)) if held else None,
                take_profit=(tp.average_price or tp.price) if tp is not None else None,
                profit=profit,
            )
        )
    return reports


def _closed_by(deal: Deal, closing: BookOrder | None) -> str | None:
    if closing is None:
        return None
    return "take-profit" if closing is deal.take_profit else "stop"


def _deviation(values: Mapping[str, ParamValue], n: int) -> Decimal:
    """Safety order n's distance below the base order's fill price, in %."""
    step, scale = Decimal(values["deviation_pct"]), Decimal(values["step_scale"])
    return sum((step * scale**j for j in range(n)), Decimal(0))


def _qty(cost: Decimal, price: Decimal) -> Decimal:
    return (cost / price).quantize(PLACES, ROUND_FLOOR)


def _keep(order: BookOrder) -> OrderWant:
    """An order wanted as it rests (the price it was placed at, not today's)."""
    return OrderWant(order.tag, order.side, order.price, order.qty)


__all__ = ["DcaStrategy", "Deal", "DealReport", "Level", "deal_reports", "deals", "level_tag"]
