"""Numbers typed in the reader's language: the separators of that language, never a guess."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from webapp.i18n.numbers import NumberInputError, canonical_number, number_input_text


@pytest.mark.parametrize(
    ("locale", "typed", "plain"),
    [
        ("tr", "1,5", "1.5"),
        ("tr", "1.234,5", "1234.5"),
        ("tr", "1.234.567,25", "1234567.25"),
        ("tr", ",5", "0.5"),
        ("tr", "-2,75", "-2.75"),
        ("tr", "12", "12"),
        ("fr", "1,5", "1.5"),
        ("fr", "1 234,5", "1234.5"),
        ("fr", "1\u202f234,5", "1234.5"),
        ("fr", "1\xa0234", "1234"),  # a space never means a decimal point: not ambiguous
        ("en", "1.5", "1.5"),
        ("en", "1,234.5", "1234.5"),
        ("en", "0.000001", "0.000001"),
        # Not plain numbers: the service names what is wrong with them.
        ("tr", "1e309", "1e309"),
        ("tr", "nan", "nan"),
        ("tr", "abc", "abc"),
        ("tr", "", ""),
    ],
)
def test_typed_numbers_read_in_the_pages_language(app, locale, typed, plain):
    with app.test_request_context(), force_locale(locale):
        assert canonical_number(typed) == plain


@pytest.mark.parametrize(
    ("locale", "typed", "shown"),
    [
        ("tr", "1.5", "1.234,5"),  # never read as 15
        ("tr", "1,2,3", "1.234,5"),
        ("tr", "12.34,5", "1.234,5"),
        ("tr", "1,", "1.234,5"),
        ("fr", "1.5", "1\u202f234,5"),
        ("en", "1,5", "1,234.5"),
    ],
)
def test_separators_that_do_not_fit_the_language_are_refused(app, locale, typed, shown):
    with (
        app.test_request_context(),
        force_locale(locale),
        pytest.raises(NumberInputError) as refused,
    ):
        canonical_number(typed)
    assert shown in str(refused.value)


@pytest.mark.parametrize(("locale", "typed"), [("tr", "1.234"), ("en", "1,234")])
def test_thousands_without_decimals_could_be_either_so_they_are_refused(app, locale, typed):
    with (
        app.test_request_context(),
        force_locale(locale),
        pytest.raises(NumberInputError) as refused,
    ):
        canonical_number(typed)
    assert "1234" in str(refused.value)


@pytest.mark.parametrize(
    ("locale", "shown"), [("en", "1234.5"), ("tr", "1234,5"), ("fr", "1234,5")]
)
def test_a_stored_number_goes_back_into_the_field_as_it_is_read(app, locale, shown):
    from decimal import Decimal

    with app.test_request_context(), force_locale(locale):
        assert number_input_text(Decimal("1234.50")) == shown
        assert canonical_number(shown) == "1234.5"
