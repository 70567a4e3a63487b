"""One SMS segment: GSM-7's alphabet, a text's length in it, and shortening to fit.

Texts are in the recipient's language. Turkish and French letters outside GSM-7 (ş ğ İ ç, the
dotless i, ê â î ô û œ ...) are written without their marks, and the spaces Babel puts in numbers
(`61 234,50`) become plain ones, so a message keeps 160 characters instead of UCS-2's 70; a
text that still needs UCS-2 after that (an emoji in a bot's name) is sent as written. A number
is never cut at the spaces between its digit groups.
"""

from __future__ import annotations

import re

GSM7_LIMIT = 160
UCS2_LIMIT = 70
# The GSM 03.38 basic set, and the extension set whose characters take two septets.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
#: Letters of Turkish and French that GSM-7 lacks, and what a phone shows for them.
_PLAIN = str.maketrans(
    {
        "ş": "s", "Ş": "S", "ğ": "g", "Ğ": "G", "\u0131": "i", "İ": "I", "ç": "c",
        "â": "a", "Â": "A", "À": "A", "ê": "e", "Ê": "E", "È": "E", "ë": "e", "Ë": "E",
        "î": "i", "Î": "I", "ï": "i", "Ï": "I", "ô": "o", "Ô": "O", "û": "u", "Û": "U",
        "Ù": "U", "ÿ": "y", "Ÿ": "Y", "œ": "oe", "Œ": "OE", "\u2019": "'", "\u2018": "'",
        "«": '"', "»": '"', "“": '"', "”": '"', "…": "...", "\u2013": "-", "—": "-",
        "\u202f": " ", "\u00a0": " ",
    }
)  # fmt: skip
#: A word, or a whole number written with grouped digits (`61 234,50`).
_WORD = re.compile(r"\d{1,3}(?: \d{3})+\S*|\S+")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def length(text: str) -> int:
    """The text's length in its encoding's units (septets, or UTF-16 code units)."""
    if is_gsm7(text):
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
    return len(text.encode("utf-16-le")) // 2


def fits(text: str) -> bool:
    return length(text) <= (GSM7_LIMIT if is_gsm7(text) else UCS2_LIMIT)


def plain(text: str) -> str:
    """`text` in GSM-7 when writing its letters without their marks is enough, else as is."""
    candidate = text.translate(_PLAIN)
    return candidate if is_gsm7(candidate) else text


def one_segment(text: str) -> str:
    """`text` shortened at a word (never mid-word, never inside a number) until it fits one
    segment."""
    text = " ".join(plain(text).replace("\u202f", " ").replace("\u00a0", " ").split())
    if fits(text):
        return text
    words = _WORD.findall(text)
    while words:
        words.pop()
        candidate = " ".join(words).rstrip(",;:") + "..."
        if fits(candidate):
            return candidate
    return "..."
