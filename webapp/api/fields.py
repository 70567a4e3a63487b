"""marshmallow fields of the API: exact decimals out as strings, RFC 3339 UTC times, and
inputs that reach the domain's own validation untouched (so it says what is wrong, with the
same message as the page)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import marshmallow as ma

from webapp.numbers import plain


def money(value: Decimal | None) -> str | None:
    """A decimal amount as the API writes it: a string with every stored digit, no exponent."""
    return None if value is None else plain(value)


def rfc3339(value: datetime | None) -> str | None:
    """An aware datetime as the API writes it: RFC 3339 in UTC, 2026-03-01T12:00:00Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Money(ma.fields.Field):
    """A decimal amount, written as a string with every stored digit and no exponent."""

    def _serialize(self, value, attr, obj, **kwargs):
        return money(value)


class Time(ma.fields.Field):
    """An aware datetime as RFC 3339 in UTC: 2026-03-01T12:00:00Z."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        return rfc3339(value)


class Written(ma.fields.List):
    """A list the view has already written in JSON's types, item by item as the inner schema
    would (which still documents it): marshmallow dumping a page of 100 trades field by field
    cost more than reading them from the database."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else list(value)


class NumberInput(ma.fields.Field):
    """A number given as a string or a JSON number, passed on as text: the service parses it
    exactly and answers NaN, 1e309 or 40 digits with a message on this field."""

    default_error_messages = {"invalid": "Must be a number, as a string or a JSON number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise self.make_error("invalid")
        return value if isinstance(value, str) else str(value)


class IntegerInput(NumberInput):
    """A whole number given as a string or a JSON number (the service checks its range)."""

    default_error_messages = {"invalid": "Must be a whole number, as a string or a JSON number."}


class ParamValue(ma.fields.Field):
    """A strategy parameter: a number (string or JSON number), or a choice's value (string);
    the strategy validates it."""

    default_error_messages = {
        "invalid": "A parameter is a number (as a string or a JSON number) or a choice's value."
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise self.make_error("invalid")
        return value


class StrictBoolean(ma.fields.Boolean):
    """true or false, nothing else (marshmallow's Boolean also takes 0, 1, "yes", "on")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


#: How the custom fields appear in the OpenAPI document (type, format).
OPENAPI_TYPES = (
    (Money, "string", "decimal"),
    (Time, "string", "date-time"),
    (NumberInput, ["string", "number"], "decimal"),
    (IntegerInput, ["integer", "string"], None),
    (ParamValue, ["string", "number"], None),
    (StrictBoolean, "boolean", None),
)
