"""A missing or malformed secret stops start-up with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.support.processes import ROOT
from webapp import create_app
from webapp.config import Config, ConfigError, normalize_database_url


def _config(**overrides) -> type[Config]:
    return type(
        "C",
        (Config,),
        {"SECRET_KEY": "s" * 40, "ENCRYPTION_KEY": Fernet.generate_key().decode(), **overrides},
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing or shorter than 32 characters"),
        ({"ENCRYPTION_KEY": ""}, "ENCRYPTION_KEY is not set; generate one with"),
        ({"ENCRYPTION_KEY": "not-a-key"}, "ENCRYPTION_KEY entry 1 is not a valid Fernet key"),
    ],
)
def test_bad_secrets_stop_the_app(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        create_app(_config(**overrides))
    assert "not-a-key" not in str(info.value)


def test_a_second_malformed_rotation_key_is_named():
    good = Fernet.generate_key().decode()
    with pytest.raises(ConfigError, match="entry 2"):
        create_app(_config(ENCRYPTION_KEY=f"{good},garbage"))


def test_flask_command_prints_one_line_without_a_traceback(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "FLASK_APP": "wsgi",
        "SECRET_KEY": "",
        "ENCRYPTION_KEY": "",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Variables set (even empty) in the environment win over a local .env file.
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("Configuration error: SECRET_KEY is missing")


def test_postgres_urls_use_the_shipped_driver():
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def _start(tmp_path, code: str, **settings: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "FLASK_APP": "wsgi",
        "SECRET_KEY": "s" * 40,
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        **settings,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "settings", "line"),
    [
        ("import wsgi", {"MAIL_PORT": "25x"}, "MAIL_PORT must be a whole number, got '25x'."),
        (
            "import workers; workers.get_app()",
            {"TRADING_HALTED": "perhaps"},
            "TRADING_HALTED must be true or false, got 'perhaps'.",
        ),
    ],
)
def test_a_bad_setting_stops_web_and_worker_with_one_line_naming_it(tmp_path, code, settings, line):
    result = _start(tmp_path, code, **settings)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [printed] = result.stderr.strip().splitlines()
    assert printed.startswith("Configuration error: ") and line in printed


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be text or json"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"BOT_TICK_SECONDS": 0}, "BOT_TICK_SECONDS must be at least 1"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis://"),
        ({"BASE_URL": "example.com"}, "BASE_URL must start with http"),
        ({"NOTIFY_RETRY_DELAYS": "10,soon"}, "NOTIFY_RETRY_DELAYS must be comma-separated"),
    ],
)
def test_settings_are_checked_at_start_up(overrides, message):
    with pytest.raises(ConfigError, match=message):
        create_app(_config(**overrides))


def test_settings_read_from_the_environment_by_the_notifier_are_checked_too(monkeypatch):
    monkeypatch.setenv("NOTIFY_BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match=r"NOTIFY_BATCH_SIZE must be at least 1, got 0\."):
        create_app(_config())
    monkeypatch.setenv("NOTIFY_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="NOTIFY_BATCH_SIZE must be a whole number"):
        create_app(_config())
    monkeypatch.setenv("NOTIFY_BATCH_SIZE", "16")
    create_app(_config())  # a good value again: nothing was left behind
