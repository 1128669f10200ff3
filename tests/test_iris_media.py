"""The media URL prober end to end: ``probe_media`` over the Uplynk mp4_urls and the IRIS
source URLs stored in the warehouse, against the sandbox's media CDN. Expected states come
from ``/_control/media/expected`` (each URL's kind), restated in tests/iris_helpers.py."""

from __future__ import annotations

import collections
import time

import orjson
import pytest

from connector.marts import build_mart
from connector.media import ProbeOptions, probe_media
from tests.iris_helpers import (
    CHECK_COLUMNS,
    cli,
    iris_truth,
    kind_state,
    known_iris_ids,
    run_iris,
    seeds,
    stored,
    with_uplynk,
)
from tests.uplynk_helpers import sandbox_assets


@pytest.fixture(autouse=True)
def recs_only_is_never_anything_but_true(sandbox):
    yield
    stats = sandbox.iris_stats()
    assert stats["recs_only_violations"] == 0, stats["recs_only_values"]


def uplynk_checks(warehouse) -> dict[str, dict]:
    return {
        r["asset_id"]: r
        for r in stored(warehouse, "raw.media_url_checks", CHECK_COLUMNS)
        if r["system"] == "uplynk"
    }


def assert_uplynk_checks_match(sandbox, warehouse, slow_is: str) -> collections.Counter:
    """Every live Uplynk asset's mp4_url has the check its CDN kind says; returns the kinds."""
    live = sandbox_assets(sandbox).live
    media = {r["id"]: r for r in sandbox.expected_media() if r["system"] == "uplynk"}
    checks = uplynk_checks(warehouse)
    assert set(checks) == set(live), f"{len(set(live) - set(checks))} mp4_urls not checked"
    problems = []
    for asset_id, record in live.items():
        kind = media[asset_id]["kind"]
        state, status = kind_state(kind, slow_is)
        if status == 200 and not media[asset_id]["head_allowed"]:
            status = 206  # HEAD refused (405): the one-byte Range GET answers 206
        got = checks[asset_id]
        want = {"url": record["mp4_url"], "status": state, "http_status": status}
        if {k: got[k] for k in want} != want:
            problems.append(f"{asset_id} ({kind}): {got['status']} {got['http_status']}")
        if kind == "redirect" and "/edge/" not in (got["final_url"] or ""):
            problems.append(f"{asset_id}: redirect not followed ({got['final_url']})")
    assert not problems, f"{len(problems)} differences, e.g. {problems[:4]}"
    return collections.Counter(media[a]["kind"] for a in live)


def test_probe_media_finds_each_state_of_the_uplynk_mp4_urls(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=400)
    fresh_sandbox.iris_config(slow_s=2.0)
    fresh_sandbox.media_config(head_405_share=0.3)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    fresh_sandbox.iris_reset_stats()
    options = ProbeOptions(timeout_s=0.8, concurrency=64, per_host=6, systems=("uplynk",))
    report = probe_media(warehouse, options)
    kinds = assert_uplynk_checks_match(fresh_sandbox, warehouse, slow_is="timeout")
    for kind in ("live", "redirect", "gone_404", "gone_410", "forbidden", "slow"):
        assert kinds[kind] > 0, f"no {kind} mp4_url in this world: the test proves nothing"
    cdn = fresh_sandbox.media_stats()
    assert cdn["range_requests"] > 0 and cdn["methods"].get("GET", 0) > 0, (
        "no HEAD was refused, the Range GET fallback was not exercised"
    )
    assert report.checked["uplynk"]["timeout"] == kinds["slow"]
    # a timeout long enough for the slow URLs: they are live, and the rows are replaced. No
    # probe gives up here, so the CDN's count of requests in flight is the prober's own (a
    # request abandoned at its timeout stays in flight on the server until it answers; the
    # reset waits for those, or the CDN's in-flight count would start below zero).
    time.sleep(2.5)  # slow_s = 2.0
    fresh_sandbox.iris_reset_stats()
    probe_media(warehouse, ProbeOptions(timeout_s=5.0, per_host=6, systems=("uplynk",)))
    assert_uplynk_checks_match(fresh_sandbox, warehouse, slow_is="live")
    cdn = fresh_sandbox.media_stats()
    in_flight, by_host = cdn["max_in_flight"], cdn["max_in_flight_by_host"]
    assert 2 <= in_flight <= 6, f"per-host limit: {in_flight} requests in flight at once"
    assert by_host and max(by_host.values()) <= 6, f"per-host limit: {by_host} (by Host header)"


def probed(report) -> int:
    return sum(report.checked.get("uplynk", {}).values())


def test_a_later_probe_run_checks_new_changed_not_live_and_due_urls_only(fresh_sandbox, tmp_path):
    """The re-check budget: a second run probes the URLs not found live and those that
    changed since; a live URL again only once its check is older than its interval
    (12-24 h); ``recheck_live_hours=0`` probes everything."""
    fresh_sandbox.reset(seed=7, assets=300)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    options = ProbeOptions(timeout_s=0.5, per_host=16, systems=("uplynk",))
    first = probe_media(warehouse, options)
    checks = uplynk_checks(warehouse)
    live_ids = {a for a, r in checks.items() if r["status"] == "live"}
    not_live = set(checks) - live_ids
    assert probed(first) == len(checks) and live_ids and not_live
    time.sleep(0.6)  # the slow URLs' requests end at the CDN

    again = probe_media(warehouse, options)
    assert probed(again) == len(not_live)

    changed = sorted(live_ids)[:5]  # their asset now serves another mp4_url
    with warehouse.write() as tx:
        tx.con.execute(
            "UPDATE raw.uplynk_assets SET mp4_url = mp4_url || '?v=2' "
            "WHERE asset_id IN (SELECT unnest($ids))",
            {"ids": changed},
        )
    after_change = probe_media(warehouse, options)
    assert probed(after_change) == len(not_live) + len(changed)

    with warehouse.write() as tx:  # a day passes for 10 live URLs' checks
        tx.con.execute(
            "UPDATE raw.media_url_checks SET checked_at = checked_at - INTERVAL 25 HOUR "
            "WHERE system = 'uplynk' AND asset_id IN (SELECT unnest($ids))",
            {"ids": sorted(live_ids)[-10:]},
        )
    due = probe_media(warehouse, options)
    assert probed(due) == len(not_live) + 10
    options.recheck_live_hours = 0
    everything = probe_media(warehouse, options)
    assert probed(everything) == len(checks)


def test_stored_iris_urls_that_expired_since_the_sync_are_marked_without_a_request(
    fresh_sandbox, tmp_path
):
    fresh_sandbox.reset(seed=7, assets=150)
    fresh_sandbox.iris_config(url_ttl_s=2, slow_s=0.2)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    report = run_iris(fresh_sandbox, warehouse, recommendations=5)
    refreshed = report.refresh_outcomes.get("refreshed", 0)
    assert refreshed > 0, "no URL was refreshed: the test proves nothing"
    time.sleep(2.1)  # every refreshed URL (url_ttl_s=2) has expired now
    fresh_sandbox.iris_reset_stats()
    proc = cli(fresh_sandbox, warehouse, "probe", "media")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    result = orjson.loads(out)
    cdn = fresh_sandbox.media_stats()
    assert cdn["systems"].get("iris", 0) == 0, "an IRIS URL was requested without its token"
    expired_now = {
        r["asset_id"]
        for r in stored(warehouse, "raw.media_url_checks")
        if r["system"] == "iris" and r["status"] == "expired"
    }
    with warehouse.read() as con:
        past = {
            r[0]
            for r in con.execute(
                "SELECT iris_id FROM raw.iris_assets WHERE source_url_expires_at <= now()"
            ).fetchall()
        }
    assert expired_now == past
    assert result["checked"]["iris"]["expired"] == len(past) >= refreshed


def test_dead_source_urls_names_every_dead_url_and_whether_iris_still_recommends_it(
    fresh_sandbox, tmp_path
):
    fresh_sandbox.reset(seed=7, assets=250)
    fresh_sandbox.iris_config(slow_s=2.0)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    run_iris(fresh_sandbox, warehouse, recommendations=10, probe_timeout_s=1.0)
    probe_media(warehouse, ProbeOptions(timeout_s=1.0, systems=("uplynk",)))
    build_mart(warehouse, "dead_source_urls")
    truth = iris_truth(fresh_sandbox, 10)
    seed_records = seeds(fresh_sandbox)
    recommended: set[str] = set()
    for record in seed_records.values():
        recommended.update(truth.recommendations_for(record["external_id"])[1])
    dead_because = {
        "gone_404": "gone (404)",
        "gone_410": "gone (410)",
        "forbidden": "forbidden (403)",
        "slow": "timeout",  # slow_s 2 s against probes that wait 1 s
        "not_available": "NOT_AVAILABLE",  # IRIS only
    }
    want = {}
    for iris_id in known_iris_ids(truth, seed_records):
        row = truth.by_id[iris_id]
        because = dead_because.get(row["source_url_kind"])
        if row["gave_up"]:
            because = "expired, not refreshable (gave_up)"
        if because:
            want[("iris", iris_id)] = (iris_id, because, iris_id in recommended)
    media = {r["id"]: r for r in fresh_sandbox.expected_media() if r["system"] == "uplynk"}
    for asset_id, record in sandbox_assets(fresh_sandbox).live.items():
        because = dead_because.get(media[asset_id]["kind"])
        if because:
            echo = (
                truth.recommendations_for(record["external_id"])[0]
                if record["external_id"]
                else None
            )
            want[("uplynk", asset_id)] = (echo, because, echo in recommended)
    with warehouse.read() as con:
        got = {
            (r[0], r[1]): (r[2], r[3], r[4])
            for r in con.execute(
                "SELECT system, asset_id, iris_id, dead_because, still_recommended "
                "FROM marts.dead_source_urls"
            ).fetchall()
        }
    assert any(k[0] == "iris" and v[2] for k, v in want.items()), "no dead URL IRIS recommends"
    assert any(k[0] == "uplynk" and v[0] for k, v in want.items()), (
        "no dead mp4 of a resolved asset"
    )
    for because in ("expired, not refreshable (gave_up)", "timeout", "NOT_AVAILABLE"):
        assert any(v[1] == because for v in want.values()), f"no {because!r} URL in this world"
    missing = {k: v for k, v in want.items() if got.get(k) != v}
    extra = set(got) - set(want)
    assert not missing and not extra, (
        f"missing/wrong {list(missing.items())[:4]}, extra {list(extra)[:4]}"
    )
