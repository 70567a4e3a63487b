"""Strategies from installed packages: the entry point group `webapp.strategies`.

An operator adds a strategy by installing a package that declares, in its `pyproject.toml`,

    [project.entry-points."webapp.strategies"]
    rsi_reversion = "tradebots_rsi:RsiReversionStrategy"

The class is a `webapp.strategies.Strategy` like the built-in ones; it is registered at start-up
and then appears in the bot form, the API, backtests and live cycles. A plugin that fails to
import, is no Strategy, takes a built-in's name or whose parameters are malformed (or whose
defaults do not validate) is logged and skipped: start-up goes on. Users never upload code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata

from webapp.strategies.base import ParamSpec, Strategy, StrategyError
from webapp.strategies.registry import all_strategies, register

logger = logging.getLogger(__name__)

GROUP = "webapp.strategies"


@dataclass(frozen=True)
class Plugin:
    """One entry point and what became of it; `error` is None for a loaded strategy."""

    entry_point: str
    package: str
    version: str
    strategy: str | None = None
    error: str | None = None


#: What the last `load()` found, for the admin page.
PLUGINS: list[Plugin] = []
_loaded = False


def load_once() -> list[Plugin]:
    """`load()` the first time a process asks (each app factory call does)."""
    if not _loaded:
        load()
    return PLUGINS


def load() -> list[Plugin]:
    """Register every strategy the installed packages declare; safe to call again."""
    global _loaded
    _loaded = True
    found = []
    for entry in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        dist = entry.dist
        package = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        try:
            name = _register(entry.load())
        except Exception as exc:  # a broken plugin must not stop the app
            error = f"{type(exc).__name__}: {exc}"[:300]
            logger.error(
                "strategy plugin %s (%s %s) skipped: %s", entry.name, package, version, error
            )
            found.append(Plugin(entry.name, package, version, error=error))
            continue
        logger.info("strategy plugin %s: %s from %s %s", entry.name, name, package, version)
        found.append(Plugin(entry.name, package, version, strategy=name))
    PLUGINS[:] = found
    return found


def _register(cls: object) -> str:
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise StrategyError("the entry point is not a Strategy subclass")
    if not isinstance(cls.params, tuple) or not all(isinstance(p, ParamSpec) for p in cls.params):
        raise StrategyError("`params` must be a tuple of ParamSpec")
    cls({})  # the defaults must make a valid strategy (raises StrategyParamError)
    register(cls)  # refuses a name another class holds
    return cls.name


@dataclass(frozen=True)
class Listed:
    """A row of the admin page's strategy table."""

    name: str
    label: str
    package: str | None = None
    version: str | None = None
    error: str | None = None


def listing() -> list[Listed]:
    """Every strategy this process can run (built-in ones first), then the skipped plugins."""
    by_name = {p.strategy: p for p in PLUGINS if p.strategy}
    rows = []
    for cls in all_strategies():
        plugin = by_name.get(cls.name)
        package, version = (plugin.package, plugin.version) if plugin else (None, None)
        rows.append(Listed(cls.name, str(cls.label), package, version))
    rows += [
        Listed(p.entry_point, p.entry_point, p.package, p.version, p.error)
        for p in PLUGINS
        if p.error
    ]
    return rows
