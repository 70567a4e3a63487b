from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField, SubmitField, TimeField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.i18n.current import lazy_gettext as _l
from webapp.notify.endpoints import MAX_URL_LENGTH, NO_EVENTS
from webapp.notify.kinds import LABELS, EventType
from webapp.notify.limits import is_valid_timezone


def strip(value: object) -> str | None:
    return None if value is None else str(value).strip()


class WebhookForm(FlaskForm):
    url = StringField(
        _l("Webhook URL"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter the URL that should receive the webhooks.")),
            Length(max=MAX_URL_LENGTH),
        ],
        render_kw={"placeholder": "https://example.com/hooks/tradebots", "inputmode": "url"},
    )
    events = SelectMultipleField(
        _l("Events sent to this endpoint"),
        # Lazy labels: each page shows them in its reader's language.
        choices=[(event.value, LABELS[event]) for event in EventType],
        validators=[DataRequired(message=_l(NO_EVENTS))],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField(_l("Save endpoint"))


class QuietHoursForm(FlaskForm):
    enabled = BooleanField(_l("Hold routine notifications during quiet hours"))
    start = TimeField(
        _l("From"),
        default=time(22, 0),
        validators=[DataRequired()],
    )
    end = TimeField(
        _l("Until"),
        default=time(7, 0),
        validators=[DataRequired()],
    )
    timezone = StringField(
        _l("Time zone"),
        default="UTC",
        filters=[strip],
        validators=[DataRequired(), Length(max=64)],
        render_kw={"list": "timezones", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Save quiet hours"))

    def validate_timezone(self, field) -> None:
        if not is_valid_timezone(field.data or ""):
            raise ValidationError(_l("Choose a time zone from the list, e.g. Europe/Berlin."))

    def validate_end(self, field) -> None:
        if self.start.data and field.data and self.start.data == field.data:
            raise ValidationError(_l("Quiet hours must end at a different time than they start."))


class PhoneForm(FlaskForm):
    phone = StringField(
        _l("Phone number"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your mobile number with its country code.")),
            Length(max=40, message=_l("That is too long for a phone number.")),
        ],
        render_kw={"placeholder": "+49 151 23456789", "inputmode": "tel", "autocomplete": "tel"},
    )
    submit = SubmitField(_l("Send me a code"))


class PhoneCodeForm(FlaskForm):
    code = StringField(
        _l("Code from the SMS"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter the 6-digit code.")), Length(max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    submit = SubmitField(_l("Verify"))
