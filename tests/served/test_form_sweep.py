"""Every form of the app, found by following its own links, filled with what people (and
scripts) type: each field in turn holds a hostile value while the others keep theirs. Sent to
the app as gunicorn serves it, as a plain form post and as the htmx request the page would
make. Whatever the value, the answer is never a 5xx, and the web process logs no traceback
(the `served` fixture checks that).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.bots.helpers import add_trade, make_bot
from tests.served.test_trades_export import alice as load_alice
from webapp.extensions import db
from webapp.models import ApiKey

HOSTILE = [
    "\x00",
    "1e309",
    "1" + "0" * 40,
    "NaN",
    "-Infinity",
    "-1",
    "\N{GRINNING FACE}",
    "\u202e\u05d0\u0628",  # right-to-left override, Hebrew, Arabic
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "x" * 20_000,
    "line\r\nX-Injected: 1",
    "",
]
#: Forms that would end the sweep's own session.
SKIP_ACTIONS = ("/auth/logout",)
#: Links not to follow: downloads and the static files.
SKIP_LINKS = ("/static/", "/trades/export.csv", "/favicon.ico")


@dataclass
class Form:
    page: str
    method: str
    action: str
    hx_target: str | None
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The forms of a page (with their fields' current values) and the links on it."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"]))
        for attr in ("hx-get", "data-hx-get"):
            if a.get(attr) and tag != "form":
                self.links.append(urljoin(self.page, a[attr]))
        if tag == "form":
            method = "post" if a.get("hx-post") else (a.get("method") or "get").lower()
            action = a.get("hx-post") or a.get("hx-get") or a.get("action") or self.page
            target = a.get("hx-target") if a.get("hx-post") or a.get("hx-get") else None
            self._form = Form(
                self.page, method, urljoin(self.page, action), (target or "").lstrip("#") or None
            )
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                form.fields.setdefault(name, "")
            else:
                form.fields[name] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            form.fields[name] = ""
        elif tag == "option" and self._select:
            if not form.fields[self._select] or "selected" in a:
                form.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields[name] = ""
        elif tag == "button" and name:
            form.fields.setdefault(name, a.get("value", ""))

    def handle_data(self, data) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def crawl(client, start: list[str], limit: int = 60) -> tuple[list[Form], list[str]]:
    """Follow the app's own links from `start`; returns its forms and the pages seen."""
    base = urlsplit(client.base_url)
    queue, seen, forms = [client.base_url + path for path in start], [], []
    while queue and len(seen) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.netloc != base.netloc or path in seen or path.startswith(SKIP_LINKS):
            continue
        seen.append(path)
        response = client.get(path)
        assert response.status_code < 500, f"GET {path}: {response.status_code}"
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        assert '="None"' not in response.text, f"GET {path}: an attribute rendered as None"
        parser = _Forms(url)
        parser.feed(response.text)
        forms += [f for f in parser.forms if not urlsplit(f.action).path.startswith(SKIP_ACTIONS)]
        queue += parser.links
    unique = {(f.method, f.action, tuple(sorted(f.fields))): f for f in forms}
    # Forms that delete go last, so the others still find what they act on.
    ordered = sorted(unique.values(), key=lambda f: "delete" in f.action)
    return ordered, seen


def sweep(client, forms: list[Form]) -> list[str]:
    """Submit every form with each field hostile in turn; returns what answered 5xx.

    A form's posts go out eight at a time (gunicorn's 2 workers x 4 threads); forms one after
    another, so the ones that delete still go last.
    """

    def send(form: Form, path: str, name: str, value: str, headers: dict) -> str | None:
        data = {**form.fields, name: value}
        if form.method == "get":
            response = client.get(path, params=data, headers=headers)
        else:
            response = client.submit(path, data, headers=headers)
        if response.status_code < 500:
            return None
        how = "htmx" if headers else "form"
        return f"{how} {form.method} {path} {name}={value[:30]!r}"

    failures = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for form in forms:
            path = form.action.removeprefix(client.base_url)
            variants = [{}]
            if form.hx_target:
                variants.append({"HX-Request": "true", "HX-Target": form.hx_target})
            calls = [
                pool.submit(send, form, path, name, value, headers)
                for name in form.fields
                if name != "csrf_token"
                for value in HOSTILE
                for headers in variants
            ]
            failures += [call.result() for call in calls if call.result()]
    return failures


@pytest.fixture
def furnished(web, served_exchange):
    """Alice (an admin) with the demo key, a bot that has traded, and a webhook attempt."""
    alice = load_alice()
    alice.is_admin = True
    db.session.commit()
    assert web.submit("/keys/demo").status_code in (200, 302)
    key = db.session.scalar(db.select(ApiKey).filter_by(user_id=alice.id))
    bot = make_bot(alice, key, "Sweep bot")
    add_trade(bot, "buy", "0.01", "60000")
    return web


@pytest.mark.slow
def test_no_form_answers_5xx_whatever_is_typed(furnished):
    forms, pages = crawl(furnished, ["/", "/bots/new", "/notifications/", "/admin/"])
    # The sweep reached the areas a user works in.
    for area in ("/bots/", "/keys/", "/trades/", "/notifications/", "/admin/"):
        assert any(p.startswith(area) for p in pages), f"never reached {area}: {pages}"
    for tab in ("/notifications/preferences", "/notifications/history"):
        assert tab in pages, f"never reached {tab}: {pages}"
    actions = {urlsplit(f.action).path for f in forms}
    for expected in (
        "/bots/new",
        "/keys/",
        "/trades/",
        "/notifications/quiet-hours",
        "/notifications/webhooks",
        "/notifications/test/email",
    ):
        assert expected in actions, f"no form posts to {expected}: {sorted(actions)}"
    assert sweep(furnished, forms) == []


def test_no_signed_out_form_answers_5xx(served):
    client = served.client()
    forms, _ = crawl(client, ["/auth/login", "/auth/register", "/auth/reset"])
    actions = {urlsplit(f.action).path for f in forms}
    assert {"/auth/login", "/auth/register", "/auth/reset"} <= actions
    assert sweep(client, forms) == []
