"""The request's language, time zone and translations, read cheaply.

Flask-Babel finds them through `g` on every call, several context-local lookups each time,
and a page of fifty table rows asks a few hundred times (each translated word, date and
quantity). These functions read the same per-request namespace Flask-Babel keeps, so
`force_locale` and `refresh` hold exactly as they do for Flask-Babel, through the app
context's context variable; whatever Flask-Babel has not looked up yet is asked of it.
"""

from __future__ import annotations

import flask_babel
from babel import Locale
from babel.support import NullTranslations
from flask.globals import _cv_app  # what flask.g reads; Flask is pinned in requirements.txt
from flask_babel import LazyString
from jinja2 import pass_eval_context
from markupsafe import Markup

#: id(locale) -> (locale, its identifier): str(Locale) rebuilds the identifier on each call.
_IDENTIFIERS: dict[int, tuple[Locale, str]] = {}
#: language -> its catalogs. Flask-Babel keeps every loaded catalog for the process too.
_TRANSLATIONS: dict[str, NullTranslations] = {}


def _namespace():
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    return ctx.g.__dict__.get("_flask_babel")


def _kept(name: str, ask):
    """What Flask-Babel keeps for this request under `name`, else `ask()` (which keeps it)."""
    namespace = _namespace()
    if namespace is not None:
        value = namespace.__dict__.get(name)
        if value is not None:
            return value
    return ask()


def locale() -> Locale | None:
    """The request's locale, as `flask_babel.get_locale()` answers it."""
    return _kept("babel_locale", flask_babel.get_locale)


def language() -> str:
    """The request's locale identifier (`en`, `tr`, `fr`); `en` outside a request."""
    value = locale()
    if value is None:
        return "en"
    known = _IDENTIFIERS.get(id(value))
    if known is None or known[0] is not value:
        known = _IDENTIFIERS[id(value)] = (value, str(value))
        if len(_IDENTIFIERS) > 256:  # locales parsed per request: keep the newest only
            _IDENTIFIERS.clear()
            _IDENTIFIERS[id(value)] = known
    return known[1]


def timezone():
    """The request's time zone, as `flask_babel.get_timezone()` answers it."""
    return _kept("babel_tzinfo", flask_babel.get_timezone)


def translations() -> NullTranslations:
    """The catalogs of the request's language, as `flask_babel.get_translations()`."""
    if _namespace() is None:
        return flask_babel.get_translations()  # outside a request: Flask-Babel's own answer
    key = language()
    found = _TRANSLATIONS.get(key)
    if found is None:
        found = _TRANSLATIONS[key] = flask_babel.get_translations()
    return found


def install_jinja_gettext(env) -> None:
    """Templates' `_()`, `gettext`, `ngettext`, `pgettext` and `npgettext` through
    `translations()`, written as Jinja's newstyle gettext writes them (autoescaped in HTML,
    always a `%(name)s` format), each a single call: Jinja's own wrappers go through three
    context calls per word, a few hundred times a page."""
    env.install_gettext_callables(  # newstyle: how `{% trans %}` blocks are compiled
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    env.globals.update(
        _=_template_gettext,
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )


@pass_eval_context
def _template_gettext(eval_ctx, string: str, /, **variables):
    text = translations().ugettext(string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, num: int, /, **variables):
    variables.setdefault("num", num)
    text = translations().ungettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _template_pgettext(eval_ctx, context: str, string: str, /, **variables):
    variables.setdefault("context", context)
    text = translations().upgettext(context, string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _template_npgettext(
    eval_ctx, context: str, singular: str, plural: str, num: int, /, **variables
):
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    text = translations().unpgettext(context, singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


def gettext(string: str, **variables) -> str:
    """`flask_babel.gettext` through `translations()`: same catalogs, same `%(name)s`."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """`flask_babel.ngettext` through `translations()` (`%(num)d` is `num`)."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """`flask_babel.lazy_gettext`, translated through `gettext` above when shown."""
    return LazyString(gettext, string, **variables)
