"""The bot engine: one cycle per bot, plus the pure position, PnL and report math."""
