"""Which language a request speaks: the account's choice, else the browser's, else English."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar

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


#: The language of the terminal a `flask` command was typed in, while that command runs.
#: Unset in workers and services, which speak English unless rendering for a recipient.
terminal = ContextVar("terminal_locale", default=DEFAULT_LOCALE)

#: Where POSIX programs read the language of their messages, strongest first.
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def environment_locale(environ: Mapping[str, str] = os.environ) -> str:
    """The catalog matching a terminal's settings, as gettext reads them: the first of LC_ALL,
    LC_MESSAGES and LANG that is set decides (`tr_TR.UTF-8` is Turkish); GNU's LANGUAGE list
    (`fr:en`) comes before them when that names a locale other than C. Else English."""
    setting = next((environ[name] for name in _LOCALE_VARIABLES if environ.get(name)), "")
    candidates = [setting]
    if setting and setting not in ("C", "POSIX") and not setting.startswith("C."):
        candidates = environ.get("LANGUAGE", "").split(":") + candidates
    for value in candidates:
        code = value.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
        if code in LOCALES:
            return code
    return DEFAULT_LOCALE


def select_locale() -> str:
    """Flask-Babel's locale selector. Outside a request it is the terminal's language while a
    `flask` command runs, else English (jobs). The JSON API speaks English whatever the
    caller's browser or account prefers: scripts match on its messages, so they must not
    change with a setting."""
    if not has_request_context():
        return terminal.get()
    if _json_api():
        return DEFAULT_LOCALE
    if current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
