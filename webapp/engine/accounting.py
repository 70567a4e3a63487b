"""Position, realized PnL, order sizing and exit checks, all in Decimal.

This module is the single definition of realized PnL: the engine applies every fill through
`apply_fill` and stores the returned realized amount on the trade, and reports only add those
up, so the bot page and the engine can never disagree.

Fee convention: fees are always in the QUOTE currency (the simulator and paper mode charge
0.1% of the notional in quote on both sides). A buy's fee is part of the cost basis, so it
lands inside the average entry price; a sell's fee is subtracted from what the sell realizes.
"""

from __future__ import annotations

import enum
import logging
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from webapp.models import TradeSide as Side
from webapp.numbers import plain as _fmt
from webapp.strategies.base import Position

logger = logging.getLogger(__name__)

Number = Decimal | int | float | str

ZERO = Decimal(0)


class AccountingError(ValueError):
    """A fill or sizing request that cannot be right (negative qty, selling more than held)."""


class ExitReason(enum.StrEnum):
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


class SizeResult(NamedTuple):
    """`qty` to order, or None with `reason` saying why no order can be placed."""

    qty: Decimal | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.qty is not None


def to_decimal(value: Number) -> Decimal:
    """Decimal from exchange/form numbers; floats go through their shortest repr (0.1 -> "0.1")."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise AccountingError("expected a number, got a bool")
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except ArithmeticError:
            raise AccountingError(f"not a number: {value!r}") from None
    else:
        raise AccountingError(f"not a number: {value!r}")
    if not result.is_finite():
        raise AccountingError(f"not a finite number: {value!r}")
    return result


def apply_fill(
    position: Position, side: Side | str, qty: Number, price: Number, fee: Number
) -> tuple[Position, Decimal]:
    """Apply one fill to `position`; return the new position and the PnL it realized.

    Buy: cost basis grows by qty*price + fee; avg_price = total cost / total qty; realizes 0.
    Sell: realizes qty*price - fee - qty*avg_price; qty shrinks, avg_price stays; selling the
    whole position returns a flat Position(). Selling more than held raises AccountingError.
    """
    side = _side(side)
    qty, price, fee = to_decimal(qty), to_decimal(price), to_decimal(fee)
    if qty <= 0:
        raise AccountingError(f"fill quantity must be positive, got {qty}")
    if price <= 0:
        raise AccountingError(f"fill price must be positive, got {price}")
    if fee < 0:
        raise AccountingError(f"fee must not be negative, got {fee}")

    if side is Side.BUY:
        new_qty = position.qty + qty
        cost = position.qty * position.avg_price + qty * price + fee
        return Position(qty=new_qty, avg_price=cost / new_qty), ZERO

    if qty > position.qty:
        raise AccountingError(f"cannot sell {qty}: position holds only {position.qty}")
    realized = qty * price - fee - qty * position.avg_price
    remaining = position.qty - qty
    if remaining == 0:
        return Position(), realized
    return Position(qty=remaining, avg_price=position.avg_price), realized


def round_to_step(value: Number, step: Number | None) -> Decimal:
    """Round `value` down to a multiple of `step` (the exchange's amount step); None = as is."""
    value = to_decimal(value)
    if step is None:
        return value
    step = to_decimal(step)
    if step <= 0:
        raise AccountingError(f"step must be positive, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def size_order(
    quote_amount: Number,
    price: Number,
    amount_step: Number | None,
    min_qty: Number | None,
    min_notional: Number | None,
    max_qty: Number | None = None,
    *,
    symbol: str = "",
) -> SizeResult:
    """Base quantity for a buy worth `quote_amount` at `price`, within the market's limits.

    Rounds down to `amount_step` (never spends more than asked), caps at `max_qty`, and
    refuses with a reason the user can act on when the result is below `min_qty` or its
    value below `min_notional`. Limits that are None (ccxt leaves unknown ones as None) are
    not checked. `symbol` ("BTC/USDT") only names currencies in the reason.
    """
    quote_amount = to_decimal(quote_amount)
    price = _positive_price(price)
    if quote_amount <= 0:
        return SizeResult(None, "order size must be greater than 0")
    qty = round_to_step(quote_amount / price, amount_step)
    if max_qty is not None and qty > to_decimal(max_qty):
        qty = round_to_step(max_qty, amount_step)
    if qty <= 0:
        base, quote = _currencies(symbol)
        return SizeResult(
            None,
            f"order of {_fmt(quote_amount)}{quote} buys less than the smallest amount step"
            f" ({_fmt(to_decimal(amount_step or 0))}{base}) at {_fmt(price)}",
        )
    return _check_limits(qty, price, min_qty, min_notional, symbol)


def size_sell(
    qty: Number,
    price: Number,
    amount_step: Number | None,
    min_qty: Number | None,
    min_notional: Number | None,
    *,
    symbol: str = "",
) -> SizeResult:
    """Quantity to sell when closing `qty` (the open position), rounded down to the step.

    Whatever the rounding leaves behind stays in the position as dust.
    """
    held = to_decimal(qty)
    rounded = round_to_step(held, amount_step)
    if rounded <= 0:
        base, _ = _currencies(symbol)
        return SizeResult(
            None,
            f"position of {_fmt(held)}{base} is smaller than the smallest amount step"
            f" ({_fmt(to_decimal(amount_step or 0))}{base})",
        )
    return _check_limits(rounded, _positive_price(price), min_qty, min_notional, symbol)


def check_exit(
    position: Position,
    price: Number,
    stop_loss_pct: Number | None,
    take_profit_pct: Number | None,
) -> ExitReason | None:
    """Whether the open position should be closed at `price`; None or 0 disables a check.

    Stop loss when price <= avg*(1 - sl/100); take profit when price >= avg*(1 + tp/100).
    The average includes buy fees, so "take profit at 1%" means 1% over what was paid.
    """
    if not position.is_open:
        return None
    price = to_decimal(price)
    stop, take = exit_levels(position, stop_loss_pct, take_profit_pct)
    if stop is not None and price <= stop:
        return ExitReason.STOP_LOSS
    if take is not None and price >= take:
        return ExitReason.TAKE_PROFIT
    return None


def exit_levels(
    position: Position, stop_loss_pct: Number | None, take_profit_pct: Number | None
) -> tuple[Decimal | None, Decimal | None]:
    """The (stop-loss, take-profit) prices of `check_exit`; None where a check is off."""
    sl = _pct(stop_loss_pct, "stop-loss")
    tp = _pct(take_profit_pct, "take-profit")
    stop = position.avg_price * (1 - sl / 100) if sl else None
    take = position.avg_price * (1 + tp / 100) if tp else None
    return stop, take


def _check_limits(
    qty: Decimal,
    price: Decimal,
    min_qty: Number | None,
    min_notional: Number | None,
    symbol: str,
) -> SizeResult:
    base, quote = _currencies(symbol)
    notional = qty * price
    if min_qty is not None and qty < to_decimal(min_qty):
        return SizeResult(
            None,
            f"order of {_fmt(qty)}{base} is below the exchange minimum of "
            f"{_fmt(to_decimal(min_qty))}{base}",
        )
    if min_notional is not None and notional < to_decimal(min_notional):
        return SizeResult(
            None,
            f"order of {_fmt(notional)}{quote} is below the exchange minimum of "
            f"{_fmt(to_decimal(min_notional))}{quote}",
        )
    return SizeResult(qty, f"{_fmt(qty)}{base} at {_fmt(price)} = {_fmt(notional)}{quote}")


def _side(side: Side | str) -> Side:
    try:
        return Side(str.lower(side))
    except (TypeError, ValueError):
        raise AccountingError(f"side must be 'buy' or 'sell', got {side!r}") from None


def _positive_price(price: Number) -> Decimal:
    price = to_decimal(price)
    if price <= 0:
        raise AccountingError(f"price must be positive, got {price}")
    return price


def _pct(value: Number | None, what: str) -> Decimal:
    pct = ZERO if value is None else to_decimal(value)
    if pct < 0:
        raise AccountingError(f"{what} percentage must not be negative, got {pct}")
    return pct


def _currencies(symbol: str) -> tuple[str, str]:
    """(" BTC", " USDT") from "BTC/USDT" or "BTC/USDT:USDT"; empty strings when unknown."""
    if "/" not in symbol:
        return "", ""
    base, quote = symbol.split("/", 1)
    return f" {base}", f" {quote.split(':', 1)[0]}"
