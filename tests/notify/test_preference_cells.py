"""The preference matrix's cells are rendered once and kept (webapp.fragments.TokenCells):
each one still carries the token of the request that shows it, so its form posts without
JavaScript for whoever reads the page, and a cell says what its own arguments say."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import NotificationChannel
from webapp.notify import preferences
from webapp.notify.kinds import EventType

CELL = re.compile(
    r'<td id="pref-bot_error-email".*?name="csrf_token" value="([^"]+)".*?</td>', re.S
)
META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _cell_token(page: str) -> str:
    return CELL.search(page).group(1)


def test_each_reader_gets_the_cells_with_their_own_token(client, other_client, auth):
    alice = auth.register_and_login()
    bob = auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": bob.email, "password": PASSWORD})

    for browser, user in ((client, alice), (other_client, bob), (client, alice)):
        page = browser.get("/notifications/preferences").get_data(as_text=True)
        token = _cell_token(page)
        assert token == META.search(page).group(1)
        assert set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) == {token}
        before = preferences.grid_for(user.id)[(EventType.BOT_ERROR, NotificationChannel.EMAIL)]
        # The cell's own form, as a browser without JavaScript posts it: its field, no header.
        response = browser.post(
            "/notifications/preferences/bot_error/email",
            data={"csrf_token": token, **({} if before else {"enabled": "on"})},
            csrf=False,
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        db.session.expire_all()
        after = preferences.grid_for(user.id)[(EventType.BOT_ERROR, NotificationChannel.EMAIL)]
        assert after is not before


def test_a_kept_cell_shows_its_state_and_language(client, auth):
    user = auth.register_and_login()
    english = client.get("/notifications/preferences").get_data(as_text=True)
    french = client.get("/notifications/preferences", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    preferences.set_preference(user.id, EventType.BOT_ERROR, NotificationChannel.EMAIL, False)
    db.session.commit()
    off = client.get("/notifications/preferences").get_data(as_text=True)
    on_cell, off_cell = CELL.search(english).group(0), CELL.search(off).group(0)
    assert "checked" in on_cell and "checked" not in off_cell
    assert "Email: Bot error (bot stopped)" in on_cell
    assert "Bot error" not in CELL.search(french).group(0)
