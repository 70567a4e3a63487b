"""Telegram and SMS speak their recipient's language: notifications through the fake Bot API and
the fake Twilio on loopback, the bot's answers to commands, and SMS kept in one GSM-7 segment."""

from __future__ import annotations

import re

import pytest

from tests.bots.helpers import add_trade, make_bot
from tests.i18n.conftest import (
    EVERYWHERE,
    SAME_WORDS,
    english_fragments,
    english_left,
    english_msgids,
    set_locale,
    visible_text,
)
from tests.i18n.samples import SAMPLES
from tests.notify.support import SAMPLE_DATA, drain
from tests.notify.telegram_support import deliver_all, link_chat, poll
from webapp.events import EventType, emit
from webapp.extensions import db
from webapp.models import BotStatus, NotificationChannel, SmsNumber, User
from webapp.models.types import utcnow
from webapp.notify import preferences
from webapp.notify.gsm7 import GSM7_LIMIT, UCS2_LIMIT, is_gsm7, length, one_segment
from webapp.telegram import linking

pytest_plugins = ["tests.notify.fixtures"]  # fixtures: bot_api, twilio

CHAT = 4242
STRANGER = 5151
NUMBER = "+4915123456789"
NOTIFY_SOURCES = (
    "notify/render.py",
    "notify/kinds.py",
    "notify/channels/telegram.py",
    "notify/channels/sms.py",
    "i18n/labels.py",
)
COMMAND_SOURCES = ("telegram/commands.py", "telegram/linking.py", "bots/display.py")
#: The trade's price as each language writes it in a message.
PRICE = {"tr": "61.234,50 USDT", "fr": "61\u202f234,50 USDT"}
#: Turkish and French letters GSM-7 lacks.
NOT_GSM7 = re.compile("[şŞğĞıİçâêîôûœÂÊÎÔÛŒ\u202f\u00a0]")


def english_words(locale: str, *sources: str) -> set[str]:
    # "bot" is a Turkish and a French word too.
    allowed = EVERYWHERE | SAME_WORDS[locale] | {"bot", "bot:", "bots", "Grid BTC", "Trend BTC"}
    return english_fragments(english_msgids(*sources), locale) - allowed


def recipient(auth, locale: str, channel: NotificationChannel) -> User:
    """A user reading `locale` who gets every event by `channel` only (SMS: to a verified
    number)."""
    user = auth.create_user()
    set_locale(user, locale)
    for event in EventType:
        for other in (NotificationChannel.EMAIL, NotificationChannel.TELEGRAM):
            preferences.set_preference(user.id, event, other, False)
        preferences.set_preference(user.id, event, channel, True)
    if channel == NotificationChannel.SMS:
        db.session.add(SmsNumber(user_id=user.id, phone=NUMBER, verified_at=utcnow()))
    db.session.commit()
    return user


def emit_all(user: User) -> None:
    for event in EventType:
        emit(user.id, event, SAMPLES[event])
    db.session.commit()


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_telegram_notifications_are_in_the_recipients_language(app, auth, bot_api, locale):
    user = recipient(auth, locale, NotificationChannel.TELEGRAM)
    link_chat(bot_api, user.id, CHAT)
    before = len(bot_api.texts(CHAT))
    emit_all(user)

    deliver_all(user.id)

    texts = bot_api.texts(CHAT)[before:]
    assert len(texts) == len(EventType)
    fragments = english_words(locale, *NOTIFY_SOURCES)
    for text in texts:
        assert english_left(text, fragments) == [], text
    assert any(PRICE[locale] in text for text in texts), texts


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_bot_answers_every_command_in_the_linked_users_language(app, auth, bot_api, locale):
    user = auth.create_user()
    set_locale(user, locale)
    bot = make_bot(user, status=BotStatus.RUNNING)
    add_trade(bot, "buy", "0.0025", "61234.50")
    add_trade(bot, "sell", "0.0025", "62000", pnl="1.91")
    link_chat(bot_api, user.id, CHAT)
    for command in [
        "/help",
        "/status",
        "/profit",
        "/trades",
        "/stop",
        "/stop Nobody",
        "/mute 2",
        "/mute lots",
        "/mute 0",
        "/what",
        "hello",
        "/stopall",
    ]:
        bot_api.push_message(CHAT, command)
    poll()
    bot_api.push_callback(CHAT, "stopall:yes")
    poll()

    replies = bot_api.texts(CHAT)
    answers = [c.params["text"] for c in bot_api.calls if c.method == "answerCallbackQuery"]
    assert len(replies) == 1 + 12 + 1  # "Linked", the commands, what /stopall stopped
    fragments = english_words(locale, *COMMAND_SOURCES)
    for text in replies + answers:
        assert english_left(visible_text(text), fragments) == [], text
    buttons = bot_api.sent(CHAT)[-2].params["reply_markup"]["inline_keyboard"][0]
    assert english_left(" ".join(b["text"] for b in buttons), fragments) == []
    assert "1,91" in "\n".join(replies)  # the sell's PnL, written the reader's way


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Cette conversation n'est liée à aucun compte Tradebots."),
        ("tr-TR", "Bu sohbet bir Tradebots hesabına bağlı değil."),
        ("de", "This chat is not linked to a Tradebots account."),
        (None, "This chat is not linked to a Tradebots account."),
    ],
)
def test_an_unlinked_chat_is_answered_in_its_apps_language(app, bot_api, language, expected):
    bot_api.push_message(STRANGER, "/status", language=language)
    bot_api.push_message(STRANGER, "/start not-a-code", language=language)
    poll()

    not_linked, unknown_code = bot_api.texts(STRANGER)
    assert not_linked.startswith(expected)
    assert ("Sorry, I do not know that code." in unknown_code) == (expected.startswith("This"))


def test_linking_answers_in_the_accounts_language_not_the_apps(app, auth, bot_api):
    user = auth.create_user()
    set_locale(user, "tr")
    code = linking.new_code(user.id).code
    db.session.commit()

    bot_api.push_message(CHAT, f"/start {code}", language="fr")
    poll()

    [linked] = bot_api.texts(CHAT)
    assert linked.startswith("Bağlandı: bu sohbet artık Tradebots bildirimlerinizi alıyor.")


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_sms_are_in_the_recipients_language_and_stay_one_gsm7_segment(app, auth, twilio, locale):
    emit_all(recipient(auth, locale, NotificationChannel.SMS))

    assert {o.status for o in drain()} == {"sent"}

    bodies = twilio.bodies(NUMBER)
    assert len(bodies) == len(EventType)
    fragments = english_words(locale, *NOTIFY_SOURCES)
    for body in bodies:
        assert is_gsm7(body) and length(body) <= GSM7_LIMIT, body
        assert not NOT_GSM7.search(body), body
        assert english_left(body, fragments) == [], body
    price = PRICE[locale].replace("\u202f", " ")
    assert any(price in body for body in bodies), bodies


def test_an_sms_that_needs_ucs2_anyway_keeps_its_letters(app, auth, twilio):
    user = recipient(auth, "tr", NotificationChannel.SMS)
    data = dict(SAMPLE_DATA[EventType.BOT_ERROR], bot_name="Roket 🚀")
    emit(user.id, EventType.BOT_ERROR, data)
    db.session.commit()

    drain()

    [body] = twilio.bodies(NUMBER)
    assert "🚀" in body and not is_gsm7(body) and length(body) <= UCS2_LIMIT
    assert re.search("[şğıç]", body), body  # written as Turkish is, since UCS-2 carries it


def test_a_shortened_sms_never_cuts_a_number_between_its_digit_groups():
    for words in range(20, 40):
        text = "Tradebots: " + "word " * words + "1\u202f234\u202f567,89 USDT"
        short = one_segment(text)
        assert length(short) <= GSM7_LIMIT
        rest = short.removeprefix("Tradebots: ")
        assert "1 234 567,89" in rest or not re.search(r"\d", rest), short


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("tr", "Tradebots kodunuz"), ("fr", "Votre code Tradebots est")],
)
def test_the_verification_code_sms_is_in_the_users_language(
    app, auth, client, twilio, locale, expected
):
    auth.register_and_login()
    set_locale(User.by_email("alice@example.com"), locale)

    client.post(
        "/notifications/sms/number",
        data={"phone": "+49 151 2345 6789"},
        headers={"HX-Request": "true", "HX-Target": "sms-section"},
    )

    [body] = twilio.bodies(NUMBER)
    assert expected in body and re.search(r"\b\d{6}\b", body), body
    assert is_gsm7(body) and not NOT_GSM7.search(body), body


def test_the_telegram_commands_of_the_cli_follow_the_terminal(runner, bot_api):
    from tests.support.fake_telegram import TOKEN

    garbage = runner.invoke(args=["telegram", "set-token", "not a token"], env={"LANG": "fr_FR"})
    assert garbage.exit_code != 0
    assert "Ce n'est pas un jeton de bot" in garbage.output, garbage.output
    saved = runner.invoke(args=["telegram", "set-token", TOKEN], env={"LANG": "tr_TR.UTF-8"})
    assert saved.exit_code == 0, saved.output
    assert "belirteci kaydedildi" in saved.output and "Saved the token" not in saved.output
