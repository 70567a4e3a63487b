"""Parameter validation as the bot form will see it: coercion, defaults, every message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.strategies import StrategyParamError, get_strategy
from webapp.strategies.ema_cross import EmaCrossStrategy
from webapp.strategies.threshold import ThresholdStrategy


def errors_of(cls, raw) -> dict[str, str]:
    with pytest.raises(StrategyParamError) as info:
        cls.validate_params(raw)
    return info.value.errors


def test_threshold_coerces_form_strings_to_decimals():
    values = ThresholdStrategy.validate_params(
        {"buy_below": " 30000.5 ", "sell_above": "31000", "csrf_token": "x"}
    )
    assert values == {"buy_below": Decimal("30000.5"), "sell_above": Decimal("31000")}


def test_threshold_prices_are_required():
    assert errors_of(ThresholdStrategy, {"buy_below": "", "sell_above": None}) == {
        "buy_below": "Buy below is required.",
        "sell_above": "Sell above is required.",
    }


def test_threshold_rejects_non_numbers_and_non_positive_prices():
    assert errors_of(ThresholdStrategy, {"buy_below": "abc", "sell_above": "0"}) == {
        "buy_below": "Buy below must be a number.",
        "sell_above": "Sell above must be greater than 0.",
    }
    assert errors_of(ThresholdStrategy, {"buy_below": "NaN", "sell_above": "inf"}) == {
        "buy_below": "Buy below must be a number.",
        "sell_above": "Sell above must be a number.",
    }


@pytest.mark.parametrize("sell", ["30000", "29999.99"])
def test_threshold_sell_must_be_above_buy(sell):
    assert errors_of(ThresholdStrategy, {"buy_below": "30000", "sell_above": sell}) == {
        "sell_above": "Sell above must be greater than Buy below (30000)."
    }


def test_ema_defaults_apply_when_fields_are_blank():
    assert EmaCrossStrategy.validate_params({"fast": "", "slow": None}) == {"fast": 9, "slow": 21}
    assert EmaCrossStrategy.validate_params({"fast": "5", "slow": 20}) == {"fast": 5, "slow": 20}


def test_ema_rejects_fractions_and_out_of_range_periods_all_at_once():
    assert errors_of(EmaCrossStrategy, {"fast": "1", "slow": "501"}) == {
        "fast": "Fast EMA period must be at least 2.",
        "slow": "Slow EMA period must be at most 500.",
    }
    assert errors_of(EmaCrossStrategy, {"fast": "9.5", "slow": True}) == {
        "fast": "Fast EMA period must be a whole number.",
        "slow": "Slow EMA period must be a whole number.",
    }


@pytest.mark.parametrize("slow", ["9", "5"])
def test_ema_slow_must_exceed_fast(slow):
    assert errors_of(EmaCrossStrategy, {"fast": "9", "slow": slow}) == {
        "slow": "Slow EMA period must be greater than Fast EMA period (9)."
    }


def test_error_message_names_every_field():
    with pytest.raises(StrategyParamError, match=r"buy_below: .*sell_above: ") as info:
        ThresholdStrategy.validate_params({})
    assert isinstance(info.value, ValueError)


def test_serialized_params_round_trip_through_validation():
    cls = get_strategy("threshold")
    values = cls.validate_params({"buy_below": "3E+4", "sell_above": 31000.25})
    stored = cls.serialize_params(values)
    assert stored == {"buy_below": "30000", "sell_above": "31000.25"}
    assert cls.validate_params(stored) == values
    assert EmaCrossStrategy.serialize_params({"fast": 5, "slow": 8}) == {"fast": 5, "slow": 8}


def test_constructor_validates():
    with pytest.raises(StrategyParamError):
        EmaCrossStrategy({"fast": 30, "slow": 20})
    assert EmaCrossStrategy({}).required_candles == 22
