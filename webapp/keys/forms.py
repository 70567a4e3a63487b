from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length

from webapp.exchange.clients import SUPPORTED_EXCHANGES
from webapp.i18n.current import lazy_gettext as _l
from webapp.keys.service import KEY_MAX, LABEL_MAX, SECRET_MAX


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class AddKeyForm(FlaskForm):
    exchange = SelectField(
        _l("Exchange"),
        choices=[SelectChoice(value, label) for value, label in SUPPORTED_EXCHANGES.items()],
        validators=[DataRequired()],
    )
    label = StringField(
        _l("Label"),
        filters=[strip],
        validators=[DataRequired(), Length(max=LABEL_MAX)],
        description=_l("A name for you, e.g. “Main account”."),
    )
    api_key = StringField(
        _l("API key"), filters=[strip], validators=[DataRequired(), Length(max=KEY_MAX)]
    )
    # PasswordField never renders its value back into the page, even after an error.
    api_secret = PasswordField(
        _l("API secret"), filters=[strip], validators=[DataRequired(), Length(max=SECRET_MAX)]
    )
    testnet = BooleanField(_l("Testnet key"))
    submit = SubmitField(_l("Check and save key"))
