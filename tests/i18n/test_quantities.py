"""Quantities and prices on pages read as Babel's own pattern formatting writes them, in
every language, though they are written without asking Babel for each one."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from flask_babel import force_locale

from webapp.i18n.numbers import quantity_text
from webapp.numbers import plain

SAMPLES = [
    Decimal("0"),
    Decimal("-0"),
    Decimal("0.000000000001"),
    Decimal("-0.5"),
    Decimal("1E+3"),
    Decimal("1234567.891011121314"),
    Decimal("-98765.4300"),
    Decimal("1E-12"),
    Decimal("999999999999999.999999999999"),
]


def by_babel(value: Decimal, locale: str) -> str:
    text = plain(value)
    places = len(text.partition(".")[2])
    pattern = "0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(text), format=pattern, locale=locale)


@pytest.mark.parametrize("locale", ["en", "tr", "fr"])
def test_a_quantity_reads_as_babel_writes_it(app, locale):
    rng = random.Random(7)
    values = SAMPLES + [
        Decimal(rng.randint(-(10**15), 10**15)).scaleb(-rng.randint(0, 12)) for _ in range(2000)
    ]
    with app.test_request_context(), force_locale(locale):
        for value in values:
            assert quantity_text(value) == by_babel(value, locale), value
        assert quantity_text(None) == "—" and quantity_text(None, "") == ""
