"""Message catalogs: check that every English string has a Turkish and a French translation,
and compile the catalogs the app reads (.mo files are built, never committed).

    python scripts/translations.py check    # extract, then fail naming each missing entry
    python scripts/translations.py compile  # webapp/translations/*/LC_MESSAGES/messages.mo
    python scripts/translations.py update   # add new msgids to each .po, untranslated
    python scripts/translations.py merge FILE.po...  # take a translator's entries into the
                                                     # catalog of the file's Language header
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "webapp" / "translations"
LOCALES = ("tr", "fr")


def po_path(locale: str) -> Path:
    return CATALOGS / locale / "LC_MESSAGES" / "messages.po"


PYBABEL = Path(sys.executable).with_name("pybabel")


def extract_to(pot: Path) -> None:
    subprocess.run(
        [PYBABEL, "-q", "extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "-o", pot, "."],
        cwd=ROOT,
        check=True,
    )


def extract() -> list:
    """Every msgid the code and templates use, as `pybabel extract` finds them."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract_to(pot)
        with pot.open("rb") as f:
            return [m for m in read_po(f) if m.id]


def update() -> int:
    """New msgids join each catalog untranslated (and changed ones as fuzzy) for translators;
    `check` fails until they are done."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract_to(pot)
        subprocess.run(
            [PYBABEL, "-q", "update", "-i", pot, "-d", CATALOGS, "-w", "100"],
            cwd=ROOT,
            check=True,
        )
    return 0


def problems(locale: str, wanted: list) -> list[str]:
    path = po_path(locale)
    if not path.exists():
        return [f"{locale}: no catalog at {path}"]
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    found = []
    for message in wanted:
        entry = catalog.get(message.id)
        strings = entry.string if entry else None
        texts = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(texts):
            found.append(f"{locale}: untranslated: {message.id!r}")
        elif entry.fuzzy:
            found.append(f"{locale}: fuzzy: {message.id!r}")
    return found


def check() -> int:
    wanted = extract()
    found = [line for locale in LOCALES for line in problems(locale, wanted)]
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(
            f"{len(found)} catalog entries need a translation: edit "
            "webapp/translations/<locale>/LC_MESSAGES/messages.po",
            file=sys.stderr,
        )
        return 1
    print(f"Translations complete: {len(wanted)} messages in {', '.join(LOCALES)}.")
    return 0


def compile_catalogs() -> int:
    for locale in LOCALES:
        with po_path(locale).open("rb") as f:
            catalog = read_po(f, locale=locale)
        with po_path(locale).with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)
    return 0


def merge(paths: list[str]) -> int:
    """Entries translated in the given files replace or join those of the catalog of the same
    language, so translators can work on a piece of the product in a file of their own."""
    for name in paths:
        with open(name, "rb") as f:
            piece = read_po(f)
        locale = str(piece.locale or "")
        if locale not in LOCALES:
            print(f"{name}: no Language header naming one of {', '.join(LOCALES)}", file=sys.stderr)
            return 1
        with po_path(locale).open("rb") as f:
            catalog = read_po(f, locale=locale)
        taken = 0
        for message in piece:
            if not message.id or not message.string or message.fuzzy:
                continue
            catalog.delete(message.id, message.context)
            catalog.add(message.id, message.string, context=message.context)
            taken += 1
        with po_path(locale).open("wb") as f:
            write_po(f, catalog, width=100, omit_header=False, no_location=True)
        print(f"{name}: {taken} entries into {locale}")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "merge":
        sys.exit(merge(sys.argv[2:]))
    sys.exit({"check": check, "compile": compile_catalogs, "update": update}[command]())
