from __future__ import annotations

import base64
import time

import pytest

from webapp.notify.signing import (
    InvalidSecretError,
    WebhookVerificationError,
    build_headers,
    generate_secret,
    new_message_id,
    sign,
    signature_header,
    verify,
)

# Known vector from the reference implementation's test suite:
# standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
# test_sign_function (the same values appear in the other languages' tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

BODY = b'{"type":"trade_executed","timestamp":"2026-01-01T00:00:00Z","data":{"qty":"0.1"}}'


def test_known_vector_from_reference_library():
    assert sign(VECTOR_SECRET, VECTOR_MSG_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_known_vector_verifies():
    headers = {
        "webhook-id": VECTOR_MSG_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10)


def test_generated_secret_format():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert 24 <= len(key) <= 64
    assert generate_secret() != secret
    assert len(base64.b64decode(generate_secret(24)[6:])) == 24
    assert len(base64.b64decode(generate_secret(64)[6:])) == 64
    with pytest.raises(ValueError):
        generate_secret(16)


def test_round_trip_with_build_headers():
    secret = generate_secret()
    msg_id = new_message_id()
    now = int(time.time())
    headers = build_headers(msg_id, now, BODY, [secret])
    assert headers["webhook-id"] == msg_id
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"]
    verify(secret, headers, BODY)
    # Header names are case-insensitive, as they are once they went through an HTTP server.
    verify(secret, {k.title(): v for k, v in headers.items()}, BODY)


def test_message_ids_are_unique_and_dot_free():
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("msg_") and "." not in i for i in ids)


def test_wrong_secret_fails():
    now = int(time.time())
    headers = build_headers("msg_1", now, BODY, [generate_secret()])
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verify(generate_secret(), headers, BODY)


def test_tampered_body_fails():
    secret = generate_secret()
    headers = build_headers("msg_1", int(time.time()), BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, BODY.replace(b"0.1", b"9.1"))


def test_tampered_id_or_timestamp_fails():
    secret = generate_secret()
    now = int(time.time())
    headers = build_headers("msg_1", now, BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        verify(secret, {**headers, "webhook-id": "msg_2"}, BODY)
    with pytest.raises(WebhookVerificationError):
        verify(secret, {**headers, "webhook-timestamp": str(now - 1)}, BODY)


@pytest.mark.parametrize(
    ("received_after", "error"),
    [(-301, "too far in the future"), (-300, None), (300, None), (301, "too old")],
)
def test_timestamp_tolerance_is_five_minutes(received_after, error):
    secret = generate_secret()
    sent = 1_700_000_000
    headers = build_headers("msg_1", sent, BODY, [secret])
    if error is None:
        verify(secret, headers, BODY, now=sent + received_after)
    else:
        with pytest.raises(WebhookVerificationError, match=error):
            verify(secret, headers, BODY, now=sent + received_after)


def test_stale_timestamp_fails_with_default_clock():
    secret = generate_secret()
    headers = build_headers("msg_1", int(time.time()) - 3600, BODY, [secret])
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(secret, headers, BODY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_fails(missing):
    secret = generate_secret()
    headers = build_headers("msg_1", int(time.time()), BODY, [secret])
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify(secret, headers, BODY)


def test_two_secret_header_verifies_with_either():
    old, new = generate_secret(), generate_secret()
    now = int(time.time())
    headers = build_headers("msg_rot", now, BODY, [new, old])
    signatures = headers["webhook-signature"].split(" ")
    assert signatures == [sign(new, "msg_rot", now, BODY), sign(old, "msg_rot", now, BODY)]
    verify(new, headers, BODY)
    verify(old, headers, BODY)
    with pytest.raises(WebhookVerificationError):
        verify(generate_secret(), headers, BODY)


def test_unknown_versions_and_garbage_signatures_are_skipped():
    secret = generate_secret()
    now = int(time.time())
    good = sign(secret, "msg_1", now, BODY)
    header = f"v1a,AAAA v2,{good[3:]} v1,not*base64 junk {good}"
    verify(
        secret,
        {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": header},
        BODY,
    )


def test_signature_header_needs_a_secret():
    with pytest.raises(ValueError):
        signature_header([], "msg_1", 1, BODY)


def test_message_id_with_dot_is_refused():
    with pytest.raises(ValueError):
        sign(generate_secret(), "msg.1", 1, BODY)


def test_invalid_secret_message_does_not_leak_it():
    bad = "whsec_this is not base64!!"
    with pytest.raises(InvalidSecretError) as info:
        sign(bad, "msg_1", 1, BODY)
    assert "this is not" not in str(info.value)


def test_secret_without_prefix_is_accepted_like_the_reference():
    assert sign(VECTOR_SECRET[6:], VECTOR_MSG_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )
