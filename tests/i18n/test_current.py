"""The request's language read through `webapp.i18n.current` is always Flask-Babel's own:
in a request, under `force_locale` (Telegram replies, emails in the recipient's language),
after `refresh`, and in templates' `_()`."""

from __future__ import annotations

import flask_babel
import pytest
from flask import render_template_string
from flask_babel import force_locale, refresh

from webapp.i18n import current


def answers(app) -> tuple[str, str, str, str]:
    return (
        current.language(),
        str(flask_babel.get_locale()),
        render_template_string('{{ _("Dashboard") }}'),
        current.translations().ugettext("Dashboard"),
    )


@pytest.mark.parametrize("language", ["en", "tr", "fr"])
def test_a_request_reads_the_language_flask_babel_chose(app, language):
    with app.test_request_context("/", headers={"Accept-Language": language}):
        ours, babels, template, catalog = answers(app)
        assert ours == babels == language
        assert current.timezone() == flask_babel.get_timezone()
        assert template == catalog == flask_babel.gettext("Dashboard")
        assert (template == "Dashboard") is (language == "en")


def test_force_locale_and_refresh_hold(app, monkeypatch):
    with app.test_request_context("/", headers={"Accept-Language": "tr"}):
        assert answers(app)[:2] == ("tr", "tr")
        turkish = answers(app)[2]
        with force_locale("fr"):
            language, babels, french, catalog = answers(app)
            assert language == babels == "fr"
            assert french == catalog != turkish
        assert answers(app)[:3] == ("tr", "tr", turkish)
        # A changed choice is read again after refresh(), as Flask-Babel does.
        monkeypatch.setattr(app.extensions["babel"], "locale_selector", lambda: "fr")
        refresh()
        assert answers(app)[:2] == ("fr", "fr")
        assert answers(app)[2] == french


def test_outside_a_request_it_is_flask_babels_answer(app):
    with app.app_context():
        assert current.language() == str(flask_babel.get_locale() or "en")
        assert current.translations().ugettext("Dashboard") == flask_babel.gettext("Dashboard")


#: A plural message of the catalogs.
PLURAL = ("%(num)d minute", "%(num)d minutes")


@pytest.mark.parametrize("language", ["en", "tr", "fr"])
def test_python_gettext_matches_flask_babels(app, language):
    """The code's `_()`, `_l()` and `ngettext` come from `current`: each answer, formatted
    the same way, is Flask-Babel's, in every language and under `force_locale`."""
    message = "%(channel)s notifications for “%(event)s” turned on."
    names = {"channel": "Email", "event": "Trade executed"}
    with app.test_request_context("/", headers={"Accept-Language": language}):
        for locale in (language, "fr" if language != "fr" else "tr"):
            with force_locale(locale):
                assert current.gettext("Dashboard") == flask_babel.gettext("Dashboard")
                assert current.gettext(message, **names) == flask_babel.gettext(message, **names)
                assert str(current.lazy_gettext(message, **names)) == flask_babel.gettext(
                    message, **names
                )
                for n in (0, 1, 2, 5):
                    assert current.ngettext(*PLURAL, n) == flask_babel.ngettext(*PLURAL, n)
        if language == "tr":  # French writes "2 minutes" too
            assert current.ngettext(*PLURAL, 2) != "2 minutes"
        assert current.gettext("Dashboard") != "Dashboard" or language == "en"
        # Kept lazily: a label made at import time reads the request's language when shown.
        label = current.lazy_gettext("Dashboard")
        with force_locale("fr"):
            assert str(label) == flask_babel.gettext("Dashboard")
        assert str(label) == flask_babel.gettext("Dashboard")


TEMPLATE = (
    '{{ _("Dashboard") }}|{{ gettext("Delete the bot “%(name)s” with its trades and activity'
    ' log? A running bot is stopped first.", name=name) }}|'
    '{{ ngettext("%(num)s cycle", "%(num)s cycles", 1) }}|'
    '{{ ngettext("%(num)s cycle", "%(num)s cycles", count, num=shown) }}|'
    '{{ pgettext("updates", "live") }}|{{ npgettext("x", "%(num)s apple", "%(num)s apples", 3) }}|'
    "{% trans %}Log out{% endtrans %}|"
    "{% trans n=count %}{{ n }} cycle{% pluralize %}{{ n }} cycles{% endtrans %}"
)


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("language", ["en", "tr", "fr"])
def test_template_gettext_writes_what_jinjas_own_writes(app, language, autoescape):
    """`_()` and the rest, installed as single calls, against Jinja's newstyle wrappers over
    the same catalogs: escaping in HTML, none in text, `%(num)s` and `%(context)s` filled."""
    import jinja2

    jinjas = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)
    jinjas.install_gettext_callables(
        gettext=lambda s: current.translations().ugettext(s),
        ngettext=lambda s, p, n: current.translations().ungettext(s, p, n),
        pgettext=lambda c, s: current.translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current.translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    ours = app.jinja_env.overlay(autoescape=autoescape)
    values = {"name": '<b>"Ali & Co"</b>', "count": 1234, "shown": "1,234"}
    with app.test_request_context("/", headers={"Accept-Language": language}):
        expected = jinjas.from_string(TEMPLATE).render(values)
        written = ours.from_string(TEMPLATE).render(values)
    assert written == expected
    assert ("&lt;b&gt;" in written) is autoescape
    if language != "en":
        assert "Dashboard" not in written
