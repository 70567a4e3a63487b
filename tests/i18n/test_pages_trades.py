"""The trades page in Turkish and French: with trades (on one page and across pages), with
filters, empty, past the oldest trade, and with filter errors. No English left besides names,
symbols and the side badges (a macro of the bot pages, translated with them); figures, times
and the days typed into the filters as the reader's language writes them."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.bots.helpers import add_trade, bulk_trades, make_bot, text, texts
from tests.i18n.conftest import (
    EVERYWHERE,
    SAME_WORDS,
    assert_translated,
    english_fragments,
    english_left,
    english_msgids,
    same_as_english,
    set_locale,
    visible_text,
)
from webapp.extensions import db
from webapp.models import BotMode, TradeReason
from webapp.trades import keyset

SOURCES = (
    "templates/base.html",
    "templating.py",
    "i18n/forms.py",
    "templates/trades/index.html",
    "templates/bots/_macros.html",
    "trades/filters.py",
    "trades/routes.py",
)
#: French writes a signal as English does.
NAMES = {"alice@example.com", "Trend BTC", "Dip ETH"}
SAME = {"tr": set(), "fr": {"Signal", "Pages"}}
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def allowed(locale: str) -> set[str]:
    return NAMES | SAME[locale]


@pytest.fixture
def user(auth):
    return auth.register_and_login()


@pytest.fixture
def bots(user):
    btc = make_bot(user, None, "Trend BTC")
    eth = make_bot(user, None, "Dip ETH", symbol="ETH/USDT", mode=BotMode.LIVE)
    add_trade(btc, "buy", "0.5", "61234.5", fee="0.25", at=AT)
    add_trade(btc, "sell", "0.5", "62000", pnl="1234.5678", at=AT + DAY, reason=TradeReason.MANUAL)
    add_trade(eth, "buy", "2", "2000", at=AT + DAY - timedelta(hours=1))
    add_trade(eth, "sell", "2", "1900", pnl="-200", at=AT + 2 * DAY, reason=TradeReason.STOP_LOSS)
    return {"btc": btc, "eth": eth}


def refused(client, user, path: str, locale: str) -> str:
    """`path` answered 422 in English and in `locale`, with nothing left in English."""
    set_locale(user, "en")
    english = client.get(path)
    set_locale(user, locale)
    translated = client.get(path)
    assert english.status_code == translated.status_code == 422, path
    page = translated.get_data(as_text=True)
    known = EVERYWHERE | SAME_WORDS[locale] | allowed(locale)
    assert same_as_english(english.get_data(as_text=True), page, known) == [], path
    fragments = english_fragments(english_msgids(*SOURCES), locale)
    assert english_left(page, fragments) == [], path
    return page


EXPECTED = {
    "tr": {
        "intro": "Botlarınızın gerçekleşen tüm işlemleri, en yenisi önce.",
        "count": "4 işlemden 1–4",
        "one": "1 işlemden 1–1",
        "row": "2.03.2026 12:00:00 UTC Trend BTC BTC/USDT satış 0,5 62000 0,1 +1.234,5678 Manuel "
        "kâğıt üzerinde",
        "stop": "Zarar durdur",
        "mode": "kâğıt üzerinde",
        "csv": "CSV indir",
        "empty": "Bu filtrelere uyan işlem yok.",
        # texts() joins text nodes with a space: the full stop after the link stands apart.
        "older_empty": "Bu filtrelere uyan daha eski işlem yok. En yenilere dönün .",
    },
    "fr": {
        "intro": "Toutes les exécutions de vos bots, des plus récentes aux plus anciennes.",
        "count": "1–4 sur 4 transactions",
        "one": "1–1 sur 1 transaction",
        "row": "02/03/2026 12:00:00 UTC Trend BTC BTC/USDT vente 0,5 62000 0,1 "
        "+1 234,5678 Manuel simulation",  # text() folds the narrow no-break space
        "stop": "Stop-loss",
        "mode": "simulation",
        "csv": "Télécharger le CSV",
        "empty": "Aucune transaction ne correspond à ces filtres.",
        "older_empty": "Aucune transaction plus ancienne ne correspond à ces filtres. "
        "Revenir aux plus récentes .",
    },
}


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_trades_list_has_no_english_left(client, user, bots, locale):
    page = assert_translated(client, user, "/trades/", locale, allowed(locale), sources=SOURCES)
    expected = EXPECTED[locale]
    assert expected["intro"] in visible_text(page)
    assert text(page, "trades-count") == expected["count"]
    assert texts(page, "trade-row")[1] == expected["row"]
    assert {"tr": "+1.234,5678", "fr": "+1\N{NARROW NO-BREAK SPACE}234,5678"}[locale] in page
    assert expected["stop"] in texts(page, "trade-row")[0]
    assert expected["mode"] in texts(page, "trade-row")[1]  # the BTC bot trades on paper
    assert expected["mode"] not in texts(page, "trade-row")[0]  # the ETH bot trades live
    assert text(page, "csv-export") == expected["csv"]
    assert {"tr": "Tüm botlar", "fr": "Tous les bots"}[locale] in page
    assert {"tr": "Alışlar ve satışlar", "fr": "Achats et ventes"}[locale] in page


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_filtered_trades_have_no_english_left(client, user, bots, locale):
    path = f"/trades/?bot={bots['btc'].id}&side=sell&from=2026-03-02&to=2026-03-31"
    page = assert_translated(client, user, path, locale, allowed(locale), sources=SOURCES)
    assert text(page, "trades-count") == EXPECTED[locale]["one"]
    assert {"tr": "Satışlar", "fr": "Ventes"}[locale] in page
    # A day typed the way the page writes one is the same filter as the date input's ISO day.
    typed = {"tr": "2.03.2026", "fr": "02/03/2026"}[locale]
    same = client.get(f"/trades/?bot={bots['btc'].id}&side=sell&from={typed}&to=2026-03-31")
    assert same.status_code == 200
    shown = same.get_data(as_text=True)
    assert texts(shown, "trade-row") == texts(page, "trade-row")
    # The date input gets it back as ISO 8601, the only form such an input shows.
    assert 'name="from" value="2026-03-02"' in shown
    csv = f"/trades/export.csv?bot={bots['btc'].id}&side=sell&from=2026-03-02&to=2026-03-31"
    assert f'href="{html.escape(csv)}"' in shown


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_no_trades_and_no_older_trades_have_no_english_left(client, user, locale):
    page = assert_translated(client, user, "/trades/", locale, allowed(locale), sources=SOURCES)
    assert text(page, "no-trades") == EXPECTED[locale]["empty"]
    add_trade(make_bot(user, None, "Trend BTC"), "buy", "1", "100", at=AT)
    past = f"/trades/?after={keyset.encode(keyset.Key(AT - DAY, 1))}"
    page = assert_translated(client, user, past, locale, allowed(locale), sources=SOURCES)
    assert text(page, "no-older-trades") == EXPECTED[locale]["older_empty"]


def link(page: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"[^>]*>([^<]+)</a>', page)
    assert found, rel
    return html.unescape(found.group(1))


def label(page: str, rel: str) -> str:
    return re.search(rf'rel="{rel}"[^>]*>([^<]+)</a>', page).group(1)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_pages_of_trades_have_no_english_left(client, user, locale):
    bulk_trades(make_bot(user, None, "Trend BTC"), 1234)
    set_locale(user, "en")
    second = link(client.get("/trades/").get_data(as_text=True), "next")
    first = assert_translated(client, user, "/trades/", locale, allowed(locale), sources=SOURCES)
    page = assert_translated(client, user, second, locale, allowed(locale), sources=SOURCES)
    assert link(first, "next") == second  # the cursor does not depend on the language
    # text() folds the narrow no-break space French groups thousands with.
    expected = {
        "tr": ("Daha eski →", "← Daha yeni", "⇤ En yeni", "1.234 işlemden 51–100"),
        "fr": (
            "Plus anciennes →",
            "← Plus récentes",
            "⇤ Les plus récentes",
            "51–100 sur 1 234 transactions",
        ),
    }[locale]
    assert (label(page, "next"), label(page, "prev"), label(page, "first")) == expected[:3]
    assert text(page, "trades-count") == expected[3]
    assert {"tr": "1.234", "fr": "1\N{NARROW NO-BREAK SPACE}234"}[locale] in page
    assert {"tr": 'aria-label="Sayfalar"', "fr": 'aria-label="Pages"'}[locale] in page


ERRORS = {
    "tr": {
        "from=yesterday&to=2026-01-01": "Başlangıç tarihi 31.01.2026 biçiminde yazılmalı.",
        "from=2026-03-02&to=2026-03-01": "Bitiş tarihi başlangıç tarihinden önce olamaz.",
        "to=31.02.2026": "Bitiş tarihi 31.01.2026 biçiminde yazılmalı.",
        "side=both": "Yön alış ya da satış olmalı.",
        "after=garbage": "Bu sayfa bağlantısı geçerli değil (kesilmiş ya da değiştirilmiş): "
        "en yeni işlemlerden yeniden başlayın. En yeni işlemler",
    },
    "fr": {
        "from=yesterday&to=2026-01-01": "La date de début doit s’écrire comme 31/01/2026.",
        "from=2026-03-02&to=2026-03-01": "La date de fin ne peut pas précéder la date de début.",
        "to=31/02/2026": "La date de fin doit s’écrire comme 31/01/2026.",
        "side=both": "Le sens doit être achat ou vente.",
        "after=garbage": "Ce lien de page n’est pas valide (tronqué ou modifié) : repartez des "
        "transactions les plus récentes. Transactions les plus récentes",
    },
}


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_filter_errors_have_no_english_left(client, user, bots, locale):
    for query, message in ERRORS[locale].items():
        page = refused(client, user, f"/trades/?{query}", locale)
        assert text(page, "filter-errors") == message, query


AMBIGUOUS = {
    # Another language's layout, where the day and the month fit either order.
    ("tr", "03/04/2026"): "Başlangıç: 03/04/2026 iki türlü okunabilir; günü 31.01.2026 "
    "biçiminde yazın.",
    ("fr", "03.04.2026"): "Date de début : 03.04.2026 peut se lire de deux façons ; écrivez la "
    "date ainsi : 31/01/2026.",
    # A two-digit year: which century, and which end is the year?
    ("tr", "01.02.26"): "Başlangıç: 01.02.26 iki türlü okunabilir; günü 31.01.2026 biçiminde "
    "yazın.",
    ("fr", "01/02/26"): "Date de début : 01/02/26 peut se lire de deux façons ; écrivez la date "
    "ainsi : 31/01/2026.",
}


@pytest.mark.parametrize(("locale", "typed"), list(AMBIGUOUS))
def test_a_day_that_reads_two_ways_is_refused_not_guessed(client, user, bots, locale, typed):
    set_locale(user, locale)
    response = client.get(f"/trades/?from={typed}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text(page, "filter-errors") == AMBIGUOUS[locale, typed]
    assert texts(page, "trade-row") == []
    assert f'name="from" value="{typed}"' in page  # kept as typed, to be corrected
    fragments = english_fragments(english_msgids(*SOURCES), locale)
    assert english_left(page, fragments) == []


@pytest.mark.parametrize(
    ("locale", "typed", "shown"),
    [
        ("tr", "1.3.2026", 4),
        ("tr", "02.03.2026", 3),
        ("fr", "1/3/2026", 4),
        ("fr", "03/03/2026", 1),
        ("fr", " 2026-03-02 ", 3),  # ISO 8601, what a date input sends, in every language
        ("tr", "13/03/2026", None),  # not this language's layout, though it reads one way
        ("fr", "2026/03/01", None),
    ],
)
def test_days_in_the_pages_layout_are_read(client, user, bots, locale, typed, shown):
    set_locale(user, locale)
    response = client.get("/trades/", query_string={"from": typed})
    if shown is None:
        assert response.status_code == 422
        expected = {"tr": "31.01.2026", "fr": "31/01/2026"}[locale]
        assert expected in text(response.get_data(as_text=True), "filter-errors")
    else:
        assert response.status_code == 200
        assert len(texts(response.get_data(as_text=True), "trade-row")) == shown


def test_english_reads_iso_days_only_and_says_so_as_before(client, user, bots):
    for typed in ("01/03/2026", "1.3.2026", "01.02.26"):
        response = client.get("/trades/", query_string={"from": typed})
        assert response.status_code == 422
        message = text(response.get_data(as_text=True), "filter-errors")
        assert message == "From must be a date like 2026-01-31."
    page = client.get("/trades/?from=2026-03-02").get_data(as_text=True)
    assert len(texts(page, "trade-row")) == 3


def test_the_api_reads_iso_days_only_whatever_the_accounts_language(client, user, bots):
    from webapp.tokens import service as tokens

    set_locale(user, "fr")
    _, token = tokens.create_token(user, "script", "read")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    refused_api = client.get("/api/v1/trades?from=02/03/2026", headers=headers)
    assert refused_api.status_code == 422
    assert "From must be a date like 2026-01-31." in refused_api.get_data(as_text=True)
    listed = client.get("/api/v1/trades?from=2026-03-02", headers=headers)
    assert listed.status_code == 200 and len(listed.get_json()["items"]) == 3
