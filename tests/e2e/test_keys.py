"""A person adds an exchange key in the browser, sees it masked and valid, and deletes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from webapp.exchange.sim import SimServer, Simulator

DEMO_KEY = "demo-key-e2e-5678"
DEMO_SECRET = "StestSecretE2eDemo-0011223344556677"
OWN_KEY = "KtestKeyE2eOwn000111222333444ABCD"
OWN_SECRET = "StestSecretE2eOwn-8899aabbccddeeff"


@pytest.fixture
def sim(app) -> Iterator[SimServer]:
    """The simulated exchange the live app talks to, as under `make run`."""
    with SimServer(Simulator(seed=3, frozen=True)) as server:
        server.sim.add_account(DEMO_KEY, DEMO_SECRET)
        server.sim.add_account(OWN_KEY, OWN_SECRET)
        app.config.update(
            EXCHANGE_SIM_URL=server.url, DEMO_API_KEY=DEMO_KEY, DEMO_API_SECRET=DEMO_SECRET
        )
        yield server


def test_demo_key_added_shown_masked_and_valid_then_deleted(sim, page, e2e_user):
    page.goto("/")
    page.get_by_role("link", name="Keys").click()
    expect(page.get_by_role("heading", name="Exchange API keys")).to_be_visible()
    expect(page.get_by_test_id("key-row")).to_have_count(0)

    page.get_by_role("button", name="Use the demo account").click()
    row = page.get_by_test_id("key-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("key-label")).to_have_text("Demo account")
    expect(row.get_by_test_id("key-masked")).to_have_text("****" + DEMO_KEY[-4:])
    expect(row.get_by_test_id("key-status")).to_have_text("valid")
    expect(page.get_by_role("status")).to_contain_text("checked with the exchange and saved")
    html = page.content()
    assert DEMO_KEY not in html and DEMO_SECRET not in html

    confirmations: list[str] = []

    def accept(dialog) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(f"{request.method} {request.url}"))
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("key-row")).to_have_count(0)
    [delete] = [line for line in requested if line.startswith("DELETE ")]
    assert "?" not in delete  # no token in a URL, where access logs would keep it
    expect(page.get_by_role("status")).to_have_text("Deleted key “Demo account”.")
    assert "running bots that use it will be stopped first" in confirmations[0]

    page.reload()  # really gone, not just removed from the page
    expect(page.get_by_test_id("key-row")).to_have_count(0)


def test_own_key_wrong_secret_then_right_one_without_reloading(sim, page, e2e_user):
    page.goto("/keys/")
    page.get_by_label("Label").fill("Main")
    page.get_by_label("API key").fill(OWN_KEY)
    page.get_by_label("API secret").fill("StestSecretE2eWrong-000000000000")
    page.get_by_role("button", name="Check and save key").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The exchange rejected this API key or secret."
    )
    expect(page.get_by_label("Label")).to_have_value("Main")
    expect(page.get_by_label("API secret")).to_have_value("")
    expect(page.get_by_test_id("key-row")).to_have_count(0)

    page.evaluate("window.__same_page = true")  # gone if the page reloads
    page.get_by_label("API key").fill(OWN_KEY)
    page.get_by_label("API secret").fill(OWN_SECRET)
    page.get_by_role("button", name="Check and save key").click()
    row = page.get_by_test_id("key-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("key-masked")).to_have_text("****ABCD")
    expect(page.get_by_label("Label")).to_have_value("")  # a fresh form for the next key
    assert page.evaluate("window.__same_page") is True

    sim.sim.remove_account(OWN_KEY)
    row.get_by_role("button", name="Re-check").click()
    expect(row.get_by_test_id("key-status")).to_have_text("invalid")
    expect(row.get_by_test_id("key-error")).to_contain_text("rejected this API key")
