from __future__ import annotations

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.current import ngettext
from webapp.models import TokenScope
from webapp.tokens.service import EXPIRY_CHOICES


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _expiry_value(days: int | None) -> str:
    return "never" if days is None else str(days)


def _expiry_label(days: int | None):
    if days is None:
        return _l("Never")
    return LazyString(_days, days)


def _days(days: int) -> str:
    return ngettext("%(num)d day", "%(num)d days", days)


#: The scopes' names: capitalised on the form's checkboxes, in lower case in the list.
SCOPE_LABELS = {TokenScope.READ.value: _l("Read"), TokenScope.TRADE.value: _l("Trade")}
SCOPE_NAMES = {TokenScope.READ.value: _l("read"), TokenScope.TRADE.value: _l("trade")}


def scope_names(scopes: str) -> str:
    """A token's stored scopes (`read,trade`) as the reader's words."""
    return ", ".join(str(SCOPE_NAMES.get(s, s)) for s in scopes.split(",") if s)


class CreateTokenForm(FlaskForm):
    # Every rule (length, scopes, lifetime) is checked by webapp.tokens.service.
    name = StringField(
        _l("Name"), filters=[strip], description=_l("What it is for, e.g. “Grafana”.")
    )
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[SelectChoice(s.value, SCOPE_LABELS[s.value]) for s in TokenScope],
        default=[TokenScope.READ.value],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
        description=_l(
            "Read: every GET. Trade: everything that changes something "
            "(start and stop bots, add keys, ...)."
        ),
    )
    expires = SelectField(
        _l("Expires after"),
        choices=[SelectChoice(_expiry_value(d), _expiry_label(d)) for d in EXPIRY_CHOICES],
        default="90",
        validate_choice=False,
    )
    submit = SubmitField(_l("Create token"))

    def days(self) -> int | str | None:
        """The chosen lifetime in days, None for never, or the raw text if it is not one of
        the lifetimes offered."""
        raw = (self.expires.data or "").strip()
        for days in EXPIRY_CHOICES:
            if raw == _expiry_value(days):
                return days
        return raw
