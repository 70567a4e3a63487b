"""What a DCA or grid bot writes (its note, what a signal did, why it cannot start) reads in
the reader's language, numbers in the reader's format."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from webapp.i18n.engine_text import engine_text

LINES = {
    "No deal open: cooling down after the last deal.": {
        "tr": "Açık işlem yok: son işlemden sonra bekleme süresinde.",
        "fr": "Aucun cycle ouvert : en pause après le dernier cycle.",
    },
    "No deal open: waiting for RSI(14) below 30.5.": {
        "tr": "Açık işlem yok: RSI(14) değerinin 30,5 altına inmesi bekleniyor.",
        "fr": "Aucun cycle ouvert : en attente d'un RSI(14) sous 30,5.",
    },
    "signal start_deal: deal 2 opened": {
        "tr": "sinyal start_deal: 2 numaralı işlem açıldı",
        "fr": "signal start_deal : cycle 2 ouvert",
    },
    "signal close: deal 1 closed at the price": {
        "tr": "sinyal close: 1 numaralı işlem anlık fiyattan kapatıldı",
        "fr": "signal close : cycle 1 clôturé au prix du marché",
    },
    "This bot may spend up to 1100.5 USDT but the key holds 100 USDT free: lower its orders or "
    "add funds, then start it again.": {
        "tr": "Bu bot 1100,5 USDT tutarına kadar harcayabilir, ancak anahtarda serbest 100 USDT "
        "var: emirlerini küçültün ya da bakiye ekleyin, sonra yeniden başlatın.",
        "fr": "Ce bot peut dépenser jusqu'à 1100,5 USDT mais la clé n'a que 100 USDT "
        "disponibles : réduisez ses ordres ou ajoutez des fonds, puis redémarrez-le.",
    },
    "Waiting for the price to reach the trigger price 50200.5: no order until then.": {
        "tr": "Fiyatın tetik fiyatı 50200,5 seviyesine ulaşması bekleniyor: o zamana kadar emir "
        "yok.",
        "fr": "En attente que le prix atteigne le prix de déclenchement 50200,5 : aucun ordre "
        "d'ici là.",
    },
}


@pytest.mark.parametrize("locale", ["tr", "fr"])
@pytest.mark.parametrize("line", sorted(LINES))
def test_dca_lines_read_in_the_readers_language(app, line, locale):
    with app.test_request_context(), force_locale(locale):
        assert engine_text(line) == LINES[line][locale]
    with app.test_request_context(), force_locale("en"):
        assert engine_text(line) == line
