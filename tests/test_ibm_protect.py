"""The protect job: dry run changes nothing, a real run changes exactly the selected videos,
a re-run is a no-op; every action is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.ibm import ProtectOptions, protect_ibm
from connector.marts import build_mart
from connector.reconcile import reconcile
from tests.ibm_helpers import (
    DAY_MS,
    FAST_RETRY,
    ibm_settings,
    new_warehouse,
    rows,
    run_ibm,
    snapshot,
)
from tests.uplynk_helpers import run_uplynk


def protect(sandbox, wh, **kw):
    opts = ProtectOptions(now_ms=sandbox.now_ms(), **kw)
    return protect_ibm(ibm_settings(sandbox), wh, opts, retry=FAST_RETRY)


def test_protect_job_dry_run_then_real_run_then_no_op(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    run_ibm(fresh_sandbox, wh)
    reconcile(wh)  # "live elsewhere" is read from core.asset_xref
    now = fresh_sandbox.now_ms()
    # a user asks to keep a video that expires later than the window, and one already never
    far, never = rows(
        wh,
        "SELECT (SELECT min(video_id) FROM raw.ibm_expirations WHERE rule = 'at_given_time' "
        "AND epoch_ms(expires_at) > ?), (SELECT min(video_id) FROM raw.ibm_expirations WHERE rule = 'never')",
        [now + 40 * DAY_MS],
    )[0]
    with wh.write() as tx:
        for vid in (far, never):
            tx.execute(
                "INSERT INTO meta.ibm_protect_requests VALUES (?, 'ops@example.com', ?, 'keep it')",
                [vid, datetime.now(UTC)],
            )
    expiring_elsewhere = {
        r[0]
        for r in rows(
            wh,
            "SELECT e.video_id FROM raw.ibm_expirations e JOIN raw.ibm_videos v USING (video_id) "
            "WHERE v.removed_at IS NULL AND e.rule = 'at_given_time' AND epoch_ms(e.expires_at) > ? "
            "AND epoch_ms(e.expires_at) <= ? AND e.video_id IN (SELECT video_id FROM core.ibm_live_elsewhere)",
            [now, now + 7 * DAY_MS],
        )
    }
    assert expiring_elsewhere, "the sandbox world should have videos expiring within 7 days"
    want = expiring_elsewhere | {far}

    # dry run: audit rows only
    before = snapshot(wh)
    fresh_sandbox.ibm_reset_stats()
    dry = protect(fresh_sandbox, wh)
    assert dry.dry_run and set(dry.video_ids) == want
    assert dry.results == {"would_set": len(want)}
    assert snapshot(wh) == before
    assert fresh_sandbox.ibm_stats()["requests"]["expiration"] == 0
    audit = rows(wh, "SELECT video_id, dry_run, result, rule_after FROM meta.ibm_protect_actions")
    assert {a[0] for a in audit} == want and all(a[1] and a[2] == "would_set" for a in audit)
    assert (
        dict(rows(wh, "SELECT video_id, reason FROM meta.ibm_protect_actions"))[far] == "requested"
    )

    # real run: exactly the selected videos change, in the vendor and in the warehouse
    real = protect(fresh_sandbox, wh, dry_run=False)
    assert set(real.video_ids) == want
    assert real.results == {"set": len(want)}
    protected = {r["id"] for r in fresh_sandbox.expected_ibm() if r["protected"]}
    assert protected == want
    assert fresh_sandbox.ibm_stats()["puts"] == len(want)
    got = dict(
        rows(
            wh,
            "SELECT video_id, rule FROM raw.ibm_expirations WHERE video_id IN (SELECT unnest(?))",
            [sorted(want)],
        )
    )
    assert set(got.values()) == {"never"}
    assert rows(
        wh,
        "SELECT count(*) FROM raw.ibm_expiration_history WHERE source = 'protect' AND rule = 'never' "
        "AND prev_rule = 'at_given_time'",
    )[0][0] == len(want)
    real_audit = rows(
        wh, "SELECT count(*) FROM meta.ibm_protect_actions WHERE NOT dry_run AND result = 'set'"
    )
    assert real_audit[0][0] == len(want)

    # re-run: nothing selected, no request, no new audit row
    n_actions = rows(wh, "SELECT count(*) FROM meta.ibm_protect_actions")[0][0]
    fresh_sandbox.ibm_reset_stats()
    again = protect(fresh_sandbox, wh, dry_run=False)
    assert again.selected == 0
    assert fresh_sandbox.ibm_stats()["requests"]["expiration"] == 0
    assert rows(wh, "SELECT count(*) FROM meta.ibm_protect_actions")[0][0] == n_actions
    # and a sync afterwards agrees with the vendor
    run_ibm(fresh_sandbox, wh)
    assert dict(
        rows(
            wh,
            "SELECT video_id, rule FROM raw.ibm_expirations WHERE video_id IN (SELECT unnest(?))",
            [sorted(want)],
        )
    ) == {v: "never" for v in want}
    # the expiring-soon mart now lists IBM expirations too, and none of the protected videos
    build_mart(wh, "assets_expiring_soon")
    mart = rows(wh, "SELECT system, system_id FROM marts.expiring_within(30)")
    ibm_ids = {sid for src, sid in mart if src == "ibm"}
    assert ibm_ids and not ibm_ids & want and any(src == "uplynk" for src, _ in mart)


def test_live_elsewhere_is_an_ibm_video_whose_canonical_asset_has_a_live_uplynk_asset(tmp_path):
    wh = new_warehouse(tmp_path)
    with wh.write() as tx:
        tx.execute(
            "INSERT INTO raw.uplynk_assets (asset_id, deleted_at) VALUES "
            "('a', NULL), ('b', now()), ('c', NULL)"
        )
        tx.execute(
            "INSERT INTO core.asset_xref (canonical_id, system, system_id, rule) VALUES "
            "('cx1', 'ibm', '1', 'k'), ('cx1', 'uplynk', 'a', 'k'), "  # live in Uplynk
            "('cx2', 'ibm', '2', 'k'), ('cx2', 'uplynk', 'b', 'k'), "  # deleted in Uplynk
            "('cx3', 'ibm', '3', 'self'), ('cx4', 'uplynk', 'c', 'self')"  # alone
        )
    got = sorted(rows(wh, "SELECT video_id, uplynk_asset_id FROM core.ibm_live_elsewhere"))
    assert got == [("1", "a")]
