"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app
from flask_login import current_user

# (endpoint, label, admin only). A link shows only once its area is registered.
NAV = (
    ("main.index", "Dashboard", False),
    ("keys.index", "Keys", False),
    ("bots.index", "Bots", False),
    ("trades.index", "Trades", False),
    ("notifications.index", "Notifications", False),
    ("admin.index", "Admin", True),
)


def nav_items() -> list[tuple[str, str]]:
    items = []
    for endpoint, label, admin_only in NAV:
        if endpoint not in current_app.view_functions:
            continue
        if admin_only and not (current_user.is_authenticated and current_user.is_admin):
            continue
        items.append((endpoint, label))
    return items


def format_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return "—"
    return value.strftime(fmt) + (" UTC" if value.utcoffset() is not None else "")


def format_number(value: Decimal | float | int | None, places: int = 2) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)):,.{places}f}"


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["dt"] = format_datetime
    app.jinja_env.filters["num"] = format_number
