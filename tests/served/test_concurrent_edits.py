"""Two tabs (or a double click) saving the same bot at once, through the app as gunicorn serves
it with its workers and threads: every save is answered (saved, or a message on the field),
none is a 5xx, and the bot ends up with one of the names that were sent.

On PostgreSQL a rename locks the row's unique name; without the row lock taken first, two
renames that had each written an activity row waited on each other until one was killed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from tests.bots.helpers import make_bot, make_key
from tests.served.test_bad_input import bot_form, field_errors
from tests.served.test_trades_export import alice as load_alice
from webapp.engine.validation import NAME_TAKEN
from webapp.extensions import db
from webapp.models import Bot, BotActivity


def test_concurrent_renames_of_one_bot_are_all_answered(web):
    alice = load_alice()
    key = make_key(alice)
    bot_id, key_id = make_bot(alice, key, "Sweep bot").id, key.id
    names = [f"Renamed {n}" for n in range(16)]
    web.csrf_token()

    def rename(name: str) -> int:
        return web.submit(f"/bots/{bot_id}/edit", bot_form(key_id, name=name)).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(rename, names))
    assert statuses == [302] * len(names)
    db.session.expire_all()
    assert db.session.get(Bot, bot_id).name in names
    changes = db.session.scalar(
        sa.select(sa.func.count(BotActivity.id)).where(
            BotActivity.bot_id == bot_id, BotActivity.message.like("Settings changed%")
        )
    )
    assert changes == len(names)


def test_two_bots_created_with_one_name_at_once_give_one_bot_and_one_message(web):
    alice = load_alice()
    key_id = make_key(alice).id
    web.csrf_token()

    def create(_: int):
        return web.submit("/bots/new", bot_form(key_id, name="Twin"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] + [422] * 7
    for response in responses:
        if response.status_code == 422:
            assert field_errors(response.text, "name") == NAME_TAKEN
    assert db.session.scalar(sa.select(sa.func.count(Bot.id)).where(Bot.name == "Twin")) == 1
