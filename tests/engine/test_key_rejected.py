"""Two workers that see the exchange reject the same key at once tell the owner once."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from tests.engine.conftest import events
from webapp.events import EventType
from webapp.extensions import db
from webapp.keys import service as keys
from webapp.models import ApiKey


def test_a_key_rejected_meanwhile_by_another_worker_is_not_announced_again(bot_app, user, api_key):
    assert api_key.is_valid  # this worker's copy, loaded before the other worker's commit
    with so.Session(db.engine) as other:  # the other worker got there first and committed
        other.execute(sa.update(ApiKey).where(ApiKey.id == api_key.id).values(is_valid=False))
        other.commit()
    announced = len(events(user, EventType.API_KEY_INVALID))

    assert not keys.mark_key_rejected(api_key, "Invalid API-key, IP, or permissions for action.")
    db.session.commit()
    assert len(events(user, EventType.API_KEY_INVALID)) == announced
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiKey.is_valid).where(ApiKey.id == api_key.id)) is False
