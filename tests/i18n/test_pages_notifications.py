"""The notification pages in Turkish and French: channels (in each state of its sections),
what to tell me, history, a notification's page (sent and failed), the Telegram waiting line,
the forms' validation errors and the admin's notifications page. No English left besides
names, addresses and user data (the event kinds' labels and the channels' reasons included:
they are translated too); figures and times as the reader's language writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

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
from webapp.models import NotificationChannel, NotificationStatus, QuietHours
from webapp.models.types import utcnow
from webapp.notify import endpoints, outbox, phones
from webapp.telegram import linking

pytest_plugins = ["tests.notify.fixtures"]  # bot_api: a Telegram bot for this installation

LAYOUT = ("templates/base.html", "templating.py", "i18n/forms.py")
PAGES = ("preferences", "_telegram_waiting", "_notice", "channels", "detail", "_pref_cell")
TEMPLATES = (
    *(f"templates/notifications/{name}.html" for name in (*PAGES, "history", "_tabs")),
    "templates/admin/notifications.html",
    "templates/admin/_check_result.html",
)
SOURCES = (
    *LAYOUT,
    *TEMPLATES,
    "notifications/forms.py",
    "notifications/routes.py",
    "notify/status.py",
    "notify/phones.py",
    "notify/outbox.py",
    "admin/routes.py",
)
ZONE = "Europe/Istanbul"
CREATED = datetime(2026, 3, 31, 21, 30, 5, tzinfo=UTC)  # 1 April, 00:30:05 in Istanbul
#: How each language writes CREATED in Istanbul's zone.
CREATED_SHOWN = {
    "en": "2026-04-01 00:30:05 GMT+03:00",
    "tr": "1.04.2026 00:30:05 GMT+03:00",
    "fr": "01/04/2026 00:30:05 UTC+03:00",
}
HOOK = "https://8.8.8.8/hooks/tradebots"
OTHER_HOOK = "https://8.8.4.4/hooks/other"
PAYLOAD = '{ "bot": "Trend" }'  # a notification's data, as its page shows it
#: Stored in English by the delivery jobs: user data on the pages.
DISABLED_WHY = "the endpoint answered 410 Gone"
LAST_ERROR = "Connection refused by 8.8.8.8"
SMS_OFF = "the provider says the number cannot receive texts"


#: Names, commands and technical words that read the same in every language.
NAMES = {
    "Standard Webhooks",
    "JSON",
    "POST",
    "HTTPS",
    "Redis",
    "SMTP",
    "Telegram (getMe)",
    "flask telegram set-token",
    "flask schedule sync",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    '{"type", "timestamp", "data"}',
    "whsec_••••",
    "Start",
    "UTC",
    "OK",
    "https://example.com/hooks/tradebots",
    "+49 151 23456789",
}


def allowed(user, locale: str, *data: str) -> set[str]:
    names = NAMES | EVERYWHERE | SAME_WORDS[locale]
    return names | {user.email, *data}


def left(html: str, locale: str, data: set[str] = frozenset()) -> list[str]:
    """English msgids of the notification pages left on the page, once the kinds' labels,
    the channels' reasons and `data` are taken out (they may hold the same words: "Test")."""
    text = visible_text(html)
    for shown in sorted(set(data), key=len, reverse=True):
        text = text.replace(shown, " ")
    found = english_left(text, english_fragments(english_msgids(*SOURCES), locale))
    return [f for f in found if not (locale == "tr" and f == "Test")]  # Turkish says "test"


def check(client, user, path: str, locale: str, *data: str) -> str:
    """Nothing unmarked and no English of the notification pages on `path` in `locale`."""
    everything = allowed(user, locale, *data)
    page = assert_translated(client, user, path, locale, everything)
    assert left(page, locale, everything) == [], path
    return page


def in_zone(user) -> None:
    db.session.add(
        QuietHours(
            user_id=user.id,
            enabled=False,
            start_time=datetime(2026, 1, 1, 22).time(),
            end_time=datetime(2026, 1, 1, 7).time(),
            timezone=ZONE,
            updated_at=utcnow(),
        )
    )
    db.session.commit()


def notification(user, kind: str, status: NotificationStatus, **extra):
    row = outbox.add_notification(user.id, kind, NotificationChannel.EMAIL, {"bot": "Trend"})
    row.status = status
    row.created_at = CREATED
    for name, value in extra.items():
        setattr(row, name, value)
    db.session.commit()
    return row


@pytest.fixture
def user(auth):
    user = auth.register_and_login()
    in_zone(user)
    return user


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_channels_page_with_nothing_set_up_is_translated(client, user, locale):
    page = check(client, user, "/notifications/", locale)
    text = visible_text(page)
    if locale == "tr":
        assert "Webhook uç noktaları" in text and "Bana kod gönder" in text
        assert "Bu kurulumda Telegram ayarlanmamış" in text
        assert "Test e-postası gönder" in text
    else:
        assert "Points de terminaison de webhook" in text and "M'envoyer un code" in text
        assert "Telegram n'est pas configuré sur cette installation" in text
        assert "Envoyer un e-mail de test" in text


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_channels_page_with_everything_set_up_is_translated(client, user, bot_api, locale):
    on, _secret = endpoints.create_endpoint(user.id, HOOK, ["bot_error"])
    off, _secret = endpoints.create_endpoint(user.id, OTHER_HOOK, ["trade_executed"])
    endpoints.rotate_secret(on)
    on.consecutive_failures = 2
    on.last_success_at = CREATED
    off.enabled, off.disabled_reason, off.disabled_at = False, DISABLED_WHY, CREATED
    phones.set_number(user.id, "+49 151 23456789")
    db.session.commit()
    shown = phones.display("+4915123456789")
    page = check(client, user, "/notifications/", locale, HOOK, OTHER_HOOK, DISABLED_WHY)
    text = visible_text(page)
    if locale == "tr":
        assert f"Bu uç nokta devre dışı: {DISABLED_WHY}" in text
        assert "Art arda 2 başarısız bildirim" in text
        assert f"{shown} numarasına bir kod gönderdik." in text
    else:
        assert f"Ce point de terminaison est désactivé : {DISABLED_WHY}" in text
        assert "2 notifications en échec d'affilée" in text
        assert f"Nous avons envoyé un code au {shown}." in text
    assert CREATED_SHOWN[locale] in text  # the time the endpoint was turned off

    # Telegram: a code waiting to be used (the answer to "Connect"), then the chat linked;
    # SMS turned off.
    data = (HOOK, OTHER_HOOK, DISABLED_WHY)
    set_locale(user, "en")
    english = client.post("/notifications/telegram/connect").get_data(as_text=True)
    set_locale(user, locale)
    answer = client.post("/notifications/telegram/connect").get_data(as_text=True)
    assert 'data-testid="telegram-waiting"' in answer
    codes = set(re.findall(r"start[= ](\w+)", english + answer))
    links = {f"https://t.me/tradebots_test_bot?start={code}" for code in codes}
    everything = allowed(user, locale, *data, *links, *{f"/start {c}" for c in codes})
    assert left(answer, locale, everything) == []
    assert same_as_english(english, answer, everything) == []
    fragment = check(client, user, "/notifications/telegram/status", locale)
    expected = {"tr": "Telegram'da Start'a basmanız bekleniyor…", "fr": "En attente de votre"}
    assert expected[locale] in visible_text(fragment)
    assert fragment.lstrip().startswith('<p id="telegram-waiting"')

    code = linking.new_code(user.id)
    linking.bind(code.code, 4242, "alice_tg")
    row = phones.number_of(user.id)
    row.disabled_reason = SMS_OFF
    db.session.commit()
    page = check(client, user, "/notifications/", locale, *data, SMS_OFF, "@alice_tg")
    text = visible_text(page)
    if locale == "tr":
        assert "Bağlı" in text and "<strong>@alice_tg</strong>" in page
        assert f"{shown} için SMS kapalı: {SMS_OFF}." in text
    else:
        assert "Connecté" in text and "en tant que <strong>@alice_tg</strong>" in page
        assert f"Les SMS sont désactivés pour {shown} : {SMS_OFF}." in text


WEBHOOK_ERRORS = [
    ({"url": "", "events": []}, None),  # nothing typed, no event chosen
    ({"url": "http://8.8.8.8/hook", "events": ["bot_error"]}, "https"),  # not https
    ({"url": "https://10.0.0.5/hook", "events": ["bot_error"]}, "private"),  # not public
    ({"url": "https://user:pw@8.8.8.8/hook", "events": ["bot_error"]}, None),
]


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_channels_forms_errors_are_translated(client, user, locale):
    for data, _kind in WEBHOOK_ERRORS:
        set_locale(user, "en")
        english = client.post("/notifications/webhooks", data=data)
        set_locale(user, locale)
        translated = client.post("/notifications/webhooks", data=data)
        assert translated.status_code == 422, data
        html = translated.get_data(as_text=True)
        typed = {v for v in data.values() if isinstance(v, str) and v}
        everything = allowed(user, locale, *typed)
        assert left(html, locale, everything) == [], data
        same = same_as_english(english.get_data(as_text=True), html, everything)
        assert same == [], (data, same)
    assert endpoints.endpoints_of(user.id) == []

    errors = {
        kind: visible_text(client.post("/notifications/webhooks", data=data).get_data(as_text=True))
        for data, kind in WEBHOOK_ERRORS
        if kind
    }
    if locale == "tr":
        assert "Webhook URL'leri https:// kullanmalıdır" in errors["https"]
        assert "10.0.0.5 özel bir adres; webhook'lar yalnızca genel" in errors["private"]
    else:
        assert "Les URL de webhook doivent utiliser https://" in errors["https"]
        assert "10.0.0.5 est une adresse privée ; les webhooks" in errors["private"]

    empty = visible_text(
        client.post("/notifications/webhooks", data={"url": ""}).get_data(as_text=True)
    )
    expected = {
        "tr": ("Webhook'ları alacak URL'yi girin.", "Bu uç nokta için en az bir olay seçin."),
        "fr": (
            "Saisissez l'URL qui doit recevoir les webhooks.",
            "Choisissez au moins un événement pour ce point de terminaison.",
        ),
    }[locale]
    assert all(message in empty for message in expected)

    # The phone number and its code.
    for data in ({"phone": ""}, {"phone": "12345"}):
        set_locale(user, "en")
        english = client.post("/notifications/sms/number", data=data)
        set_locale(user, locale)
        refused = client.post("/notifications/sms/number", data=data)
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        everything = allowed(user, locale, "12345")
        assert left(html, locale, everything) == [], data
        assert same_as_english(english.get_data(as_text=True), html, everything) == []
    bad = visible_text(
        client.post("/notifications/sms/number", data={"phone": "12345"}).get_data(as_text=True)
    )
    if locale == "tr":
        assert "Bu, SMS gönderebileceğimiz bir telefon numarası değil." in bad
    else:
        assert "Ce n'est pas un numéro auquel nous pouvons envoyer un SMS." in bad

    client.post("/notifications/sms/number", data={"phone": "+49 151 23456789"})
    wrong = client.post("/notifications/sms/verify", data={"code": "000000"})
    assert wrong.status_code == 422
    tries = {"tr": "Bu kod doğru değil; 4 deneme hakkınız kaldı.", "fr": "il vous reste 4 essais."}
    assert tries[locale] in visible_text(wrong.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_what_to_tell_me_and_quiet_hours_are_translated(client, user, locale):
    page = check(client, user, "/notifications/preferences", locale)
    text = visible_text(page)
    if locale == "tr":
        assert "Size neyin ve nasıl bildirileceği" in text and "kritik" in text
    else:
        assert "Quoi vous signaler, et comment" in text and "critique" in text
    data = {"start": "22:00", "end": "22:00", "timezone": "Mars/Olympus"}
    set_locale(user, "en")
    english = client.post("/notifications/quiet-hours", data=data)
    set_locale(user, locale)
    refused = client.post("/notifications/quiet-hours", data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    everything = allowed(user, locale, "Mars/Olympus")
    assert left(html, locale, everything) == []
    assert same_as_english(english.get_data(as_text=True), html, everything) == []
    if locale == "tr":
        assert "Listeden bir saat dilimi seçin" in visible_text(html)
    else:
        assert "Choisissez un fuseau horaire dans la liste" in visible_text(html)

    saved = client.post(
        "/notifications/quiet-hours",
        data={"enabled": "y", "start": "22:30", "end": "06:45", "timezone": "Asia/Tokyo"},
        follow_redirects=True,
    )
    expected = {
        "tr": "Sessiz saatler açık: 22:30 ile 06:45 arası (Asia/Tokyo).",
        "fr": "Heures calmes activées : de 22:30 à 06:45 (Asia/Tokyo).",
    }
    assert expected[locale] in visible_text(saved.get_data(as_text=True))
    # A switch turned without HTMX says so in the language, the kind's label too.
    toggled = client.post(
        "/notifications/preferences/bot_error/email", data={}, follow_redirects=True
    )
    expected = {
        "tr": "“Bot hatası (bot durduruldu)” için E-posta bildirimleri kapatıldı.",
        "fr": "Notifications E-mail pour « Erreur du bot (bot arrêté) » désactivées.",
    }
    assert expected[locale] in visible_text(toggled.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_history_and_a_sent_and_a_failed_notification_are_translated(client, user, locale):
    check(client, user, "/notifications/history", locale)  # nothing sent yet
    sent = notification(user, "trade_executed", NotificationStatus.SENT, attempts=1)
    sent.sent_at = CREATED + timedelta(seconds=2)
    failed = notification(
        user, "bot_error", NotificationStatus.FAILED, attempts=3, last_error=LAST_ERROR
    )
    waiting = notification(user, "test", NotificationStatus.PENDING, attempts=1)
    waiting.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    ids = {sent.public_id, failed.public_id, waiting.public_id}
    page = check(client, user, "/notifications/history", locale, LAST_ERROR, *ids)
    text = visible_text(page)
    if locale == "tr":
        assert "Son bildirimler" in text and "gönderildi" in text and "başarısız" in text
        assert "sonraki deneme" in text
    else:
        assert "Notifications récentes" in text and "envoyée" in text and "échec" in text
        assert "prochain essai le" in text
    assert CREATED_SHOWN[locale] in text

    for row in (sent, failed):
        detail = check(
            client,
            user,
            f"/notifications/{row.public_id}",
            locale,
            row.public_id,
            LAST_ERROR,
            PAYLOAD,
        )
        assert CREATED_SHOWN[locale] in visible_text(detail)
    status = {"tr": ">Gönderildi<", "fr": ">Envoyée<"}[locale]
    set_locale(user, locale)
    assert status in client.get(f"/notifications/{sent.public_id}").get_data(as_text=True)

    again = client.post(f"/notifications/{failed.public_id}/resend", follow_redirects=True)
    expected = {"tr": "yeniden gönderilecek.", "fr": "sera renvoyé."}
    assert expected[locale] in visible_text(again.get_data(as_text=True))
    refused = client.post(f"/notifications/{sent.public_id}/resend", follow_redirects=True)
    expected = {
        "tr": "Yalnızca başarısız bir bildirim yeniden gönderilebilir.",
        "fr": "Seule une notification en échec peut être renvoyée.",
    }
    assert expected[locale] in visible_text(refused.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_a_channels_own_error_reads_in_the_language(client, user, locale):
    """A delivery stores the channel's reason in English (the API and logs read it); the
    history and the notification's page show it translated. A receiver's own words (an SMTP
    server's answer) stay as they came."""
    from webapp.notify.channels import telegram

    row = notification(
        user, "bot_error", NotificationStatus.FAILED, attempts=1, last_error=telegram.NOT_LINKED
    )
    db.session.commit()
    expected = {
        "tr": "Önce Telegram'ı bağlayın (bildirimler sayfasında Telegram'ı bağla).",
        "fr": "Connectez d'abord Telegram (Connecter Telegram sur la page des notifications).",
    }[locale]
    for path in ("/notifications/history", f"/notifications/{row.public_id}"):
        page = check(client, user, path, locale, row.public_id, PAYLOAD)
        assert expected in visible_text(page)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_admins_notifications_page_is_translated(client, auth, locale):
    admin = auth.register_and_login("boss@example.com", admin=True)
    in_zone(admin)
    for status in (NotificationStatus.SENT,) * 3 + (NotificationStatus.FAILED,):
        notification(admin, "trade_executed", status)
    page = check(client, admin, "/admin/notifications", locale, "boss@example.com")
    text = visible_text(page)
    rate = {"tr": "%75,0", "fr": "75,0\u00a0%"}[locale]
    assert f'data-testid="success-rate">{rate}<' in page
    if locale == "tr":
        assert "Giden kutusu" in text and "Kanala göre" in text and "Zamanlayıcı" in text
        assert "Kullanıcı başına günlük sınır" in text
    else:
        assert "File d'envoi" in text and "Par canal" in text and "Planificateur" in text
        assert "Limite quotidienne par utilisateur" in text

    set_locale(admin, locale)
    done = client.post(
        "/admin/notifications/process",
        headers={"HX-Request": "true", "HX-Target": "notify-process"},
    ).get_data(as_text=True)
    assert left(done, locale) == []
    checked = client.post("/admin/notifications/check/database").get_data(as_text=True)
    expected = {"tr": "Veritabanı", "fr": "Base de données"}[locale]
    assert expected in visible_text(checked) and left(checked, locale) == []


def test_an_english_reader_still_reads_english(client, user):
    endpoints.create_endpoint(user.id, HOOK, ["bot_error"])
    db.session.commit()
    set_locale(user, "en")
    page = visible_text(client.get("/notifications/").get_data(as_text=True))
    assert "Webhook endpoints" in page and "Send a test email" in page
    assert "Telegram is not set up on this installation" in page
    prefs = visible_text(client.get("/notifications/preferences").get_data(as_text=True))
    assert "What to tell you, and how" in prefs and "Quiet hours" in prefs
    refused = client.post(
        "/notifications/webhooks", data={"url": "http://8.8.8.8/h", "events": ["bot_error"]}
    )
    assert "Webhook URLs must use https://" in refused.get_data(as_text=True)
    row = notification(user, "bot_error", NotificationStatus.FAILED, last_error=LAST_ERROR)
    detail = visible_text(client.get(f"/notifications/{row.public_id}").get_data(as_text=True))
    assert "Send again" in detail and "Failed" in detail and CREATED_SHOWN["en"] in detail
