"""`flask` commands answer in the language of the terminal they are typed in (LANG and
friends), as command-line programs do; what they store and what services say stays English."""

from __future__ import annotations

import pytest
from flask_babel import gettext

from tests.bots.helpers import make_bot
from tests.conftest import PASSWORD
from webapp.cli import SERVICES
from webapp.extensions import db
from webapp.i18n.locales import environment_locale
from webapp.models import BotState, BotStatus, User

TURKISH = {"LANG": "tr_TR.UTF-8"}
FRENCH = {"LANG": "fr_FR.UTF-8"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "tr_TR.UTF-8"}, "tr"),
        ({"LANG": "fr_CA"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_FR.UTF-8", "LC_ALL": "tr_TR.UTF-8"}, "tr"),
        ({"LC_ALL": "", "LANG": "tr_TR@euro"}, "tr"),
        ({"LANG": "de_DE.UTF-8", "LANGUAGE": "de:fr:en"}, "fr"),
        ({"LANG": "C", "LANGUAGE": "fr"}, "en"),  # gettext ignores LANGUAGE under C
        ({"LANGUAGE": "fr"}, "en"),  # and without any locale set
    ],
)
def test_the_terminal_language_is_read_as_gettext_reads_it(environ, expected):
    assert environment_locale(environ) == expected


def test_users_create_speaks_turkish_in_a_turkish_terminal(runner):
    result = runner.invoke(
        args=["users", "create", "ayse@example.com"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=TURKISH,
    )
    assert result.exit_code == 0, result.output
    assert "Parola" in result.output  # the prompt
    assert "Kullanıcı ayse@example.com oluşturuldu" in result.output
    assert "Created user" not in result.output
    assert User.by_email("ayse@example.com") is not None


def test_refusals_from_the_account_rules_are_in_french(runner, auth):
    result = runner.invoke(
        args=["users", "create", "a@example.com"], input="short\nshort\n", env=FRENCH
    )
    assert result.exit_code == 1
    assert "Use at least 10 characters" not in result.output
    assert "10 caractères" in result.output
    result = runner.invoke(args=["tokens", "revoke", "999"], env=FRENCH)
    assert result.exit_code == 1
    assert "Aucun jeton avec l'id 999." in result.output


def test_tables_and_confirmations_follow_the_terminal(runner, auth):
    user = auth.create_user()
    make_bot(user, status=BotStatus.RUNNING)
    db.session.commit()
    result = runner.invoke(args=["bots", "list"], env=TURKISH)
    assert result.exit_code == 0, result.output
    assert "sahibi" in result.output and "bugünkü K/Z" in result.output
    assert "owner" not in result.output
    result = runner.invoke(args=["bots", "stop-all"], input="n\n", env=FRENCH)
    assert "Arrêter tous les bots en cours de TOUS les utilisateurs ?" in result.output
    assert "Stop all running bots" not in result.output


def test_what_a_command_stores_stays_english(runner, auth):
    """The engine keeps reasons in English and translates them where they are shown; a
    Turkish terminal must not write Turkish into the database."""
    user = auth.create_user()
    bot = make_bot(user, status=BotStatus.RUNNING)
    db.session.commit()
    result = runner.invoke(args=["bots", "stop", str(bot.id)], env=TURKISH)
    assert result.exit_code == 0, result.output
    assert f"Bot {bot.id} (Trend BTC) durduruldu." in result.output
    db.session.expire_all()
    state = db.session.get(BotState, bot.id)
    assert state.status is BotStatus.STOPPED
    assert state.status_reason == "Stopped by the operator."


def test_the_language_ends_with_the_command(runner, app):
    """Jobs and services in the same process speak English afterwards."""
    result = runner.invoke(args=["users", "list"], env=TURKISH)
    assert result.exit_code == 0, result.output
    assert gettext("Password") == "Password"


def test_services_do_not_take_the_terminal_language(app):
    commands = {
        "schedule run": app.cli.commands["schedule"].commands["run"],
        "telegram poll": app.cli.commands["telegram"].commands["poll"],
        "sim serve": app.cli.commands["sim"].commands["serve"],
    }
    assert set(commands) == SERVICES
    for name, command in commands.items():
        assert not getattr(command.callback, "speaks_terminal_language", False), name
    users_list = app.cli.commands["users"].commands["list"]
    assert users_list.callback.speaks_terminal_language
