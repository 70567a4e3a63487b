"""Numbers as the reader's language writes them: `1,234.56` in English, `1.234,56` in Turkish
and French, both for display and for what a person types into a form. The API, CSV and CLI
keep the plain form of `webapp.numbers.plain`."""

from __future__ import annotations

import functools
import re
from decimal import Decimal

from babel import Locale
from babel.numbers import (
    format_decimal,
    format_percent,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
)

from webapp.i18n import current
from webapp.i18n.current import gettext as _
from webapp.numbers import plain


def _locale() -> Locale:
    return current.locale() or Locale.parse("en")


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
    # What format_decimal writes with the pattern "0.<as many zeros as places>" (a test
    # compares them), without parsing a pattern per number: pages show dozens.
    text = plain(value)
    point, minus = _point_and_minus(current.language())
    if point != ".":
        text = text.replace(".", point)
    if minus != "-" and text.startswith("-"):
        text = minus + text[1:]
    return text


@functools.cache
def _point_and_minus(locale: str) -> tuple[str, str]:
    """The locale's decimal symbol and minus sign."""
    return get_decimal_symbol(locale), get_minus_sign_symbol(locale)


def percent_text(fraction: Decimal, places: int) -> str:
    """A fraction as a percentage in the locale's own layout (`66.7%`, `%66,7`, `66,7 %`)."""
    locale = _locale()
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0." + "0" * places, 1)
    return format_percent(fraction, format=pattern, locale=locale)


#: The space-like characters French (and CLDR) group thousands with; any of them may be typed.
SPACES = {" ", "\xa0", "\u202f"}
_TYPED = re.compile(r"[+-]?[\d.,'\s\xa0\u202f]+")


class NumberInputError(ValueError):
    """Typed text whose separators do not fit the reader's language, or fit two readings.
    The message (translated) says how to write the number instead."""


def _symbols() -> tuple[str, str]:
    locale = _locale()
    return get_decimal_symbol(locale), get_group_symbol(locale)


def number_example() -> str:
    """One and a half thousand as the reader's language writes it: `1,234.5`, `1.234,5`."""
    return format_decimal(Decimal("1234.5"), format="#,##0.0", locale=_locale())


def canonical_number(typed: str | None) -> str:
    """What a person typed in a number field, in their language, as the plain text the
    services parse (`1.234,5` on a Turkish page is `1234.5`). Text that is not a plain number
    at all (`abc`, `nan`, `1e309`) passes through for the service to name what is wrong.

    Raises NumberInputError rather than guess: `1.5` on a Turkish page (a decimal point where
    the language groups thousands), or `1.234` with no decimals (a Turkish 1234 or an English
    1.234?)."""
    text = (typed or "").strip()
    if not text or not _TYPED.fullmatch(text):
        return text
    decimal, group = _symbols()
    groups = SPACES if group in SPACES else {group}
    sign = text[0] if text[0] in "+-" else ""
    body = text[len(sign) :]
    whole, has_decimals, decimals = body.partition(decimal)
    wrong = NumberInputError(
        _("Write numbers as %(example)s in this language.", example=number_example())
    )
    if any(not c.isdigit() for c in decimals) or (has_decimals and not decimals):
        raise wrong
    if any(c in groups for c in whole):
        parts = re.split("|".join(re.escape(c) for c in groups), whole)
        if not (1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])):
            raise wrong
        if not all(p.isdigit() for p in parts):
            raise wrong
        if not has_decimals and group in {".", ","}:
            raise NumberInputError(
                _(
                    "%(typed)s can be read two ways: write %(plain)s, or %(example)s with "
                    "decimals.",
                    typed=text,
                    plain="".join(parts),
                    example=number_example(),
                )
            )
        whole = "".join(parts)
    if not whole.isdigit() and not (whole == "" and has_decimals):
        raise wrong
    return sign + (whole or "0") + ("." + decimals if has_decimals else "")


def number_input_text(value: Decimal | None) -> str:
    """A stored number written back into a form field the way `canonical_number` reads it in
    the reader's language: ungrouped, the locale's decimal separator, no exponent."""
    return quantity_text(value, empty="")
