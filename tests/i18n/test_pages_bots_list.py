"""The bots list speaks the reader's language, empty and busy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.bots.helpers import add_trade, make_bot
from tests.i18n.conftest import assert_translated, visible_text
from webapp.models import BotMode, BotStatus

SOURCES = ("templates/bots/index.html", "templates/bots/_macros.html", "bots/display.py")
#: Strategy names are descriptive labels, translated like the rest.
STRATEGIES = {"tr": "EMA kesişimi", "fr": "Croisement d'EMA"}


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_bots_list_has_no_english_left(client, auth, locale):
    user = auth.register_and_login()
    same = {"alice@example.com", "Bots · Tradebots"}  # the title: "Bots" is French too
    empty = assert_translated(client, user, "/bots/", locale, same, sources=SOURCES)
    assert {"tr": "İlk botunuzu oluşturun", "fr": "Créez votre premier bot"}[locale] in empty

    running = make_bot(
        user,
        None,
        "Trend BTC",
        status=BotStatus.RUNNING,
        state_position_qty=Decimal("0.5"),
        state_position_avg_price=Decimal("61234.5"),
    )
    add_trade(running, "buy", "1", "1000")
    make_bot(user, None, "Live one", status=BotStatus.ERROR, mode=BotMode.LIVE)
    page = assert_translated(
        client,
        user,
        "/bots/",
        locale,
        {*same, "Trend BTC", "Live one", "5m", "1m"},
        sources=SOURCES,
    )
    assert {"tr": "Son döngü", "fr": "Dernier cycle"}[locale] in page
    assert STRATEGIES[locale] in visible_text(page)
