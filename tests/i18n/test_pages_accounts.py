"""The account pages in Turkish and French: exchange keys (with their HTMX fragments), API
tokens, the security area (two-factor, sessions, activity, re-authentication, your data, the
admin's audit log and kill switch) and the API reference's page. No English is left but names,
symbols and user data; audit lines stored in English read in the reader's language; an English
reader still reads English."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_file

from tests.bots.helpers import make_key, text
from tests.conftest import PASSWORD
from tests.i18n.conftest import (
    EVERYWHERE,
    SAME_WORDS,
    WEBAPP,
    english_fragments,
    english_left,
    english_msgids,
    same_as_english,
    set_locale,
    visible_text,
)
from tests.keys.conftest import (  # noqa: F401 (fixtures)
    API_KEY,
    API_SECRET,
    OTHER_KEY,
    OTHER_SECRET,
    WRONG_SECRET,
    running_bot,
    sim_app,
    sim_server,
)
from tests.security.conftest import TwoFactor, code_for
from webapp.exchange.errors import KeyRejected, PermissionMissing
from webapp.extensions import db
from webapp.keys import service as keys
from webapp.models import ApiKey, ApiToken
from webapp.models.types import utcnow
from webapp.security import audit
from webapp.security.audit import AuditAction
from webapp.tokens import service as tokens

LAYOUT = ("templates/base.html", "templating.py", "i18n/forms.py", "templates/_forms.html")
KEYS = (
    "templates/keys/index.html",
    "templates/keys/_row.html",
    "templates/keys/_deleted.html",
    "keys/forms.py",
    "keys/routes.py",
    "keys/service.py",
    "exchange/errors.py",
)
TOKENS = ("templates/tokens/index.html", "tokens/forms.py", "tokens/routes.py", "tokens/service.py")
SECURITY = (
    "templates/security/index.html",
    "templates/security/_events.html",
    "templates/security/activity.html",
    "templates/security/admin_audit.html",
    "templates/security/admin_trading.html",
    "templates/security/confirm.html",
    "templates/security/login_code.html",
    "templates/security/recovery_codes.html",
    "templates/security/sessions.html",
    "templates/security/setup.html",
    "templates/security/your_data.html",
    "security/forms.py",
    "security/routes.py",
    "security/errors.py",
    "security/twofactor.py",
    "security/reauth.py",
    "security/sessions.py",
    "security/audit_text.py",
    "security/account.py",
)
SOURCES = (*LAYOUT, *KEYS, *TOKENS, *SECURITY, "templates/api/docs.html")
#: WTForms' own messages for the validators these forms use (WTForms ships their catalogs).
WTFORMS_ENGLISH = {"This field is required.", "Field cannot be longer than"}
#: User data and names the pages show as they are.
DATA = {
    "alice@example.com",
    "root@example.com",
    "bob@example.com",
    "127.0.0.1",
    "Main",
    "Spare",
    "Paper",
    "Grafana",
    "ci",
    "Trend BTC",
    "openapi.json",
    "testnet",  # the exchange's own name for its test network
    "Binance",
    "Authorization: Bearer tb_…",
    "JSON API",
    "****wxyz",
    *(action.value for action in AuditAction),  # the codes the admin filters by
}
#: Words French writes as English does (on top of the layout's SAME_WORDS).
FRENCH = {"Portées", "Jeton", "Sessions · Tradebots"}
#: English words of these pages that the language also writes (in its own sentences).
ALSO = {
    "tr": {"bot", "Bot"},
    "fr": {
        "bot",
        "Bot",
        "session",
        "Sessions",
        "Export",
        "Action",
        "Pages",
        "Page",
        "Token",
        "Trading",
    },
}


def allowed(locale: str, *extra: str) -> set[str]:
    return DATA | EVERYWHERE | SAME_WORDS[locale] | set(extra)


def english_of(html: str, locale: str, data: set[str] = frozenset()) -> list[str]:
    """English of these pages (and WTForms' messages) left in `html`, once `data` (which may
    hold English words, a bot's name) is taken out."""
    shown = visible_text(html)
    for item in sorted(set(data) | DATA, key=len, reverse=True):
        shown = shown.replace(item, " ")
    fragments = english_fragments(msgids(), locale) | WTFORMS_ENGLISH
    return [f for f in english_left(shown, fragments) if f not in ALSO[locale]]


def msgids() -> set[str]:
    """The msgids of these pages, with the messages stored in English and marked N_()."""
    found = english_msgids(*SOURCES)
    for source in SOURCES:
        path = WEBAPP / source
        method = "jinja2" if path.suffix == ".html" else "python"
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords={"N_": None}
        ):
            found.add(message)
    return found


def both(client, user, locale: str, request, data: set[str] = frozenset()) -> str:
    """`request(client)` in English, then in `locale`: fail naming any text left the same
    (nothing marked) or any English of these pages; returns the translated answer."""
    set_locale(user, "en")
    english = request(client)
    set_locale(user, locale)
    translated = request(client)
    assert english.status_code == translated.status_code
    page = translated.get_data(as_text=True)
    extra = FRENCH if locale == "fr" else set()
    same = same_as_english(english.get_data(as_text=True), page, allowed(locale, *data, *extra))
    assert same == [], f"({locale}) text not translated: {same}"
    assert english_of(page, locale, data) == [], locale
    return page


def get(path: str, **kwargs):
    return lambda client: client.get(path, **kwargs)


def post(path: str, **kwargs):
    return lambda client: client.post(path, **kwargs)


@pytest.fixture
def user(auth):
    return auth.register_and_login()


@pytest.fixture
def admin(auth):
    return auth.register_and_login("root@example.com", admin=True)


def key_form(label="Main", key=API_KEY, secret=API_SECRET) -> dict:
    return {"exchange": "binance", "label": label, "api_key": key, "api_secret": secret}


def test_the_english_lists_are_not_empty():
    assert {"Exchange API keys", "Create a token", "Two-factor sign-in", "Audit log"} <= msgids()
    assert "Re-check" in english_fragments(msgids(), "tr")
    assert "The exchange rejected this API key or secret." in msgids()


# --- Exchange keys --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_keys_page_and_its_fragments_are_translated(
    client,
    user,
    locale,
    sim_app,  # noqa: F811
    sim_server,  # noqa: F811
):
    empty = both(client, user, locale, get("/keys/"))
    assert 'data-testid="use-demo"' in empty
    main = make_key(user, "Main")
    main.testnet, main.can_trade, main.ip_restricted = True, False, False
    main.last_validated_at = utcnow()
    spare = make_key(user, "Spare", valid=False)
    spare.last_error = KeyRejected.message
    spare.last_validated_at = utcnow()
    db.session.commit()
    page = both(client, user, locale, get("/keys/"), {"****wxyz"})
    shown = visible_text(page)
    if locale == "tr":
        assert "Borsa API anahtarları" in shown and "Yeniden doğrula" in shown
        assert "Borsa bu API anahtarını veya gizli anahtarı reddetti." in shown
        assert "“Main” anahtarı silinsin mi?" in page
    else:
        assert "Clés d'API des plateformes" in shown and "Revérifier" in shown
        assert "La plateforme a refusé cette clé d'API ou ce secret." in shown
        assert "Supprimer la clé « Main » ?" in page

    # The form's validation errors, in place (HTMX) and in a whole page.
    htmx = {"HX-Request": "true", "HX-Target": "key-form"}
    errors = both(client, user, locale, post("/keys/", data={"exchange": "binance"}, headers=htmx))
    assert errors.count("field-errors") == 3 and 'aria-invalid="true"' in errors
    taken = both(client, user, locale, post("/keys/", data=key_form("Main"), headers=htmx))
    expected = (
        "Bu adda bir anahtarınız zaten var"
        if locale == "tr"
        else "Vous avez déjà une clé avec ce libellé"
    )
    assert expected in visible_text(taken)
    odd = both(client, user, locale, post("/keys/", data=key_form("X", key="clé é"), headers=htmx))
    expected = "Bir API anahtarı yalnızca" if locale == "tr" else "Une clé d'API ne contient"
    assert expected in visible_text(odd)
    rejected = both(client, user, locale, post("/keys/", data=key_form("New", secret=WRONG_SECRET)))
    assert ("Hiçbir şey kaydedilmedi." if locale == "tr" else "Rien n'a été enregistré.") in (
        visible_text(rejected)
    )

    # A key added in place: the form, the new row and the message.
    set_locale(user, locale)
    added = client.post("/keys/", data=key_form("Fresh"), headers=htmx).get_data(as_text=True)
    assert english_of(added, locale, {"Fresh"}) == []
    assert (
        "“Fresh” anahtarı borsada doğrulandı ve kaydedildi."
        if locale == "tr"
        else "Clé « Fresh » vérifiée auprès de la plateforme et enregistrée."
    ) in added
    fresh = db.session.scalar(sa.select(ApiKey).where(ApiKey.label == "Fresh"))

    # "Re-check": the row alone, rejected by the exchange.
    row = {"HX-Request": "true", "HX-Target": f"key-{fresh.id}"}
    sim_server.sim.remove_account(API_KEY)
    recheck = post(f"/keys/{fresh.id}/validate", headers=row)
    fragment = both(client, user, locale, recheck, {"Fresh", fresh.masked_key})
    assert fragment.lstrip().startswith(f'<tr id="key-{fresh.id}"')

    # Deleting in place: the fragment that replaces the row, with the bots it stopped.
    running_bot(user, main, "Trend BTC")
    deleted = client.delete(f"/keys/{main.id}", headers={"HX-Request": "true"})
    body = deleted.get_data(as_text=True)
    assert english_of(body, locale) == []
    assert (
        "“Main” anahtarı silindi. Onu kullanan 1 bot durduruldu."
        if locale == "tr"
        else "Clé « Main » supprimée. 1 bot qui l'utilisait a été arrêté."
    ) in visible_text(body)
    # And without HTMX: the flash on the page.
    client.post(f"/keys/{spare.id}/delete")
    page = client.get("/keys/").get_data(as_text=True)
    assert ("“Spare” anahtarı silindi." if locale == "tr" else "Clé « Spare » supprimée.") in page


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_a_rechecked_key_flashes_in_the_language(
    client,
    user,
    locale,
    sim_app,  # noqa: F811
    sim_server,  # noqa: F811
):
    set_locale(user, locale)
    client.post("/keys/", data=key_form("Main"))
    [api_key] = db.session.scalars(sa.select(ApiKey)).all()
    client.post(f"/keys/{api_key.id}/validate")
    page = client.get("/keys/").get_data(as_text=True)
    assert ("“Main” anahtarı geçerli." if locale == "tr" else "La clé « Main » est valide.") in page
    sim_server.sim.remove_account(API_KEY)
    client.post(f"/keys/{api_key.id}/validate")
    page = client.get("/keys/").get_data(as_text=True)
    assert english_of(page, locale, {api_key.masked_key}) == []
    assert (
        "“Main” anahtarı: Borsa bu API anahtarını"
        if locale == "tr"
        else "Clé « Main » : La plateforme a refusé cette clé"
    ) in visible_text(page)


def test_stored_exchange_errors_read_in_the_language(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert keys.error_text(PermissionMissing.message).startswith("La plateforme a refusé")
        assert keys.error_text("Something only the engine says.") == (
            "Something only the engine says."
        )
        assert keys.error_text(None) == ""


# --- API tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_tokens_page_is_translated(client, user, locale):
    empty = both(client, user, locale, get("/tokens/"))
    assert 'id="tokens-empty"' in empty
    now = utcnow()
    active, _text = tokens.create_token(user, "Grafana", "read,trade", 90)
    active.last_used_at, active.last_used_ip = now, "127.0.0.1"
    old, _text = tokens.create_token(user, "ci", "read", 30, now=now - timedelta(days=40))
    gone, _text = tokens.create_token(user, "Paper", "trade", None)
    gone.revoked_at = now
    db.session.commit()
    prefixes = {f"{t.prefix}…" for t in (active, old, gone)}
    page = both(client, user, locale, get("/tokens/"), prefixes)
    shown = visible_text(page)
    if locale == "tr":
        assert "okuma, işlem" in shown and "iptal edildi" in shown and "süresi doldu" in shown
        assert "127.0.0.1 adresinden" in shown and "90 gün" in shown
    else:
        assert "lecture, trading" in shown and "révoqué" in shown and "expiré" in shown
        assert "depuis 127.0.0.1" in shown and "90 jours" in shown

    # The form's errors: no name, no scope, a lifetime not offered.
    bad = {"name": "", "scopes": ["read"], "expires": "30"}
    errors = both(client, user, locale, post("/tokens/", data=bad), prefixes)
    expected = "Belirtece bir ad verin" if locale == "tr" else "Donnez un nom au jeton"
    assert expected in visible_text(errors)
    no_scope = {"name": "x", "expires": "30"}
    errors = both(client, user, locale, post("/tokens/", data=no_scope), prefixes)
    expected = "En az bir kapsam seçin" if locale == "tr" else "Choisissez au moins une portée"
    assert expected in visible_text(errors)
    odd_days = {"name": "x", "scopes": ["read"], "expires": "7"}
    errors = both(client, user, locale, post("/tokens/", data=odd_days), prefixes)
    expected = "30, 90 veya 365 gün" if locale == "tr" else "Choisissez 30, 90 ou 365 jours"
    assert expected in visible_text(errors)

    # A token made: shown once, in the language; then revoked with a flash.
    made = client.post("/tokens/", data={"name": "New", "scopes": ["read"], "expires": "never"})
    body = made.get_data(as_text=True)
    token = text(body, "token-value")
    assert english_of(body, locale, prefixes | {"New", token, f"{token[:11]}…"}) == []
    assert ("“New” belirteci oluşturuldu." if locale == "tr" else "Jeton « New » créé.") in body
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "New"))
    client.post(f"/tokens/{row.id}/revoke")
    page = client.get("/tokens/").get_data(as_text=True)
    assert (
        f"“New” belirteci ({row.prefix}…) iptal edildi: artık çalışmıyor."
        if locale == "tr"
        else f"Jeton « New » ({row.prefix}…) révoqué : il ne fonctionne plus."
    ) in page


# --- Security -------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_security_pages_and_two_factor_are_translated(client, auth, user, locale):
    page = both(client, user, locale, get("/security/"))
    assert ("İki adımlı girişi aç" if locale == "tr" else "Activer la connexion") in page
    # The password and email forms' errors.
    wrong = {"current_password": "nope", "password": "x" * 12, "password2": "x" * 12}
    errors = both(client, user, locale, post("/security/password", data=wrong))
    expected = "Bu sizin mevcut parolanız değil." if locale == "tr" else "Ce n'est pas votre mot"
    assert expected in visible_text(errors)
    both(client, user, locale, post("/security/email", data={"email": "not-an-email"}))
    same = both(client, user, locale, post("/security/email", data={"email": user.email}))
    expected = "Bu zaten sizin e-postanız." if locale == "tr" else "C'est déjà votre e-mail."
    assert expected in visible_text(same)

    # Setting two-factor up: the page, a wrong code, the recovery codes.
    secret = text(client.get("/security/2fa/setup").get_data(as_text=True), "totp-secret")
    both(client, user, locale, get("/security/2fa/setup"), {secret})
    both(client, user, locale, post("/security/2fa/setup", data={"code": "000000"}), {secret})
    set_locale(user, locale)
    done = client.post("/security/2fa/setup", data={"code": code_for(secret)})
    body = done.get_data(as_text=True)
    codes = set(text(body, "recovery-codes").split())
    assert english_of(body, locale, codes) == []
    assert ("İki adımlı giriş açık." if locale == "tr" else "est activée.") in body
    on = both(client, user, locale, get("/security/"))
    assert ("10 kurtarma kodu kaldı." if locale == "tr" else "10 codes de secours restants.") in on
    renewed = client.post("/security/2fa/recovery-codes").get_data(as_text=True)
    assert english_of(renewed, locale, set(text(renewed, "recovery-codes").split())) == []
    assert ("önceki kodlar artık çalışmaz" if locale == "tr" else "précédents ne fonct") in renewed

    # Confirming it is you: with a code, and a wrong password.
    TwoFactor(client, auth).make_stale()
    confirm = both(client, user, locale, get("/security/confirm"))
    assert ("iki adımlı doğrulama kodunu" if locale == "tr" else "un code à deux facteurs") in (
        confirm
    )
    wrong = {"password": "wrong-wrong-1", "code": "123456"}
    errors = both(client, user, locale, post("/security/confirm", data=wrong))
    expected = "Bu sizin parolanız değil." if locale == "tr" else "Ce n'est pas votre mot de passe."
    assert expected in visible_text(errors)

    # The second step of signing in, with a wrong code.
    auth.logout()
    auth.login("alice@example.com", PASSWORD)
    # Not signed in yet: the page speaks the browser's language.
    browser = {"Accept-Language": locale}
    code_page = client.get("/security/login/code", headers=browser).get_data(as_text=True)
    assert english_of(code_page, locale) == []
    wrong_code = client.post("/security/login/code", data={"code": "123456"}, headers=browser)
    assert wrong_code.status_code == 422
    body = wrong_code.get_data(as_text=True)
    assert english_of(body, locale) == []
    expected = "Bu kod geçerli değil." if locale == "tr" else "Ce code n'est pas valide."
    assert expected in visible_text(body)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_sessions_activity_and_your_data_are_translated(client, other_client, user, locale):
    other_client.post("/auth/login", data={"email": "alice@example.com", "password": PASSWORD})
    sessions = both(client, user, locale, get("/security/sessions"))
    assert ("bu tarayıcı" if locale == "tr" else "ce navigateur") in sessions
    assert ("Bilinmeyen tarayıcı" if locale == "tr" else "Navigateur inconnu") in sessions

    # Every kind of audit line, stored in English as the code writes it, read translated.
    stored = {
        AuditAction.LOGIN: "Signed in with a recovery code (Mozilla/5.0).",
        AuditAction.LOGIN_FAILED: "Failed sign-in: wrong password.",
        AuditAction.TWO_FACTOR_ENABLED: "Two-factor sign-in turned on.",
        AuditAction.RECOVERY_CODE_USED: "Recovery code used (9 left).",
        AuditAction.PASSWORD_CHANGED: "Password changed on the Security page.",
        AuditAction.EMAIL_CHANGED: "Email changed from bob@example.com.",
        AuditAction.SESSION_REVOKED: "Signed out Firefox on Linux (127.0.0.1).",
        AuditAction.SIGNED_OUT_EVERYWHERE: "Signed out 3 sessions.",
        AuditAction.KEY_ADDED: "API key “Main” (****wxyz) added.",
        AuditAction.KEY_INVALID: f"API key “Main”: {KeyRejected.message}",
        AuditAction.TOKEN_REVOKED: "API token “Grafana” (tb_abcdefgh…) revoked.",
        AuditAction.BOT_STOPPED: "Bot “Trend BTC” (#4) stopped.",
        AuditAction.PHONE_ADDED: "Phone number ending in 42 added.",
        AuditAction.ADMIN: "Kill switch: stopped 1 bots of alice@example.com.",
        AuditAction.ACCOUNT_EXPORTED: "Data export downloaded.",
    }
    for action, description in stored.items():
        audit.record(action, user, description)
    db.session.commit()
    data = {"Mozilla/5.0", "“Main” (****wxyz)", "“Grafana” (tb_abcdefgh…)", "“Trend BTC” (#4)"}
    activity = both(client, user, locale, get("/security/activity"), data)
    shown = visible_text(activity)
    if locale == "tr":
        assert "Kurtarma koduyla giriş yapıldı (Mozilla/5.0)." in shown
        assert "Oturum kapatıldı: Linux üzerinde Firefox (127.0.0.1)." in shown
        assert "3 oturum kapatıldı." in shown and "Kurtarma kodu kullanıldı (9 kaldı)." in shown
        assert "“Main” API anahtarı: Borsa bu API anahtarını" in shown
        assert "Acil durdurma: alice@example.com kullanıcısının 1 botu durduruldu." in shown
    else:
        assert "Connexion avec un code de secours (Mozilla/5.0)." in shown
        assert "Session fermée : Firefox sous Linux (127.0.0.1)." in shown
        assert (
            "3 sessions fermées." in shown and "Code de secours utilisé (il en reste 9)." in shown
        )
        assert "Clé d'API « Main » : La plateforme a refusé" in shown
        assert "Arrêt d'urgence : 1 bot de alice@example.com arrêté." in shown

    your_data = both(client, user, locale, get("/security/data"))
    assert ("Verilerimi indir" if locale == "tr" else "Télécharger mes données") in your_data
    wrong = both(client, user, locale, post("/security/data/delete", data={"email": "x@y.z"}))
    expected = "Bu sizin e-postanız değil." if locale == "tr" else "Ce n'est pas votre e-mail."
    assert expected in visible_text(wrong)

    # Signing out another session, then everywhere: flashes in the language.
    from webapp.security import sessions as user_sessions

    set_locale(user, locale)
    other = max(row.id for row in user_sessions.active_sessions(user))  # other_client's
    client.post(f"/security/sessions/{other}/revoke")
    page = client.get("/security/sessions").get_data(as_text=True)
    assert english_of(page, locale) == []
    assert ("O oturum kapatıldı." if locale == "tr" else "Cette session est fermée.") in page
    answer = client.post("/security/sessions/revoke-all", follow_redirects=True)
    expected = (
        "Her yerde oturum kapatıldı (1 oturum)."
        if locale == "tr"
        else "Déconnecté partout (1 session)."
    )
    assert expected in visible_text(answer.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_admin_audit_log_and_kill_switch_are_translated(client, admin, locale):
    audit.record(AuditAction.ADMIN, None, "Trading halted.", actor=admin)
    db.session.commit()
    log = both(client, admin, locale, get("/security/admin/audit"))
    assert ("İşlemler durduruldu." if locale == "tr" else "Trading suspendu.") in log
    filtered = both(client, admin, locale, get("/security/admin/audit?action=admin"))
    assert "yönetici #" in filtered or "admin n°" in filtered

    trading = both(client, admin, locale, get("/security/admin/trading"))
    assert ("Tüm işlemleri durdur" if locale == "tr" else "Suspendre tout le trading") in trading
    # The checkboxes' errors are shown, in the language.
    unticked = both(client, admin, locale, post("/security/admin/trading/halt", data={"halt": "y"}))
    expected = "Onaylamak için kutuyu işaretleyin." if locale == "tr" else "Cochez la case pour"
    assert expected in visible_text(unticked) and 'aria-invalid="true"' in unticked
    stop = post("/security/admin/trading/stop-all", data={"email": "nobody@example.com"})
    errors = both(client, admin, locale, stop, {"nobody@example.com"})
    assert "this stops bots at once" not in errors
    expected = "bu, botları hemen durdurur" if locale == "tr" else "cela arrête les bots"
    assert expected in visible_text(errors)

    set_locale(admin, locale)
    answer = client.post(
        "/security/admin/trading/stop-all", data={"confirm": "y"}, follow_redirects=True
    )
    body = answer.get_data(as_text=True)
    assert english_of(body, locale) == []
    assert ("0 bot durduruldu." if locale == "tr" else "0 bot arrêté.") in visible_text(body)
    answer = client.post(
        "/security/admin/trading/halt", data={"halt": "y", "confirm": "y"}, follow_redirects=True
    )
    assert ("İşlemler durduruldu." if locale == "tr" else "Le trading est suspendu.") in (
        visible_text(answer.get_data(as_text=True))
    )


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_api_reference_page_is_translated(client, user, locale):
    page = both(client, user, locale, get("/api/docs"))
    assert f'<html lang="{locale}">' in page
    expected = "API belirteçleri" if locale == "tr" else "Jetons d’API"
    assert expected in visible_text(page) and "Authorize" in visible_text(page)


def test_an_english_reader_still_reads_english(client, auth, user, admin):
    set_locale(user, "en")
    auth.logout()
    auth.login()
    make_key(user, "Main")
    audit.record(AuditAction.SIGNED_OUT_EVERYWHERE, user, "Signed out 1 sessions.")
    db.session.commit()
    assert "Exchange API keys" in client.get("/keys/").get_data(as_text=True)
    assert "Create a token" in client.get("/tokens/").get_data(as_text=True)
    assert "Two-factor sign-in" in client.get("/security/").get_data(as_text=True)
    activity = client.get("/security/activity").get_data(as_text=True)
    assert "Signed out 1 session." in activity and "Signed out 1 sessions." not in activity
    assert "Make a token on the" in client.get("/api/docs").get_data(as_text=True)
