"""Signal webhooks as gunicorn serves them: bodies as TradingView and scripts send them
(text/plain, JSON, chunked), too large, absurd numbers, floods; JSON answers, never a 500."""

from __future__ import annotations

import json
import socket

import pytest
import requests
import sqlalchemy as sa

from tests.bots.helpers import make_bot, make_key
from webapp.extensions import db
from webapp.models import BotSignal, BotStatus, SignalStatus
from webapp.signals import service as signals


@pytest.fixture
def signal_url(served, auth):
    user = auth.create_user()
    bot = make_bot(user, make_key(user), "Alerts", status=BotStatus.RUNNING, strategy="signal")
    bot.params = {}
    token = signals.rotate_token(bot)
    db.session.commit()
    return f"{served.url}/signals/{token}", bot


def stored(bot) -> list[BotSignal]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(BotSignal).where(BotSignal.bot_id == bot.id)))


def test_text_plain_json_and_chunked_bodies_are_taken(signal_url):
    url, bot = signal_url
    sent = [
        requests.post(url, data='{"action": "buy"}', headers={"Content-Type": "text/plain"}),
        requests.post(url, json={"action": "sell", "price": 1e300}),
        requests.post(url, data=iter([b'{"action": ', b'"close", "n": 3}'])),  # chunked
        requests.post(url, data=b'{"action": "buy", "qty": ' + b"9" * 5000 + b"}"),
    ]
    for answer in sent:
        assert answer.status_code == 202, answer.text
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["status"] == "pending"
    assert [s.action.value for s in stored(bot)] == ["buy", "sell", "close", "buy"]
    assert all(s.status is SignalStatus.PENDING for s in stored(bot))


@pytest.mark.parametrize(
    "body",
    [
        b'{"action": NaN}',
        b'{"action": Infinity}',
        b'{"action": 1e999999999}',
        b'{"action": -0.0}',
        b'{"action": "' + b"b" * 5000 + b'"}',
        b'{"action": "buy\\r\\nX-Injected: 1"}',
        b"\x00",
        b"\xc3\x28",
        b"null",
    ],
)
def test_absurd_bodies_are_422_with_a_reason(signal_url, body):
    url, bot = signal_url
    answer = requests.post(url, data=body, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 422
    assert answer.json()["error"]
    assert "X-Injected" not in answer.headers
    assert stored(bot) == []


def test_too_large_bodies_are_413_on_an_open_connection(signal_url):
    url, bot = signal_url
    big = b'{"action": "buy", "pad": "' + b"x" * 20_000 + b'"}'
    answer = requests.post(url, data=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json() == {"error": "The body is larger than 10 KB."}

    chunked = requests.post(url, data=iter([big[:8000], big[8000:]]))
    assert chunked.status_code == 413
    assert stored(bot) == []


def test_a_flood_is_429_with_retry_after(signal_url):
    url, bot = signal_url
    with requests.Session() as session:
        codes = [
            session.post(url, data=json.dumps({"action": "buy", "n": n})).status_code
            for n in range(60)
        ]
        assert codes == [202] * 60
        flood = session.post(url, data='{"action": "buy", "n": 60}')
    assert flood.status_code == 429
    assert 1 <= int(flood.headers["Retry-After"]) <= 60
    assert "at most 60 signals a minute" in flood.json()["error"]
    assert len(stored(bot)) == 60


def test_unknown_tokens_are_404_and_other_methods_405(served, signal_url):
    url, _bot = signal_url
    for path in ("/signals/x", "/signals/" + "z" * 300, "/signals/%00", "/signals/%E2%80%AE"):
        answer = requests.post(served.url + path, data='{"action": "buy"}')
        assert answer.status_code == 404, path
    assert requests.get(url).status_code == 405


def test_a_body_shorter_than_its_content_length_is_refused_not_hung(signal_url):
    """A sender that promises more than it sends gets an answer when it hangs up."""
    url, bot = signal_url
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"action": "buy"}'
        )
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 4"), answer[:200]
    assert stored(bot) == []
