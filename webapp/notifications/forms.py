from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField, TimeField
from wtforms.validators import DataRequired, Length, ValidationError

from webapp.notify.endpoints import MAX_URL_LENGTH
from webapp.notify.limits import is_valid_timezone


def strip(value: object) -> str | None:
    return None if value is None else str(value).strip()


class WebhookForm(FlaskForm):
    url = StringField(
        "Webhook URL",
        filters=[strip],
        validators=[
            DataRequired(message="Enter the URL that should receive the webhooks."),
            Length(max=MAX_URL_LENGTH),
        ],
        render_kw={"placeholder": "https://example.com/hooks/tradebots", "inputmode": "url"},
    )
    submit = SubmitField("Save endpoint")


class QuietHoursForm(FlaskForm):
    enabled = BooleanField("Hold routine notifications during quiet hours")
    start = TimeField("From", default=time(22, 0), validators=[DataRequired()])
    end = TimeField("Until", default=time(7, 0), validators=[DataRequired()])
    timezone = StringField(
        "Time zone",
        default="UTC",
        filters=[strip],
        validators=[DataRequired(), Length(max=64)],
        render_kw={"list": "timezones", "autocomplete": "off"},
    )
    submit = SubmitField("Save quiet hours")

    def validate_timezone(self, field) -> None:
        if not is_valid_timezone(field.data or ""):
            raise ValidationError("Choose a time zone from the list, e.g. Europe/Berlin.")

    def validate_end(self, field) -> None:
        if self.start.data and field.data and self.start.data == field.data:
            raise ValidationError("Quiet hours must end at a different time than they start.")
