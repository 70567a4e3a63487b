"""In Chromium: turn on two-factor sign-in by reading the key from the page, then sign in
with a code from it."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_enable_two_factor_from_the_page_and_sign_in_with_a_code(page, browser_user, e2e_user):
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    expect(page.get_by_test_id("2fa-status")).to_have_text("Off")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()  # a link styled so
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("6-digit code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("button", name="I saved them").click()
    expect(page.get_by_test_id("2fa-status")).to_have_text("On")

    browser_user.logout()
    page.get_by_label("Email").fill(e2e_user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/security/login/code$"))
    # The code that turned it on was used: the next one (valid within the drift window).
    page.get_by_label(re.compile("Code from your authenticator")).fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("current-user")).to_have_text(e2e_user)
