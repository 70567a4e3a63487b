"""The dashboard's summary and a bot's performance, from the same report functions as the
pages (webapp.engine.service.user_summary / bot_report)."""

from __future__ import annotations

from webapp.api import ApiBlueprint, auth
from webapp.api.routes import problems, register_domain_errors
from webapp.api.schemas import PerformanceSchema, SummarySchema
from webapp.engine import service
from webapp.engine.reports import BotReport

blp = ApiBlueprint("api_reports", __name__, url_prefix="/api/v1", description="Reports")
register_domain_errors(blp)


def report_dict(report: BotReport) -> dict:
    return {
        "trade_count": report.trade_count,
        "buys": report.buys,
        "sells": report.sells,
        "wins": report.wins,
        "total_realized_pnl": report.total_realized_pnl,
        "realized_pnl_7d": report.realized_pnl_7d,
        "total_fees": report.total_fees,
        "win_rate": report.win_rate,
        "max_drawdown": report.max_drawdown,
        "last_trade_at": report.last_trade_at,
    }


def series(report: BotReport) -> list[dict]:
    # At most webapp.engine.rollups.MAX_POINTS points: every sell while there are that few,
    # else each day's high, low and close (fewer, extremes kept); `pnl` is then the change
    # since the point before.
    return [{"at": p.at, "pnl": p.pnl, "cumulative": p.cumulative} for p in report.points]


@blp.route("/reports/summary", methods=["GET"])
@blp.response(200, SummarySchema)
@problems(blp)
def summary():
    """The dashboard's figures across all your bots."""
    s = service.user_summary(auth.current_user())
    return {
        "bots": s.bots,
        "running": s.running,
        "stopped": s.stopped,
        "errored": s.errored,
        "open_positions": s.open_positions,
        "realized_pnl_today": s.realized_pnl_today,
        "report": report_dict(s.report),
        "pnl_series": series(s.report),
        "per_bot": [
            {"bot_id": bot_id, **report_dict(report)}
            for bot_id, report in sorted(s.per_bot.items())
        ],
    }


@blp.route("/bots/<id:bot_id>/performance", methods=["GET"])
@blp.response(200, PerformanceSchema)
@problems(blp, 404)
def performance(bot_id: int):
    """A bot's figures, as its page shows them, with the cumulative realized PnL curve."""
    bot = service.get_bot(auth.current_user(), bot_id)
    report = service.bot_report(bot)
    return {"bot_id": bot.id, **report_dict(report), "pnl_series": series(report)}
