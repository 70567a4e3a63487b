"""Days typed by a person in their language: `2026-01-31` (what a date input sends, and what
links carry) in every language, and the day as the page itself writes it (`31.01.2026` in
Turkish, `31/01/2026` in French; English pages write ISO 8601 and read only that).

Nothing is guessed: a two-digit year, or a day and month in another language's layout that
fit both orders (`03/04/2026` on a Turkish page), are refused with a message that says how
to write the day instead.
"""

from __future__ import annotations

import re
from datetime import date

from babel import Locale
from babel.dates import format_date
from flask_babel import get_locale

from webapp.templating import ISO_DATE, date_pattern

#: The day every message shows as its example, written in the reader's language.
EXAMPLE = date(2026, 1, 31)
#: Three groups of digits with the same separator between them: the shape of a typed day.
_NUMERIC = re.compile(r"(\d{1,4})([./\- ])(\d{1,4})\2(\d{1,4})")
_FIELDS = re.compile(r"y+|M+|d+")


class DateInputError(ValueError):
    """Typed text that is not a day in the reader's language; `ambiguous` when it is one
    read two ways (the caller's message then says so)."""

    def __init__(self, ambiguous: bool = False) -> None:
        super().__init__("ambiguous date" if ambiguous else "not a date")
        self.ambiguous = ambiguous


def date_example() -> str:
    """EXAMPLE as the reader's pages write a day: `2026-01-31`, `31.01.2026`, `31/01/2026`."""
    return format_date(EXAMPLE, date_pattern(), locale=get_locale() or Locale.parse("en"))


def _layout() -> tuple[tuple[str, ...], str] | None:
    """The order of the fields (`("d", "M", "y")`) and their separator in the language's own
    way of writing a day; None when that is ISO 8601 (already read) or not three numbers."""
    pattern = date_pattern()
    if pattern == ISO_DATE:
        return None
    order = tuple(field[0] for field in _FIELDS.findall(pattern))
    separators = set(_FIELDS.sub(" ", pattern).split(" ")) - {""}
    if sorted(order) != ["M", "d", "y"] or len(separators) != 1:
        return None
    separator = separators.pop()
    return (order, separator) if len(separator) == 1 else None


def canonical_date(typed: str | None) -> date | None:
    """The day a person typed, in ISO 8601 or in their language's layout; None for nothing.
    Raises DateInputError."""
    text = (typed or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    layout = _layout()
    match = _NUMERIC.fullmatch(text)
    if layout is None or match is None:
        raise DateInputError()
    order, separator = layout
    first, used, middle, last = match.groups()
    parts = (first, middle, last)
    if not any(len(p) == 4 for p in parts) and len(last) == 2:
        raise DateInputError(ambiguous=True)  # which century, and which end is the year?
    if used == separator:
        fields = dict(zip(order, parts, strict=True))
        if len(fields["y"]) != 4 or len(fields["M"]) > 2 or len(fields["d"]) > 2:
            raise DateInputError()
        try:
            return date(int(fields["y"]), int(fields["M"]), int(fields["d"]))
        except ValueError:
            raise DateInputError() from None
    # Another language's layout: a day and a month that fit either order is a guess.
    if len(last) == 4 and len(first) <= 2 and len(middle) <= 2:
        day_or_month = int(first), int(middle)
        if all(1 <= n <= 12 for n in day_or_month) and day_or_month[0] != day_or_month[1]:
            raise DateInputError(ambiguous=True)
    raise DateInputError()
