from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, SubmitField
from wtforms.validators import InputRequired

from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.locales import LOCALES, NATIVE_NAMES


class LocaleForm(FlaskForm):
    """The footer's language switch; `next` is the page to return to."""

    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice(c, NATIVE_NAMES[c], render_kw={"lang": c}) for c in LOCALES],
        validators=[InputRequired()],
    )
    next = HiddenField()
    submit = SubmitField(_l("Change language"))
