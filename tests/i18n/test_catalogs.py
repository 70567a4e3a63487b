"""`make test` fails while any message lacks a Turkish or French translation."""

from __future__ import annotations

import subprocess
import sys

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import write_po

from scripts import translations


def test_every_marked_message_has_both_translations():
    result = subprocess.run(
        [sys.executable, "scripts/translations.py", "check"],
        cwd=translations.ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Translations complete" in result.stdout


def test_the_check_names_missing_empty_and_fuzzy_entries(tmp_path, monkeypatch):
    catalog = Catalog(locale="tr")
    catalog.add("Done", "Tamam")
    catalog.add("Guessed", "Tahmin", flags=["fuzzy"])
    catalog.add("Empty", "")
    catalog.add(("%(num)d bot", "%(num)d bots"), ("",))
    path = tmp_path / "tr" / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        write_po(f, catalog)
    monkeypatch.setattr(translations, "CATALOGS", tmp_path)

    wanted = [
        Message(msgid)
        for msgid in ("Done", "Guessed", "Empty", "Never added", ("%(num)d bot", "%(num)d bots"))
    ]
    assert translations.problems("tr", wanted) == [
        "tr: fuzzy: 'Guessed'",
        "tr: untranslated: 'Empty'",
        "tr: untranslated: 'Never added'",
        "tr: untranslated: ('%(num)d bot', '%(num)d bots')",
    ]
    missing = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    assert translations.problems("fr", wanted) == [f"fr: no catalog at {missing}"]
