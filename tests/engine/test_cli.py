"""`flask bots list | tick | cycle | start | stop` for operators."""

from __future__ import annotations

from tests.engine.conftest import step, trades
from webapp.extensions import db


def test_cycle_prints_the_decision(bot_app, runner, sim, clock, make_bot):
    bot = make_bot()
    step(sim, clock, "BTC/USDT", "52000")
    result = runner.invoke(args=["bots", "cycle", str(bot.id)])
    assert result.exit_code == 0, result.output
    assert f"bot {bot.id}: hold: close 52000 above buy below 50000; waiting to buy" in result.output
    assert "cycle  hold: close 52000 above buy below 50000; waiting to buy (price 52000)" in (
        result.output
    )

    step(sim, clock, "BTC/USDT", "49000")
    result = runner.invoke(args=["bots", "cycle", str(bot.id)])
    assert result.exit_code == 0, result.output
    assert f"bot {bot.id}: traded: buy 0.00204 BTC at 49000 (close 49000 <= buy below 50000)" in (
        result.output
    )
    assert "order  Bought 0.00204 BTC at 49000 USDT, fee 0.09996 USDT." in result.output
    assert len(trades(bot)) == 1


def test_cycle_of_a_stopped_bot_needs_force(bot_app, runner, sim, clock, make_bot):
    bot = make_bot(start=False, mode="paper")
    step(sim, clock, "BTC/USDT", "52000")
    result = runner.invoke(args=["bots", "cycle", str(bot.id)])
    assert "not_running: bot is stopped" in result.output
    assert "Use --force to run it anyway." in result.output
    result = runner.invoke(args=["bots", "cycle", str(bot.id), "--force"])
    assert result.exit_code == 0, result.output
    assert ": hold:" in result.output
    result = runner.invoke(args=["bots", "cycle", "9999"])
    assert result.exit_code != 0
    assert "No bot with id 9999." in result.output


def test_list_tick_start_and_stop(bot_app, runner, sim, clock, make_bot):
    running = make_bot(name="Runner", mode="paper")
    stopped = make_bot(name="Sleeper", start=False, mode="paper")
    step(sim, clock, "BTC/USDT", "49000")
    runner.invoke(args=["bots", "cycle", str(running.id)])

    result = runner.invoke(args=["bots", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "id", "owner", "name", "symbol", "strategy", "mode", "status", "position", "pnl", "today",
    ]  # fmt: skip
    assert lines[1].split() == [
        str(running.id), "trader@example.com", "Runner", "BTC/USDT", "threshold", "paper",
        "running", "0.00204", "0",
    ]  # fmt: skip
    assert lines[2].split()[2:7] == ["Sleeper", "BTC/USDT", "threshold", "paper", "stopped"]

    result = runner.invoke(args=["bots", "tick"])
    assert result.exit_code == 0, result.output
    assert "1 due bots on 1 markets, 1 jobs queued" in result.output

    result = runner.invoke(args=["bots", "start", str(stopped.id)])
    assert result.exit_code == 0, result.output
    assert f"Bot {stopped.id} (Sleeper) is running." in result.output
    result = runner.invoke(args=["bots", "stop", str(running.id)])
    assert f"Bot {running.id} (Runner) is stopped." in result.output
    db.session.expire_all()
    assert running.state.status_reason == "Stopped by the operator."
    assert stopped.state.status.value == "running"
