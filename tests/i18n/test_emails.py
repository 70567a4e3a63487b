"""Emails speak their recipient's language: every kind of notification and the password reset,
sent through a real SMTP server, in Turkish and French with the numbers written their way."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest

from tests.i18n.conftest import (
    EVERYWHERE,
    SAME_WORDS,
    english_fragments,
    english_left,
    english_msgids,
    set_locale,
)
from tests.i18n.samples import SAMPLES
from tests.notify.support import SAMPLE_DATA, drain
from tests.support.services import body_text
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import NotificationChannel
from webapp.notify import dispatch, kinds, outbox, preferences

#: Where the words of a notification email come from.
SOURCES = (
    "notify/email_text.py",
    "notify/render.py",
    "notify/kinds.py",
    "i18n/labels.py",
    "i18n/engine_text.py",
    "templates/email/events/_layout.html",
)
#: A notice of each kind the product writes itself, as the code that raises it stores it.
NOTICES = {
    kinds.CHANNEL_DISABLED: {
        "channel": "Telegram",
        "reason": "We unlinked your Telegram chat: the bot was blocked in Telegram.",
        "why": "the bot was blocked in Telegram",
        "url": "/notifications/",
    },
    kinds.WEBHOOK_DISABLED: {
        "reason": "5 notifications in a row failed every attempt (last error: HTTP 500)",
        "url": "/notifications/",
    },
    kinds.EXCHANGE_BANNED: {
        "exchange": "127.0.0.1",
        "banned_until": "2031-03-04 10:20:00 UTC",
        "message": "127.0.0.1 answered HTTP 418: it banned this installation's IP address.",
        "url": "/admin/exchange",
    },
}
#: Numbers of the samples as each language writes them (French groups with U+202F).
NUMBERS = {
    "tr": ["61.234,50 USDT", "58.000,00 USDT", "-8,09 USDT", "15,31 USDT", "-31,75 USDT"],
    "fr": ["61\u202f234,50 USDT", "58\u202f000,00 USDT", "-8,09 USDT", "15,31 USDT"],
}
#: A sentence each language must have written (what a reader of the language expects).
SENTENCES = {
    "tr": ["fiyatından", "durduruldu", "API anahtarınızı reddetti", "günlük zarar sınırına"],
    "fr": ["a acheté", "a été arrêté", "a refusé votre clé", "limite de perte journalière"],
}


def subject(message) -> str:
    """The subject as a strict RFC 2047 reader decodes it: an encoded word glued to the text
    before it (`b=?utf-8?b?...?=`) is not one, and shows as garbage in such readers."""
    raw = message["Subject"]
    assert not re.search(r"\S=\?[\w-]+\?[bqBQ]\?", raw), raw
    return str(make_header(decode_header(raw)))


def every_kind_by_email(user_id: int) -> int:
    """Emit every event and write every notice for the user, all by email; returns how many."""
    for event in EventType:
        preferences.set_preference(user_id, event, NotificationChannel.EMAIL, True)
        emit(user_id, event, SAMPLES[event])
    for kind, data in NOTICES.items():
        outbox.record_system_notice(user_id, kind, data)
    db.session.commit()
    dispatch.create_test(user_id, NotificationChannel.EMAIL)
    db.session.commit()
    return len(EventType) + len(NOTICES) + 1


def english_words(locale: str) -> set[str]:
    allowed = EVERYWHERE | SAME_WORDS[locale]
    return english_fragments(english_msgids(*SOURCES), locale) - allowed


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_every_notification_email_is_in_the_recipients_language(app, auth, smtp_server, locale):
    user = auth.create_user("trader@example.com")
    set_locale(user, locale)
    count = every_kind_by_email(user.id)

    assert {o.status for o in drain()} == {"sent"}

    messages = smtp_server.wait_for(count)
    assert len(messages) == count
    fragments = english_words(locale)
    english_subjects = {f"[Tradebots] {kinds.label(kind)}" for kind in kinds.ALL_KINDS}
    bodies = []
    for message in messages:
        text, html = body_text(message, "plain"), body_text(message, "html")
        bodies.append(text)
        assert f'<html lang="{locale}">' in html
        assert subject(message) not in english_subjects
        assert english_left(subject(message), fragments) == [], subject(message)
        for body in (text, html):
            assert english_left(body, fragments) == [], (subject(message), body)
    everything = "\n".join(bodies)
    for expected in NUMBERS[locale] + SENTENCES[locale]:
        assert expected in everything, expected
    assert "61,234.50" not in everything


def test_one_delivery_run_writes_each_recipient_in_their_own_language(app, auth, smtp_server):
    turkish, french = auth.create_user("ayse@example.com"), auth.create_user("zoe@example.com")
    set_locale(turkish, "tr")
    set_locale(french, "fr")
    for user in (turkish, french):
        emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()

    drain()

    by_recipient = {m["To"]: body_text(m) for m in smtp_server.wait_for(2)}
    assert "bir hatayla karşılaştı ve durduruldu" in by_recipient["ayse@example.com"]
    assert "a rencontré une erreur et a été arrêté" in by_recipient["zoe@example.com"]
    assert "hit an error" not in "".join(by_recipient.values())


def test_an_account_without_a_language_gets_english_from_a_job(app, auth, smtp_server):
    user = auth.create_user("plain@example.com")  # never chose a language
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()

    drain()

    [message] = smtp_server.wait_for(1)
    assert "hit an error and has been stopped" in body_text(message)
    assert '<html lang="en">' in body_text(message, "html")


@pytest.mark.parametrize(
    ("chosen", "browser", "expected_subject", "expected"),
    [
        ("fr", "tr", "Réinitialisez votre mot de passe Tradebots", "une seule fois"),
        (None, "tr-TR,tr;q=0.9", "Tradebots parolanızı sıfırlayın", "yalnızca bir kez"),
        (None, "de", "Reset your Tradebots password", "and only once"),
    ],
    ids=["account-setting-wins", "browser-language", "english-otherwise"],
)
def test_the_password_reset_email_is_in_the_accounts_or_the_browsers_language(
    client, auth, smtp_server, chosen, browser, expected_subject, expected
):
    user = auth.create_user()
    set_locale(user, chosen)

    response = client.post(
        "/auth/reset", data={"email": user.email}, headers={"Accept-Language": browser}
    )

    assert response.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert subject(message) == expected_subject
    text, html = body_text(message), body_text(message, "html")
    assert expected in text and expected in html
    assert user.email in text
    link = re.search(r"http://\S+/auth/reset/\S+", text).group(0)
    assert f'href="{link}"' in html
