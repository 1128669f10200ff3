"""UplynkClient against httpx.MockTransport: envelope and shape checks, change actions,
misfiled asset states, asset/get narrowing, re-signing on retry."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from connector.config import UplynkSettings
from connector.http import RetryPolicy
from connector.uplynk.client import (
    Change,
    UplynkApiError,
    UplynkClient,
    UplynkShapeError,
    change_problem,
)
from connector.uplynk.signing import decode_msg

OWNER = "ab" * 16
KEY = "secret-api-key"
SETTINGS = UplynkSettings(base_url="http://uplynk.test", owner=OWNER, api_key=KEY)
TS = 1_732_400_000_000
A, B, C, D = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.001, max_wait_s=0.01, jitter=False)


class FakeUplynk:
    """Records every call as (path, params); ``answer(path, params)`` gives the body."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        expected = hmac.new(KEY.encode(), form["msg"].encode(), hashlib.sha256).hexdigest()
        assert form["sig"] == expected
        params = decode_msg(form["msg"])
        path = request.url.path
        self.calls.append((path, params))
        out = self.answer(path, params)
        if isinstance(out, httpx.Response):
            return out
        return httpx.Response(200, content=orjson.dumps(out))

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.calls if p == path)


def run_with(answer, coro_fn, **kw):
    fake = FakeUplynk(answer)

    async def go():
        async with UplynkClient(
            SETTINGS, transport=httpx.MockTransport(fake), retry=FAST, **kw
        ) as client:
            return await coro_fn(client)

    return asyncio.run(go()), fake


def changes_body(**over):
    body = {"changes": [], "assets": {}, "start": TS, "end": TS, "error": 0}
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


# -- change feed ------------------------------------------------------------------------


def test_actions_other_than_update_and_delete_are_changes_to_fetch():
    entries = [[TS, "create", A], [TS + 1, "update", B], [TS + 2, "delete", C], [TS + 3, "x", D]]
    page, _ = run_with(
        lambda p, q: changes_body(changes=entries, end=TS + 3), lambda c: c.changes(TS)
    )
    assert page.changes == [Change(*e) for e in entries]
    assert page.malformed == []
    assert [c.is_delete for c in page.changes] == [False, False, True, False]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ([TS, "", A], "action"),
        ([TS, None, A], "action"),
        ([TS, "update"], "triple"),
        ([TS, "update", ""], "asset id"),
        (["1732400000000", "update", A], "integer"),
        ([True, "update", A], "integer"),
        ([1_732_400_000, "update", A], "plausible"),  # seconds where ms are documented
        ([TS * 1000, "update", A], "plausible"),
    ],
)
def test_malformed_change_entries_are_kept_with_a_reason(entry, words):
    page, _ = run_with(
        lambda p, q: changes_body(changes=[[TS, "update", A], entry]), lambda c: c.changes(TS)
    )
    assert page.changes == [Change(TS, "update", A)]
    assert page.malformed == [entry]
    assert words in change_problem(entry)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (changes_body(changes=...), "'changes'"),
        (changes_body(changes=None), "'changes'"),
        (changes_body(changes={"0": [TS, "update", A]}), "'changes'"),
        (changes_body(end=...), "'end'"),
        (changes_body(end=str(TS)), "'end'"),
        (changes_body(end=True), "'end'"),
        (changes_body(assets=[]), "'assets'"),
        (changes_body(start="x"), "'start'"),
        (changes_body(error=...), "'error'"),
        ([], "JSON object"),
    ],
)
def test_a_changes_page_of_the_wrong_shape_is_an_error_not_an_empty_page(body, words):
    with pytest.raises(UplynkShapeError) as info:
        run_with(lambda p, q: body, lambda c: c.changes(TS))
    assert "/api2/asset/changes" in str(info.value) and words in str(info.value)


def test_a_changes_page_with_the_wrong_shape_is_not_retried():
    fake = FakeUplynk(lambda p, q: changes_body(changes=...))

    async def go():
        async with UplynkClient(SETTINGS, transport=httpx.MockTransport(fake), retry=FAST) as c:
            await c.changes(TS)

    with pytest.raises(UplynkShapeError):
        asyncio.run(go())
    assert len(fake.calls) == 1


def test_asset_states_filed_under_another_id_are_moved_out_of_assets():
    assets = {A: {"id": B, "desc": "B's state"}, C: {"id": C}, D: {"desc": "no id"}, B: "x"}
    entries = [[TS, "update", x] for x in (A, B, C, D)]
    page, _ = run_with(
        lambda p, q: changes_body(changes=entries, assets=assets), lambda c: c.changes(TS)
    )
    assert page.assets == {C: {"id": C}}
    misfiled = {key: (state, reason) for key, state, reason in page.misfiled}
    assert set(misfiled) == {A, B, D}
    assert misfiled[A][0] == {"id": B, "desc": "B's state"}
    assert A in misfiled[A][1] and B in misfiled[A][1]


def test_vendor_errors_carry_code_and_message_without_the_key():
    with pytest.raises(UplynkApiError) as info:
        run_with(lambda p, q: {"error": 1, "msg": f"bad sig for {KEY}"}, lambda c: c.changes(TS))
    assert not isinstance(info.value, UplynkShapeError)
    assert info.value.code == 1 and KEY not in str(info.value)


# -- asset/get --------------------------------------------------------------------------


def catalog_answer(live: set[str], *, list_works: bool = True):
    """asset/get fails the whole batch when one id is unknown (a vendor may)."""

    def answer(path, params):
        if path == "/api2/asset/list":
            return {"assets": [], "error": 0} if list_works else {"error": 1, "msg": "bad sig"}
        ids = params["ids"]
        if any(i not in live for i in ids):
            return {"error": 1, "msg": "asset not found"}
        return {"assets": [{"id": i} for i in ids], "error": 0}

    return answer


async def _get_with_stats(client, ids):
    return await client.get_assets(ids), client.get_stats


def test_a_batch_failed_by_unknown_ids_is_narrowed_down_by_bisection():
    ids = [f"{n:032x}" for n in range(64)]
    gone = {ids[5], ids[40]}
    live = set(ids) - gone

    (assets, stats), fake = run_with(catalog_answer(live), lambda c: _get_with_stats(c, ids))
    assert sorted(a["id"] for a in assets) == sorted(live)
    assert stats.absent == 2 and stats.batch_errors == 1
    # every call after the first is an extra one, and the sync can report them
    assert stats.extra_calls == len(fake.calls) - 1 > 0
    assert fake.count("/api2/asset/list") == 0  # some narrowing call succeeded: no probe


def test_a_batch_of_only_unknown_ids_is_absent_once_the_probe_shows_the_account_works():
    (assets, stats), fake = run_with(catalog_answer(set()), lambda c: _get_with_stats(c, [A, B, C]))
    assert assets == [] and stats.absent == 3
    assert fake.count("/api2/asset/list") == 1


def test_an_account_wide_error_still_raises_instead_of_calling_everything_absent():
    with pytest.raises(UplynkApiError) as info:
        run_with(catalog_answer(set(), list_works=False), lambda c: c.get_assets([A, B, C, D]))
    assert "/api2/asset/get" in str(info.value)


def test_asset_get_without_assets_is_a_shape_error_and_a_null_asset_is_absent():
    with pytest.raises(UplynkShapeError, match="asset/get"):
        run_with(lambda p, q: {"error": 0}, lambda c: c.get_assets([A]))
    with pytest.raises(UplynkShapeError, match="asset/get"):
        run_with(lambda p, q: {"assets": {A: {}}, "error": 0}, lambda c: c.get_assets([A]))
    assets, _ = run_with(lambda p, q: {"asset": None, "error": 0}, lambda c: c.get_assets([A]))
    assert assets == []


def test_asset_get_sends_at_most_1000_ids_per_call():
    ids = [f"{n:032x}" for n in range(2500)]
    assets, fake = run_with(catalog_answer(set(ids)), lambda c: c.get_assets(ids + ids[:10]))
    assert len(assets) == 2500
    assert sorted(len(q["ids"]) for _, q in fake.calls) == [500, 1000, 1000]


# -- asset/list -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{"error": 0}, {"assets": {}, "error": 0}, {"assets": None, "error": 0}]
)
def test_a_list_page_without_an_assets_list_is_an_error_not_an_empty_page(body):
    with pytest.raises(UplynkShapeError, match="asset/list"):
        run_with(lambda p, q: body, lambda c: c.list_page(0))


# -- signing ----------------------------------------------------------------------------


def test_every_retry_attempt_is_signed_again_with_a_fresh_timestamp():
    stamps = iter([1_700_000_000, 1_700_000_600, 1_700_001_200])
    attempts = []

    def answer(path, params):
        attempts.append(params["_timestamp"])
        if len(attempts) == 1:
            return httpx.Response(503)
        return changes_body()

    page, fake = run_with(answer, lambda c: c.changes(TS), clock=lambda: next(stamps))
    assert page.end == TS
    assert attempts == [1_700_000_000, 1_700_000_600]  # the retry carries the later time
