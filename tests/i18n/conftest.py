"""Helpers for the language tests: the English strings a page is made of, and its visible text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"

#: Attributes a reader sees or hears (confirm dialogs, screen-reader labels, button captions).
READ_ATTRIBUTES = {"hx-confirm", "aria-label", "title", "placeholder", "alt"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|<[^>]+>")


def english_msgids(*sources: str) -> set[str]:
    """Every msgid (singular and plural) marked in these files, as `pybabel extract` finds them."""
    found: set[str] = set()
    for source in sources:
        path = WEBAPP / source
        method = "jinja2" if path.suffix == ".html" else "python"
        keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=keywords
        ):
            found.update(message if isinstance(message, tuple) else (message,))
    return found


def english_fragments(msgids: set[str], locale: str) -> set[str]:
    """The English pieces of each msgid (placeholders and markup cut out) that the locale's
    catalog does not spell the same way: "Bot" is also French, so it cannot count."""
    catalog = Translations.load(str(WEBAPP / "translations"), [locale])
    fragments = set()
    for msgid in msgids:
        if catalog.gettext(msgid) == msgid:
            continue
        for piece in PLACEHOLDER.split(msgid):
            piece = piece.strip(" .,?!—")
            if len(piece) >= 3:
                fragments.add(piece)
    return fragments


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs:
                self.parts.append(value or "")

    def handle_data(self, data) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


class _TextNodes(_VisibleText):
    def __init__(self) -> None:
        super().__init__()
        self.skip = False

    def handle_starttag(self, tag, attrs) -> None:
        self.skip = tag in {"script", "style"}
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag) -> None:
        self.skip = False

    def handle_data(self, data) -> None:
        if not self.skip:  # chart data and code are not text a reader sees
            super().handle_data(data)


def text_nodes(html: str) -> set[str]:
    """Each piece of text a reader sees (outside scripts), whitespace folded."""
    parser = _TextNodes()
    parser.feed(html)
    return {" ".join(part.split()) for part in parser.parts if re.search(r"[A-Za-z]{2}", part)}


def same_as_english(english_html: str, translated_html: str, allowed: set[str]) -> list[str]:
    """Text shown identically on the English and the translated page: words nobody marked for
    translation. `allowed` holds names, symbols and user data, which stay as they are."""
    return sorted((text_nodes(english_html) & text_nodes(translated_html)) - allowed)


def english_left(html: str, fragments: set[str]) -> list[str]:
    """The English fragments that appear as whole words in the page's visible text (a
    hyphenated word is one word: French writes "Stop-loss", which holds no English "Stop")."""
    text = visible_text(html)
    return sorted(f for f in fragments if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text))


#: Shown the same in every language: the brand, the languages' own names, symbols, units.
EVERYWHERE = {
    "Tradebots", "English", "Türkçe", "Français", "BTC/USDT", "ETH/USDT", "USDT", "BTC", "DCA"
}  # fmt: skip
#: Words the language's catalog spells as English does.
SAME_WORDS = {
    "tr": {"Bot", "API", "Webhook", "Telegram", "SMS", "E-posta"},
    "fr": {
        "Bot",
        "Bots",
        "Performance",
        "Signal",
        "cycle",
        "take-profit",  # French traders write it so, as the catalog does ("le take-profit")
        "Position",
        "Notifications",
        "Backtests",
        "Backtest",
        "API",
        "Webhook",
        "Telegram",
        "SMS",
        "Action",
        "Actions",
        "Stop-loss",
        "Take-profit",
        "Paper",
        "Mode",
        "Description",
        "Date",
        "Type",
        "Source",
        "Statut",
        "Total",
        "Message",
        "Code",
        "Session",
        "Sessions",
        "Notification",
    },
}


def set_locale(user, locale: str) -> None:
    from webapp.extensions import db

    user.locale = locale
    db.session.commit()


def assert_translated(
    client, user, path: str, locale: str, allowed: set[str] = frozenset(), *, sources=()
) -> str:
    """Request `path` in English and in `locale` (as `user`, signed in on `client`) and fail
    naming any text that reads the same in both (nothing marked for translation) or any
    English msgid of `sources` left in the translated page. Returns the translated page."""
    set_locale(user, "en")
    english = client.get(path)
    assert english.status_code == 200, path
    set_locale(user, locale)
    response = client.get(path)
    assert response.status_code == 200, path
    page = response.get_data(as_text=True)
    same = same_as_english(
        english.get_data(as_text=True), page, EVERYWHERE | SAME_WORDS[locale] | set(allowed)
    )
    assert same == [], f"{path} ({locale}): text not translated: {same}"
    if sources:
        left = english_left(page, english_fragments(english_msgids(*sources), locale))
        assert left == [], f"{path} ({locale}): English left: {left}"
    return page
