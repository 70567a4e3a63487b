"""`flask users ...` commands."""

from __future__ import annotations

from tests.conftest import PASSWORD
from webapp.models import User


def test_users_create_and_admin(runner, auth):
    result = runner.invoke(
        args=["users", "create", "Root@Example.com", "--admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created admin root@example.com" in result.output
    user = User.by_email("root@example.com")
    assert user.is_admin and user.check_password(PASSWORD)
    assert PASSWORD not in result.output


def test_users_create_refuses_weak_password_and_duplicates(runner, auth):
    result = runner.invoke(args=["users", "create", "a@example.com"], input="short\nshort\n")
    assert result.exit_code == 1
    assert "Use at least 10 characters" in result.output
    assert User.by_email("a@example.com") is None
    auth.create_user("b@example.com")
    result = runner.invoke(
        args=["users", "create", "b@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_users_set_password(runner, auth):
    auth.create_user("c@example.com")
    new = "another-pass-99"
    result = runner.invoke(args=["users", "set-password", "c@example.com"], input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert auth.login("c@example.com", new).status_code == 302
    result = runner.invoke(
        args=["users", "set-password", "nobody@example.com"], input=f"{new}\n{new}\n"
    )
    assert result.exit_code == 1
    assert "No account with the email nobody@example.com" in result.output


def test_users_list_and_set_admin(runner, auth):
    auth.create_user("d@example.com")
    assert runner.invoke(args=["users", "set-admin", "d@example.com"]).exit_code == 0
    result = runner.invoke(args=["users", "list"])
    assert "admin  d@example.com" in result.output
