"""Password rules: long enough, not trivially guessable, and said plainly when broken."""

from __future__ import annotations

from webapp.i18n.current import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 128

# The most common passwords that would otherwise satisfy the length rule.
COMMON = frozenset(
    {
        "password123",
        "password1234",
        "passw0rd123",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwerty12345",
        "1q2w3e4r5t",
        "iloveyou123",
        "letmein1234",
        "welcome123",
        "administrator",
        "abcdefghij",
        "abc1234567",
        "0123456789",
        "trustno1234",
        "football123",
        "baseball123",
        "dragon12345",
        "monkey12345",
    }
)


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Every rule the password breaks, as sentences for the user (empty when it is fine)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(
            _(
                "Use at least %(min)d characters (you used %(used)d).",
                min=MIN_LENGTH,
                used=len(password),
            )
        )
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(max)d characters.", max=MAX_LENGTH))
    if password and (password.isdigit() or password.isalpha()):
        problems.append(_("Mix letters with at least one digit or symbol."))
    if password and len(set(password)) < 4:
        problems.append(_("Use at least %(n)d different characters.", n=4))
    if password.lower() in COMMON:
        problems.append(_("This password is too common; choose another."))
    local_part = (email or "").split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        problems.append(_("Do not include your email address in the password."))
    return problems
