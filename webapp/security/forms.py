from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from webapp.accounts.passwords import MAX_LENGTH
from webapp.i18n.current import lazy_gettext as _l


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app (or a recovery code)"),
        validators=[DataRequired(), Length(max=32)],
    )
    submit = SubmitField(_l("Verify"))


class SetupForm(FlaskForm):
    code = StringField(_l("6-digit code from the app"), validators=[DataRequired(), Length(max=16)])
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class ConfirmForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    code = StringField(_l("Two-factor code"), validators=[Optional(), Length(max=32)])
    submit = SubmitField(_l("Confirm"))


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""

    submit = SubmitField(_l("Go"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    password2 = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    submit = SubmitField(_l("Change password"))


class KillSwitchForm(FlaskForm):
    email = StringField(_l("Only this user (email; empty: everyone)"), validators=[Length(max=254)])
    sell = BooleanField(_l("Also sell their open positions"))
    confirm = BooleanField(
        _l("Yes, stop these bots now"),
        validators=[DataRequired(message=_l("Tick the box to confirm: this stops bots at once."))],
    )
    submit = SubmitField(_l("Stop all bots"))


class HaltForm(FlaskForm):
    halt = BooleanField(_l("Halt trading"))
    confirm = BooleanField(
        _l("Yes, change it"), validators=[DataRequired(message=_l("Tick the box to confirm."))]
    )
    submit = SubmitField(_l("Apply"))


class DeleteAccountForm(FlaskForm):
    email = StringField(
        _l("Type your email to confirm"), validators=[DataRequired(), Length(max=254)]
    )
    submit = SubmitField(_l("Delete my account"))


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        _l("New email"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=_l("Enter a valid email address."), check_deliverability=False),
        ],
    )
    submit = SubmitField(_l("Change email"))
