"""The bot page reads in the user's language: its labels, and the engine's own texts (the
activity log, why it stopped, why it last signalled), whose numbers follow the reader's
format while the API keeps the English the engine wrote."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest

from tests.bots.helpers import add_activity, add_trade, make_bot
from tests.i18n.conftest import assert_translated, set_locale
from webapp.models import ActivityKind, BotStatus, TradeReason

SOURCES = (
    "templates/bots/detail.html",
    "templates/bots/_macros.html",
    "bots/display.py",
    "i18n/engine_text.py",
)
#: Lines as the engine writes them (tests/engine checks it writes no other kind).
LINES = {
    "hold": "hold: fast EMA(3) 61234.5 crossed above slow EMA(5) 60000.25 (price 61234.5)",
    "sold": "Sold 0.00202 BTC at 48000 USDT, fee 0.09696 USDT, realized -3.22695 USDT (stop-loss).",
    "failed": "The exchange account does not have enough balance for this order. "
    "(failed cycle 2 of 5 in a row)",
    "unknown": "Binance says: service unavailable (failed cycle 3 of 5 in a row)",
    "limit": "Daily loss limit reached: -12.5 USDT realized today (limit 10 USDT). "
    "Start it again when ready.",
}
EXPECTED = {
    "tr": [
        "bekle: hızlı EMA(3) 61234,5, yavaş EMA(5) 60000,25 üzerine çıktı (fiyat 61234,5)",
        "48000 USDT fiyattan 0,00202 BTC satıldı, komisyon 0,09696 USDT, gerçekleşen -3,22695 "
        "USDT (zarar durdur).",
        "Günlük zarar sınırına ulaşıldı: bugün gerçekleşen -12,5 USDT (sınır 10 USDT).",
        "Borsa hesabında bu emir için yeterli bakiye yok. (art arda 5 döngüden 2. başarısız döngü)",
        "Pozisyonu şimdi sat",
        "Son işlemler",
    ],
    "fr": [
        "attendre : l'EMA rapide(3) 61234,5 a croisé au-dessus de "
        "l'EMA lente(5) 60000,25 (prix 61234,5)",
        "Vente de 0,00202 BTC à 48000 USDT, frais 0,09696 USDT, réalisé -3,22695 USDT (stop-loss).",
        "Limite de perte journalière atteinte : -12,5 USDT réalisés aujourd'hui (limite 10 USDT).",
        "Vendre la position maintenant",
        "Dernières transactions",
    ],
}


@pytest.fixture
def busy_bot(auth):
    user = auth.register_and_login()
    bot = make_bot(
        user,
        None,
        "Trend BTC",
        status=BotStatus.STOPPED,
        state_position_qty=Decimal("0.5"),
        state_position_avg_price=Decimal("61234.5"),
        state_status_reason=LINES["limit"],
        state_last_signal="buy",
        state_last_reason="fast EMA(3) 61234.5 crossed above slow EMA(5) 60000.25",
        state_cycle_count=12,
    )
    add_trade(bot, "buy", "0.002", "50000")
    add_trade(bot, "sell", "0.00202", "48000", pnl="-3.22695", reason=TradeReason.STOP_LOSS)
    add_activity(bot, "Started.", ActivityKind.STATE)
    add_activity(bot, LINES["hold"])
    add_activity(bot, LINES["sold"], ActivityKind.ORDER)
    add_activity(bot, LINES["failed"], ActivityKind.ERROR)
    add_activity(bot, LINES["unknown"], ActivityKind.ERROR)
    add_activity(bot, LINES["limit"], ActivityKind.STATE)
    return user, bot


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_bot_page_has_no_english_left(client, busy_bot, locale):
    user, bot = busy_bot
    # An exchange's own message inside a failure line is data: it reads as the exchange wrote it.
    allowed = {
        "Trend BTC",
        "Trend BTC · Tradebots",
        "Binance says: service unavailable",
        "100 USDT",
        # A strategy's parameters by their names, as the API and the form's fields call them.
        "fast = 3",
        "slow = 5",
        *{"tr": (), "fr": ("(12 cycles)",)}[locale],
    }
    page = assert_translated(client, user, f"/bots/{bot.id}", locale, allowed, sources=SOURCES)
    text = html.unescape(page)
    for expected in EXPECTED[locale]:
        assert expected in text, expected


def test_english_readers_and_the_api_get_the_engines_words_as_written(client, busy_bot):
    user, bot = busy_bot
    set_locale(user, "en")
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    for line in LINES.values():
        assert line in html.unescape(page)
    set_locale(user, "tr")
    assert LINES["sold"] not in client.get(f"/bots/{bot.id}").get_data(as_text=True)


START_REFUSED = {
    "en": "This bot has no API key (it was deleted). Choose a key first.",
    "tr": "Bu botun API anahtarı yok (silindi). Önce bir anahtar seçin.",
    "fr": "Ce bot n'a pas de clé API (elle a été supprimée). Choisissez d'abord une clé.",
}


@pytest.mark.parametrize("locale", ["en", "tr", "fr"])
def test_why_a_bot_cannot_start_is_said_in_the_readers_language(client, busy_bot, locale):
    user, bot = busy_bot  # its key was deleted
    set_locale(user, locale)
    answer = client.post(
        f"/bots/{bot.id}/start", headers={"HX-Request": "true", "HX-Target": "bot-status"}
    )
    assert answer.status_code == 422
    assert START_REFUSED[locale] in html.unescape(answer.get_data(as_text=True))
    # Without htmx, the same words in the flash on the bot's page.
    page = client.post(f"/bots/{bot.id}/start", follow_redirects=True).get_data(as_text=True)
    assert START_REFUSED[locale] in html.unescape(page)
