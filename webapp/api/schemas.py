"""Request and response schemas of the API (marshmallow), which also make its OpenAPI
document. Names are snake_case; amounts are `Money` strings; times are RFC 3339 UTC."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f

from webapp.api.fields import (
    IntegerInput,
    Money,
    NumberInput,
    ParamValue,
    StrictBoolean,
    Time,
    Written,
)
from webapp.events import EventType
from webapp.models import (
    BotMode,
    BotStatus,
    NotificationChannel,
    NotificationStatus,
    OrderStatus,
    SignalAction,
    SignalStatus,
    TokenScope,
    TradeReason,
    TradeSide,
)
from webapp.models.bot import TIMEFRAMES
from webapp.notify import kinds

MAX_LIMIT = 500
NOT_EMPTY = ma.validate.Length(min=1, error="Leave the parameter out rather than empty.")


def _values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


class Schema(ma.Schema):
    class Meta:
        ordered = True


# -- errors --------------------------------------------------------------------------------


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = f.String(required=True, metadata={"example": "about:blank"})
    title = f.String(required=True)
    status = f.Integer(required=True)
    detail = f.String(required=True)
    code = f.String(metadata={"description": "The API's own kind of problem, if any"})
    errors = f.Dict(
        keys=f.String(),
        values=f.String(),
        metadata={"description": "On 422: one message per invalid field"},
    )


# -- me ------------------------------------------------------------------------------------


class TokenInfoSchema(Schema):
    id = f.Integer(required=True)
    name = f.String(required=True)
    prefix = f.String(required=True, metadata={"example": "tb_Ab12Cd34"})
    scopes = f.List(f.String(validate=ma.validate.OneOf(_values(TokenScope))), required=True)
    created_at = Time(required=True)
    expires_at = Time(required=True, allow_none=True)


class MeSchema(Schema):
    id = f.Integer(required=True)
    email = f.String(required=True)
    is_admin = f.Boolean(required=True)
    created_at = Time(required=True)
    token = f.Nested(TokenInfoSchema, required=True)


# -- keys ----------------------------------------------------------------------------------


class KeySchema(Schema):
    id = f.Integer(required=True)
    exchange = f.String(required=True)
    label = f.String(required=True)
    key = f.String(required=True, metadata={"description": "Masked: ****abcd"})
    testnet = f.Boolean(required=True)
    is_valid = f.Boolean(required=True)
    last_validated_at = Time(required=True, allow_none=True)
    last_error = f.String(required=True, allow_none=True)
    created_at = Time(required=True)


class KeyListSchema(Schema):
    items = f.List(f.Nested(KeySchema), required=True)


class KeyCreateSchema(Schema):
    exchange = f.String(required=True, metadata={"example": "binance"})
    label = f.String(required=True, metadata={"example": "Main account"})
    api_key = f.String(required=True)
    api_secret = f.String(required=True, load_only=True)
    testnet = StrictBoolean(load_default=False)


class KeyDeletedSchema(Schema):
    deleted = f.Boolean(required=True)
    bots_stopped = f.Integer(required=True)
    message = f.String(required=True)


# -- bots ----------------------------------------------------------------------------------


class BotStateSchema(Schema):
    status = f.String(required=True, validate=ma.validate.OneOf(_values(BotStatus)))
    paused = f.Boolean(required=True, metadata={"description": "Resting until tomorrow"})
    status_reason = f.String(required=True, allow_none=True)
    position_qty = Money(required=True)
    position_avg_price = Money(required=True)
    realized_pnl_today = Money(required=True)
    order_pending = f.Boolean(required=True)
    started_at = Time(required=True, allow_none=True)
    next_run_at = Time(required=True, allow_none=True)
    last_cycle_at = Time(required=True, allow_none=True)
    paused_until = Time(required=True, allow_none=True)
    cycle_count = f.Integer(required=True)
    last_signal = f.String(required=True, allow_none=True)
    last_reason = f.String(required=True, allow_none=True)
    last_price = Money(required=True, allow_none=True)
    last_error = f.String(required=True, allow_none=True)
    last_error_at = Time(required=True, allow_none=True)
    consecutive_errors = f.Integer(required=True)


class BotSchema(Schema):
    id = f.Integer(required=True)
    name = f.String(required=True)
    api_key_id = f.Integer(required=True, allow_none=True)
    exchange = f.String(required=True)
    symbol = f.String(required=True)
    timeframe = f.String(required=True)
    strategy = f.String(required=True)
    params = f.Dict(keys=f.String(), values=f.Raw(), required=True)
    quote_amount = Money(required=True)
    stop_loss_pct = Money(required=True, allow_none=True)
    take_profit_pct = Money(required=True, allow_none=True)
    daily_profit_target = Money(required=True, allow_none=True)
    daily_loss_limit = Money(required=True, allow_none=True)
    interval_seconds = f.Integer(required=True)
    mode = f.String(required=True, validate=ma.validate.OneOf(_values(BotMode)))
    created_at = Time(required=True)
    updated_at = Time(required=True)
    state = f.Nested(BotStateSchema, required=True)


class BotListSchema(Schema):
    items = f.List(f.Nested(BotSchema), required=True)


class BotUpdateSchema(Schema):
    """Any of a bot's settings; blank or null optional amounts turn that rule off."""

    name = f.String()
    api_key_id = IntegerInput()
    symbol = f.String(metadata={"example": "BTC/USDT"})
    timeframe = f.String(metadata={"enum": list(TIMEFRAMES)})
    strategy = f.String(metadata={"example": "threshold"})
    params = f.Dict(keys=f.String(), values=ParamValue())
    quote_amount = NumberInput(metadata={"example": "100"})
    stop_loss_pct = NumberInput(allow_none=True)
    take_profit_pct = NumberInput(allow_none=True)
    daily_profit_target = NumberInput(allow_none=True)
    daily_loss_limit = NumberInput(allow_none=True)
    interval_seconds = IntegerInput(metadata={"example": 60})
    mode = f.String(metadata={"enum": _values(BotMode)})


class BotCreateSchema(BotUpdateSchema):
    name = f.String(required=True)
    api_key_id = IntegerInput(required=True)
    symbol = f.String(required=True, metadata={"example": "BTC/USDT"})
    timeframe = f.String(required=True, metadata={"enum": list(TIMEFRAMES)})
    strategy = f.String(required=True, metadata={"example": "threshold"})
    quote_amount = NumberInput(required=True, metadata={"example": "100"})


class BotActionSchema(Schema):
    """The answer to start, stop and sell: what happened, and the bot as it is now."""

    outcome = f.String(required=True)
    message = f.String(required=True)
    trade_ids = f.List(f.Integer(), required=True)
    bot = f.Nested(BotSchema, required=True)


class BotDeletedSchema(Schema):
    deleted = f.Boolean(required=True)
    message = f.String(required=True)


class SignalSchema(Schema):
    """A signal sent to the bot's secret URL, and what became of it."""

    id = f.Integer(required=True)
    received_at = Time(required=True)
    action = f.String(required=True, validate=ma.validate.OneOf(_values(SignalAction)))
    status = f.String(required=True, validate=ma.validate.OneOf(_values(SignalStatus)))
    outcome = f.String(allow_none=True, metadata={"description": "What the bot did about it"})
    handled_at = Time(allow_none=True)
    body = f.String(required=True, metadata={"description": "The body as it was sent"})


class SignalsSchema(Schema):
    """A signal bot's secret URL (null for a bot whose strategy takes no signals), the
    actions its strategy takes, and its newest signals first."""

    url = f.String(allow_none=True, metadata={"example": "https://bots.example.com/signals/…"})
    actions = f.List(f.String(), required=True)
    items = f.List(f.Nested(SignalSchema), required=True)


class BotOrderSchema(Schema):
    """One of the bot's limit orders (see "Grid bots and resting orders" in the README)."""

    id = f.Integer(required=True)
    tag = f.String(required=True, metadata={"description": "The strategy's name for it"})
    side = f.String(required=True, validate=ma.validate.OneOf(_values(TradeSide)))
    price = Money(required=True)
    qty = Money(required=True)
    executed_qty = Money(required=True, metadata={"description": "Filled so far"})
    average_price = Money(required=True, allow_none=True)
    fee = Money(required=True, metadata={"description": "In the quote currency"})
    status = f.String(required=True, validate=ma.validate.OneOf(_values(OrderStatus)))
    mode = f.String(required=True, validate=ma.validate.OneOf(_values(BotMode)))
    client_order_id = f.String(required=True, allow_none=True)
    exchange_order_id = f.String(required=True, allow_none=True)
    note = f.String(required=True, allow_none=True)
    created_at = Time(required=True)
    closed_at = Time(required=True, allow_none=True)


class BotOrdersSchema(Schema):
    """The bot's orders that may still fill (sent or resting), and its newest ended ones."""

    active = f.List(f.Nested(BotOrderSchema), required=True)
    ended = f.List(f.Nested(BotOrderSchema), required=True)


class DealLevelSchema(Schema):
    """The base order (n 0) or safety order n of the current deal."""

    n = f.Integer(required=True)
    deviation_pct = Money(required=True, metadata={"description": "Below the base order's fill"})
    price = Money(required=True, metadata={"description": "Its fill price once filled"})
    qty = Money(required=True)
    cost = Money(required=True, metadata={"description": "In the quote currency"})
    state = f.String(required=True, validate=ma.validate.OneOf(["filled", "resting", "waiting"]))


class CurrentDealSchema(Schema):
    deal = f.Integer(required=True)
    levels = f.List(f.Nested(DealLevelSchema), required=True)
    average_entry = Money(required=True, allow_none=True, metadata={"description": "Fees in"})
    take_profit = Money(required=True, allow_none=True, metadata={"description": "Resting at"})
    stop = Money(required=True, allow_none=True, metadata={"description": "Deal stop-loss"})
    absorbs_pct = Money(
        required=True, allow_none=True, metadata={"description": "Drop the deal still absorbs"}
    )


class DealOrderSchema(Schema):
    tag = f.String(required=True)
    side = f.String(required=True, validate=ma.validate.OneOf(_values(TradeSide)))
    price = Money(required=True)
    qty = Money(required=True)
    fee = Money(required=True)


class PastDealSchema(Schema):
    deal = f.Integer(required=True)
    closed_by = f.String(required=True, validate=ma.validate.OneOf(["take-profit", "stop"]))
    closed_at = Time(required=True, allow_none=True, metadata={"description": "Market time"})
    orders = f.List(f.Nested(DealOrderSchema), required=True)
    average_entry = Money(required=True)
    profit = Money(required=True, metadata={"description": "After every fee, quote currency"})


class BotDealsSchema(Schema):
    """A DCA bot's deals (see "DCA bots" in the README); empty for other strategies."""

    current = f.Nested(CurrentDealSchema, required=True, allow_none=True)
    past = f.List(f.Nested(PastDealSchema), required=True)
    waiting = f.String(required=True, allow_none=True, metadata={"description": "Why none"})


class GridLevelSchema(Schema):
    """Level n of a grid (0 the lower price), with the order resting there, if any."""

    n = f.Integer(required=True)
    price = Money(required=True)
    side = f.String(required=True, allow_none=True, validate=ma.validate.OneOf(_values(TradeSide)))
    tag = f.String(required=True, allow_none=True)


class BotGridSchema(Schema):
    """A grid bot's ladder and figures (see "Grid bots" in the README); empty for other
    strategies."""

    levels = f.List(f.Nested(GridLevelSchema), required=True)
    completed_pairs = f.Integer(required=True)
    grid_profit = Money(required=True, metadata={"description": "Of the pairs, after fees"})
    held = Money(required=True, metadata={"description": "Base currency"})
    average_entry = Money(required=True, allow_none=True, metadata={"description": "Fees in"})
    price = Money(required=True, allow_none=True, metadata={"description": "At the last cycle"})
    unrealized_pnl = Money(
        required=True, allow_none=True, metadata={"description": "At that price, before the fee"}
    )
    trigger_price = Money(required=True, allow_none=True)
    stop_below = Money(required=True, allow_none=True)
    take_above = Money(required=True, allow_none=True)
    waiting = f.Boolean(required=True, metadata={"description": "For its trigger price"})


# -- trades --------------------------------------------------------------------------------


class TradeSchema(Schema):
    id = f.Integer(required=True)
    bot_id = f.Integer(required=True)
    symbol = f.String(required=True)
    side = f.String(required=True, validate=ma.validate.OneOf(_values(TradeSide)))
    qty = Money(required=True)
    price = Money(required=True)
    fee = Money(required=True)
    realized_pnl = Money(required=True, allow_none=True)
    reason = f.String(required=True, validate=ma.validate.OneOf(_values(TradeReason)))
    mode = f.String(required=True, validate=ma.validate.OneOf(_values(BotMode)))
    client_order_id = f.String(required=True)
    exchange_order_id = f.String(required=True, allow_none=True)
    executed_at = Time(required=True)


class TradesPageSchema(Schema):
    items = Written(f.Nested(TradeSchema), required=True)  # api.routes.trades.trade_json
    next_cursor = f.String(required=True, allow_none=True)


class TradeFiltersSchema(Schema):
    """The trades page's filters: a bot, a side, and a range of UTC days (both included)."""

    # Plain strings: the trades page's own parser checks them, with its messages.
    bot = f.String(validate=NOT_EMPTY, metadata={"description": "A bot id", "pattern": "^[0-9]+$"})
    side = f.String(validate=NOT_EMPTY, metadata={"enum": _values(TradeSide)})
    from_ = f.String(
        data_key="from",
        validate=NOT_EMPTY,
        metadata={"format": "date", "example": "2026-01-01"},
    )
    to = f.String(validate=NOT_EMPTY, metadata={"format": "date", "example": "2026-01-31"})


class TradesQuerySchema(TradeFiltersSchema):
    cursor = f.String(metadata={"description": "next_cursor of the previous page"})
    limit = f.Integer(load_default=100, validate=ma.validate.Range(1, MAX_LIMIT))


# -- reports -------------------------------------------------------------------------------


class PnlPointSchema(Schema):
    at = Time(required=True)
    pnl = Money(required=True)
    cumulative = Money(required=True)


class ReportSchema(Schema):
    trade_count = f.Integer(required=True)
    buys = f.Integer(required=True)
    sells = f.Integer(required=True)
    wins = f.Integer(required=True)
    total_realized_pnl = Money(required=True)
    realized_pnl_7d = Money(
        required=True, metadata={"description": "Sells of the last 7 UTC days, today included"}
    )
    total_fees = Money(required=True)
    win_rate = Money(
        required=True, allow_none=True, metadata={"description": "A fraction in [0, 1]"}
    )
    max_drawdown = Money(required=True)
    last_trade_at = Time(required=True, allow_none=True)


PNL_SERIES = {
    "description": "The cumulative realized PnL curve, at most 500 points: every sell while "
    "there are that few, else each day's highest, lowest and closing point (a long history "
    "keeps the lowest and highest of each stretch), `pnl` being the change since the point "
    "before"
}


class PerformanceSchema(ReportSchema):
    bot_id = f.Integer(required=True)
    pnl_series = f.List(f.Nested(PnlPointSchema), required=True, metadata=PNL_SERIES)


class BotReportSchema(ReportSchema):
    bot_id = f.Integer(required=True)


class SummarySchema(Schema):
    bots = f.Integer(required=True)
    running = f.Integer(required=True)
    stopped = f.Integer(required=True)
    errored = f.Integer(required=True)
    open_positions = f.Integer(required=True)
    realized_pnl_today = Money(required=True)
    report = f.Nested(ReportSchema, required=True)
    pnl_series = f.List(f.Nested(PnlPointSchema), required=True, metadata=PNL_SERIES)
    per_bot = f.List(f.Nested(BotReportSchema), required=True)


# -- notifications -------------------------------------------------------------------------


class NotificationSchema(Schema):
    id = f.String(required=True, metadata={"example": "msg_01JD0000000000000000000000"})
    event_type = f.String(required=True)
    label = f.String(required=True)
    channel = f.String(required=True, validate=ma.validate.OneOf(_values(NotificationChannel)))
    status = f.String(required=True, validate=ma.validate.OneOf(_values(NotificationStatus)))
    attempts = f.Integer(required=True)
    last_error = f.String(required=True, allow_none=True)
    last_status_code = f.Integer(required=True, allow_none=True)
    payload = f.Dict(keys=f.String(), values=f.Raw(), required=True)
    created_at = Time(required=True)
    updated_at = Time(required=True)
    next_attempt_at = Time(required=True, allow_none=True)
    sent_at = Time(required=True, allow_none=True)
    endpoint_id = f.Integer(
        required=True, allow_none=True, metadata={"description": "The webhook endpoint"}
    )


class NotificationsPageSchema(Schema):
    items = f.List(f.Nested(NotificationSchema), required=True)
    next_cursor = f.String(required=True, allow_none=True)


class NotificationsQuerySchema(Schema):
    status = f.String(validate=ma.validate.OneOf(_values(NotificationStatus)))
    channel = f.String(validate=ma.validate.OneOf(_values(NotificationChannel)))
    event_type = f.String(validate=ma.validate.OneOf(kinds.ALL_KINDS))
    cursor = f.String()
    limit = f.Integer(load_default=50, validate=ma.validate.Range(1, MAX_LIMIT))


class PreferenceSchema(Schema):
    event_type = f.String(required=True, metadata={"enum": _values(EventType)})
    channel = f.String(required=True, metadata={"enum": _values(NotificationChannel)})
    enabled = StrictBoolean(required=True)


class PreferencesSchema(Schema):
    items = f.List(f.Nested(PreferenceSchema), required=True)


class PreferencesUpdateSchema(Schema):
    items = f.List(f.Nested(PreferenceSchema), required=True, validate=ma.validate.Length(max=100))


class StatsSchema(Schema):
    total = f.Integer(required=True)
    by_status = f.Dict(keys=f.String(), values=f.Integer(), required=True)
    by_channel = f.Dict(
        keys=f.String(), values=f.Dict(keys=f.String(), values=f.Integer()), required=True
    )
    by_type = f.Dict(
        keys=f.String(), values=f.Dict(keys=f.String(), values=f.Integer()), required=True
    )
    success_rate = f.Float(required=True, allow_none=True)


class WebhookSchema(Schema):
    id = f.Integer(required=True)
    url = f.String(required=True)
    enabled = f.Boolean(required=True)
    disabled_reason = f.String(required=True, allow_none=True)
    disabled_at = Time(required=True, allow_none=True)
    consecutive_failures = f.Integer(required=True)
    last_success_at = Time(required=True, allow_none=True)
    secret_rotated_at = Time(required=True, allow_none=True)
    previous_secret_expires_at = Time(required=True, allow_none=True)
    created_at = Time(required=True)
    events = f.List(f.String(), required=True, metadata={"description": "Event types sent"})


class WebhookListSchema(Schema):
    items = f.List(f.Nested(WebhookSchema), required=True)


class WebhookSecretSchema(WebhookSchema):
    secret = f.String(
        required=True, metadata={"description": "The whsec_ signing secret: shown only now"}
    )


def _events_field(**kwargs) -> f.List:
    return f.List(
        f.String(validate=ma.validate.OneOf(_values(EventType))),
        validate=ma.validate.Length(min=1, error="Choose at least one event for this endpoint."),
        **{"metadata": {"description": "Event types sent to this endpoint"}, **kwargs},
    )


class WebhookCreateSchema(Schema):
    url = f.String(required=True, metadata={"example": "https://example.com/hooks/tradebots"})
    events = _events_field(
        load_default=None,
        metadata={
            "description": "Event types sent to this endpoint; without it, the webhook column "
            "of your preferences decides (as with a single endpoint)"
        },
    )


class WebhookUpdateSchema(Schema):
    url = f.String()
    events = _events_field()
    enabled = StrictBoolean()


class DeletedSchema(Schema):
    deleted = f.Boolean(required=True)
    message = f.String(required=True)
