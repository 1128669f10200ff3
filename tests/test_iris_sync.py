"""The IRIS stream end to end, over real loopback HTTP against the sandbox.

Expected values are the sandbox's (``/_control/iris/expected``, ``default_recs``, its
counters), restated by hand in tests/iris_helpers.py. Every test here also checks, after it
ran, that the sandbox counted no Watch/Next call with ``recs_only`` other than ``true``.
"""

from __future__ import annotations

import collections
import signal
import time

import pytest

from connector.config import IrisSettings
from connector.iris import IrisAuthError, SyncOptions, sync_iris
from tests.iris_helpers import (
    FAST_RETRY,
    assert_assets_match,
    assert_ledger_rules_hold,
    assert_resolutions_match,
    cli,
    iris_settings,
    iris_truth,
    known_iris_ids,
    ledger,
    refreshed_since_anchor,
    run_iris,
    seeds,
    stored,
    with_uplynk,
)
from tests.uplynk_helpers import run_uplynk

ASSETS = 250
NUMBER = 10


@pytest.fixture(autouse=True)
def recs_only_is_never_anything_but_true(sandbox):
    """After every test: the sandbox counted no Watch/Next whose recs_only was not "true"."""
    yield
    stats = sandbox.iris_stats()
    assert stats["recs_only_violations"] == 0, stats["recs_only_values"]


@pytest.fixture(scope="module")
def first_sync(sandbox, tmp_path_factory):
    """One first sync of a fresh world (probe timeout below the sandbox's slow_s), with the
    sandbox's truth and counters read right after it."""
    sandbox.reset(seed=7, assets=ASSETS)
    sandbox.clear_faults()
    sandbox.iris_config(slow_s=2.0)
    tmp = tmp_path_factory.mktemp("iris-first")
    warehouse = with_uplynk(sandbox, tmp)
    report = run_iris(sandbox, warehouse, recommendations=NUMBER, probe_timeout_s=1.0)
    return {
        "warehouse": warehouse,
        "report": report,
        "truth": iris_truth(sandbox, NUMBER),
        "seeds": seeds(sandbox),
        "stats": sandbox.iris_stats(),
    }


def test_first_sync_resolves_every_asset_with_its_recommendations(first_sync):
    resolutions = assert_resolutions_match(
        first_sync["seeds"], first_sync["warehouse"], first_sync["truth"]
    )
    resolved = [r for r in resolutions.values() if r["iris_id"] is not None]
    assert resolved, "no asset resolved: the test proves nothing"
    assert first_sync["stats"]["recs_only_violations"] == 0
    watch = first_sync["stats"]["requests"]["watch"]
    assert watch == len(first_sync["seeds"]) == first_sync["report"].watched
    # the connector's own count of what it sent (the Dagster check's figure) agrees
    assert first_sync["report"].personalization_calls == watch
    assert first_sync["report"].recs_only_not_true == 0


def test_new_iris_ids_are_read_during_the_watch_walk_and_each_read_once(first_sync):
    stats, report = first_sync["stats"], first_sync["report"]
    watches = stats["requests"]["watch"]
    echoed = {r["iris_id"] for r in stored(first_sync["warehouse"], "raw.iris_resolutions")} - {
        None
    }
    assert len(echoed) > 10, "too few resolved assets: the test proves nothing"
    # the first data API read came while Watch calls were still being answered
    assert stats["watches_before_first_read"] < watches / 2, stats["watches_before_first_read"]
    # every iris_id the plan reads (new ones: all, in a first run) is read exactly once,
    # whether during the walk (echoed) or after it (only recommended)
    assert stats["asset_reads_max_per_id"] == 1
    assert stats["asset_read_ids"] == report.assets_candidates
    assert report.assets_selected == {"new": report.assets_candidates, "changed": 0, "rolling": 0}


def test_expired_urls_are_refreshed_while_the_data_api_reads_go_on(first_sync):
    stats = first_sync["stats"]
    reads = stats["requests"]["video_assets"]
    assert sum(stats["refreshes"].values()) > 5, "too few refreshes: the test proves nothing"
    # the first refresh came well before the last read (refreshing after the reads: all of
    # them came first)
    assert stats["reads_before_first_refresh"] < 0.9 * reads, (
        stats["reads_before_first_refresh"],
        reads,
    )


def test_unknown_platform_ids_get_the_default_recommendations_and_no_iris_id(first_sync):
    truth, warehouse = first_sync["truth"], first_sync["warehouse"]
    unknown = {
        r["external_id"]
        for r in first_sync["seeds"].values()
        if r["external_id"] not in truth.by_platform
    }
    assert unknown, "every platform_id is known to IRIS: the test proves nothing"
    rows = stored(warehouse, "raw.iris_resolutions")
    defaults = {r["platform_id"]: r for r in rows if r["default_recs"]}
    assert set(defaults) == unknown
    assert all(r["iris_id"] is None and r["echoed_platform_id"] is None for r in defaults.values())
    recs = collections.defaultdict(list)
    for r in stored(warehouse, "raw.iris_recommendations"):
        if r["seed_platform_id"] in unknown:
            recs[r["seed_platform_id"]].append(
                (r["rank"], r["recommended_iris_id"], r["default_recs"])
            )
    want = [(rank, iid, True) for rank, iid in enumerate(truth.default_recs, start=1)]
    assert all(sorted(v) == want for v in recs.values()) and len(recs) == len(unknown)


def test_the_report_counts_url_checks_apart_from_the_resolutions_and_assets(first_sync):
    warehouse, report = first_sync["warehouse"], first_sync["report"]
    resolutions = len(stored(warehouse, "raw.iris_resolutions"))
    assets = len(stored(warehouse, "raw.iris_assets"))
    checks = [r for r in stored(warehouse, "raw.media_url_checks") if r["system"] == "iris"]
    assert checks, "no source URL was probed: the test proves nothing"
    # a first run inserts each resolution and asset once (a refreshed asset is updated)
    assert report.inserted == resolutions + assets
    assert report.media_checks >= len(checks)
    with warehouse.read() as con:
        runs = con.execute(
            "SELECT rows_inserted FROM meta.runs WHERE run_id = ?", [report.run_id]
        ).fetchall()
    assert runs == [(resolutions + assets,)]


def test_every_source_url_state_matches_the_cdn(first_sync):
    truth = first_sync["truth"]
    ids = known_iris_ids(truth, first_sync["seeds"])
    assets = assert_assets_match(first_sync["warehouse"], truth, ids, slow_is="timeout")
    kinds = collections.Counter(truth.by_id[i]["source_url_kind"] for i in ids)
    for kind in ("live", "redirect", "gone_404", "gone_410", "forbidden", "slow", "not_available"):
        assert kinds[kind] > 0, f"no {kind} URL in this world: the test proves nothing"
    states = collections.Counter(a["source_url_state"] for a in assets.values())
    assert states["timeout"] == kinds["slow"] and states["expired"] > 0


def test_first_run_refreshes_follow_the_vendors_rules(first_sync):
    truth, warehouse = first_sync["truth"], first_sync["warehouse"]
    ids = known_iris_ids(truth, first_sync["seeds"])
    rows = ledger(warehouse)
    by_outcome = collections.defaultdict(set)
    for r in rows:
        by_outcome[r["outcome"]].add(r["iris_id"])
    not_available = {i for i in ids if truth.by_id[i]["source_url_kind"] == "not_available"}
    gave_up = {i for i in ids if truth.by_id[i]["gave_up"]}
    refreshed = {i for i in ids if refreshed_since_anchor(truth.by_id[i], truth)} - gave_up
    assert not_available and gave_up and refreshed, "a rule was not exercised"
    assert by_outcome["not_available"] == not_available
    assert by_outcome["gave_up"] == gave_up
    assert by_outcome["refreshed"] == refreshed
    assert all(not r["requested"] for r in rows if r["outcome"] == "not_available")
    stats = first_sync["stats"]
    assert stats["refresh_violations"] == 0, stats["refresh_violations_by_reason"]
    assert stats["refreshes_before_expiry"] == 0, "a URL that had not expired was refreshed"
    assert stats["refreshes"] == {"refreshed": len(refreshed), "expired": len(gave_up)}
    assert_ledger_rules_hold(warehouse)


def test_a_second_run_without_changes_sends_no_refresh_and_keeps_the_tables(
    fresh_sandbox, tmp_path
):
    fresh_sandbox.reset(seed=7, assets=120)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    run_iris(fresh_sandbox, warehouse, recommendations=NUMBER, probe_timeout_s=1.0)
    fresh_sandbox.iris_reset_stats()
    before = stored(warehouse, "raw.iris_source_url_refreshes")
    second = run_iris(fresh_sandbox, warehouse, recommendations=NUMBER, probe_timeout_s=1.0)
    stats = fresh_sandbox.iris_stats()
    assert stats["requests"].get("source_url", 0) == 0
    assert stored(warehouse, "raw.iris_source_url_refreshes") == before
    assert second.seeds_selected["new"] == 0 and second.assets_selected["new"] == 0
    truth = iris_truth(fresh_sandbox, NUMBER)
    assert_resolutions_match(seeds(fresh_sandbox), warehouse, truth)


def test_token_expiry_mid_run_renews_the_token_and_finishes(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=150)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    fresh_sandbox.iris_config(token_ttl_s=1.0, slow_s=0.5)
    fresh_sandbox.iris_reset_stats()
    # 50 ms per IRIS answer, 4 at a time: the IRIS calls themselves outlast the 1 s TTL
    # (without it a fast run made its last IRIS call inside the TTL and spent the rest of
    # its time probing the CDN, which needs no token)
    fresh_sandbox.latency(iris={"ms": 50, "jitter_ms": 0})
    try:
        report = run_iris(fresh_sandbox, warehouse, recommendations=NUMBER, concurrency=4)
    finally:
        fresh_sandbox.clear_latency()
    stats = fresh_sandbox.iris_stats()
    iris_calls = sum(r["count"] for r in stats["responses"])
    assert iris_calls * 0.05 / 4 > 2.0, "too few IRIS calls to outlast the token's TTL"
    assert report.token_renewals >= 1
    assert stats["tokens_issued"] == report.tokens_fetched == 1 + report.token_renewals
    no_longer_valid = sum(r["count"] for r in stats["responses"] if r["status"] == 401)
    assert no_longer_valid >= report.token_renewals
    truth = iris_truth(fresh_sandbox, NUMBER)
    assert_resolutions_match(seeds(fresh_sandbox), warehouse, truth)
    ids = known_iris_ids(truth, seeds(fresh_sandbox))
    assert_assets_match(warehouse, truth, ids, slow_is="live")


def test_a_revoked_token_is_renewed_once(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=80)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    fresh_sandbox.iris_revoke(after_requests=30)
    report = run_iris(fresh_sandbox, warehouse, recommendations=3)
    assert report.token_renewals == 1 and report.tokens_fetched == 2
    assert_resolutions_match(seeds(fresh_sandbox), warehouse, iris_truth(fresh_sandbox, 3))


def test_a_wrong_client_token_fails_clearly_without_renewing(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=60)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    good = iris_settings(fresh_sandbox)
    bad = IrisSettings(
        good.base_url, good.client_id, good.client_secret, "WRONGTOKEN99", good.platform
    )
    fresh_sandbox.iris_reset_stats()
    with pytest.raises(IrisAuthError) as err:
        sync_iris(bad, warehouse, SyncOptions(concurrency=1), retry=FAST_RETRY)
    text = str(err.value)
    assert "IRIS_CLIENT_TOKEN" in text and "Check your authentication credentials" in text
    assert "WRONGTOKEN99" not in text
    stats = fresh_sandbox.iris_stats()
    assert stats["tokens_issued"] == 1, "a client_token error renewed the access token"
    assert stats["requests"]["watch"] == 1, "a client_token error was retried"


@pytest.mark.slow
def test_the_ledger_rules_hold_across_three_runs_with_churn(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=11, assets=ASSETS)
    fresh_sandbox.iris_config(refresh_error_p=0.35, url_ttl_s=1, slow_s=0.2)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    requested_by_run: list[collections.Counter] = []
    changed_seeds = 0
    for run in range(3):
        if run:
            before = {a: r["lastmod"] for a, r in seeds(fresh_sandbox).items()}
            fresh_sandbox.advance(seconds=3600, creates=15, updates=40, deletes=10)
            run_uplynk(fresh_sandbox, warehouse)
            now = seeds(fresh_sandbox)
            changed_seeds += sum(1 for a, r in now.items() if before.get(a) != r["lastmod"])
            time.sleep(1.1)  # URLs refreshed by the last run (url_ttl_s=1) have expired
        report = run_iris(fresh_sandbox, warehouse, recommendations=NUMBER, probe_timeout_s=1.0)
        resolved = {r["asset_id"]: r for r in stored(warehouse, "raw.iris_resolutions")}
        stale = [
            a
            for a, r in seeds(fresh_sandbox).items()
            if a not in resolved or resolved[a]["uplynk_lastmod_at"] != r["lastmod"]
        ]
        assert not stale, f"run {run}: {len(stale)} new or changed assets not resolved again"
        stats = fresh_sandbox.iris_stats()
        assert stats["refresh_violations"] == 0, (run, stats["refresh_violations_by_reason"])
        assert_ledger_rules_hold(warehouse)
        requested_by_run.append(
            collections.Counter(
                r["outcome"] for r in ledger(warehouse) if r["run_id"] == report.run_id
            )
        )
    rows = ledger(warehouse)
    first_run = rows[0]["run_id"]
    errored_first = {
        r["iris_id"] for r in rows if r["run_id"] == first_run and r["outcome"] == "error"
    }
    asked_later = {r["iris_id"] for r in rows if r["run_id"] != first_run and r["requested"]}
    assert errored_first, "no refresh failed in the first run: the test proves nothing"
    assert errored_first & asked_later, "a failed refresh was not asked again on a later run"
    refreshed_first = {
        r["iris_id"] for r in rows if r["run_id"] == first_run and r["outcome"] == "refreshed"
    }
    assert refreshed_first & asked_later, "URLs that expired again were not refreshed again"
    gave_up = {r["iris_id"] for r in rows if r["outcome"] == "gave_up"}
    assert gave_up, "no refresh came back expired: the test proves nothing"
    assert all(c for c in requested_by_run[1:]), requested_by_run
    assert changed_seeds > 0, "the churn changed no seed: the test proves nothing"


def kill_after(proc, marker: bytes, count: int, timeout: float = 120.0) -> int:
    """SIGKILL ``proc`` right after its ``count``-th log line containing ``marker``."""
    seen = 0
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        if marker in line:
            seen += 1
            if seen >= count:
                break
        if time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return seen


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_matches_the_sandbox(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=ASSETS)
    fresh_sandbox.iris_config(slow_s=0.5)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    # killed in the Watch walk, then killed again right after refresh intents committed
    proc = cli(fresh_sandbox, warehouse, "sync", "iris", "--checkpoint-rows", "40")
    assert kill_after(proc, b"checkpoint", 5) == 5, "the sync finished before the kill"
    proc = cli(fresh_sandbox, warehouse, "sync", "iris", "--checkpoint-rows", "40")
    assert kill_after(proc, b"refresh intent", 1) == 1, "no refresh was under way at the kill"
    with warehouse.read() as con:
        pending = con.execute("SELECT count(*) FROM meta.iris_refresh_pending").fetchone()[0]
    assert pending > 0, "the kill left no refresh in flight: the test proves nothing"
    rerun = cli(fresh_sandbox, warehouse, "sync", "iris")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()[-2000:]
    truth = iris_truth(fresh_sandbox, NUMBER)
    assert_resolutions_match(seeds(fresh_sandbox), warehouse, truth)
    assert_assets_match(warehouse, truth, known_iris_ids(truth, seeds(fresh_sandbox)), "live")
    assert_ledger_rules_hold(warehouse)
    stats = fresh_sandbox.iris_stats()
    assert stats["refresh_violations"] == 0, stats["refresh_violations_by_reason"]
    settled = [r for r in ledger(warehouse) if "died before recording" in (r["detail"] or "")]
    assert len(settled) == pending, "refreshes the killed run left unanswered were not given up"


def test_a_refresh_whose_answer_was_lost_is_never_asked_again(fresh_sandbox, tmp_path):
    """IRIS mints the new URL, then its answer cannot be read (invalid UTF-8): it may have
    been an already-expired URL, so the id is given up, and no later run asks again, not
    even a full refresh."""
    fresh_sandbox.reset(seed=7, assets=ASSETS)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    fresh_sandbox.defects(
        kind="invalid_utf8",
        vendor="iris",
        path="/iris/v2/context/data_partner/metadata/video_assets/source_url",
        params={"path": "source_url"},
    )
    first = run_iris(fresh_sandbox, warehouse, recommendations=NUMBER, probe_timeout_s=1.0)
    fresh_sandbox.clear_defects()
    sent = {r["iris_id"]: r for r in ledger(warehouse) if r["requested"]}
    truth = iris_truth(fresh_sandbox, NUMBER)
    assert sent and first.refreshes_sent == len(sent)
    assert any(truth.by_id[i]["refresh_expired"] for i in sent), (
        "no lost answer was an expired URL: the test proves nothing"
    )
    assert {r["outcome"] for r in sent.values()} == {"gave_up"}
    run_iris(fresh_sandbox, warehouse, recommendations=NUMBER, full_refresh=True)
    stats = fresh_sandbox.iris_stats()
    assert stats["refresh_violations"] == 0, stats["refresh_violations_by_reason"]
    assert_ledger_rules_hold(warehouse)
