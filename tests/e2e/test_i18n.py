"""A person switches the language from the page footer and the product speaks Turkish."""

from __future__ import annotations

from playwright.sync_api import expect

from webapp.extensions import db
from webapp.models import User


def test_switch_to_turkish_from_the_footer(page, e2e_user):
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    footer = page.locator("footer")
    footer.get_by_label("Language").select_option("tr")
    footer.get_by_role("button", name="Change language").click()

    expect(page.get_by_role("heading", name="Gösterge paneli")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    expect(page.get_by_test_id("current-user")).to_have_text(e2e_user)
    expect(page.get_by_role("link", name="Botlar")).to_be_visible()
    expect(page.get_by_role("button", name="Çıkış yap")).to_be_visible()
    expect(page.get_by_text("Henüz bot yok.")).to_be_visible()
    expect(footer.get_by_label("Dil")).to_have_value("tr")
    db.session.expire_all()
    assert User.by_email(e2e_user).locale == "tr"

    # The choice is the account's: it holds after signing out and in again.
    page.get_by_role("button", name="Çıkış yap").click()
    expect(page.get_by_role("heading", name="Giriş yap")).to_be_visible()
    page.get_by_label("E-posta").fill(e2e_user)
    page.get_by_label("Parola").fill("correct-horse-42")
    page.get_by_role("button", name="Giriş yap").click()
    expect(page.get_by_role("heading", name="Gösterge paneli")).to_be_visible()
