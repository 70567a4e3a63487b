"""The keys page: HTMX and plain forms, errors in place, owners only, secrets never shown."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.keys.conftest import (
    API_KEY,
    API_SECRET,
    DEMO_KEY,
    OTHER_KEY,
    OTHER_SECRET,
    WRONG_SECRET,
    running_bot,
)
from webapp.extensions import db
from webapp.keys import service
from webapp.models import ApiKey

HTMX_FORM = {"HX-Request": "true", "HX-Target": "key-form"}


def form(label="Main", key=API_KEY, secret=API_SECRET, **extra) -> dict:
    return {"exchange": "binance", "label": label, "api_key": key, "api_secret": secret, **extra}


def keys_in_db() -> list[ApiKey]:
    return list(db.session.scalars(sa.select(ApiKey).order_by(ApiKey.id)))


@pytest.fixture
def alice(auth, sim_app):
    return auth.register_and_login("alice@example.com")


@pytest.fixture
def alice_key(alice) -> ApiKey:
    api_key = service.add_key(alice, "binance", "Main", API_KEY, API_SECRET)
    db.session.commit()
    return api_key


def test_keys_page_lists_keys_masked(client, alice_key):
    page = client.get("/keys/").get_data(as_text=True)
    assert "Main" in page
    assert "****" + API_KEY[-4:] in page
    assert "badge-ok" in page and ">valid<" in page
    assert 'href="/keys/"' in page  # the navigation link


def test_htmx_add_returns_the_form_and_the_new_row_only(client, alice):
    response = client.post("/keys/", data=form(), headers=HTMX_FORM)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<nav" not in body
    assert 'id="key-form"' in body
    assert 'hx-swap-oob="beforeend:#keys-body"' in body
    [api_key] = keys_in_db()
    assert f'id="key-{api_key.id}"' in body
    assert api_key.masked_key in body
    assert "checked with the exchange and saved" in body
    # The fresh form is empty again.
    assert 'value="Main"' not in body


def test_plain_add_redirects_with_a_message(client, alice):
    response = client.post("/keys/", data=form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/keys/")
    page = client.get("/keys/").get_data(as_text=True)
    assert "Key “Main” checked with the exchange and saved." in page
    assert len(keys_in_db()) == 1


def test_a_rejected_key_shows_the_error_in_place_and_never_echoes_credentials(client, alice):
    response = client.post("/keys/", data=form(secret=WRONG_SECRET), headers=HTMX_FORM)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert 'role="alert"' in body
    assert "The exchange rejected this API key or secret." in body
    assert "Nothing was saved." in body
    assert 'value="Main"' in body  # the label is kept for the next try
    assert WRONG_SECRET not in body and API_KEY not in body  # credentials are typed again
    assert keys_in_db() == []


def test_an_unreachable_exchange_is_reported(client, alice, sim_server):
    sim_server.stop()
    response = client.post("/keys/", data=form(), headers=HTMX_FORM)
    assert response.status_code == 422
    assert (
        "The exchange could not be reached. Nothing was saved; try again in a minute."
        in response.get_data(as_text=True)
    )
    assert keys_in_db() == []


def test_missing_fields_and_a_taken_label_are_field_errors(client, alice_key):
    response = client.post("/keys/", data=form(label="", secret=""), headers=HTMX_FORM)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="label-errors"' in body and 'id="api_secret-errors"' in body

    response = client.post("/keys/", data=form(key=OTHER_KEY, secret=OTHER_SECRET))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "You already have a key with this label" in body
    assert "<html" in body  # without htmx: the whole page, errors in place
    assert len(keys_in_db()) == 1


def test_recheck_swaps_the_row(client, alice_key, sim_server):
    sim_server.sim.remove_account(API_KEY)
    url = f"/keys/{alice_key.id}/validate"
    response = client.post(url, headers={"HX-Request": "true", "HX-Target": f"key-{alice_key.id}"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.strip().startswith(f'<tr id="key-{alice_key.id}"')
    assert "invalid" in body and "The exchange rejected this API key or secret." in body
    assert not alice_key.is_valid

    sim_server.sim.add_account(API_KEY, API_SECRET)
    response = client.post(url)  # plain form: back to the page with a message
    assert response.status_code == 302
    assert "Key “Main” is valid." in client.get("/keys/").get_data(as_text=True)


def test_htmx_delete_removes_the_row(client, alice_key):
    response = client.delete(
        f"/keys/{alice_key.id}",
        headers={"HX-Request": "true", "HX-Target": f"key-{alice_key.id}"},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<tr" not in body
    assert "Deleted key “Main”." in body
    assert keys_in_db() == []


def test_deleting_a_key_says_it_stopped_the_bots_using_it(client, alice, alice_key):
    running_bot(alice, alice_key)
    response = client.delete(f"/keys/{alice_key.id}", headers={"HX-Request": "true"})
    assert "Deleted key “Main”. Stopped 1 bot that used it." in response.get_data(as_text=True)


def test_plain_delete_and_the_confirmation_text(client, alice_key):
    page = client.get("/keys/").get_data(as_text=True)
    assert "Any running bots that use it will be stopped first." in page
    response = client.post(f"/keys/{alice_key.id}/delete")
    assert response.status_code == 302
    assert "Deleted key “Main”." in client.get("/keys/").get_data(as_text=True)
    assert keys_in_db() == []


def test_delete_without_csrf_token_is_refused(client, alice_key):
    assert client.delete(f"/keys/{alice_key.id}", csrf=False).status_code == 400
    assert len(keys_in_db()) == 1


def test_demo_account_in_sim_mode(client, alice, sim_app):
    page = client.get("/keys/").get_data(as_text=True)
    assert "Use the demo account" in page
    assert DEMO_KEY not in page  # neither the demo key nor (checked by leak_guard) its secret
    response = client.post("/keys/demo", headers=HTMX_FORM)
    assert response.status_code == 200
    assert "Demo account" in response.get_data(as_text=True)
    client.post("/keys/demo", headers=HTMX_FORM)
    assert [k.label for k in keys_in_db()] == ["Demo account", "Demo account 2"]
    assert all(k.is_valid for k in keys_in_db())


def test_no_demo_account_without_the_simulator(client, auth, app):
    auth.register_and_login("alice@example.com")
    assert "Use the demo account" not in client.get("/keys/").get_data(as_text=True)
    assert client.post("/keys/demo").status_code == 404


# Every key route, with the method a browser uses for it.
KEY_ROUTES = [
    ("POST", "/keys/{id}/validate"),
    ("DELETE", "/keys/{id}"),
    ("POST", "/keys/{id}/delete"),
]
ALL_ROUTES = [("GET", "/keys/"), ("POST", "/keys/"), ("POST", "/keys/demo"), *KEY_ROUTES]


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_route_requires_login(client, sim_app, method, path):
    response = client.open(path.format(id=1), method=method, data=form())
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(("method", "path"), KEY_ROUTES)
def test_another_users_key_is_not_found(client, other_client, auth, alice_key, method, path, htmx):
    auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": "bob@example.com", "password": PASSWORD})
    checked_at = alice_key.last_validated_at
    headers = {"HX-Request": "true"} if htmx else {}
    response = other_client.open(path.format(id=alice_key.id), method=method, headers=headers)
    assert response.status_code == 404
    [still_there] = keys_in_db()
    assert still_there.last_validated_at == checked_at
    assert "****" + API_KEY[-4:] not in other_client.get("/keys/").get_data(as_text=True)


@pytest.mark.parametrize(("method", "path"), KEY_ROUTES)
def test_a_missing_key_is_not_found(client, alice, method, path):
    assert client.open(path.format(id=999), method=method).status_code == 404
