"""The bots area reads in the user's language (partial: the stop-all form so far)."""

from __future__ import annotations

import pytest

from tests.bots.helpers import make_bot
from tests.i18n.conftest import set_locale
from webapp.models import BotStatus

STOP_ALL = {
    "tr": ("Tüm botlarımı durdur", "Çalışan tüm botlarınız şimdi durdurulsun mu?"),
    "fr": ("Arrêter tous mes bots", "Arrêter maintenant tous vos bots en cours ?"),
}


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_stop_all_form_is_translated(client, auth, locale):
    user = auth.register_and_login()
    make_bot(user, status=BotStatus.RUNNING)
    set_locale(user, locale)
    page = client.get("/").get_data(as_text=True)
    for expected in STOP_ALL[locale]:
        assert expected in page
    assert "Stop all my bots" not in page
