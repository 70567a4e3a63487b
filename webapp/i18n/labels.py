"""Names of the codes the product stores (a trade's reason, a side, a bot's mode), in the
reader's language: shared by the pages and the notifications, which cannot import the
blueprints."""

from __future__ import annotations

from webapp.i18n import current
from webapp.i18n.current import lazy_gettext as _l

#: Why a trade happened, as its row says it.
REASON_LABELS = {
    "signal": _l("Signal"),
    "stop_loss": _l("Stop-loss"),
    "take_profit": _l("Take-profit"),
    "manual": _l("Manual"),
}
#: The kinds of a bot's activity lines (their badges).
ACTIVITY_KINDS = {
    "cycle": _l("cycle"),
    "signal": _l("signal"),
    "order": _l("order"),
    "error": _l("error"),
    "info": _l("info"),
    "state": _l("state"),
}
#: A strategy's signal, and a trade's side.
SIGNALS = {"buy": _l("buy"), "sell": _l("sell"), "hold": _l("hold")}
#: What became of a signal sent to a bot's URL.
SIGNAL_STATUSES = {"pending": _l("Pending"), "done": _l("Done"), "ignored": _l("Ignored")}
#: A resting order's status (webapp.models.OrderStatus).
ORDER_STATUSES = {
    "intent": _l("Sending"),
    "open": _l("Open"),
    "filled": _l("Filled"),
    "canceled": _l("Canceled"),
    "rejected": _l("Rejected"),
}
#: A bot's mode.
MODES = {"paper": _l("Paper"), "live": _l("Live")}


#: (table, code, language) -> the name: pages show the same few names dozens of times, and
#: each lazy string would look its translation up again. The tables are this module's.
_NAMES: dict[tuple[int, object, str], str] = {}


def name_of(table: dict, value: object) -> str:
    """`value`'s name in `table` (an enum or its string); an unknown code is shown as is."""
    key = getattr(value, "value", value)
    label = table.get(key)
    if label is None:
        return str(key)
    cache_key = (id(table), key, current.language())
    name = _NAMES.get(cache_key)
    if name is None:
        name = _NAMES[cache_key] = str(label)
    return name
