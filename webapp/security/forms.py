from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from webapp.accounts.passwords import MAX_LENGTH


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app (or a recovery code)",
        validators=[DataRequired(), Length(max=32)],
    )
    submit = SubmitField("Verify")


class SetupForm(FlaskForm):
    code = StringField("6-digit code from the app", validators=[DataRequired(), Length(max=16)])
    submit = SubmitField("Turn on two-factor sign-in")


class ConfirmForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    code = StringField("Two-factor code", validators=[Optional(), Length(max=32)])
    submit = SubmitField("Confirm")


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""

    submit = SubmitField("Go")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    password = PasswordField("New password", validators=[DataRequired()])
    password2 = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )
    submit = SubmitField("Change password")


class KillSwitchForm(FlaskForm):
    email = StringField("Only this user (email; empty: everyone)", validators=[Length(max=254)])
    sell = BooleanField("Also sell their open positions")
    confirm = BooleanField(
        "Yes, stop these bots now",
        validators=[DataRequired(message="Tick the box to confirm: this stops bots at once.")],
    )
    submit = SubmitField("Stop all bots")


class HaltForm(FlaskForm):
    halt = BooleanField("Halt trading")
    confirm = BooleanField(
        "Yes, change it", validators=[DataRequired(message="Tick the box to confirm.")]
    )
    submit = SubmitField("Apply")


class DeleteAccountForm(FlaskForm):
    email = StringField("Type your email to confirm", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Delete my account")


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        "New email",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message="Enter a valid email address.", check_deliverability=False),
        ],
    )
    submit = SubmitField("Change email")
