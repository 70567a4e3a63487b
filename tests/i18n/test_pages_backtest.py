"""The backtest pages in Turkish and French: no English left on the list, the form (with its
validation errors), a finished run with its results, runs in progress, a sweep and the bot
page's backtests; numbers typed on the form read in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.backtest.test_hand_checked import CANDLES, settings
from tests.bots.helpers import make_bot
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
from webapp.backtest import engine, routes, service
from webapp.extensions import db
from webapp.models import Backtest, BacktestStatus

LAYOUT = ("templates/base.html", "templating.py", "i18n/forms.py")
TEMPLATES = (
    "templates/backtest/_macros.html",
    "templates/backtest/index.html",
    "templates/backtest/detail.html",
    "templates/backtest/sweep.html",
    "templates/backtest/form.html",
    "templates/backtest/_bot_backtests.html",
)
SOURCES = (*LAYOUT, *TEMPLATES, "backtest/forms.py", "backtest/routes.py", "backtest/service.py")
START = datetime(2026, 1, 5, tzinfo=UTC)
END = datetime(2026, 1, 5, 0, 10, tzinfo=UTC)
SWEEP = "a1b2c3d4e5f6"


#: Shown as they are in every language: market data, the engine's own trade reasons and
#: numbers with units, the dataset name, parameter names and the CSV link.
DATA = {
    "binance",
    "CSV",
    "1m",
    "inf",
    "f" * 64,
    "buy_below=100",
    "sell_above=110",
    "buy_below=100, sell_above=110",
    "fast=5:30:5",
}
#: Words French writes as English does.
FRENCH = {"Stop-loss %", "Take-profit %", "Stop-loss / take-profit", "Backtests · Tradebots"}


def allowed(locale: str, page: str = "") -> set[str]:
    """What may read the same in English: data, plus the trade reasons the engine writes."""
    same = FRENCH if locale == "fr" else set()
    return DATA | same | EVERYWHERE | SAME_WORDS[locale]


def left(html: str, locale: str, data: set[str] = frozenset()) -> list[str]:
    """English msgids of the backtest area left on the page, once `data` (which may contain
    the same words) is taken out. The strategies' names and parameters are translated too."""
    text = visible_text(html)
    for shown in sorted(set(data), key=len, reverse=True):
        text = text.replace(shown, " ")
    found = english_left(text, english_fragments(english_msgids(*SOURCES), locale))
    found = [f for f in found if f not in SAME_WORDS[locale]]
    return [f for f in found if locale != "fr" or f.lower() not in {"backtest", "backtests"}]


def check(client, user, path: str, locale: str, data: set[str] = frozenset()) -> str:
    """Nothing unmarked and no English of the backtest area on `path` in `locale`."""
    page = assert_translated(client, user, path, locale, allowed(locale) | set(data))
    assert left(page, locale, data) == [], path
    return page


def finished(user, **extra) -> Backtest:
    result = engine.run(settings(), CANDLES)
    backtest = service.save(
        user, settings(), "binance", START, END, service.Replay(result, "f" * 64)
    )
    for name, value in extra.items():
        setattr(backtest, name, value)
    db.session.commit()
    return backtest


def going(user, status: BacktestStatus, **extra) -> Backtest:
    backtest = service.create(user, settings(), "binance", START, END)
    backtest.status = status
    for name, value in extra.items():
        setattr(backtest, name, value)
    db.session.commit()
    return backtest


def reasons(backtest: Backtest) -> set[str]:
    """The engine's explanation of each trade (English, written by the engine), and the
    charts' data (the helpers read a script's JSON as text)."""
    return {t["why"] for t in backtest.trades or []} | set(routes._charts(backtest))


@pytest.fixture
def user(auth):
    return auth.register_and_login()


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_list_and_a_finished_backtest_have_no_english_left(client, user, locale):
    empty = check(client, user, "/backtests/", locale)
    assert 'data-testid="no-backtests"' in empty
    done = finished(user)
    listed = check(client, user, "/backtests/", locale)
    assert f'href="/backtests/{done.id}"' in listed
    page = check(client, user, f"/backtests/{done.id}", locale, reasons(done))
    assert 'data-testid="bt-equity-chart"' in page and 'data-testid="bt-trades-table"' in page
    # Figures in the language's decimal separator; the percentage sign where it goes.
    pnl, ret = done.summary["total_pnl"], done.summary["return_pct"]
    assert "." in pnl and "." in ret
    assert f'data-testid="bt-total-pnl">{pnl.replace(".", ",")}<' in page
    shown_ret = f"%{ret.replace('.', ',')}" if locale == "tr" else f"{ret.replace('.', ',')} %"
    assert f'data-testid="bt-return">{shown_ret}<' in page
    text = visible_text(page)
    if locale == "tr":
        assert "Geriye dönük test #" in text and "Toplam kâr/zarar (USDT)" in text
        assert "Bu çalıştırmanın ayarları" in text and "Tamamlandı" in text
    else:
        assert "Backtest n° " in text and "Résultat total (USDT)" in text
        assert "Réglages de cette exécution" in text and "Terminé" in text
    # The polling fragment of the finished run, as HTMX asks for it.
    set_locale(user, locale)
    fragment = client.get(
        f"/backtests/{done.id}", headers={"HX-Request": "true", "HX-Target": "backtest-run"}
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="backtest-run"')
    assert left(fragment, locale, reasons(done)) == []


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_runs_in_progress_and_their_polling_fragments_are_translated(client, user, locale):
    queued = going(user, BacktestStatus.QUEUED)
    fetching = going(user, BacktestStatus.FETCHING, progress=40)
    running = going(user, BacktestStatus.RUNNING, progress=70)
    cancelling = going(user, BacktestStatus.RUNNING, progress=10, cancel_requested=True)
    failed = going(user, BacktestStatus.FAILED, error=service.ABANDONED_MESSAGE, finished_at=START)
    no_candles = going(
        user,
        BacktestStatus.FAILED,
        finished_at=START,
        error=service.NO_CANDLES
        % {"symbol": "BTC/USDT", "timeframe": "1m", "source": "binance",
           "start": "2026-01-05 00:00", "end": "2026-01-05 00:10"},
    )  # fmt: skip
    for backtest in (queued, fetching, running, cancelling, failed, no_candles):
        path = f"/backtests/{backtest.id}"
        page = check(client, user, path, locale)
        fragment = client.get(
            path, headers={"HX-Request": "true", "HX-Target": "backtest-run"}
        ).get_data(as_text=True)
        assert left(fragment, locale) == [], path
        if backtest is running:
            assert 'hx-trigger="every 1s"' in fragment
            expected = (
                "mumların yeniden oynatılan kısmı" if locale == "tr" else "des bougies rejouées"
            )
            assert expected in visible_text(fragment)
        if backtest is failed:
            expected = (
                "Bu geriye dönük testi çalıştıran işlem bitmeden durdu"
                if locale == "tr"
                else "Le worker qui exécutait ce backtest s'est arrêté"
            )
            assert expected in visible_text(page)
        if backtest is no_candles:
            expected = (
                "2026-01-05 00:00 ile 2026-01-05 00:10 arasında binance kaynağından BTC/USDT 1m "
                "mumu yok"
                if locale == "tr"
                else "Aucune bougie BTC/USDT 1m de binance entre 2026-01-05 00:00 et 2026-01-05"
            )
            assert expected in visible_text(page)
    check(client, user, "/backtests/", locale)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_cancel_answers_and_flashes_in_the_language(client, user, locale):
    done = finished(user)
    queued = going(user, BacktestStatus.QUEUED)
    set_locale(user, locale)
    answer = client.post(f"/backtests/{done.id}/cancel", follow_redirects=True)
    expected = (
        "Bu geriye dönük test zaten tamamlandı."
        if locale == "tr"
        else "Ce backtest est déjà terminé."
    )
    assert expected in visible_text(answer.get_data(as_text=True))
    fragment = client.post(
        f"/backtests/{queued.id}/cancel",
        headers={"HX-Request": "true", "HX-Target": "backtest-run"},
    ).get_data(as_text=True)
    cancelled = "Başlamadan önce iptal edildi." if locale == "tr" else "Annulé avant de commencer."
    assert cancelled in visible_text(fragment)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_a_sweep_in_progress_and_finished_is_translated(client, user, locale):
    runs = [
        finished(user, sweep=SWEEP, segment="in"),
        finished(user, sweep=SWEEP, segment="out"),
        going(user, BacktestStatus.QUEUED, sweep=SWEEP, segment="in"),
    ]
    path = f"/backtests/sweeps/{SWEEP}"
    page = check(client, user, path, locale)
    text = visible_text(page)
    if locale == "tr":
        assert "3 geriye dönük test, 1 tanesi sürüyor" in text and "Parametre taraması" in text
    else:
        assert "3 backtests, 1 encore en cours" in text and "Balayage de paramètres" in text
    fragment = client.get(
        path, headers={"HX-Request": "true", "HX-Target": "sweep-results"}
    ).get_data(as_text=True)
    assert "hx-trigger" in fragment
    assert left(fragment, locale) == []
    runs[2].status = BacktestStatus.CANCELLED
    runs[2].error = service.CANCELLED_EARLY
    db.session.commit()
    check(client, user, f"{path}?sort=max_drawdown", locale)
    # A run of the sweep names its segment and links back.
    check(client, user, f"/backtests/{runs[0].id}", locale, reasons(runs[0]))


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_bot_pages_backtests_are_translated(client, user, locale):
    bot = make_bot(user, None, "Trend BTC")
    finished(user, bot_id=bot.id)
    set_locale(user, "en")
    english = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    set_locale(user, locale)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)

    def section(html: str) -> str:
        start = html.index('<section class="bot-backtests"')
        return html[start : html.index("</section>", start)]

    assert same_as_english(section(english), section(page), allowed(locale)) == []
    assert left(section(page), locale) == []


def post_form(client, user, locale: str, data: dict):
    set_locale(user, locale)
    return client.post("/backtests/new", data=data)


FORM = {
    "symbol": "",
    "timeframe": "7m",
    "strategy": "threshold",
    "param_buy_below": "100",
    "param_sell_above": "110",
    "quote_amount": "100",
    "start": "2026-01-05",
    "end": "2026-01-06",
    "exit_model": "intrabar",
}


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_form_and_its_errors_have_no_english_left(client, user, locale):
    page = check(client, user, "/backtests/new", locale)
    assert 'value="0,1"' in page  # the default fee, as the language writes it
    cases = [
        FORM,  # no symbol, an unknown timeframe
        {**FORM, "symbol": "BTC/USDT", "start": "05/01/2026"},  # a date that is not ISO
        {**FORM, "symbol": "BTC/USDT", "start": "2026-01-07"},  # from after to
        {**FORM, "quote_amount": "1.5", "fee_rate": "0,1.2"},  # numbers not in the language
        {**FORM, "grid": "speed=3;4"},  # not a parameter of the strategy
        {**FORM, "grid": "buy_below=1:2:1", "oos": "150%"},  # out of sample out of range
        {**FORM, "oos": "30%"},  # out of sample without a sweep
    ]
    for data in cases:
        english = post_form(client, user, "en", {**data, **english_numbers(data)})
        translated = post_form(client, user, locale, data)
        assert translated.status_code == 422, data
        html = translated.get_data(as_text=True)
        assert left(html, locale) == [], data
        typed = {v for v in data.values() if v}
        same = same_as_english(english.get_data(as_text=True), html, allowed(locale) | typed)
        assert same == [], (data, same)
    assert db.session.scalars(sa.select(Backtest)).all() == []

    errors = visible_text(post_form(client, user, locale, FORM).get_data(as_text=True))
    if locale == "tr":
        assert "Sembol gereklidir." in errors and "Zaman dilimi şunlardan biri olmalıdır" in errors
    else:
        assert "Le symbole est obligatoire." in errors
        assert "L'unité de temps doit être l'une de" in errors


def english_numbers(data: dict) -> dict:
    """The same wrong numbers on the English page (there `1.5` is right: keep it wrong)."""
    return {"quote_amount": "1,5"} if data.get("quote_amount") == "1.5" else {}


def test_a_turkish_form_reads_1_5_as_one_and_a_half_and_refuses_1_point_5(client, user):
    data = {**FORM, "timeframe": "1m", "quote_amount": "1,5"}  # no symbol: no market asked
    refused = post_form(client, user, "tr", {**data, "quote_amount": "1.5"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    errors = html[html.index('id="quote_amount-errors"') :]
    assert "Write numbers as" not in errors[: errors.index("</small>")]
    assert "1.234,5" in errors[: errors.index("</small>")]
    assert 'value="1.5"' in html  # what was typed is given back as it was
    assert db.session.scalars(sa.select(Backtest)).all() == []

    # Read as 1.5 the form goes on to check the market; the amount itself is not refused.
    read = post_form(client, user, "tr", {**data, "fee_rate": "0,25", "slippage_bps": "2,5"})
    html = read.get_data(as_text=True)
    for name in ("quote_amount", "fee_rate", "slippage_bps"):
        assert f'id="{name}-errors"' not in html, name
    fields = _form_fields(client, user, {**data, "fee_rate": "0,25", "stop_loss_pct": "2,5"})
    assert fields["quote_amount"] == "1.5" and fields["fee_rate"] == "0.25"
    assert fields["stop_loss_pct"] == "2.5"


def _form_fields(client, user, data: dict) -> dict:
    """What the form hands the service, read on a Turkish page."""
    from webapp.backtest.forms import BacktestForm

    set_locale(user, "tr")
    with client.application.test_request_context("/backtests/new", method="POST", data=data):
        from flask_login import login_user

        login_user(user)
        form = BacktestForm()
        return form.settings_fields()


def test_a_turkish_sweep_reads_its_numbers_in_turkish(client, user):
    from webapp.backtest.forms import BacktestForm

    set_locale(user, "tr")
    data = {"grid": "buy_below=99,5:100,5:0,5\r\nsell_above=110;120,5", "oos": "%30"}
    with client.application.test_request_context("/backtests/new", method="POST", data=data):
        from flask_login import login_user

        login_user(user)
        form = BacktestForm()
        assert form.canonical_grid() == ["buy_below=99.5:100.5:0.5", "sell_above=110,120.5"]
        assert form.canonical_oos() == "30%"
        assert service.parse_grid(form.canonical_grid()) == {
            "buy_below": ["99.5", "100", "100.5"],
            "sell_above": ["110", "120.5"],
        }
    with client.application.test_request_context(
        "/backtests/new", method="POST", data={"grid": "buy_below=1.5:2:1"}
    ):
        login_user(user)
        with pytest.raises(service.SettingsError) as refused:
            BacktestForm().canonical_grid()
        assert "1.234,5" in refused.value.errors["grid"]
