"""`N_`: marks an English text for the catalogs without translating it.

Jobs, the JSON API and the logs keep such texts in English (a job has no reader, scripts match
on them); a page or a message translates them when it shows them, with `gettext(text)`.
`pybabel extract` finds `N_` by default, so a marked text cannot miss the catalogs."""

from __future__ import annotations


def N_(message: str) -> str:
    return message
