"""The periodic jobs of the platform, and syncing them into rq-scheduler.

The list below is the source of truth; `sync_schedule` makes Redis match it, so starting
the scheduler (or running `flask schedule sync`) after Redis lost its data restores every
periodic job. Areas add their jobs to PERIODIC_JOBS.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq_scheduler import Scheduler

from webapp.config import Config

logger = logging.getLogger(__name__)

JOB_PREFIX = "periodic-"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str  # dotted path, so the scheduler process never imports job code
    interval: int  # seconds
    queue: str = "default"
    description: str = ""

    @property
    def job_id(self) -> str:
        return f"{JOB_PREFIX}{self.name}"


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob(
        "heartbeat",
        "workers.maintenance.heartbeat",
        60,
        description="Proves scheduled jobs reach a worker.",
    ),
    PeriodicJob(
        "bots-tick",
        "workers.bots.tick",
        Config.BOT_TICK_SECONDS,
        queue="bots",
        description="Queues the cycles of every running bot that is due.",
    ),
    PeriodicJob(
        "revalidate-api-keys",
        "workers.keys.revalidate_all",
        Config.KEY_REVALIDATE_INTERVAL,
        description="Re-checks every stored exchange API key; rejected keys stop their bots.",
    ),
    PeriodicJob(
        "notifications-sweep",
        "workers.notifications.sweep",
        30,
        queue="notifications",
        description="Enqueues due notifications that have no delivery job (e.g. Redis was down).",
    ),
    PeriodicJob(
        "backtests-sweep",
        "workers.backtest.sweep_abandoned",
        5 * 60,
        description="Fails backtests whose job died before finishing them, so their pages stop.",
    ),
    PeriodicJob(
        "notifications-cleanup",
        "workers.notifications.cleanup",
        24 * 60 * 60,
        queue="notifications",
        description="Deletes old sent and failed notifications.",
    ),
    PeriodicJob(
        "audit-cleanup",
        "workers.security.cleanup_audit",
        24 * 60 * 60,
        description="Deletes audit events older than AUDIT_KEEP_DAYS and ended sessions.",
    ),
]


def get_scheduler(connection: Redis) -> Scheduler:
    return Scheduler(queue_name="default", connection=connection)


# The job hash must outlive any wait in a queue: rq-scheduler drops a periodic job for good
# once its hash has expired (a short result TTL lost the 5 s bots tick behind a backlog).
RESULT_TTL = -1


def _matches(job, spec: PeriodicJob | None) -> bool:
    return (
        spec is not None
        and job.func_name == spec.func
        and job.meta.get("interval") == spec.interval
        and job.origin == spec.queue
        and job.result_ttl == RESULT_TTL
    )


def sync_schedule(connection: Redis, jobs: list[PeriodicJob] | None = None) -> list[str]:
    """Make the scheduled periodic jobs match `jobs`; returns what changed, for the log."""
    jobs = PERIODIC_JOBS if jobs is None else jobs
    scheduler = get_scheduler(connection)
    wanted = {job.job_id: job for job in jobs}
    current = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}
    changes: list[str] = []
    for job_id, job in current.items():
        if not _matches(job, wanted.get(job_id)):
            scheduler.cancel(job)
            job.delete()
            if job_id not in wanted:
                changes.append(f"removed {job_id}")
    for job_id, spec in wanted.items():
        if job_id in current and _matches(current[job_id], spec):
            continue
        scheduler.schedule(
            scheduled_time=datetime.now(UTC),
            func=spec.func,
            interval=spec.interval,
            repeat=None,
            id=job_id,
            queue_name=spec.queue,
            description=spec.description or spec.name,
            meta={"interval": spec.interval},
            result_ttl=RESULT_TTL,
        )
        changes.append(f"scheduled {job_id} every {spec.interval}s on {spec.queue}")
    for line in changes:
        logger.debug("schedule: %s", line)
    return changes


def scheduled_jobs(connection: Redis) -> list[tuple[str, str, datetime | None]]:
    """(job id, function, next run) for every job rq-scheduler holds, soonest first."""
    scheduler = get_scheduler(connection)
    rows = []
    for job, when in scheduler.get_jobs(with_times=True):
        rows.append((job.id, job.func_name, when.replace(tzinfo=UTC) if when else None))
    return sorted(rows, key=lambda row: row[2] or datetime.max.replace(tzinfo=UTC))


REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class StoppableScheduler(Scheduler):
    """rq-scheduler's Scheduler with a loop that stops between passes.

    `Scheduler.run` raises SystemExit from its SIGTERM handler wherever the loop happens to
    be; landing between moving a periodic job onto its queue and putting it back into the
    schedule drops that job until the next sync. Here SIGTERM and SIGINT only ask to stop:
    the pass under way finishes, the sleep is cut short, and the lock and the scheduler's
    registration are released as `Scheduler.run` releases them. A pass that cannot reach
    Redis is logged and retried at the next interval instead of ending the process, and when
    Redis comes back without the scheduler's registration (restarted empty) the periodic
    jobs are synced again, as a restarted process would.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stopping = threading.Event()

    def stop(self, signum: int | None = None, frame=None) -> None:
        if not self._stopping.is_set() and signum is not None:
            logger.info("Scheduler stopping (%s)", signal.Signals(signum).name)
        self._stopping.set()

    def _pass(self, burst: bool) -> bool:
        """One look at the schedule; True when a burst run is done."""
        if not self.connection.exists(self.key):
            # Redis restarted empty (or was flushed): the periodic jobs went with it.
            logger.warning("Redis lost the scheduler's state; syncing the periodic jobs again")
            for line in sync_schedule(self.connection):
                logger.info("%s", line)
            self.register_birth()
        self.heartbeat()
        if not self.acquire_lock():
            self.log.warning("Lock already taken - skipping run")
            return False
        try:
            self.enqueue_jobs()
            self.heartbeat()
        finally:
            self.remove_lock()
        return burst

    def run(self, burst: bool = False) -> None:
        self.register_birth()
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        redis_down = False
        try:
            while not self._stopping.is_set():
                started = time.monotonic()
                try:
                    if self._pass(burst):
                        self.log.info("RQ scheduler done, quitting")
                        break
                    if redis_down:
                        logger.info("Scheduler reaches Redis again")
                    redis_down = False
                except REDIS_DOWN as exc:
                    if not redis_down:
                        logger.error("Scheduler cannot reach Redis (retrying): %s", exc)
                    redis_down = True
                self._stopping.wait(max(0.0, self._interval - (time.monotonic() - started)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            try:
                self.remove_lock()
                self.register_death()
            except REDIS_DOWN as exc:  # it expires by itself a few seconds after the interval
                logger.warning("Scheduler could not record its stop in Redis: %s", exc)
        logger.info("Scheduler stopped")


def run_scheduler(connection: Redis, *, interval: float, burst: bool = False) -> None:
    """Move due scheduled jobs onto their queues every `interval` seconds until SIGTERM or
    SIGINT (or after one pass with `burst`)."""
    StoppableScheduler(queue_name="default", connection=connection, interval=interval).run(
        burst=burst
    )
