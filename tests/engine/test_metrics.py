"""/metrics: Prometheus text behind a bearer token, counting what every process did; here a
bot cycle run by the worker's job, parsed with prometheus_client's own parser."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.engine.conftest import step

TOKEN = "metrics-token-0123456789abcdef"


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize(
    ("token", "header", "status"),
    [
        (None, f"Bearer {TOKEN}", 404),
        (TOKEN, None, 401),
        (TOKEN, "Bearer wrong-token", 401),
        (TOKEN, f"Basic {TOKEN}", 401),
    ],
)
def test_metrics_need_the_token_and_do_not_exist_without_one(app, client, token, header, status):
    app.config["METRICS_TOKEN"] = token
    headers = {"Authorization": header} if header else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == status
    assert "tradebots_" not in response.get_data(as_text=True)


def test_a_bot_cycle_run_by_the_worker_shows_in_the_metrics(bot_app, sim, clock, make_bot, client):
    from workers.bots import run_cycles

    bot_app.config["METRICS_TOKEN"] = TOKEN
    bot = make_bot()
    before = scrape(client)
    step(sim, clock, "BTC/USDT", "49000")  # below buy_below: this cycle buys
    assert run_cycles([bot.id], 10**9) == {"traded": 1}
    client.get("/healthz")
    after = scrape(client)

    def grew(name, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tradebots_bot_cycles_total", outcome="traded") == 1
    assert grew("tradebots_bot_cycle_duration_seconds_count") == 1
    assert grew("tradebots_bot_cycle_duration_seconds_sum") > 0
    assert grew("tradebots_orders_total", result="filled") == 1
    assert grew("tradebots_exchange_requests_total", exchange="binance", result="2xx") >= 1
    assert grew(
        "tradebots_http_requests_total", endpoint="main.healthz", method="GET", status="200"
    ) in (1, 2)
    assert grew("tradebots_http_request_duration_seconds_count", endpoint="main.healthz") >= 1
    assert ("tradebots_queue_length", (("queue", "bots"),)) in after


def test_a_delivered_notification_is_counted_by_channel_and_outcome(app, auth, client, smtp_server):
    from tests.notify.support import SAMPLE_DATA, rows_for
    from webapp.events import EventType, emit
    from webapp.extensions import db
    from webapp.notify import delivery

    app.config["METRICS_TOKEN"] = TOKEN
    user = auth.create_user()
    before = scrape(client)
    emit(user.id, EventType.BOT_ERROR, SAMPLE_DATA[EventType.BOT_ERROR])
    db.session.commit()
    [row] = rows_for(user.id)
    assert delivery.deliver(row.public_id).status == "sent"
    assert delivery.deliver(row.public_id).status == "skipped"  # not a second delivery
    assert len(smtp_server.wait_for(1)) == 1
    after = scrape(client)
    labels = {"channel": "email", "outcome": "sent"}
    name = "tradebots_notification_deliveries_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_exchange_requests_without_a_response_are_counted_by_kind(
    bot_app, sim, clock, make_bot, client
):
    from tests.support.services import free_port
    from webapp.engine.cycle import Outcome, run_cycle
    from webapp.exchange.sim import FailureMode
    from webapp.extensions import db
    from webapp.models import BotState

    bot_app.config.update(METRICS_TOKEN=TOKEN, EXCHANGE_TIMEOUT_MS=300)
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "55000")
    before = scrape(client)
    sim.hang_seconds = 2
    sim.set_failure(FailureMode.TIMEOUT)
    assert run_cycle(bot.id).outcome is Outcome.ERROR
    sim.set_failure(None)
    db.session.execute(sa.update(BotState).values(next_run_at=None))
    db.session.commit()
    bot_app.config["EXCHANGE_SIM_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    assert run_cycle(bot.id).outcome is Outcome.ERROR
    after = scrape(client)

    def grew(result: str) -> float:
        name, labels = (
            "tradebots_exchange_requests_total",
            {"exchange": "binance", "result": result},
        )
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("timeout") >= 1 and grew("connection_error") >= 1
