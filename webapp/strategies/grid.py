"""Grid: limit orders resting on a ladder of prices, each fill answered one level away.

The range from `lower` to `upper` is cut into `grids` intervals, equal in price (`spacing`
arithmetic) or in ratio (geometric: each level the same percentage above the one below).
Each interval i, from
level L(i) to L(i+1), trades the same quantity, `investment / grids` worth at L(i): it either
waits to buy at L(i), or holds that quantity and waits to sell it at L(i+1). A filled buy is
answered by the sell one level up, a filled sell by the buy one level down, so every sell
pairs with a buy one level below it, of the same quantity.

At start the intervals wholly above the price hold: the bot buys what they need at once
(tag `init<k>`, k the first of them, a limit order across the price that fills at it), and
their sells go up as soon as it fills; the intervals below wait to buy. What each interval
does next is read back from the bot's orders each cycle (the newest filled buy or sell of
its tags), so the strategy keeps no memory of its own.

Outside the range the bot places no new order: the ones resting stay, and trading resumes
when the price comes back.

With a `trigger_price` the grid waits, placing nothing, until the price at a cycle reaches it
from the side the bot started on (`Book.start_price`, the price at the bot's first cycle):
at or above it when it started below, at or below it when it started above. It then starts
as above, at the price of that cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
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
from webapp.strategies.registry import register
from webapp.strategies.threshold import MAX_PRICE

logger = logging.getLogger(__name__)

#: The start-up buy is a limit this far above the price, so it fills at once as a market
#: order would, yet never at any price.
INIT_SLIPPAGE = Decimal("0.01")
#: The sell of everything held when the stop-below or take-above is reached.
CLOSE_TAG = "close"
#: Quantities and prices are cut to this many places before the market's own steps apply.
PLACES = Decimal(1).scaleb(-12)
_INFINITY = Decimal("Infinity")


@register
class GridStrategy(Strategy):
    name = "grid"
    label = _l("Grid")
    description = _l(
        "Keeps limit orders on a ladder of prices between a lower and an upper price: each "
        "filled buy is answered by a sell one level up and each filled sell by a buy one level "
        "down, so the bot earns the step between levels each time the price crosses back."
    )
    rests_orders = True
    params = (
        ParamSpec.positive(
            name="lower",
            label=_l("Lower price"),
            max=MAX_PRICE,
            help=_l("The lowest level of the grid (quote currency)."),
        ),
        ParamSpec.positive(
            name="upper",
            label=_l("Upper price"),
            max=MAX_PRICE,
            help=_l("The highest level of the grid."),
        ),
        ParamSpec(
            name="grids",
            label=_l("Grids"),
            type=ParamType.INT,
            default=10,
            min=2,
            max=200,
            help=_l("How many equal intervals the range is cut into (2 to 200)."),
        ),
        ParamSpec(
            name="spacing",
            label=_l("Spacing"),
            type=ParamType.CHOICE,
            default="arithmetic",
            choices=(
                ("arithmetic", _l("Arithmetic: the same price step")),
                ("geometric", _l("Geometric: the same percentage step")),
            ),
            help=_l("How the levels are spread between the lower and the upper price."),
        ),
        ParamSpec.positive(
            name="investment",
            label=_l("Investment"),
            max=MAX_PRICE,
            help=_l("What the grid trades with, in the quote currency, shared by its intervals."),
        ),
        ParamSpec.positive(
            name="trigger_price",
            label=_l("Trigger price"),
            max=MAX_PRICE,
            optional=True,
            help=_l(
                "Optional: the grid places nothing until the price reaches this price, from "
                "either side, then starts."
            ),
        ),
        ParamSpec.positive(
            name="stop_below",
            label=_l("Stop below"),
            max=MAX_PRICE,
            optional=True,
            help=_l(
                "Optional: at or below this price the bot cancels its orders, sells what it "
                "holds and stops."
            ),
        ),
        ParamSpec.positive(
            name="take_above",
            label=_l("Take above"),
            max=MAX_PRICE,
            optional=True,
            help=_l(
                "Optional: at or above this price the bot cancels its orders, sells what it "
                "holds and stops."
            ),
        ),
    )

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        lower, upper = values.get("lower"), values.get("upper")
        if lower is not None and upper is not None and lower >= upper:
            return {"upper": _("The upper price must be above the lower price.")}
        stop, take = values.get("stop_below"), values.get("take_above")
        if stop is not None and lower is not None and stop >= lower:
            return {"stop_below": _("Stop below must be under the lower price.")}
        if take is not None and upper is not None and take <= upper:
            return {"take_above": _("Take above must be over the upper price.")}
        trigger = values.get("trigger_price")
        if trigger is not None and stop is not None and trigger <= stop:
            return {"trigger_price": _("The trigger price must be over the stop below.")}
        if trigger is not None and take is not None and trigger >= take:
            return {"trigger_price": _("The trigger price must be under the take above.")}
        return {}

    @property
    def required_candles(self) -> int:
        return 1

    def decide(self, candles, position: Position) -> Decision:
        """Never asked by the engine (it asks `wanted_orders`); a grid decides no trade."""
        return Decision(Signal.HOLD, "waiting for a signal")

    # -- the ladder ------------------------------------------------------------------------

    def levels(self) -> list[Decimal]:
        """The grid's prices, lowest first (computed once per instance)."""
        cached = self.__dict__.get("_levels")
        if cached is None:
            cached = self.__dict__["_levels"] = self._levels()
        return cached

    def _levels(self) -> list[Decimal]:
        lower, upper = Decimal(self.values["lower"]), Decimal(self.values["upper"])
        grids = int(self.values["grids"])
        if self.values.get("spacing") == "geometric":
            ratio = upper / lower
            inner = [lower * ratio ** (Decimal(i) / grids) for i in range(grids)]
        else:
            step = (upper - lower) / grids
            inner = [lower + step * i for i in range(grids)]
        return [level.quantize(PLACES) for level in inner] + [upper]

    def quantities(self, levels: list[Decimal]) -> list[Decimal]:
        """What interval i trades: `investment / grids` worth at its lower level."""
        cached = self.__dict__.get("_quantities")
        if cached is not None and cached[0] is levels:
            return cached[1]
        share = Decimal(self.values["investment"]) / int(self.values["grids"])
        qty = [(share / level).quantize(PLACES, ROUND_FLOOR) for level in levels[:-1]]
        self.__dict__["_quantities"] = (levels, qty)
        return qty

    def waiting(self, book: Book) -> bool:
        """Whether the grid still waits for its trigger price: not started, and the price
        not yet at it from the side the bot started on."""
        trigger = self.values.get("trigger_price")
        if trigger is None or _started(book, self._read(book.filled), pending=True):
            return False
        start = book.start_price if book.start_price is not None else book.price
        return book.price < trigger if start < trigger else book.price > trigger

    def _buys(self, levels: list[Decimal], qty: list[Decimal]) -> list[OrderWant]:
        """Each interval's buy, the same every cycle (computed once per ladder)."""
        cached = self.__dict__.get("_buys_for")
        if cached is not None and cached[0] is levels and cached[1] is qty:
            return cached[2]
        buys = [OrderWant(f"g{i}b", "buy", levels[i], q) for i, q in enumerate(qty)]
        self.__dict__["_buys_for"] = (levels, qty, buys)
        return buys

    def _sell(self, levels: list[Decimal], i: int, held: Decimal) -> OrderWant:
        """Interval i's sell of `held`: the one built last time when it sells the very same
        quantity, so cycles between fills answer the same objects (checked once by
        `webapp.engine.resting.plan`)."""
        sells = self.__dict__.setdefault("_sells", {})
        want = sells.get(i)
        if want is None or want.qty is not held or want.price is not levels[i + 1]:
            want = sells[i] = OrderWant(f"g{i}s", "sell", levels[i + 1], held)
        return want

    def _start_held(self, init: BookOrder | None, qty: list[Decimal]) -> tuple[int, list[Decimal]]:
        """The first interval the start-up buy bought, and what it left each interval after
        a fee in base (kept for the same start-up order)."""
        cached = self.__dict__.get("_start_held_for")
        if cached is not None and cached[0] is init and cached[1] is qty:
            return cached[2]
        grids = len(qty)
        first = int(init.tag[4:]) if init is not None else grids
        kept = init.held_qty / init.executed_qty if init is not None else Decimal(1)
        held = [(q * kept).quantize(PLACES, ROUND_FLOOR) for q in qty]
        self.__dict__["_start_held_for"] = (init, qty, (first, held))
        return first, held

    def _read(self, filled: tuple[BookOrder, ...]) -> _Reading:
        """What the filled orders say, read in one pass; kept for the same tuple (a backtest
        shows the same one again until something fills), so it is derived from the orders
        alone, as each cycle's state must be."""
        cached = self.__dict__.get("_reading")
        if cached is not None and cached[0] is filled:
            return cached[1]
        grids = int(self.values["grids"])
        index = self.__dict__.get("_tag_index")
        if index is None:  # the ladder's own tags; any other is parsed as before
            index = {f"g{i}{s}": i for i in range(grids) for s in "bs"}
            self.__dict__["_tag_index"] = index
        reading = _Reading()
        last = reading.last
        for order in filled:  # oldest first: the newest of an interval's tags decides
            tag = order.tag
            if tag.startswith("g"):
                reading.ladder = True
                if order.status != "filled":
                    continue
                interval = index.get(tag)
                if interval is None:
                    interval = _interval(tag)
                    if interval is None or interval >= grids:
                        continue
                last[interval] = order
            elif tag == CLOSE_TAG:
                reading.closed = True
            elif tag.startswith("init"):
                reading.inits = True
                if order.status == "filled" and (
                    reading.init is None or order.seq > reading.init.seq
                ):
                    reading.init = order
        if type(filled) is tuple:  # immutable: safe to key on
            self.__dict__["_reading"] = (filled, reading)
        return reading

    def _ladder(self, reading: _Reading) -> list[OrderWant]:
        """Each interval's order once started: its sell one level up while it holds, else
        its buy (kept with the reading)."""
        if reading.wants is not None:
            return reading.wants
        levels = self.levels()
        qty = self.quantities(levels)
        buys = self._buys(levels, qty)
        first, start_held = self._start_held(reading.init, qty)
        wants = []
        for i in range(len(qty)):
            order = reading.last.get(i)
            if order is None:
                holds, held = i >= first, start_held[i]
            elif order.side == "buy":
                holds, held = True, order.held_qty
            else:
                holds = False
            wants.append(self._sell(levels, i, held) if holds else buys[i])
        reading.wants = wants
        return wants

    def note(self, book: Book) -> str | None:
        """Waiting for the trigger, or out of the range: the bot says it places nothing."""
        if self.waiting(book):
            return (
                f"Waiting for the price to reach the trigger price "
                f"{fmt_price(Decimal(self.values['trigger_price']))}: no order until then."
            )
        levels = self.levels()
        if book.price < levels[0]:
            return (
                f"The price is below the grid's lower price {fmt_price(levels[0])}: no "
                "new order until it comes back."
            )
        if book.price > levels[-1]:
            return (
                f"The price is above the grid's upper price {fmt_price(levels[-1])}: no "
                "new order until it comes back."
            )
        return None

    def closing(self, book: Book) -> str | None:
        """Why the grid closes (its stop-below or take-above reached, or its closing sell
        already sent), or None."""
        stop, take = self.values.get("stop_below"), self.values.get("take_above")
        if stop is not None and book.price <= stop:
            return (
                f"the price {fmt_price(book.price)} reached the grid's stop-below "
                f"{fmt_price(Decimal(stop))}"
            )
        if take is not None and book.price >= take:
            return (
                f"the price {fmt_price(book.price)} reached the grid's take-above "
                f"{fmt_price(Decimal(take))}"
            )
        if CLOSE_TAG in book.active or self._read(book.filled).closed:
            return "closing"
        return None

    def finished(self, book: Book) -> str | None:
        """Once closing and nothing is held or resting any more, the bot stops."""
        why = self.closing(book)
        if why is None or book.active or book.position.is_open:
            return None
        sold = self._read(book.filled).closed
        what = "its orders were canceled" + (" and its position sold" if sold else "")
        return f"Closed: {what}." if why == "closing" else f"Closed: {why}; {what}."

    def steady_band(self, book: Book) -> tuple[Decimal, Decimal] | None:
        """Once started, the answer depends on the price only through "in the range or not"
        (and, with a stop-below or take-above, not past them); waiting for its trigger, only
        through "on the side the bot started on or not"."""
        if self.waiting(book):
            trigger = Decimal(self.values["trigger_price"])
            return (Decimal(0), trigger) if book.price < trigger else (trigger, _INFINITY)
        if not _started(book, self._read(book.filled)) or self.closing(book) is not None:
            return None
        levels = self.levels()
        lower, upper = levels[0], levels[-1]
        stop, take = self.values.get("stop_below"), self.values.get("take_above")
        if book.price < lower:
            return (Decimal(stop) if stop is not None else Decimal(0)), lower
        if book.price > upper:
            return upper, (Decimal(take) if take is not None else _INFINITY)
        return lower, upper

    def capital(self) -> Decimal:
        return Decimal(self.values["investment"])

    def planned_orders(self, price: Decimal | None = None) -> list[OrderWant]:
        """Each interval's buy and its sell one level up, at full size."""
        levels = self.levels()
        wants = []
        for i, qty in enumerate(self.quantities(levels)):
            wants.append(OrderWant(f"g{i}b", "buy", levels[i], qty))
            wants.append(OrderWant(f"g{i}s", "sell", levels[i + 1], qty))
        return wants

    def wanted_orders(self, book: Book) -> list[OrderWant]:
        if self.closing(book) is not None:  # cancel the ladder, sell what is held at once
            order = book.active.get(CLOSE_TAG)
            if order is not None:
                return [OrderWant(order.tag, order.side, order.price, order.qty)]
            sold = self._read(book.filled).closed
            if book.position.is_open and not sold:
                price = book.price * (1 - INIT_SLIPPAGE)
                return [OrderWant(CLOSE_TAG, "sell", price, book.position.qty)]
            return []
        if self.waiting(book):
            return []
        reading = self._read(book.filled)
        levels = self.levels()
        if not _started(book, reading):
            qty = self.quantities(levels)
            grids = len(qty)
            first = next((i for i in range(grids) if levels[i] >= book.price), grids)
            need = sum(qty[first:], Decimal(0))
            if need > 0:
                price = book.price * (1 + INIT_SLIPPAGE)
                return [OrderWant(f"init{first}", "buy", price, need)]
        wants = list(self._ladder(reading))
        if not levels[0] <= book.price <= levels[-1]:  # out of range: no new order
            wants = [w for w in wants if w.tag in book.active]
        return wants


@dataclass(frozen=True)
class Pair:
    """A completed buy-sell pair: an interval's sell and the buy that filled it before."""

    interval: int
    qty: Decimal
    buy_price: Decimal
    sell_price: Decimal
    profit: Decimal  # quote, after both fees


def completed_pairs(orders: Iterable[BookOrder]) -> list[Pair]:
    """Every filled sell of a grid with the buy that filled its interval before it (the
    interval's own buy, or the start-up buy for an interval it bought), oldest first. The
    profit is the sell's proceeds less its fee, less what that quantity cost at the buy,
    with the buy's fee for it."""
    bought: dict[int, tuple[Decimal, Decimal]] = {}  # interval -> (price, fee per unit)
    start: tuple[int, Decimal, Decimal] | None = None  # (first interval, price, fee per unit)
    pairs: list[Pair] = []
    sold: set[int] = set()
    for order in sorted(orders, key=lambda o: o.seq):
        if order.status != "filled" or order.executed_qty <= 0 or order.average_price is None:
            continue
        unit_fee = order.fee / (order.held_qty or order.executed_qty)
        if order.tag.startswith("init") and order.tag[4:].isdigit():
            start = (int(order.tag[4:]), order.average_price, unit_fee)
            continue
        interval = _interval(order.tag) if order.tag.startswith("g") else None
        if interval is None:
            continue
        if order.side == "buy":
            bought[interval] = (order.average_price, unit_fee)
            continue
        buy = bought.pop(interval, None)
        if buy is None and start is not None and interval >= start[0] and interval not in sold:
            buy = start[1:]  # an interval the start-up buy filled, sold for the first time
        sold.add(interval)
        if buy is None:
            continue
        qty = order.executed_qty
        proceeds = order.average_price * qty - order.fee
        profit = proceeds - qty * (buy[0] + buy[1])
        pairs.append(Pair(interval, qty, buy[0], order.average_price, profit.quantize(PLACES)))
    return pairs


@dataclass
class _Reading:
    """What a grid's filled orders say (see GridStrategy._read)."""

    init: BookOrder | None = None  # the newest start-up buy that filled whole
    ladder: bool = False  # some order of the ladder's tags among them
    closed: bool = False  # the closing sell among them
    inits: bool = False  # some start-up buy among them, filled whole or not
    last: dict[int, BookOrder] = field(default_factory=dict)  # interval -> its newest fill
    wants: list[OrderWant] | None = None  # the ladder's orders, once asked


def _started(book: Book, reading: _Reading, *, pending: bool = False) -> bool:
    """Past the start-up: its buy filled, or the ladder has orders (none was needed);
    with `pending`, a start-up buy sent and not yet filled counts too."""
    if reading.init is not None or reading.ladder:
        return True
    first = ("g", "init") if pending else ("g",)
    return (pending and reading.inits) or any(t.startswith(first) for t in book.active)


def _interval(tag: str) -> int | None:
    digits = tag[1:-1]
    return int(digits) if digits.isdigit() else None


__all__ = ["GridStrategy", "Pair", "completed_pairs"]
