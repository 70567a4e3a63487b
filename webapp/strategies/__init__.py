"""Trading strategies: small pure classes behind one interface (see `base.Strategy`).

Adding a strategy takes one new module and no engine change:

1. Create ``webapp/strategies/my_strategy.py`` with a subclass of ``Strategy`` decorated with
   ``@register``. Give it ``name`` (stored on bots, never change it), ``label``,
   ``description`` and ``params`` (a tuple of ``ParamSpec``; the bot form renders them).
   Texts people read (label, description, each parameter's label and help) are
   ``lazy_gettext`` strings, translated in webapp/translations like the rest of the app.
2. Override ``check_params`` for rules between fields, ``required_candles`` and ``decide``.
3. Import the module below so it registers when this package is imported, and add tests under
   ``tests/strategies/``.
"""

from __future__ import annotations

from webapp.strategies import dca, ema_cross, grid, signal, threshold
from webapp.strategies.base import (
    Candle,
    Decision,
    ParamSpec,
    ParamType,
    Position,
    Signal,
    Strategy,
    StrategyError,
    StrategyParamError,
    UnknownStrategyError,
)
from webapp.strategies.registry import (
    all_strategies,
    build_strategy,
    choices,
    get_strategy,
    register,
    unregister,
)

__all__ = [
    "Candle",
    "Decision",
    "ParamSpec",
    "ParamType",
    "Position",
    "Signal",
    "Strategy",
    "StrategyError",
    "StrategyParamError",
    "UnknownStrategyError",
    "all_strategies",
    "build_strategy",
    "choices",
    "dca",
    "ema_cross",
    "get_strategy",
    "grid",
    "register",
    "signal",
    "threshold",
    "unregister",
]
