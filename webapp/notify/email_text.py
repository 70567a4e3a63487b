"""What an email says about each kind of notification, in the current language.

One function per kind writes whole sentences (translators see each sentence with its
placeholders and may reorder them), once for the HTML body and once for the text body: in HTML
the figures that matter are in bold and every value is escaped; in text they are plain. The
channel renders inside `as_recipient(user)`, so these read the recipient's language and zone.
Values the product wrote in English (an engine error, a channel's reason) are shown through
the catalog, translated when they are one of its texts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from webapp.i18n.current import gettext as _
from webapp.i18n.current import ngettext
from webapp.i18n.engine_text import engine_text
from webapp.i18n.marks import N_
from webapp.notify import kinds, render

logger = logging.getLogger(__name__)


@dataclass
class Words:
    """The parts of one email the layouts place: a headline, paragraphs, an optional quoted
    error, the button's caption and why the reader gets the email."""

    headline: str
    paragraphs: list[str] = field(default_factory=list)
    quote: str | None = None
    action: str = ""
    why: str = ""


class _Say:
    """Fills translated sentences for one body: escaped and bold in HTML, plain in text."""

    def __init__(self, html: bool) -> None:
        self.html = html

    def __call__(self, translated: str, **values: Any) -> str:
        if not self.html:
            return translated % values if values else translated
        return Markup(translated) % values if values else Markup(translated)

    def strong(self, value: Any) -> str:
        return Markup("<strong>%s</strong>") % value if self.html else str(value)

    def text(self, value: str) -> str:
        """A sentence that holds data (a receiver's answer, a stored message): escaped in HTML."""
        return Markup.escape(value) if self.html else value


def money(data: dict[str, Any], key: str) -> str:
    """A figure of the payload with its quote currency, as the reader writes numbers."""
    text = render.format_value(data.get(key))
    return f"{text} {data['quote']}" if data.get("quote") else text


def _bot(data: dict[str, Any]) -> str:
    return data.get("bot_name") or _("your bot")


def _trade(say: _Say, data: dict[str, Any]) -> Words:
    values = {
        "bot": say.strong(_bot(data)),
        "amount": say.strong(f"{render.format_value(data.get('qty'))} {data.get('symbol', '')}"),
        "price": say.strong(money(data, "price")),
    }
    if data.get("side") == "buy":
        headline = say(_("Bot %(bot)s bought %(amount)s at %(price)s."), **values)
    elif data.get("realized_pnl") is not None:
        pnl = say.strong(money(data, "realized_pnl"))
        headline = say(
            _("Bot %(bot)s sold %(amount)s at %(price)s, realizing %(pnl)s."), pnl=pnl, **values
        )
    else:
        headline = say(_("Bot %(bot)s sold %(amount)s at %(price)s."), **values)
    return Words(headline)


def _exit(sentence: str) -> Callable[[_Say, dict[str, Any]], Words]:
    def words(say: _Say, data: dict[str, Any]) -> Words:
        bot, price = say.strong(_bot(data)), say.strong(money(data, "price"))
        parts = [say(_(sentence), bot=bot, symbol=data.get("symbol", ""), price=price)]
        if data.get("entry_price") is not None:
            entry = money(data, "entry_price")
            parts.append(say(_("The position was entered at %(price)s."), price=entry))
        if data.get("realized_pnl") is not None:
            pnl = say.strong(money(data, "realized_pnl"))
            parts.append(say(_("Realized PnL: %(pnl)s."), pnl=pnl))
        return Words(say(" ").join(parts))

    return words


def _profit_target(say: _Say, data: dict[str, Any]) -> Words:
    bot = say.strong(_bot(data))
    target = (
        data.get("target") if data.get("target") is not None else data.get("daily_profit_target")
    )
    if target is not None:
        shown = money({**data, "target": target}, "target")
        parts = [
            say(
                _("Bot %(bot)s reached its daily profit target of %(target)s."),
                bot=bot,
                target=shown,
            )
        ]
    else:
        parts = [say(_("Bot %(bot)s reached its daily profit target."), bot=bot)]
    if data.get("realized_pnl_today") is not None:
        pnl = say.strong(money(data, "realized_pnl_today"))
        parts.append(say(_("Realized today: %(pnl)s."), pnl=pnl))
    parts.append(say(_("It pauses until tomorrow (UTC).")))
    return Words(say(" ").join(parts), action=_("Review the bot"))


def _loss_limit(say: _Say, data: dict[str, Any]) -> Words:
    bot, pnl = say.strong(_bot(data)), say.strong(money(data, "realized_pnl_today"))
    limit = data.get("limit") if data.get("limit") is not None else data.get("daily_loss_limit")
    if limit is not None:
        shown = money({**data, "limit": limit}, "limit")
        first = say(
            _("Bot %(bot)s realized %(pnl)s today, reaching its daily loss limit of %(limit)s."),
            bot=bot,
            pnl=pnl,
            limit=shown,
        )
    else:
        first = say(_("Bot %(bot)s realized %(pnl)s today."), bot=bot, pnl=pnl)
    stopped = say.strong(_("The bot has been stopped."))
    return Words(say(" ").join([first, stopped]), action=_("Review the bot"))


def _bot_error(say: _Say, data: dict[str, Any]) -> Words:
    bot = say.strong(_bot(data))
    stopped = say.strong(_("has been stopped"))
    if data.get("symbol"):
        headline = say(
            _("Bot %(bot)s on %(symbol)s hit an error and %(stopped)s."),
            bot=bot,
            symbol=data["symbol"],
            stopped=stopped,
        )
    else:
        headline = say(_("Bot %(bot)s hit an error and %(stopped)s."), bot=bot, stopped=stopped)
    error = engine_text(data["error"]) if data.get("error") else None
    return Words(headline, quote=error, action=_("See what happened"))


def _key_invalid(say: _Say, data: dict[str, Any]) -> Words:
    name = data.get("label") or data.get("key_label") or ""
    key = say.strong(f"{name} ({data['key']})" if data.get("key") else name)
    if data.get("exchange"):
        first = say(
            _("The exchange %(exchange)s rejected your API key %(key)s."),
            exchange=data["exchange"],
            key=key,
        )
    else:
        first = say(_("The exchange rejected your API key %(key)s."), key=key)
    stopped = data.get("bots_stopped")
    if stopped is None:
        stopped = data.get("stopped_bots")
    if stopped == 0 and not isinstance(stopped, bool):
        second = say(_("No bot was using it."))
    elif isinstance(stopped, int) and not isinstance(stopped, bool):
        second = say(
            ngettext(
                "%(num)s bot using it has been stopped.",
                "%(num)s bots using it have been stopped.",
                stopped,
            ),
            num=render.format_value(stopped),
        )
    elif stopped:
        second = say(
            _("Bots using it have been stopped: %(bots)s."), bots=render.format_value(stopped)
        )
    else:
        second = say(_("Bots using it have been stopped."))
    advice = _(
        "Check the key on the exchange (it may have been deleted, expired or lost a "
        "permission), then add it again."
    )
    return Words(say(" ").join([first, second]), [say(advice)], action=_("Check your keys"))


def _channel_disabled(say: _Say, data: dict[str, Any]) -> Words:
    headline = say(
        _("We stopped sending you notifications by %(channel)s."),
        channel=data.get("channel") or "—",
    )
    reason = render.channel_reason(data)
    after = _(
        "Connect it again on your notification settings page when it can receive messages; "
        "until then nothing is sent there. Your other channels are unchanged."
    )
    paragraphs = ([say.text(reason)] if reason else []) + [say(after)]
    return Words(headline, paragraphs, action=_("Notification settings"))


def _webhook_disabled(say: _Say, data: dict[str, Any]) -> Words:
    # The reason is in the details table.
    paragraphs = [
        say(
            _(
                "Fix the receiver, then enable the endpoint again on your notification "
                "settings page. Nothing is sent to it until you do."
            )
        )
    ]
    headline = say(_("We stopped sending webhooks to your endpoint."))
    return Words(headline, paragraphs, action=_("Notification settings"))


def _banned(say: _Say, data: dict[str, Any]) -> Words:
    until = render.moment(data.get("banned_until"))
    exchange = data.get("exchange")
    if exchange and until:
        headline = say(
            _("%(exchange)s banned this installation's IP address until %(until)s."),
            exchange=exchange,
            until=until,
        )
    elif exchange:
        headline = say(_("%(exchange)s banned this installation's IP address."), exchange=exchange)
    else:
        headline = say(_("The exchange banned this installation's IP address."))
    explained = _(
        "%(exchange)s answered HTTP 418: it banned this installation's IP address because "
        "requests went on after its 429 answers. Every request to it waits until the ban ends, "
        "so no bot can trade there meanwhile. The exchange page shows what used the weight; "
        "check whether another program shares this IP address."
    )
    paragraphs = [say(explained, exchange=exchange)] if exchange else []
    return Words(
        headline,
        paragraphs,
        action=_("See the exchange requests"),
        why=say(_("You get this email because you administer this installation.")),
    )


def _test(say: _Say, data: dict[str, Any]) -> Words:
    message = say.text(engine_text(data.get("message") or ""))
    return Words(message, action=_("Notification settings"))


def _generic(say: _Say, data: dict[str, Any]) -> Words:
    if not data.get("bot_name"):
        return Words("")
    if data.get("symbol"):
        return Words(
            say(
                _("Bot %(bot)s on %(symbol)s."),
                bot=say.strong(data["bot_name"]),
                symbol=data["symbol"],
            )
        )
    return Words(say(_("Bot %(bot)s."), bot=say.strong(data["bot_name"])))


_WRITERS: dict[str, Callable[[_Say, dict[str, Any]], Words]] = {
    kinds.EventType.TRADE_EXECUTED: _trade,
    kinds.EventType.STOP_LOSS_TRIGGERED: _exit(
        N_("The stop-loss of bot %(bot)s closed the %(symbol)s position at %(price)s.")
    ),
    kinds.EventType.TAKE_PROFIT_TRIGGERED: _exit(
        N_("The take-profit of bot %(bot)s closed the %(symbol)s position at %(price)s.")
    ),
    kinds.EventType.DAILY_PROFIT_TARGET_REACHED: _profit_target,
    kinds.EventType.DAILY_LOSS_LIMIT_REACHED: _loss_limit,
    kinds.EventType.BOT_ERROR: _bot_error,
    kinds.EventType.API_KEY_INVALID: _key_invalid,
    kinds.CHANNEL_DISABLED: _channel_disabled,
    kinds.WEBHOOK_DISABLED: _webhook_disabled,
    kinds.EXCHANGE_BANNED: _banned,
    kinds.TEST: _test,
}


def compose(kind: str, data: dict[str, Any], *, html: bool, settings_link: str) -> Words:
    """The email's words for `kind` (a kind without its own writer gets a plain line)."""
    say = _Say(html)
    writer = _WRITERS.get(kind)
    if writer is None:
        logger.error("no email text for %s; using the generic one", kind)
        writer = _generic
    words = writer(say, data)
    words.action = words.action or _("Open in Tradebots")
    if not words.why:
        if html:
            words.why = say(
                _(
                    "You get this email because of your notification settings: <a "
                    'href="%(url)s">change them</a>.'
                ),
                url=settings_link,
            )
        else:
            words.why = _(
                "You get this email because of your notification settings; change them at %(url)s",
                url=settings_link,
            )
    return words
