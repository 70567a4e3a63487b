"""The admin page of exchange requests: the shared budget per host, its waits, 429s and bans,
and the cycles dropped for being late."""

from __future__ import annotations

import pytest
import requests

from tests.bots.helpers import text
from tests.exchange.test_budget import KLINES, _fresh_window, configure
from webapp.engine.tick import count_late_cycle
from webapp.exchange import clients
from webapp.exchange.errors import RateLimited, translate_errors
from webapp.models.types import utcnow


def test_admins_see_each_hosts_budget_and_refusals(app, client, auth, limited_sim):
    _, server = limited_sim
    configure(app, server, limit=1000, window=3, max_wait=0)
    auth.register_and_login("boss@example.com", admin=True)
    assert "No request has been sent" in client.get("/admin/exchange").get_data(as_text=True)

    _fresh_window(3)  # the 429 comes from the window the six requests filled
    for _ in range(6):
        requests.get(server.url + "/api/v3/exchangeInfo", timeout=5)  # 120: past the limit
    with pytest.raises(RateLimited), translate_errors():
        clients.public_client().publicGetKlines(KLINES)  # answered 429
    count_late_cycle(utcnow())

    page = client.get("/admin/exchange").get_data(as_text=True)
    host = server.url.split("//", 1)[1]
    assert f'data-testid="budget-{host}"' in page
    assert text(page, "r429") == "1"
    assert text(page, "blocked") != "—"  # held until Retry-After
    assert text(page, "used").endswith("of 800 (limit 1,000)")
    assert "1 cycle was dropped today" in page


@pytest.mark.parametrize("admin", [False, None])
def test_only_admins_see_it(client, auth, admin):
    if admin is not None:
        auth.register_and_login()
    response = client.get("/admin/exchange")
    if admin is None:
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_page_speaks_the_admins_language(app, client, auth, limited_sim, locale):
    from tests.i18n.conftest import assert_translated

    _, server = limited_sim
    configure(app, server, limit=1000, window=3)
    admin = auth.register_and_login("boss@example.com", admin=True)
    clients.public_client().publicGetKlines(KLINES)
    count_late_cycle(utcnow())
    host = server.url.split("//", 1)[1]
    page = assert_translated(
        client,
        admin,
        "/admin/exchange",
        locale,
        {host, "boss@example.com"},
        sources=("templates/admin/exchange.html",),
    )
    assert {"tr": "Borsa istekleri", "fr": "Requêtes aux plateformes"}[locale] in page
