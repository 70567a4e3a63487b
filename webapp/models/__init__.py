"""Database models. Importing this package registers every table with SQLAlchemy."""

from __future__ import annotations

from webapp.models.user import User

__all__ = ["User"]
