"""Which language a request speaks: the account's choice, else the browser's, else English."""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_login import current_user

#: Every language with a complete catalog; the first is the source language of the msgids.
LOCALES = ("en", "tr", "fr")
DEFAULT_LOCALE = LOCALES[0]
#: Where a visitor without an account keeps the choice made in the footer.
SESSION_KEY = "locale"

#: Each language named in itself, so that a reader finds theirs whatever the page speaks.
NATIVE_NAMES = {"en": "English", "tr": "Türkçe", "fr": "Français"}


def select_locale() -> str:
    """Flask-Babel's locale selector. Outside a request (jobs, CLI) it is the default."""
    if not has_request_context():
        return DEFAULT_LOCALE
    if current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
