"""Template globals and filters shared by every page."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from babel import Locale
from babel import dates as babel_dates
from flask import Flask, current_app, request
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from webapp.i18n import current
from webapp.i18n.current import lazy_gettext as _l

# (endpoint, label, admin only). A link shows only once its area is registered.
NAV = (
    ("main.index", _l("Dashboard"), False),
    ("keys.index", _l("Keys"), False),
    ("bots.index", _l("Bots"), False),
    ("trades.index", _l("Trades"), False),
    ("backtest.index", _l("Backtests"), False),
    ("notifications.index", _l("Notifications"), False),
    ("tokens.index", _l("API tokens"), False),
    ("security.index", _l("Security"), False),
    ("admin.index", _l("Admin"), True),
)


def nav_items() -> list[tuple[str, str]]:
    items = []
    for endpoint, label, admin_only in NAV:
        if endpoint not in current_app.view_functions:
            continue
        if admin_only and not (current_user.is_authenticated and current_user.is_admin):
            continue
        items.append((endpoint, label))
    return items


#: How each language writes a day. English keeps ISO 8601, which no reader misreads; the
#: others take CLDR's short date with a four-digit year (`04.12.2026`, `04/12/2026`).
ISO_DATE = "yyyy-MM-dd"
#: The `dt` filter's styles, as Babel time patterns (24-hour in all three languages).
TIME_PATTERNS = {"seconds": "HH:mm:ss", "minutes": "HH:mm", "time": "HH:mm", "date": ""}


def date_pattern() -> str:
    return _date_pattern(current.language())


@functools.cache
def _date_pattern(language: str) -> str:
    if language.startswith("en"):
        return ISO_DATE
    return re.sub(r"y+", "yyyy", Locale.parse(language).date_formats["short"].pattern)


def format_datetime(value: datetime | None, style: str = "seconds") -> str:
    """A moment in the reader's language and time zone, the zone named (`14:05:09 UTC`,
    `17:05:09 GMT+03:00`). Naive values are UTC, as the database keeps them.

    Pages show dozens of times (the activity log, trades), so the numeric patterns all three
    languages use are compiled once instead of being parsed by Babel on every call; the
    zone's name, which CLDR spells per language, is asked of Babel once per offset."""
    if value is None:
        return "—"
    zone = current.timezone()
    local = _in_zone(value, zone)
    if style == "date":
        return _compiled(date_pattern())(local)
    time_part = TIME_PATTERNS[style]
    pattern = time_part if style == "time" else f"{date_pattern()} {time_part}"
    label = "UTC" if zone is None or str(zone) == "UTC" else _zone_label(local)
    return f"{_compiled(pattern)(local)} {label}"


def _in_zone(value: datetime, zone) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if zone is None:
        return value.astimezone(UTC)
    return zone.normalize(value.astimezone(zone))  # what Flask-Babel's to_user_timezone does


#: CLDR fields that are plain numbers: each becomes a zero-padded (or not) integer.
_NUMERIC_FIELDS = {
    "yyyy": lambda d: f"{d.year:04d}",
    "MM": lambda d: f"{d.month:02d}",
    "M": lambda d: str(d.month),
    "dd": lambda d: f"{d.day:02d}",
    "d": lambda d: str(d.day),
    "HH": lambda d: f"{d.hour:02d}",
    "H": lambda d: str(d.hour),
    "mm": lambda d: f"{d.minute:02d}",
    "ss": lambda d: f"{d.second:02d}",
}
_PATTERN_PARTS = re.compile(r"([A-Za-z])\1*|'[^']*'|[^A-Za-z']+")


@functools.cache
def _compiled(pattern: str) -> Callable[[datetime], str]:
    """`pattern` as a function of a datetime already in the reader's zone; Babel itself for
    any field that is not a plain number (month names, eras...)."""
    pieces: list[Callable[[datetime], str]] = []
    for match in _PATTERN_PARTS.finditer(pattern):
        part = match.group(0)
        if part in _NUMERIC_FIELDS:
            pieces.append(_NUMERIC_FIELDS[part])
        elif part[0].isalpha():
            return lambda d: babel_dates.format_datetime(d, pattern, locale=current.locale())
        else:
            literal = part[1:-1] if part.startswith("'") else part
            pieces.append(lambda d, text=literal: text)
    return lambda d: "".join(piece(d) for piece in pieces)


#: (language, UTC offset) -> the zone as CLDR's localized GMT format writes it ("ZZZZ"
#: depends on nothing else). Bounded by the offsets in use: a few dozen at most.
_ZONE_LABELS: dict[tuple[str, object], str] = {}


def _zone_label(local: datetime) -> str:
    key = (current.language(), local.utcoffset())
    label = _ZONE_LABELS.get(key)
    if label is None:
        label = _ZONE_LABELS[key] = babel_dates.format_datetime(local, "ZZZZ", locale=key[0])
    return label


def from_timestamp(seconds: float | None) -> datetime | None:
    """A Unix time (as Redis keeps them) as an aware UTC datetime, for `dt`."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def format_number(value: Decimal | float | int | None, places: int = 2) -> str:
    if value is None:
        return "—"
    from webapp.i18n.numbers import decimal_text

    return decimal_text(Decimal(str(value)), places)


def current_locale() -> str:
    """The request's language as a BCP 47 tag, for `<html lang>`."""
    return current.language().replace("_", "-")


#: language -> the footer's language <select> as that language shows it (the same choices,
#: names and attributes on every page: rendered by WTForms once, not on each request).
_LANGUAGE_SELECTS: dict[str, Markup] = {}


def language_select() -> Markup:
    """The footer's language switch's <select>, the current language chosen."""
    language = current_locale()
    found = _LANGUAGE_SELECTS.get(language)
    if found is None:
        from webapp.i18n.forms import LocaleForm

        form = LocaleForm(formdata=None, locale=language, meta={"csrf": False})
        found = _LANGUAGE_SELECTS[language] = Markup(form.locale(id="footer-locale"))
    return found


def return_path() -> str:
    """This page, when a GET can show it again: a page rendered by a POST (a form with
    errors) returns to its address only if that address also answers a GET."""
    here = request.full_path.rstrip("?")
    if not here.isprintable():  # e.g. the error page for a NUL in the address
        return "/"
    if request.method == "GET":
        return here
    try:
        current_app.url_map.bind("").match(request.path, method="GET")
    except HTTPException:  # also when no route matched at all (an error page)
        return "/"
    return request.path


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["language_select"] = language_select
    app.jinja_env.globals["return_path"] = return_path
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["dt"] = format_datetime
    app.jinja_env.filters["num"] = format_number
    app.jinja_env.filters["ts"] = from_timestamp
