"""End-to-end fixtures: the app served on a free loopback port, driven by Debian's Chromium.

Playwright never downloads a browser here: it launches /usr/bin/chromium (installed by
`make test`) with the flags a sandboxed, offline machine needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD
from tests.support.services import live_server as serve

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

SUBRESOURCES = {"script", "stylesheet", "image", "font", "media", "manifest", "other"}

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test app (same database, Redis and SMTP sink) served over real HTTP."""
    with serve(app) as url:
        app.config["BASE_URL"] = url
        yield url


@pytest.fixture
def page(browser, live_server, request) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def missing_file(response) -> None:
        # A page's own files (scripts, styles, images, the icon) must all be there.
        if response.status == 404 and response.request.resource_type in SUBRESOURCES:
            errors.append(f"404 for {response.url}")

    page.on("response", missing_file)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert errors == [], f"Errors on the page (JavaScript, missing files): {errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


class BrowserUser:
    """Drive the account pages like a person would."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def register(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/auth/register")
        expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Repeat password").fill(password)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_test_id("current-user")).to_have_text(email)

    def login(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/auth/login")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("current-user")).to_have_text(email)

    def logout(self) -> None:
        self.page.get_by_test_id("logout").click()
        expect(self.page.get_by_role("heading", name="Log in")).to_be_visible()


@pytest.fixture
def browser_user(page) -> BrowserUser:
    return BrowserUser(page)


@pytest.fixture
def e2e_user(auth, browser_user) -> str:
    """A registered user, logged in in the browser; returns the email."""
    email = "trader@example.com"
    auth.create_user(email)
    browser_user.login(email)
    return email
