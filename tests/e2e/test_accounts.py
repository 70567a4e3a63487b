"""A person registers, logs out and in, mistypes a password, and resets it by email."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.services import body_text


def test_register_logout_login(page, browser_user):
    browser_user.register("newcomer@example.com")
    expect(page.get_by_text("Welcome! Your account is ready.")).to_be_visible()
    browser_user.logout()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    browser_user.login("newcomer@example.com")
    expect(page).to_have_url(re.compile(r"/$"))


def test_register_shows_password_rules_inline(page):
    page.goto("/auth/register")
    page.get_by_label("Email").fill("weak@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Use at least 10 characters (you used 5).")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("weak@example.com")


def test_wrong_password_shows_an_error(page, auth):
    auth.create_user("someone@example.com")
    page.goto("/auth/login")
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_label("Password").fill("not-the-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_reset_password_through_the_emailed_link(page, auth, browser_user, smtp_server):
    auth.create_user("forgetful@example.com")
    page.goto("/auth/login")
    page.get_by_role("link", name="Forgot your password?").click()
    # A boosted link swaps the page in place: wait for the new page before typing into it.
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/auth/reset$"))
    page.get_by_label("Email").fill("forgetful@example.com")
    page.get_by_role("button", name="Email me a reset link").click()
    expect(page.get_by_text("we sent it a link to reset the password")).to_be_visible()

    [message] = smtp_server.wait_for(1)
    link = re.search(r"https?://\S+/auth/reset/\S+", body_text(message)).group(0)
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/auth/reset/confirm$"))  # the token left the URL
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("a-fresh-secret-77")
    page.get_by_label("Repeat new password").fill("a-fresh-secret-77")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()

    browser_user.login("forgetful@example.com", "a-fresh-secret-77")


def test_a_second_user_sees_only_their_own_dashboard(page, auth, browser_user):
    auth.create_user("first@example.com")
    auth.create_user("second@example.com")
    browser_user.login("second@example.com", PASSWORD)
    expect(page.get_by_text("first@example.com")).to_have_count(0)
