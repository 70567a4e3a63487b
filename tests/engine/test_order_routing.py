"""Where a bot's orders go: VALIDATE_API_ON_TESTNET is for checking keys, not for trading."""

from __future__ import annotations

from webapp.exchange import clients


def test_validating_on_the_testnet_does_not_send_bot_orders_there(bot_app, api_key):
    bot_app.config.update(EXCHANGE_SIM_URL=None, VALIDATE_API_ON_TESTNET=True)
    checking = clients.client_for_key(api_key)
    trading = clients.client_for_key(api_key, trading=True)
    try:
        assert "testnet" in checking.urls["api"]["private"]
        # The bot trades where its (live) market data comes from.
        assert "testnet" not in trading.urls["api"]["private"]
    finally:
        checking.close()
        trading.close()


def test_a_testnet_key_trades_on_the_testnet(bot_app, api_key):
    bot_app.config.update(EXCHANGE_SIM_URL=None)
    api_key.testnet = True
    trading = clients.client_for_key(api_key, trading=True)
    try:
        assert "testnet" in trading.urls["api"]["private"]
    finally:
        trading.close()
