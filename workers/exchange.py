"""Exchange jobs: telling the admins of a ban."""

from __future__ import annotations

from webapp.exchange import bans
from webapp.extensions import db
from workers import app_job


@app_job
def tell_admins_of_ban(host: str, until: float) -> int:
    """Notify every admin that `host` banned this installation until `until` (Unix time);
    safe to run twice (an admin already told of this ban is skipped)."""
    told = bans.tell_admins(host, until)
    db.session.commit()
    return told
