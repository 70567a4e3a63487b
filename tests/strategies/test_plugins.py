"""Strategies from packages: the example plugin, installed with pip, is a strategy like the
built-in ones (bot form, backtest, admin page with its version); broken plugins are logged and
skipped while the app starts."""

from __future__ import annotations

import importlib
import logging
import math
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from webapp import create_app
from webapp.backtest import engine
from webapp.strategies import Candle, get_strategy, plugins, unregister
from webapp.strategies.ema_cross import EmaCrossStrategy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tradebots-rsi"


@pytest.fixture
def on_path(monkeypatch):
    """Put a directory of installed packages on sys.path for one test, then forget them."""
    added: list[str] = []

    def add(directory: Path) -> None:
        monkeypatch.syspath_prepend(str(directory))
        importlib.invalidate_caches()
        added.append(str(directory))

    yield add
    for name in [m for m in sys.modules if m.startswith(("tradebots_rsi", "broken_plugin"))]:
        del sys.modules[name]
    unregister("rsi_reversion")
    for directory in added:
        if directory in sys.path:
            sys.path.remove(directory)
    importlib.invalidate_caches()
    plugins.load()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install` the example plugin (a copy, so the build leaves the tree clean)."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, work / "src")
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    return target


def walk(n: int) -> list[Candle]:
    """Closes swinging up and down, so an RSI reaches both of its levels."""
    out = []
    for i in range(n):
        price = 100 + 8 * math.sin(i / 6) + (i % 3) * 0.3
        ts = 1_767_571_200_000 + i * 60_000
        out.append(Candle(ts, price, price + 0.5, price - 0.5, price, 1))
    return out


def test_the_installed_example_runs_in_a_backtest_and_is_listed_with_its_version(
    app, auth, client, installed, on_path
):
    on_path(installed)

    found = plugins.load()

    [plugin] = found
    assert (plugin.strategy, plugin.package, plugin.version, plugin.error) == (
        "rsi_reversion",
        "tradebots-rsi",
        "1.0.0",
        None,
    )
    assert get_strategy("rsi_reversion").label == "RSI reversion"
    settings = engine.Settings(
        symbol="BTC/USDT",
        timeframe="1m",
        strategy="rsi_reversion",
        params={"period": 6, "buy_below": "35", "sell_above": "65"},
        quote_amount=Decimal(100),
    )
    result = engine.run(settings, walk(600))
    sides = [trade["side"] for trade in result.trades]
    assert sides[:4] == ["buy", "sell", "buy", "sell"], sides

    auth.register_and_login("admin@example.com", admin=True)
    admin = client.get("/admin/").get_data(as_text=True)
    assert "<code>rsi_reversion</code>" in admin and "tradebots-rsi 1.0.0" in admin
    form = client.get("/bots/new").get_data(as_text=True)
    assert 'value="rsi_reversion"' in form


def write_dist(site: Path, entries: dict[str, str], module: str) -> None:
    """An installed distribution as pip leaves one: its module and its dist-info."""
    (site / "broken_plugin.py").write_text(module)
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[webapp.strategies]\n{lines}\n")


BROKEN = """
from webapp.strategies import ParamType, Strategy
from webapp.strategies.ema_cross import EmaCrossStrategy


class BadParams(Strategy):
    name = "bad_params"
    label = "Bad"
    description = "Its parameters are a list of dicts."
    params = [{"name": "period"}]


class BadDefault(EmaCrossStrategy):
    name = "bad_default"
    label = "Bad default"
    description = "Its default does not validate."
    params = (EmaCrossStrategy.params[0].__class__("fast", "Fast", ParamType.INT, 1, 2, 9),)


class Taken(EmaCrossStrategy):
    name = "ema_cross"
"""


def test_broken_plugins_are_logged_and_skipped_and_the_app_starts(
    config_class, tmp_path, on_path, caplog, monkeypatch
):
    write_dist(
        tmp_path,
        {
            "missing": "no_such_module:Strategy",
            "not_a_strategy": "json:loads",
            "bad_params": "broken_plugin:BadParams",
            "bad_default": "broken_plugin:BadDefault",
            "taken": "broken_plugin:Taken",
        },
        BROKEN,
    )
    on_path(tmp_path)

    monkeypatch.setattr(plugins, "_loaded", False)  # a fresh process
    with caplog.at_level(logging.ERROR, logger="webapp.strategies.plugins"):
        app = create_app(config_class)

    assert app.name and plugins._loaded
    found = plugins.PLUGINS
    assert {p.entry_point: p.strategy for p in found} == dict.fromkeys(
        ["bad_default", "bad_params", "missing", "not_a_strategy", "taken"]
    )
    errors = {p.entry_point: p.error for p in found}
    assert "ModuleNotFoundError" in errors["missing"]
    assert "not a Strategy subclass" in errors["not_a_strategy"]
    assert "ParamSpec" in errors["bad_params"]
    assert "already taken" in errors["taken"]
    assert errors["bad_default"]
    assert get_strategy("ema_cross") is EmaCrossStrategy
    logged = caplog.text
    assert all(f"strategy plugin {name}" in logged for name in errors)
    skipped = [row for row in plugins.listing() if row.error]
    assert {row.name for row in skipped} == set(errors)
