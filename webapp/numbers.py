"""The one way amounts are written in plain text: activity lines, reasons, CLI output, CSV."""

from __future__ import annotations

import logging
from decimal import Decimal

logger = logging.getLogger(__name__)


def plain(value: Decimal | int | float | None, empty: str = "—") -> str:
    """`value` without exponent or trailing zeros: Decimal("0.001000") -> "0.001", 5E+1 -> "50";
    `empty` for None."""
    if value is None:
        return empty
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if number == 0:
        return "0"
    return format(number.normalize(), "f")
