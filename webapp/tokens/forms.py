from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.models import TokenScope
from webapp.tokens.service import EXPIRY_CHOICES


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _expiry_value(days: int | None) -> str:
    return "never" if days is None else str(days)


def _expiry_label(days: int | None) -> str:
    return "Never" if days is None else f"{days} days"


class CreateTokenForm(FlaskForm):
    # Every rule (length, scopes, lifetime) is checked by webapp.tokens.service.
    name = StringField("Name", filters=[strip], description="What it is for, e.g. “Grafana”.")
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(s.value, f"{s.label}") for s in TokenScope],
        default=[TokenScope.READ.value],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
        description="Read: every GET. Trade: everything that changes something "
        "(start and stop bots, add keys, ...).",
    )
    expires = SelectField(
        "Expires after",
        choices=[SelectChoice(_expiry_value(d), _expiry_label(d)) for d in EXPIRY_CHOICES],
        default="90",
        validate_choice=False,
    )
    submit = SubmitField("Create token")

    def days(self) -> int | str | None:
        """The chosen lifetime in days, None for never, or the raw text if it is not one of
        the lifetimes offered."""
        raw = (self.expires.data or "").strip()
        for days in EXPIRY_CHOICES:
            if raw == _expiry_value(days):
                return days
        return raw
