"""/metrics and X-Request-ID as gunicorn serves them: the workers' counts add up (multiprocess
mode), the token is required, and a request id a client sends is echoed only when sane."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SERVED_METRICS_TOKEN


def healthz_count(served) -> float:
    response = requests.get(
        served.url + "/metrics",
        headers={"Authorization": f"Bearer {SERVED_METRICS_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "tradebots_http_requests_total" and sample.labels == {
                "endpoint": "main.healthz",
                "method": "GET",
                "status": "200",
            }:
                total += sample.value
    return total


def test_metrics_add_up_every_gunicorn_worker_and_need_the_token(served):
    assert requests.get(served.url + "/metrics", timeout=10).status_code == 401
    wrong = requests.get(
        served.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401 and "tradebots_" not in wrong.text
    before = healthz_count(served)
    # New connections each time, so both workers answer some of them.
    for _ in range(12):
        assert requests.get(served.url + "/healthz", timeout=10).status_code == 200
    assert healthz_count(served) - before == 12


def test_the_request_id_is_echoed_when_sane_and_replaced_otherwise(served):
    sane = requests.get(served.url + "/healthz", headers={"X-Request-ID": "abc-123"}, timeout=10)
    assert sane.headers["X-Request-ID"] == "abc-123"
    for hostile in ("a" * 65, "x y", "é", "<script>"):
        response = requests.get(
            served.url + "/healthz", headers={"X-Request-ID": hostile}, timeout=10
        )
        assert (
            len(response.headers["X-Request-ID"]) == 32
            and response.headers["X-Request-ID"] != hostile
        )
