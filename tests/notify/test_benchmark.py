"""The notifications benchmark runs as the README says, for every channel, and finds nothing
lost, delivered twice or sent to a Telegram chat too soon (its exit status says so).

Tiny sizes: this proves the benchmark still works end to end (workers, scheduler, fakes), not
how fast it is; the figures are the README's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["telegram", "sms", "webhook"])
def test_the_notifications_benchmark_delivers_everything_once(channel):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [
        sys.executable, "-m", "tests.bench.notifications", "--channel", channel,
        "--users", "2", "--events", "6", "--steady-events", "4", "--rate", "10",
        "--workers", "1", "--timeout", "60",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("lost                  0") == 2, result.stdout
    assert "duplicated (all)        0" in result.stdout, result.stdout
