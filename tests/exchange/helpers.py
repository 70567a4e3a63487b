"""Constants shared by the simulated-exchange tests."""

from __future__ import annotations

KEY = "test-key-1"
SECRET = "s3cr3t-never-shown-9f2c"
# A fixed market clock (2026-01-01 03:25:45 UTC) for tests that need reproducible prices;
# request timestamps are still checked against the real clock.
FIXED_TIME = 1767237945.25
