"""Numbers as the reader's language writes them: `1,234.56` in English, `1.234,56` in Turkish
and French. Only for display: form fields, CSV and API keep `webapp.numbers.plain`."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.numbers import format_decimal, format_percent
from flask_babel import get_locale

from webapp.numbers import plain


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


def decimal_text(value: Decimal, places: int) -> str:
    """`value` rounded half-even to exactly `places` decimals, grouped by thousands."""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=_locale())


def integer_text(value: int | None) -> str:
    """A count grouped by thousands (`1,234`, `1.234`)."""
    return "—" if value is None else decimal_text(Decimal(value), 0)


def quantity_text(value: Decimal | None, empty: str = "—") -> str:
    """A quantity or price with as many decimals as it has (no trailing zeros, no exponent),
    in the locale's decimal separator."""
    if value is None:
        return empty
    text = plain(value)
    places = len(text.partition(".")[2])
    pattern = "0" + ("." + "0" * places if places else "")  # ungrouped, as `plain` writes it
    return format_decimal(Decimal(text), format=pattern, locale=_locale())


def percent_text(fraction: Decimal, places: int) -> str:
    """A fraction as a percentage in the locale's own layout (`66.7%`, `%66,7`, `66,7 %`)."""
    locale = _locale()
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0." + "0" * places, 1)
    return format_percent(fraction, format=pattern, locale=locale)
