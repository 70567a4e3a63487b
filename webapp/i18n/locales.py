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


#: The one page among the API's blueprints: it is read by people, so it follows their language.
_API_PAGES = {"api_docs.docs"}


def _json_api() -> bool:
    return (request.blueprint or "").startswith("api_") and request.endpoint not in _API_PAGES


def select_locale() -> str:
    """Flask-Babel's locale selector. Outside a request (jobs, CLI) it is the default, and the
    JSON API speaks English whatever the caller's browser or account prefers: scripts match
    on its messages, so they must not change with a setting."""
    if not has_request_context() or _json_api():
        return DEFAULT_LOCALE
    if current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
