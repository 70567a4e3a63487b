"""The one interface every strategy implements, and the value types it speaks.

A strategy is pure: it sees closed candles and the bot's open position and answers buy, sell
or hold with a human-readable reason. It never places orders, reads the database or talks to
the exchange, so the engine can run any strategy the same way and tests need no fixtures.
"""

from __future__ import annotations

import abc
import enum
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from webapp.i18n.current import gettext as _

if TYPE_CHECKING:
    from webapp.strategies.book import Book, BookOrder, OrderWant

logger = logging.getLogger(__name__)

ParamValue = int | Decimal | str

#: No parameter may reach this magnitude (nor a price column hold it): it also keeps absurd
#: exponents such as 1E+2000000 from ever being turned into a huge int or a huge string.
MAX_MAGNITUDE = Decimal(10) ** 15
#: Decimal parameters keep at most this many places, as every amount column stores.
DECIMAL_PLACES = 12


class StrategyError(Exception):
    """Base class for everything this package raises."""


class StrategyParamError(StrategyError, ValueError):
    """Parameters failed validation; `errors` maps each bad field to a message for the form."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{name}: {msg}" for name, msg in self.errors.items()))


class UnknownStrategyError(StrategyError, LookupError):
    """No strategy is registered under the requested name (e.g. a removed plugin)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown strategy {name!r}")


class Signal(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class Candle(NamedTuple):
    """One OHLCV bar; `ts` is the candle's open time in epoch milliseconds (ccxt's layout)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @classmethod
    def from_ccxt(cls, row: Sequence[Any]) -> Candle:
        """Build from one row of `exchange.fetch_ohlcv()`; a missing volume counts as 0."""
        ts, open_, high, low, close, volume = row[:6]
        return cls(
            int(ts),
            float(open_),
            float(high),
            float(low),
            float(close),
            0.0 if volume is None else float(volume),
        )


@dataclass(frozen=True)
class Position:
    """The bot's open position: base-currency quantity and average entry price in quote.

    Fees paid on buys are inside `avg_price` (see webapp.engine.accounting), so a sell at
    `avg_price` breaks even before the sell fee.
    """

    qty: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)

    @property
    def is_open(self) -> bool:
        return self.qty > 0


@dataclass(frozen=True)
class Decision:
    """What a strategy wants done and why; `reason` goes verbatim into the activity log.

    `values` carries the numbers the decision was based on (e.g. EMA values) for logs/charts.
    """

    signal: Signal
    reason: str
    values: Mapping[str, float] = field(default_factory=dict)


class ParamType(enum.StrEnum):
    INT = "int"
    DECIMAL = "decimal"
    CHOICE = "choice"  # one of `ParamSpec.choices`, stored as its value


@dataclass(frozen=True)
class ParamSpec:
    """Describes one strategy parameter so forms can render and validate it generically.

    `label` and `help` are lazy strings (`lazy_gettext`): they read in the language of the page
    or command that shows them, and in English in the API. `default` None means the field is
    required, unless `optional`: then a blank field is left out of the values (a stop-loss the
    user did not set). `min`/`max` are inclusive bounds, except that
    `exclusive_min` makes `min` a strict lower bound (prices must be > 0, not >= 0).
    A CHOICE takes one of `choices`, (value, label) pairs: the value is stored, the label shown.
    """

    name: str
    label: str
    type: ParamType
    default: ParamValue | None = None
    min: ParamValue | None = None
    max: ParamValue | None = None
    help: str = ""
    exclusive_min: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False

    @classmethod
    def positive(cls, **fields: Any) -> ParamSpec:
        """A decimal that must be above 0: a price, an amount, a percentage."""
        return cls(type=ParamType.DECIMAL, min=Decimal(0), exclusive_min=True, **fields)

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)

    def coerce(self, raw: object) -> ParamValue | None:
        """Turn a form/JSON value into int/Decimal; None when blank. Raises ValueError(message)."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, bool):
            raise ValueError(self._type_message())
        if self.type is ParamType.CHOICE:
            text = raw.strip().lower() if isinstance(raw, str) else None
            if text not in self.choice_values:
                raise ValueError(self._type_message())
            return text
        number = _to_decimal(raw)
        if number is None or not number.is_finite():
            raise ValueError(self._type_message())
        if number and number.adjusted() >= MAX_MAGNITUDE.adjusted():
            raise ValueError(_("%(label)s is too large.", label=self.label))
        if self.type is ParamType.DECIMAL:
            if number and (
                number.adjusted() < -DECIMAL_PLACES
                or number.normalize().as_tuple().exponent < -DECIMAL_PLACES
            ):
                raise ValueError(
                    _(
                        "%(label)s has too many decimal places (at most %(places)s).",
                        label=self.label,
                        places=DECIMAL_PLACES,
                    )
                )
            return number.quantize(Decimal(1).scaleb(-DECIMAL_PLACES)).normalize() + 0
        if self.type is ParamType.INT:
            if number != number.to_integral_value():
                raise ValueError(self._type_message())
            return int(number)
        return number

    def check_bounds(self, value: ParamValue) -> str | None:
        """The error message for an out-of-range value, or None when it is in range."""
        if isinstance(value, str):
            return None  # a choice: coerce checked it
        if self.min is not None:
            if self.exclusive_min and value <= self.min:
                return _(
                    "%(label)s must be greater than %(min)s.", label=self.label, min=_fmt(self.min)
                )
            if not self.exclusive_min and value < self.min:
                return _(
                    "%(label)s must be at least %(min)s.", label=self.label, min=_fmt(self.min)
                )
        if self.max is not None and value > self.max:
            return _("%(label)s must be at most %(max)s.", label=self.label, max=_fmt(self.max))
        return None

    def _type_message(self) -> str:
        if self.type is ParamType.CHOICE:
            return _(
                "%(label)s must be one of %(choices)s.",
                label=self.label,
                choices=", ".join(self.choice_values),
            )
        if self.type is ParamType.INT:
            return _("%(label)s must be a whole number.", label=self.label)
        return _("%(label)s must be a number.", label=self.label)


class Strategy(abc.ABC):
    """Base class of all strategies; subclass, fill in the class attributes and `decide`.

    Subclasses add cross-field rules by overriding `check_params`. Instances hold their
    validated parameters in `self.values` (the class attribute `params` is the schema).
    """

    name: ClassVar[str]
    #: What people read (lazy strings, see ParamSpec): shown in the page's language.
    label: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[tuple[ParamSpec, ...]] = ()
    #: The signal actions (`POST /signals/<token>` bodies) this strategy acts on; a strategy
    #: that lists any gets a signal URL on its bot's page and answers them in `on_signal`.
    signal_actions: ClassVar[tuple[str, ...]] = ()
    #: A strategy that keeps limit orders resting on the exchange answers `wanted_orders`
    #: each cycle instead of `decide` (see webapp.strategies.book).
    rests_orders: ClassVar[bool] = False
    #: Whether candles alone can drive it, so a backtest can replay it (see `replays`).
    backtestable: ClassVar[bool] = True
    #: Its planned orders depend on the price at start (`planned_orders(price)`).
    plans_from_price: ClassVar[bool] = False

    def __init__(self, params: Mapping[str, object] | None) -> None:
        # Validating again is cheap and idempotent, and guards against stale stored params.
        self.values: dict[str, ParamValue] = self.validate_params(params)

    @classmethod
    def validate_params(cls, raw: Mapping[str, object] | None) -> dict[str, ParamValue]:
        """Coerce, default and range-check `raw`; report every problem in one exception.

        Keys that are not parameters of this strategy are ignored (forms post other fields).
        """
        raw = raw or {}
        values: dict[str, ParamValue] = {}
        errors: dict[str, str] = {}
        for spec in cls.params:
            try:
                value = spec.coerce(raw.get(spec.name))
            except ValueError as exc:
                errors[spec.name] = str(exc)
                continue
            if value is None:
                if spec.optional and spec.default is None:
                    continue
                if spec.default is None:
                    errors[spec.name] = _("%(label)s is required.", label=spec.label)
                    continue
                value = spec.default
            problem = spec.check_bounds(value)
            if problem:
                errors[spec.name] = problem
            else:
                values[spec.name] = value
        for name, message in cls.check_params(values).items():
            errors.setdefault(name, message)
        if errors:
            raise StrategyParamError(errors)
        return values

    @classmethod
    def replays(cls, values: Mapping[str, ParamValue]) -> bool:
        """Whether a backtest can replay it with these parameters (not when it waits for
        signals that candles do not hold)."""
        return cls.backtestable

    @classmethod
    def check_params(cls, values: Mapping[str, ParamValue]) -> dict[str, str]:
        """Cross-field rules; `values` holds only fields that passed their own checks."""
        return {}

    @classmethod
    def serialize_params(cls, values: Mapping[str, ParamValue]) -> dict[str, int | str]:
        """JSON-safe form of validated params (Decimals as plain strings, no exponent)."""
        return {
            k: format(v, "f") if isinstance(v, Decimal) else v if isinstance(v, str) else int(v)
            for k, v in values.items()
            if any(spec.name == k for spec in cls.params)
        }

    @property
    @abc.abstractmethod
    def required_candles(self) -> int:
        """How many closed candles `decide` needs to reach a buy/sell decision."""

    def decide(self, candles: Sequence[Candle], position: Position) -> Decision:
        """Decide on the latest of `candles` (oldest first, closed candles only).

        Strategies with an incremental form inherit this: the candles go through a fresh
        `stepper()`, so a live cycle and a backtest run the very same code. A strategy with no
        incremental form overrides `decide` instead (and inherits a windowed `stepper`).
        """
        stepper = self.stepper()
        for candle in candles:
            stepper.update(candle)
        return stepper.decision(position)

    def on_signal(self, action: str, position: Position) -> Decision:
        """What to do about a received signal (one of `signal_actions`) at this cycle.

        Called by the engine instead of `decide` when the bot has a signal waiting; the reason
        says what the signal did, for the bot's signal list and activity log.
        """
        raise NotImplementedError(f"{type(self).__name__} takes no signals")

    def wanted_orders(self, book: Book) -> list[OrderWant]:
        """The limit orders to keep resting now, given what rests and what filled (only for
        strategies with `rests_orders`)."""
        raise NotImplementedError(f"{type(self).__name__} rests no orders")

    def signal_outcome(self, book: Book) -> tuple[bool, str]:
        """Whether the cycle's signal (`book.signal`) made the strategy act, and what it did
        (for the bot's signal list), for resting strategies that take signals."""
        return False, "not taken by this strategy"

    @property
    def may_finish(self) -> bool:
        """Whether `finished` can ever answer (a subclass overrides it): the engine and the
        backtest build the book after a cycle only for such strategies."""
        return type(self).finished is not Strategy.finished

    def finished(self, book: Book) -> str | None:
        """Why a resting strategy is done (the bot then stops with this reason), once its
        orders are canceled and nothing is held; None while it goes on."""
        return None

    def note(self, book: Book) -> str | None:
        """What the bot's page should say about this cycle besides its orders (written to
        the activity log once, when it starts to hold), or None."""
        return None

    def steady_band(self, book: Book) -> tuple[Decimal, Decimal] | None:
        """Prices strictly between which `wanted_orders` answers as it did for `book` until
        one of its orders fills, so a backtest may skip asking; None: ask every cycle."""
        return None

    def capital(self) -> Decimal | None:
        """What the strategy trades with in the quote currency, when its parameters say
        (a grid's investment); backtests measure returns against it instead of the order
        size."""
        return None

    def book_summary(self, orders: Sequence[BookOrder]) -> dict[str, Any]:
        """What a backtest's summary adds about a resting strategy's filled `orders`
        (oldest first), e.g. a DCA's deals."""
        return {}

    def planned_orders(self, price: Decimal | None = None) -> list[OrderWant]:
        """Every order a resting strategy may want, at full size, so the market's limits are
        checked before the bot starts (default: nothing to check). Strategies whose orders
        follow the price (`plans_from_price`) are given the price now."""
        return []

    def stepper(self, window: int | None = None) -> Stepper:
        """The incremental form: fed one closed candle at a time, deciding after each.

        The default keeps the last `window` candles (at least `required_candles`) and calls
        `decide` on them, which is O(window) per candle; strategies override it with O(1)
        state (e.g. EMAs carried forward). `window` only matters for that default.
        """
        if type(self).decide is Strategy.decide:
            raise NotImplementedError(f"{type(self).__name__} needs `decide` or `stepper`")
        return WindowStepper(self, max(window or 0, self.required_candles))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.serialize_params(self.values)}>"


class Stepper(abc.ABC):
    """A strategy's incremental form: `update` with each closed candle, then ask.

    `signal` must agree with `decision(...).signal`; it exists so a backtest can skip building
    the reason text on the many candles where nothing happens.
    """

    @abc.abstractmethod
    def update(self, candle: Candle) -> None:
        """Take the next closed candle (oldest first)."""

    @abc.abstractmethod
    def decision(self, position: Position) -> Decision:
        """The strategy's decision after the candles seen so far."""

    def signal(self, in_position: bool) -> Signal:
        return self.decision(_OPEN if in_position else _FLAT).signal


_OPEN = Position(Decimal(1), Decimal(1))
_FLAT = Position()


class WindowStepper(Stepper):
    """Incremental form of a strategy that only has `decide`: a sliding window of candles."""

    def __init__(self, strategy: Strategy, window: int) -> None:
        self.strategy = strategy
        self.candles: deque[Candle] = deque(maxlen=window)

    def update(self, candle: Candle) -> None:
        self.candles.append(candle)

    def decision(self, position: Position) -> Decision:
        return self.strategy.decide(list(self.candles), position)


def _to_decimal(raw: object) -> Decimal | None:
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int | float | str):
        try:
            # str() of a float is its shortest repr, so 0.1 becomes Decimal("0.1").
            return Decimal(str(raw).strip())
        except InvalidOperation:
            return None
    return None


def _fmt(value: ParamValue) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def fmt_price(value: float | Decimal) -> str:
    """Compact price text for reasons: 10 significant digits, no exponent for normal prices."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return f"{value:.10g}"
