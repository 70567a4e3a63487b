"""The bot form in Turkish and French: the new-bot and edit forms, with every kind of error
the service finds shown on its field, the strategy's parameter fields swapped in, and the
message after saving. The JSON API keeps its English messages (tests/api)."""

# ruff: noqa: F811 (the bot tests' fixtures, imported by name, are the tests' arguments)

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import url_for
from flask_babel import force_locale

from tests.bots.conftest import alice, sim_app, sim_key, sim_server  # noqa: F401 (fixtures)
from tests.bots.helpers import make_bot, make_key
from tests.bots.test_bot_form import FORM, bots, form_data
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
from webapp.bots.forms import BotForm
from webapp.engine.validation import NAME_TAKEN
from webapp.models import BotStatus

LAYOUT = ("templates/base.html", "templating.py", "i18n/forms.py")
SOURCES = (
    *LAYOUT,
    "templates/bots/form.html",
    "templates/bots/_params.html",
    "bots/forms.py",
    "bots/routes.py",
    "strategies/base.py",
    "strategies/ema_cross.py",
    "strategies/threshold.py",
    "engine/validation.py",
    "engine/errors.py",
)
#: The same in every language: the key's name and masked key, timeframes, the user's email,
#: the bot's name, and a title made of a word French spells as English does.
DATA = {
    "alice@example.com",
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "Trend BTC",
    "NOPE/USDT",
}


#: Words French writes as English does.
FRENCH = {"Stop-loss %", "Take-profit %"}


def allowed(locale: str, *more: str) -> set[str]:
    same = FRENCH if locale == "fr" else set()
    return DATA | EVERYWHERE | SAME_WORDS[locale] | same | set(more)


def key_label(api_key) -> str:
    return f"Sim · Binance {api_key.masked_key}"


def posted_in_both(client, user, path: str, data: dict, locale: str, allow: set[str]) -> str:
    """POST the same form in English and in `locale`; fail naming any text left in English.
    Returns the translated answer (the form with its errors)."""
    set_locale(user, "en")
    english = client.post(path, data=data, headers=FORM)
    set_locale(user, locale)
    translated = client.post(path, data=data, headers=FORM)
    assert english.status_code == translated.status_code == 422, translated.get_data(as_text=True)
    page = translated.get_data(as_text=True)
    same = same_as_english(english.get_data(as_text=True), page, allow)
    assert same == [], f"{path} ({locale}): text not translated: {same}"
    left = english_left(page, english_fragments(english_msgids(*SOURCES), locale))
    assert left == [], f"{path} ({locale}): English left: {left}"
    return visible_text(page)


EXPECTED = {
    "tr": {
        "label": "Döngü aralığı (saniye)",
        "strategy": "EMA kesişimi",
        "interval": "Döngü aralığı en az 10 saniye olmalıdır.",
        "param": "Yavaş EMA periyodu en az 3 olmalıdır.",
        "amount": "Emir büyüklüğü bir sayı olmalıdır.",
        "symbol": "Binance borsasında NOPE/USDT spot piyasası yok.",
        "nothing": (
            "Bazı ayarların düzeltilmesi gerekiyor (aşağıya bakın). Hiçbir şey kaydedilmedi."
        ),
        "created": "“Trend BTC” botu oluşturuldu. Hazır olduğunuzda başlatın.",
        "saved": "“Trend BTC” botu kaydedildi.",
        "threshold": "Altında al",
        "sell_above": "“Üstünde sat”, “Altında al” değerinden (50000) büyük olmalıdır.",
    },
    "fr": {
        "label": "Intervalle entre cycles (secondes)",
        "strategy": "Croisement d'EMA",
        "interval": "L'intervalle entre cycles doit être d'au moins 10 secondes.",
        "param": "La valeur de « Période de l'EMA lente » doit être d'au moins 3.",
        "amount": "La valeur de « Taille d'ordre » doit être un nombre.",
        "symbol": "Binance n'a pas de marché spot NOPE/USDT.",
        "nothing": "Certains réglages sont à revoir (voir ci-dessous). Rien n'a été enregistré.",
        "created": "Bot « Trend BTC » créé. Démarrez-le quand vous le souhaitez.",
        "saved": "Bot « Trend BTC » enregistré.",
        "threshold": "Acheter en dessous de",
        "sell_above": (
            "« Vendre au-dessus de » doit être supérieur à « Acheter en dessous de » (50000)."
        ),
    },
}


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_new_bot_form_has_no_english_left(client, alice, sim_key, locale):
    page = assert_translated(
        client, alice, "/bots/new", locale, allowed(locale, key_label(sim_key)), sources=SOURCES
    )
    text = visible_text(page)
    for expected in ("label", "strategy"):
        assert EXPECTED[locale][expected] in text
    # English is untouched.
    set_locale(alice, "en")
    english = client.get("/bots/new").get_data(as_text=True)
    assert "Cycle interval (seconds)" in english and ">EMA crossover</option>" in english


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_form_without_a_key_says_where_to_add_one(client, auth, locale):
    user = auth.register_and_login("carol@example.com")
    make_key(user, "Broken", valid=False)
    page = assert_translated(
        client, user, "/bots/new", locale, allowed(locale, "carol@example.com"), sources=SOURCES
    )
    assert 'data-testid="no-keys"' in page and 'href="/keys/"' in page


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_errors_show_in_the_language_on_their_fields(client, alice, sim_key, locale):
    data = form_data(
        sim_key,
        name="",
        symbol="NOPE/USDT",
        interval_seconds="5",
        param_slow="2",
        quote_amount="lots",
        stop_loss_pct="-1",
        take_profit_pct="100000",
        daily_profit_target="1" + "0" * 20,
    )
    text = posted_in_both(
        client, alice, "/bots/new", data, locale, allowed(locale, key_label(sim_key))
    )
    for expected in ("interval", "param", "amount", "symbol", "nothing"):
        assert EXPECTED[locale][expected] in text
    assert bots() == []


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_cross_field_and_market_errors_are_translated(client, alice, sim_key, locale):
    make_bot(alice, sim_key, "Trend BTC")
    data = form_data(
        sim_key,
        strategy="threshold",
        param_buy_below="50000",
        param_sell_above="40000",
        symbol="BTCUSDT",
        daily_loss_limit="0,1234567890123",
    )
    allow = allowed(locale, key_label(sim_key))
    text = posted_in_both(client, alice, "/bots/new", data, locale, allow)
    assert EXPECTED[locale]["sell_above"] in text
    assert {
        "tr": "Sembolü TEMEL/KOTE biçiminde yazın. Bunu mu demek istediniz: BTC/USDT?",
        "fr": "Écrivez le symbole sous la forme BASE/COTATION. Vouliez-vous dire BTC/USDT ?",
    }[locale] in text
    assert {
        "tr": "Bu adda bir botunuz zaten var; başka bir ad seçin.",
        "fr": "Vous avez déjà un bot avec ce nom ; choisissez-en un autre.",
    }[locale] in text
    assert {
        "tr": "Günlük zarar sınırı çok fazla ondalık basamak içeriyor (en fazla 12).",
        "fr": "La valeur de « Limite de perte journalière » a trop de décimales (12 au maximum).",
    }[locale] in text

    data = form_data(sim_key, name="Small", quote_amount="1")
    text = posted_in_both(client, alice, "/bots/new", data, locale, allow)
    assert {
        "tr": "Binance borsasında BTC/USDT için emir büyüklüğü en az 5 USDT olmalıdır.",
        "fr": "Sur Binance, la taille d'ordre pour BTC/USDT doit être d'au moins 5 USDT.",
    }[locale] in text


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_a_number_written_the_english_way_is_refused_in_the_language(
    client, alice, sim_key, locale
):
    text = posted_in_both(
        client,
        alice,
        "/bots/new",
        form_data(sim_key, quote_amount="1.5"),
        locale,
        allowed(locale, key_label(sim_key)),
    )
    assert EXPECTED[locale]["nothing"] in text
    assert bots() == []


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_creating_a_bot_says_so_in_the_language(client, alice, sim_key, locale):
    set_locale(alice, locale)
    response = client.post("/bots/new", data=form_data(sim_key, quote_amount="10,5"), headers=FORM)
    assert response.status_code == 200, response.get_data(as_text=True)
    [bot] = bots()
    assert bot.quote_amount == Decimal("10.5")
    page = visible_text(client.get(response.headers["HX-Location"]).get_data(as_text=True))
    assert EXPECTED[locale]["created"] in page


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_edit_form_has_no_english_left_and_saving_says_so(client, alice, sim_key, locale):
    bot = make_bot(
        alice,
        sim_key,
        "Trend BTC",
        status=BotStatus.RUNNING,
        params={"fast": 4, "slow": 11},
        take_profit_pct=Decimal("2.5"),
        stop_loss_pct=Decimal("1.25"),
    )
    path = f"/bots/{bot.id}/edit"
    page = assert_translated(
        client, alice, path, locale, allowed(locale, key_label(sim_key)), sources=SOURCES
    )
    text = visible_text(page)
    assert {
        "tr": "Bu bot çalışıyor: değişiklikler bir sonraki döngüsünde geçerli olur.",
        "fr": "Ce bot est en marche : les modifications prennent effet à son prochain cycle.",
    }[locale] in text
    assert 'value="1,25"' in page  # a stored number in the language's own writing

    data = form_data(sim_key, take_profit_pct="3,5", stop_loss_pct="1,25", param_fast="5")
    data["param_slow"] = "4"
    text = posted_in_both(client, alice, path, data, locale, allowed(locale, key_label(sim_key)))
    assert {
        "tr": "Yavaş EMA periyodu, hızlı EMA periyodundan (5) büyük olmalıdır.",
        "fr": "La période de l'EMA lente doit être supérieure à celle de l'EMA rapide (5).",
    }[locale] in text

    response = client.post(path, data=form_data(sim_key, take_profit_pct="3,5"), headers=FORM)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = visible_text(client.get(response.headers["HX-Location"]).get_data(as_text=True))
    assert EXPECTED[locale]["saved"] in page


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_strategy_fields_swap_in_translated(app, client, alice, locale):
    with app.test_request_context():
        path = url_for("bots.strategy_fields", strategy="threshold")
    set_locale(alice, "en")
    english = client.get(path, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Buy below" in english
    set_locale(alice, locale)
    translated = client.get(path, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert same_as_english(english, translated, allowed(locale)) == []
    assert english_left(translated, english_fragments(english_msgids(*SOURCES), locale)) == []
    assert EXPECTED[locale]["threshold"] in visible_text(translated)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_a_name_taken_at_the_last_moment_reads_in_the_language(app, locale):
    """The service answers a name another request took between validation and insert with
    an English constant (tests/served/test_concurrent_edits.py); the form translates it."""
    with app.test_request_context(), force_locale(locale):
        form = BotForm(formdata=None)
        form.set_errors({"name": NAME_TAKEN})
        assert form.name.errors == [
            {
                "tr": "Bu adda bir botunuz zaten var; başka bir ad seçin.",
                "fr": "Vous avez déjà un bot avec ce nom ; choisissez-en un autre.",
            }[locale]
        ]
