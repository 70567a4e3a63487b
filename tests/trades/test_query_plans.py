"""Every query the pages and the API run for one user is served by an index on PostgreSQL.

The statements are the ones the app really sends (recorded while the pages are requested),
explained with their own parameters against a table holding several users' histories, after
VACUUM ANALYZE as autovacuum would: none of them may read the trades table sequentially. A page of
trades deep in the history (a cursor thousands of trades in) walks an index in the list's own
order, on SQLite and PostgreSQL: no sort, no OFFSET.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from tests.api.conftest import ApiClient, new_token
from tests.bots.helpers import T0, bulk_trades, make_bot
from webapp.engine import service
from webapp.extensions import db
from webapp.trades import keyset

PAGES = (
    "/",
    "/bots/{bot}",
    "/trades/",
    "/trades/?page=3",
    "/trades/?bot={bot}",
    "/trades/?side=sell",
    "/trades/?bot={bot}&side=buy",
    "/trades/?from={day}",
    "/trades/?from={day}&to={day}",
    "/trades/?bot={bot}&side=sell&from={day}&to={day}",
)
API = (
    "/api/v1/trades?limit=100",
    "/api/v1/trades?bot={bot}&side=sell&limit=100",
    "/api/v1/trades?from={day}&to={day}",
    "/api/v1/reports/summary",
    "/api/v1/bots/{bot}/performance",
)


def _histories(alice, alice_key, bob):
    bots = [make_bot(alice, alice_key, f"Alice {n}") for n in range(2)]
    bots.append(make_bot(bob, None, "Bob"))
    # Like an installation, where one user's trades are a small part of the table (with only
    # a few users, a query for a quarter of the rows is rightly a sequential scan) and every
    # user trades through the same days: were Bob's history longer than Alice's, the planner,
    # which takes user and time to be independent, would think her deep pages nearly empty
    # and rightly sort them rather than walk an index.
    spans = ((4000, timedelta(minutes=1)),) * 2 + ((24000, timedelta(seconds=10)),)
    for n, (bot, (count, every)) in enumerate(zip(bots, spans, strict=True)):
        bulk_trades(bot, count, start=T0 + timedelta(minutes=n), every=every)
    db.session.commit()
    _settle()
    return bots


def _settle() -> None:
    """Bring the table to the state autovacuum leaves it in before its plans are read.

    On PostgreSQL a fresh table's visibility map is empty, so whether a count is an index-only
    scan or a sequential one depends on whether autovacuum happened to pass by; VACUUM ANALYZE
    (outside a transaction) decides it. SQLite only needs its statistics.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE trades"))
    else:
        db.session.execute(sa.text("ANALYZE trades"))
        db.session.commit()


@pytest.fixture
def histories(app, alice, alice_key, bob):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    return _histories(alice, alice_key, bob)


@pytest.fixture
def both_databases_histories(app, alice, alice_key, bob):
    return _histories(alice, alice_key, bob)


def _explain(statement: str, parameters) -> str:
    with db.engine.connect() as conn:
        cursor = conn.connection.cursor()
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_no_page_or_api_call_reads_the_trades_table_sequentially(
    app, client, auth, alice, histories
):
    bot = histories[0]
    day = (T0 + timedelta(days=2)).date().isoformat()
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "trades" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    auth.login()
    api = ApiClient(app.test_client(), new_token(alice, "read"))
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        for path in PAGES:
            url = path.format(bot=bot.id, day=day)
            assert client.get(url).status_code == 200, url
        for path in API:
            url = path.format(bot=bot.id, day=day)
            response = api.get(url)
            assert response.status_code == 200, url
        following = api.get("/api/v1/trades?limit=50").get_json()["next_cursor"]
        assert api.get(f"/api/v1/trades?limit=50&cursor={following}").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert any("FROM trades" in s for s, _ in seen)
    for statement, parameters in seen:
        plan = _explain(statement, parameters)
        assert "Seq Scan on trades" not in plan, f"{statement}\n{parameters}\n{plan}"


def _record(statements: list):
    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM trades" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    return record


def _plan(statement: str, parameters) -> list[str]:
    """The plan's lines: PostgreSQL's EXPLAIN, SQLite's EXPLAIN QUERY PLAN details."""
    with db.engine.connect() as conn:
        cursor = conn.connection.cursor()
        if db.engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN " + statement, parameters)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return [row[3] for row in cursor.fetchall()]


def _deep_key(user, depth: int, **filters) -> str:
    trade = db.session.scalar(service.trades_query(user, **filters).offset(depth).limit(1))
    return keyset.encode(keyset.Key.of(trade))


def test_a_deep_page_walks_an_index_without_sorting_or_skipping(
    app, client, auth, alice, both_databases_histories
):
    bot = both_databases_histories[0]
    day = (T0 + timedelta(days=2)).date().isoformat()
    deep = _deep_key(alice, 6000)
    deep_sell = _deep_key(alice, 1500, bot_id=bot.id, side="sell")
    midnight = datetime.combine(T0.date() + timedelta(days=2), time.min, tzinfo=UTC)
    deep_day = _deep_key(alice, 1000, start=midnight, end=midnight + timedelta(days=1))
    urls = (
        f"/trades/?after={deep}",
        f"/trades/?before={deep}",
        f"/trades/?bot={bot.id}&after={_deep_key(alice, 3000, bot_id=bot.id)}",
        f"/trades/?bot={bot.id}&side=sell&after={deep_sell}",
        f"/trades/?side=buy&after={_deep_key(alice, 3500, side='buy')}",
        f"/trades/?from={day}&to={day}&after={deep_day}",
    )
    seen: list[tuple[str, object]] = []
    auth.login()
    api = ApiClient(app.test_client(), new_token(alice, "read"))
    recorder = _record(seen)
    sa.event.listen(db.engine, "before_cursor_execute", recorder)
    try:
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.get_data(as_text=True).count('data-testid="trade-row"') > 0, url
        assert api.get(f"/api/v1/trades?limit=100&cursor={deep}").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", recorder)

    listings = [(s, p) for s, p in seen if "ORDER BY" in s and "LIMIT" in s]
    assert len(listings) >= len(urls) + 1
    for statement, parameters in seen:
        if db.engine.dialect.name == "sqlite" and statement.rstrip().endswith("OFFSET ?"):
            assert parameters[-1] == 0, statement  # SQLAlchemy writes LIMIT ? OFFSET 0 there
        else:
            assert "OFFSET" not in statement.upper(), statement
        plan = _plan(statement, parameters)
        shown = f"{statement}\n{parameters}\n" + "\n".join(plan)
        if db.engine.dialect.name == "postgresql":
            assert not any("Seq Scan on trades" in line for line in plan), shown
            assert any("ix_trades_" in line for line in plan), shown
            if (statement, parameters) in listings:
                assert not any("Sort" in line for line in plan), shown
        else:
            assert not any(line.startswith("SCAN trades") for line in plan), shown
            assert any("INDEX ix_trades_" in line for line in plan), shown
            if (statement, parameters) in listings:
                assert not any("TEMP B-TREE" in line for line in plan), shown
