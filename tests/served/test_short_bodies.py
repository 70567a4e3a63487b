"""A request whose body ends before its Content-Length (the sender hung up, a proxy cut it)
is a 400 as gunicorn serves it, and nothing of it is acted on: a form cut inside a number
must not save the digits that arrived ("1000" as "10")."""

from __future__ import annotations

import socket
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

from tests.api.conftest import new_token
from tests.bots.helpers import make_bot, make_key
from tests.served.test_bad_input import bot_form
from tests.served.test_trades_export import alice as load_alice
from webapp.extensions import db
from webapp.models import Bot


def send_short(url: str, path: str, headers: dict[str, str], body: bytes, missing: int) -> str:
    """POST `body` announced as `missing` bytes longer, then hang up; the answer's head."""
    where = urlsplit(url)
    head = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(body) + missing}")
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.decode("latin-1")


def test_a_bot_form_cut_inside_a_number_saves_nothing(served, web):
    alice = load_alice()
    key = make_key(alice)
    bot = make_bot(alice, key, quote_amount=100)
    form = urlencode({"csrf_token": web.csrf_token(), **bot_form(key.id, quote_amount="1000")})
    cut = form.index("quote_amount=10") + len("quote_amount=10")
    cookies = "; ".join(f"{c.name}={c.value}" for c in web.cookies)
    answer = send_short(
        served.url,
        f"/bots/{bot.id}/edit",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies},
        form[:cut].encode(),
        missing=len(form) - cut,
    )
    assert answer.startswith("HTTP/1.1 400"), answer[:300]
    db.session.expire_all()
    assert db.session.get(Bot, bot.id).quote_amount == 100


def test_an_api_body_cut_short_creates_nothing(served, web):
    alice = load_alice()
    key = make_key(alice)
    body = (
        b'{"name": "Cut", "api_key_id": %d, "symbol": "BTC/USDT", "timeframe": "1m", '
        b'"strategy": "threshold", "params": {"buy_below": 1, "sell_above": 2}, '
        b'"quote_amount": "1000"}' % key.id
    )
    cut = body.index(b'"quote_amount"')
    answer = send_short(
        served.url,
        "/api/v1/bots",
        {"Content-Type": "application/json", "Authorization": f"Bearer {new_token(alice)}"},
        body[:cut],
        missing=len(body) - cut,
    )
    assert answer.startswith("HTTP/1.1 400"), answer[:300]
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0
