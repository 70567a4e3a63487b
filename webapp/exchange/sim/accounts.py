"""Accounts of the simulated exchange: balances, key permissions and how they are configured.

`SIM_ACCOUNTS` and `flask sim serve --account` take ``KEY:SECRET[:ASSET=AMOUNT,...]``; a parse
error never echoes the text, which holds a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import ConfigError
from .orders import ZERO, Fill, Order, to_decimal

DEFAULT_BALANCES: Mapping[str, Decimal] = {"USDT": Decimal(10000)}
API_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class Account:
    api_key: str
    secret: str = field(repr=False)
    balances: dict[str, Balance] = field(default_factory=dict)
    can_trade: bool = True
    orders: dict[int, Order] = field(default_factory=dict)
    # (symbol, client order id) -> every order that carried it, oldest first: Binance frees an
    # id once its order is closed, and a lookup by id finds the most recent order.
    by_client_id: dict[tuple[str, str], list[Order]] = field(default_factory=dict)
    orders_by_symbol: dict[str, list[Order]] = field(default_factory=dict)
    trades_by_symbol: dict[str, list[Fill]] = field(default_factory=dict)
    update_time: int = 0
    created_ms: int = 0
    #: Pay trading fees in BNB (25% off) while the BNB balance covers them, as a Binance
    #: account with "Use BNB to pay for fees" does.
    bnb_fees: bool = False
    #: What `/sapi/v1/account/apiRestrictions` reports besides trading (which is `can_trade`).
    restrictions: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_RESTRICTIONS))

    def balance(self, asset: str) -> Balance:
        balance = self.balances.get(asset)
        if balance is None:
            balance = self.balances[asset] = Balance()
        return balance


#: Binance's discount on fees paid in BNB.
BNB_DISCOUNT = Decimal("0.75")

#: A key as Binance creates it by default: reading on, withdrawals off, any IP.
DEFAULT_RESTRICTIONS = {
    "ipRestrict": False,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
    "enablePortfolioMarginTrading": False,
}


@dataclass(frozen=True)
class AccountSpec:
    """An account to create: API key, secret and initial free balances."""

    api_key: str
    secret: str = field(repr=False)
    balances: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_BALANCES))


def parse_account_spec(text: str) -> AccountSpec:
    """Parse ``KEY:SECRET[:ASSET=AMOUNT,ASSET=AMOUNT]`` (default balances: USDT=10000)."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        # never echo the text: it contains a secret
        raise ConfigError("an account must look like KEY:SECRET[:USDT=10000,BTC=0.5]")
    balances: dict[str, Decimal] = {}
    if len(parts) == 3 and parts[2].strip():
        for item in parts[2].split(","):
            asset, sep, amount = item.partition("=")
            if not sep or not asset.strip():
                raise ConfigError(f"bad balance {item!r}; expected ASSET=AMOUNT")
            balances[asset.strip().upper()] = to_decimal(amount.strip())
    return AccountSpec(parts[0], parts[1], balances or dict(DEFAULT_BALANCES))


def parse_accounts_env(value: str | None) -> list[AccountSpec]:
    """Parse the SIM_ACCOUNTS variable: account specs separated by ';'."""
    return [parse_account_spec(item) for item in (value or "").split(";") if item.strip()]
