"""Name -> strategy class lookup, so bots store a strategy by name and the engine stays generic."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeVar

from webapp.strategies.base import Strategy, StrategyError, UnknownStrategyError

logger = logging.getLogger(__name__)

_registry: dict[str, type[Strategy]] = {}

S = TypeVar("S", bound=type[Strategy])


def register(cls: S) -> S:
    """Class decorator: make `cls` available under `cls.name`.

    Re-registering the same class is a no-op (module reloads); a different class under a taken
    name is an error, because bots already store that name.
    """
    name = getattr(cls, "name", "")
    if not name or not isinstance(name, str):
        raise StrategyError(f"{cls.__name__} needs a non-empty `name` to be registered")
    for attr in ("label", "description"):
        if not getattr(cls, attr, ""):
            raise StrategyError(f"strategy {name!r} needs a `{attr}`")
    names = [spec.name for spec in cls.params]
    if len(names) != len(set(names)):
        raise StrategyError(f"strategy {name!r} declares a parameter twice")
    existing = _registry.get(name)
    if existing is not None and _key(existing) != _key(cls):
        raise StrategyError(f"strategy name {name!r} is already taken by {existing.__name__}")
    _registry[name] = cls
    logger.debug("registered strategy %s", name)
    return cls


def unregister(name: str) -> None:
    """Remove a strategy (for tests and plugins); unknown names are ignored."""
    _registry.pop(name, None)


def get_strategy(name: str) -> type[Strategy]:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownStrategyError(name) from None


def build_strategy(name: str, params: Mapping[str, object]) -> Strategy:
    """Look up and instantiate in one step; raises UnknownStrategyError/StrategyParamError."""
    return get_strategy(name)(params)


def all_strategies() -> list[type[Strategy]]:
    """Registered classes in registration order (built-ins first)."""
    return list(_registry.values())


def choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a <select>; labels are lazy strings, read in the page's language."""
    return [(cls.name, cls.label) for cls in _registry.values()]


def _key(cls: type) -> tuple[str, str]:
    return (cls.__module__, cls.__qualname__)
