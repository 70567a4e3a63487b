"""The periodic re-validation: scheduled, fanned out per key on the default queue, run by RQ."""

from __future__ import annotations

import sqlalchemy as sa
from rq import SimpleWorker

from tests.keys.conftest import API_KEY, API_SECRET, OTHER_KEY, OTHER_SECRET
from webapp import scheduling
from webapp.extensions import db, redis_ext
from webapp.keys import service
from webapp.models import ApiKey, Notification
from workers import keys as key_jobs


def test_revalidation_is_a_periodic_job_every_six_hours():
    [job] = [job for job in scheduling.PERIODIC_JOBS if job.func == "workers.keys.revalidate_all"]
    assert job.interval == 6 * 60 * 60
    assert job.queue == "default"


def test_revalidate_all_checks_every_key_through_the_worker(sim_app, sim_server, auth):
    alice = auth.create_user("alice@example.com")
    service.add_key(alice, "binance", "Main", API_KEY, API_SECRET)
    service.add_key(alice, "binance", "Spare", OTHER_KEY, OTHER_SECRET)
    db.session.commit()
    sim_server.sim.remove_account(OTHER_KEY)

    assert key_jobs.revalidate_all() == 2
    queue = redis_ext.queue("default")
    jobs = queue.get_jobs()
    assert [job.func_name for job in jobs] == ["workers.keys.revalidate_key"] * 2
    assert sorted(job.args[0] for job in jobs) == service.all_key_ids()

    SimpleWorker([queue], connection=redis_ext.conn).work(burst=True)
    assert sorted(job.return_value() for job in jobs) == ["invalid", "valid"]
    db.session.expire_all()
    states = dict(db.session.execute(sa.select(ApiKey.label, ApiKey.is_valid)).all())
    assert states == {"Main": True, "Spare": False}
    events = db.session.scalars(
        sa.select(Notification.event_type).where(Notification.user_id == alice.id)
    ).all()
    assert set(events) == {"api_key_invalid"}


def test_revalidate_key_for_a_deleted_key(sim_app):
    assert key_jobs.revalidate_key(4242) == "deleted"
