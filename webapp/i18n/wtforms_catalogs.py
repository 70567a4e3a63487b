"""WTForms' own messages ("This field is required.") in the request's language, from
catalogs read once per process.

Flask-WTF reads WTForms' catalog from disk on every request that translates a message, and
the footer's language switch puts a form on every page; the catalogs never change while the
app runs, so each language's is kept after its first use."""

from __future__ import annotations

import threading

import flask_wtf.i18n
from babel import support
from flask import has_request_context
from wtforms.i18n import messages_path

from webapp.i18n import current

_catalogs: dict[str, support.Translations] = {}
_lock = threading.Lock()


def catalog(locale: str) -> support.Translations:
    found = _catalogs.get(locale)
    if found is None:
        with _lock:
            found = _catalogs.get(locale)
            if found is None:
                found = support.Translations.load(messages_path(), [locale], domain="wtforms")
                _catalogs[locale] = found
    return found


def _translations() -> support.Translations | None:
    if not has_request_context():  # as Flask-WTF: no request, WTForms' English
        return None
    return catalog(current.language())


def install() -> None:
    """Make Flask-WTF's translations (what every FlaskForm's Meta uses) read from the cache."""
    flask_wtf.i18n._get_translations = _translations
