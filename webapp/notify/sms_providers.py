"""Where an SMS goes: the console (development: the text in the process's terminal) or
Twilio's REST API at TWILIO_API_BASE.

A provider answers with an `SmsResult`; the SMS channel decides what it means for the row.
No error message carries the auth token or the account's URL.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass

import requests
from flask import current_app

from webapp.i18n.marks import N_

logger = logging.getLogger(__name__)

#: Twilio error codes that mean "this number cannot get our SMS": stop sending to it.
NUMBER_INVALID = 21211
NUMBER_UNSUBSCRIBED = 21610
TURN_OFF = {
    NUMBER_INVALID: N_("the number is not a valid mobile number"),
    NUMBER_UNSUBSCRIBED: N_("the recipient replied STOP"),
}

_local = threading.local()


class ProviderNotConfigured(Exception):
    """SMS_PROVIDER=twilio without its account settings."""


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    status: int | None = None
    code: int | None = None  # the provider's error code
    error: str | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class ConsoleProvider:
    name: str = "console"

    def send(self, to: str, body: str) -> SmsResult:
        sys.stdout.write(f"--- SMS to {to} ---\n{body}\n--- end of SMS ---\n")
        sys.stdout.flush()
        return SmsResult(True, 200)

    def check(self) -> str:
        return "console: messages are printed by the worker"


@dataclass(frozen=True)
class TwilioProvider:
    base: str
    account_sid: str
    auth_token: str
    from_number: str
    timeout: float = 10.0
    name: str = "twilio"

    def __repr__(self) -> str:  # never the token
        return f"<TwilioProvider {self.base}>"

    def _session(self) -> requests.Session:
        session = getattr(_local, "session", None)
        if session is None:
            session = _local.session = requests.Session()
        return session

    def send(self, to: str, body: str) -> SmsResult:
        url = f"{self.base.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = self._session().post(
                url,
                data={"To": to, "From": self.from_number, "Body": body},
                auth=(self.account_sid, self.auth_token),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            return SmsResult(
                False, None, error=f"Twilio could not be reached ({type(exc).__name__})"
            )
        if 200 <= response.status_code < 300:
            return SmsResult(True, response.status_code)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        code = payload.get("code") if isinstance(payload.get("code"), int) else None
        message = " ".join(str(payload.get("message") or response.reason or "").split())[:200]
        retry_after = response.headers.get("Retry-After")
        try:
            wait = float(retry_after) if retry_after else None
        except ValueError:
            wait = None
        error = f"Twilio answered {response.status_code}" + (f" (error {code})" if code else "")
        return SmsResult(
            False, response.status_code, code, error + (f": {message}" if message else ""), wait
        )

    def check(self) -> str:
        """Fetch the account (proves the SID and token); raises ValueError with the reason."""
        url = f"{self.base.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}.json"
        try:
            response = self._session().get(
                url, auth=(self.account_sid, self.auth_token), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ValueError(f"Twilio could not be reached ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise ValueError(f"Twilio answered {response.status_code}")
        return f"twilio: account {self.account_sid[:6]}… from {self.from_number}"


def provider() -> ConsoleProvider | TwilioProvider:
    cfg = current_app.config
    name = str(cfg.get("SMS_PROVIDER") or "console").lower()
    if name != "twilio":
        return ConsoleProvider()
    sid, token, sender = (
        cfg.get("TWILIO_ACCOUNT_SID"),
        cfg.get("TWILIO_AUTH_TOKEN"),
        cfg.get("TWILIO_FROM_NUMBER"),
    )
    if not (sid and token and sender):
        raise ProviderNotConfigured(
            "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
            "TWILIO_FROM_NUMBER."
        )
    return TwilioProvider(
        str(cfg.get("TWILIO_API_BASE") or "https://api.twilio.com"),
        sid,
        token,
        sender,
        float(cfg.get("TWILIO_TIMEOUT") or 10),
    )
