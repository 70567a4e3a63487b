"""The audit log in the reader's language.

Events are stored as they were always written: an English sentence with the names (labels,
emails, addresses) filled in, so old rows and new rows read the same. A page shows one by
finding which of the sentences below it is, taking the names back out and putting them into
that sentence's translation. A description that matches none (written by an older version,
or cut at 300 characters) is shown as it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.current import ngettext
from webapp.i18n.marks import N_
from webapp.keys.service import error_text
from webapp.security.audit import AuditAction

#: What each kind of event is called on the pages (the stored value is the code).
ACTION_LABELS = {
    AuditAction.LOGIN: _l("Sign-in"),
    AuditAction.LOGIN_FAILED: _l("Failed sign-in"),
    AuditAction.TWO_FACTOR_ENABLED: _l("Two-factor on"),
    AuditAction.TWO_FACTOR_DISABLED: _l("Two-factor off"),
    AuditAction.RECOVERY_CODE_USED: _l("Recovery code used"),
    AuditAction.RECOVERY_CODES_RENEWED: _l("New recovery codes"),
    AuditAction.PASSWORD_CHANGED: _l("Password changed"),
    AuditAction.PASSWORD_RESET: _l("Password reset"),
    AuditAction.EMAIL_CHANGED: _l("Email changed"),
    AuditAction.SESSION_REVOKED: _l("Session signed out"),
    AuditAction.SIGNED_OUT_EVERYWHERE: _l("Signed out everywhere"),
    AuditAction.KEY_ADDED: _l("Key added"),
    AuditAction.KEY_REMOVED: _l("Key deleted"),
    AuditAction.KEY_INVALID: _l("Key rejected"),
    AuditAction.BOT_STARTED: _l("Bot started"),
    AuditAction.BOT_STOPPED: _l("Bot stopped"),
    AuditAction.BOT_LIVE: _l("Bot live"),
    AuditAction.TOKEN_CREATED: _l("Token created"),
    AuditAction.TOKEN_REVOKED: _l("Token revoked"),
    AuditAction.WEBHOOK_ADDED: _l("Webhook added"),
    AuditAction.WEBHOOK_SECRET_ROTATED: _l("Webhook secret rotated"),
    AuditAction.SIGNAL_URL_ROTATED: _l("Signal URL rotated"),
    AuditAction.PHONE_ADDED: _l("Phone number added"),
    AuditAction.TELEGRAM_LINKED: _l("Telegram linked"),
    AuditAction.ADMIN: _l("Operator action"),
    AuditAction.ACCOUNT_EXPORTED: _l("Data exported"),
    AuditAction.ACCOUNT_DELETED: _l("Account deleted"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


#: Every sentence the code stores, as it stores it; `%(name)s` stands for a name (user data).
SENTENCES = (
    N_("Two-factor sign-in turned on."),
    N_("Two-factor sign-in turned off."),
    N_("New recovery codes made."),
    N_("Email changed from %(email)s."),
    N_("Signed out %(device)s (%(ip)s)."),
    N_("Data export downloaded."),
    N_("Signed in with password (%(agent)s)."),
    N_("Signed in with a recovery code (%(agent)s)."),
    N_("Signed in with a two-factor code (%(agent)s)."),
    N_("Wrong two-factor code."),
    N_("Failed sign-in: wrong password."),
    N_("Failed sign-in: unknown email."),
    N_("Account deleted with its bots, keys and tokens."),
    N_("API key “%(label)s”: %(reason)s"),
    N_("Trading halted."),
    N_("Trading halt lifted."),
    N_("Password reset by emailed link."),
    N_("Password changed on the Security page."),
    N_("Password changed with the command line."),
    N_("API key %(key)s added."),
    N_("API key %(key)s deleted."),
    N_("API token %(token)s created."),
    N_("API token %(token)s revoked."),
    N_("Webhook to %(host)s added."),
    N_("Webhook secret for %(host)s rotated."),
    N_("Signal URL of bot %(bot)s rotated."),
    N_("Bot “%(name)s” created in live mode."),
    N_("Phone number ending in %(digits)s added."),
    N_("Telegram chat linked."),
    N_("Bot %(bot)s switched to live."),
    N_("Bot %(bot)s started."),
    N_("Bot %(bot)s stopped."),
    N_("Bot %(bot)s stopped. %(reason)s"),
)


def _sessions(num: int, **_params) -> str:
    return ngettext("Signed out %(num)d session.", "Signed out %(num)d sessions.", num)


def _recovery(num: int, **_params) -> str:
    return ngettext("Recovery code used (%(num)d left).", "Recovery code used (%(num)d left).", num)


def _kill_all(num: int, **_params) -> str:
    return ngettext(
        "Kill switch: stopped %(num)d bot of every user.",
        "Kill switch: stopped %(num)d bots of every user.",
        num,
    )


def _kill_all_sold(num: int, **_params) -> str:
    return ngettext(
        "Kill switch: stopped %(num)d bot of every user and sold their positions.",
        "Kill switch: stopped %(num)d bots of every user and sold their positions.",
        num,
    )


def _kill_one(num: int, email: str) -> str:
    return ngettext(
        "Kill switch: stopped %(num)d bot of %(email)s.",
        "Kill switch: stopped %(num)d bots of %(email)s.",
        num,
        email=email,
    )


def _kill_one_sold(num: int, email: str) -> str:
    return ngettext(
        "Kill switch: stopped %(num)d bot of %(email)s and sold their positions.",
        "Kill switch: stopped %(num)d bots of %(email)s and sold their positions.",
        num,
        email=email,
    )


#: Sentences with a count, as stored (always the plural) and how each is said. Most specific
#: first: "every user" would also pass for an email.
COUNTED: tuple[tuple[str, Callable[..., str]], ...] = (
    ("Signed out %(num)s sessions.", _sessions),
    ("Recovery code used (%(num)s left).", _recovery),
    ("Kill switch: stopped %(num)s bots of every user and sold their positions.", _kill_all_sold),
    ("Kill switch: stopped %(num)s bots of every user.", _kill_all),
    ("Kill switch: stopped %(num)s bots of %(email)s and sold their positions.", _kill_one_sold),
    ("Kill switch: stopped %(num)s bots of %(email)s.", _kill_one),
)


def _pattern(template: str) -> re.Pattern:
    """`template` with each %(name)s as a group: finds the names in a stored sentence."""
    escaped = re.escape(template)
    escaped = escaped.replace(r"%\(num\)s", r"(?P<num>\d+)")
    return re.compile(re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", escaped), re.S)


_SENTENCES = [(_pattern(t), t) for t in SENTENCES]
_COUNTED = [(_pattern(t), say) for t, say in COUNTED]
_DEVICE = re.compile(r"(?P<browser>.+?) on (?P<os>\w+)")


def _device(text: str) -> str:
    from webapp.security.sessions import Device

    found = _DEVICE.fullmatch(text)
    return Device(found["browser"], found["os"]).text() if found else Device(text, "").text()


#: Parts of a sentence that are themselves English the code wrote (not user data).
_NESTED: dict[str, Callable[[str], str]] = {
    "device": _device,
    "reason": lambda text: error_text(text),
}


def describe(description: str | None) -> str:
    """A stored audit description in the reader's language."""
    if not description:
        return ""
    for pattern, say in _COUNTED:
        found = pattern.fullmatch(description)
        if found:
            params = found.groupdict()
            return say(int(params.pop("num")), **params)
    for pattern, template in _SENTENCES:
        found = pattern.fullmatch(description)
        if found:
            params = {k: _NESTED.get(k, str)(v) for k, v in found.groupdict().items()}
            return _(template, **params)
    return description
