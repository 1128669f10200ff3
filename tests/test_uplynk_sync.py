"""The Uplynk stream end to end, over real loopback HTTP against the sandbox.

Expected values are the sandbox's: its catalog as served (every column restated by hand in
tests/uplynk_helpers.py), its change feed read by an independent client, and the summaries
``advance`` returns. See tests/README.md for the breakages each test was seen to catch.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import orjson
import pytest

from connector.config import UplynkSettings
from connector.runtime import run_sync
from connector.uplynk import UplynkApiError, UplynkClient
from connector.warehouse import Warehouse
from tests.uplynk_helpers import (
    FAST_RETRY,
    assert_matches_sandbox,
    assert_rejects_are_the_malformed_assets,
    cli_sync,
    kill_after_checkpoints,
    new_warehouse,
    run_uplynk,
    served_changes,
    settings_for,
    stored_changes,
    table_snapshot,
    warehouse_rows,
)

HOUR = 3600


def uplynk_requests(stats: dict, action: str) -> int:
    """Requests the sandbox served for /api2/asset/<action> (all statuses)."""
    return sum(
        row["count"]
        for row in stats["requests"]
        if row["vendor"] == "uplynk" and row["path"].endswith(f"/asset/{action}")
    )


def saved_cursor(warehouse: Warehouse) -> int | None:
    with warehouse.read() as con:
        row = con.execute("SELECT state FROM meta.sync_state WHERE stream = 'uplynk'").fetchone()
    return None if row is None else orjson.loads(row[0])["cursor_ms"]


def assert_new_changes_are_the_served_ones(sandbox, warehouse, report, after_ms: int) -> set:
    """The run stored, and handed to the writer, each change the feed served after
    ``after_ms`` (up to the run's cursor) exactly once: ``report.changes`` counts what the
    sync passed on, so a change passed twice shows there even though the table, written
    insert-if-new, would drop the second copy."""
    want = {c for c in served_changes(sandbox, after_ms + 1) if c[0] <= report.cursor_after}
    got = {c for c in stored_changes(warehouse) if c[0] > after_ms}
    assert got == want, f"{len(want - got)} served changes missing, {len(got - want)} invented"
    assert report.changes == len(want), "a change was passed on twice (or one was dropped)"
    return want


def test_wrong_api_key_is_rejected_with_a_clear_error(fresh_sandbox):
    settings = settings_for(fresh_sandbox)
    bad = UplynkSettings(settings.base_url, settings.owner, "not-the-key")

    async def go():
        async with UplynkClient(bad, retry=FAST_RETRY) as client:
            await client.changes(0)

    with pytest.raises(UplynkApiError) as info:
        run_sync(go())
    assert "signature" in str(info.value).lower()
    assert "not-the-key" not in str(info.value)


def test_first_sync_equals_the_sandbox_catalog(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    fresh_sandbox.reset_stats()
    report = run_uplynk(fresh_sandbox, wh)
    assert report.reconciled == "first_run"
    truth = assert_matches_sandbox(fresh_sandbox, wh)
    # the listing stores every state: the walk beside it fetched with asset/get only the
    # states its pages lacked, in one call once it had ended (not one per page)
    assert report.changes > 0
    gets = [r for r in fresh_sandbox.stats()["requests"] if r["path"].endswith("/asset/get")]
    assert sum(r["count"] for r in gets) <= 1, gets
    assert len(truth.live) > 1000 and report.inserted >= len(truth.live)
    # the changes table holds exactly what the feed served from the run's first page on
    changes = stored_changes(wh)
    assert changes, "the feed served nothing in the first run's window: nothing checked"
    first = min(c[0] for c in changes)
    served = {c for c in served_changes(fresh_sandbox, first) if c[0] <= report.cursor_after}
    assert set(changes) == served


def test_incremental_sync_after_churn_converges_and_requests_only_what_changed(
    fresh_sandbox, tmp_path
):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    churn = fresh_sandbox.advance(seconds=HOUR, creates=120, updates=400, deletes=150)
    fresh_sandbox.reset_stats()
    report = run_uplynk(fresh_sandbox, wh)
    stats = fresh_sandbox.stats()  # before the checks below read the feed themselves
    assert report.reconciled is None
    truth = assert_matches_sandbox(fresh_sandbox, wh)
    new = assert_new_changes_are_the_served_ones(fresh_sandbox, wh, report, churn["from_ms"])
    assert len(new) >= 670
    assert uplynk_requests(stats, "list") == 0
    # the feed (500 per page) plus at most one asset/get per page that lacked states
    assert uplynk_requests(stats, "changes") <= len(new) // 500 + 3
    assert uplynk_requests(stats, "get") <= uplynk_requests(stats, "changes")
    deleted_now = {
        a for a, r in truth.deleted.items() if churn["from_ms"] < r["deleted"] <= churn["to_ms"]
    }
    _, dead = warehouse_rows(wh)
    assert deleted_now <= set(dead) and len(deleted_now) >= 150
    assert set(dead.values()) <= {"feed"}


def test_two_syncs_without_churn_change_nothing(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    before = table_snapshot(wh)
    report = run_uplynk(fresh_sandbox, wh)
    assert (report.inserted, report.updated, report.deleted, report.changes) == (0, 0, 0, 0)
    assert table_snapshot(wh) == before


def test_boundary_never_duplicates_or_skips_equal_timestamps_across_a_page_end(
    fresh_sandbox, tmp_path
):
    fresh_sandbox.reset(assets=2000, changes_page_size=50)
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    # bursts of 30 changes sharing one millisecond, with 50 changes per page, straddle page ends
    after = fresh_sandbox.advance(seconds=60, updates=90, burst=30)["from_ms"]
    for _ in range(3):
        fresh_sandbox.advance(seconds=60, updates=90, burst=30)
    fresh_sandbox.advance(seconds=60, deletes=40, burst=30)
    report = run_uplynk(fresh_sandbox, wh)
    assert_matches_sandbox(fresh_sandbox, wh)
    new = assert_new_changes_are_the_served_ones(fresh_sandbox, wh, report, after)
    assert len(new) >= 390
    per_ms: dict[int, int] = {}
    for ts, _, _ in new:
        per_ms[ts] = per_ms.get(ts, 0) + 1
    assert max(per_ms.values()) >= 25  # the bursts really shared one millisecond
    assert report.feed_pages >= report.changes // 50


def test_injected_faults_end_in_the_sandbox_catalog(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    fresh_sandbox.faults(p_500=0.05, p_503=0.05, p_429=0.05, retry_after_s=0.01, p_truncate=0.05)
    first = run_uplynk(fresh_sandbox, wh)
    churn = fresh_sandbox.advance(seconds=HOUR, creates=50, updates=300, deletes=60)
    second = run_uplynk(fresh_sandbox, wh)
    fresh_sandbox.clear_faults()
    assert first.retries + second.retries > 0
    assert_matches_sandbox(fresh_sandbox, wh)
    assert_new_changes_are_the_served_ones(fresh_sandbox, wh, second, churn["from_ms"])


def test_stale_cursor_finds_forgotten_deletions(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    # 7 h pass; the feed forgets deletions older than 6 h
    forgotten = fresh_sandbox.advance(seconds=HOUR, deletes=80)
    fresh_sandbox.advance(seconds=6 * HOUR, updates=50)
    report = run_uplynk(fresh_sandbox, wh)
    assert report.reconciled == "stale_cursor"
    truth = assert_matches_sandbox(fresh_sandbox, wh)
    gone = {
        a
        for a, r in truth.deleted.items()
        if forgotten["from_ms"] < r["deleted"] <= forgotten["to_ms"]
    }
    _, dead = warehouse_rows(wh)
    assert len(gone) >= 80
    assert {a: dead.get(a) for a in gone} == dict.fromkeys(gone, "reconcile")


def test_malformed_records_are_quarantined_with_their_reason(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(assets=2000, malformed_fraction=0.01)
    wh = new_warehouse(tmp_path)
    report = run_uplynk(fresh_sandbox, wh)
    truth = assert_matches_sandbox(fresh_sandbox, wh)
    assert truth.malformed and report.rejected >= len(truth.malformed) * 0.5
    assert_rejects_are_the_malformed_assets(wh, truth)
    with wh.read() as con:
        streams = {r[0] for r in con.execute("SELECT stream FROM meta.rejects").fetchall()}
    assert streams == {"uplynk_assets"}


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_equals_the_sandbox(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(assets=6000)
    killed = new_warehouse(tmp_path, "killed")
    fresh_sandbox.faults(p_slow=1.0, slow_s=0.05)
    churn = None
    for phase in ("listing", "feed"):
        if phase == "feed":
            churn = fresh_sandbox.advance(seconds=HOUR, creates=200, updates=3000, deletes=200)
            fresh_sandbox.faults(p_slow=1.0, slow_s=0.1)
        proc = cli_sync(
            fresh_sandbox, killed, "--checkpoint-pages", "1", "--checkpoint-rows", "300"
        )
        assert kill_after_checkpoints(proc, 4) == 4, "the sync finished before the kill"
        assert saved_cursor(killed) is not None, "no checkpoint was committed before the kill"
        fresh_sandbox.clear_faults()
        rerun = cli_sync(fresh_sandbox, killed)
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err.decode()[-2000:]
    assert_matches_sandbox(fresh_sandbox, killed)
    assert churn is not None
    want = {c for c in served_changes(fresh_sandbox, churn["from_ms"] + 1)}
    got = {c for c in stored_changes(killed) if c[0] > churn["from_ms"]}
    assert want <= got and len(want) >= 3400
    lake_files = {p for p in killed.lake_root.rglob("*") if p.is_file()}
    with killed.read() as con:
        ledger = {r[0] for r in con.execute("SELECT path FROM meta.lake_files").fetchall()}
    assert {str(p) for p in lake_files} <= {str(p) for p in ledger} | {
        str(killed.lake_root / p) for p in ledger
    }


def test_cursor_is_never_ahead_of_the_data_after_a_kill(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    start = saved_cursor(wh)
    fresh_sandbox.advance(seconds=HOUR, updates=3000, deletes=100)
    fresh_sandbox.faults(p_slow=1.0, slow_s=0.15)
    proc = cli_sync(fresh_sandbox, wh, "--checkpoint-pages", "1")
    assert kill_after_checkpoints(proc, 3) == 3
    fresh_sandbox.clear_faults()
    cursor = saved_cursor(wh)
    assert cursor is not None and start is not None
    assert cursor > start, "the killed run committed no checkpoint"
    covered = {c for c in served_changes(fresh_sandbox, start) if c[0] <= cursor}
    assert covered and covered <= set(stored_changes(wh))


class CrashingWarehouse(Warehouse):
    """A warehouse whose N-th write transaction dies just before it commits (as a process
    killed mid-commit would): everything written in that transaction is rolled back."""

    crash_at = 0
    transactions = 0

    @contextlib.contextmanager
    def write(self, *args, **kwargs):
        with super().write(*args, **kwargs) as tx:
            yield tx
            self.transactions += 1
            if self.transactions == self.crash_at:
                raise ConnectionAbortedError("simulated crash before commit")


def copy_warehouse(source: Warehouse, target: Path) -> CrashingWarehouse:
    target.mkdir()
    shutil.copy(source.path, target / source.path.name)
    shutil.copytree(source.lake_root, target / source.lake_root.name)
    return CrashingWarehouse(target / source.path.name, target / source.lake_root.name)


def test_a_checkpoint_that_dies_before_commit_leaves_the_cursor_with_its_data(
    fresh_sandbox, tmp_path
):
    """The cursor is saved in the transaction that writes the rows it covers: kill the run's
    1st, 2nd, 3rd... write transaction in turn, and each time the saved cursor covers only
    changes that are stored (a cursor committed on its own, before its rows, shows here)."""
    fresh_sandbox.reset(assets=1000, changes_page_size=100)
    base = new_warehouse(tmp_path, "base")
    run_uplynk(fresh_sandbox, base)
    start = saved_cursor(base)
    assert start is not None
    churn = fresh_sandbox.advance(seconds=HOUR, updates=300, deletes=50)
    served = served_changes(fresh_sandbox, start)
    crashed = 0
    for crash_at in range(1, 100):
        wh = copy_warehouse(base, tmp_path / f"crash-{crash_at}")
        wh.crash_at = crash_at
        try:
            run_uplynk(fresh_sandbox, wh, checkpoint_pages=1)
        except ConnectionAbortedError:
            crashed += 1
        else:
            break  # the run has fewer write transactions than crash_at: it completed
        cursor = saved_cursor(wh)
        assert cursor is not None and cursor >= start
        lost = {c for c in served if c[0] <= cursor} - set(stored_changes(wh))
        assert not lost, f"crash at transaction {crash_at}: cursor {cursor} ahead of its data"
    assert crashed >= 4, "too few checkpoints to prove anything"
    # the run that outlived every crash point, and one resumed after a crash, both converge
    assert_matches_sandbox(fresh_sandbox, wh)
    assert {c for c in served if c[0] > churn["from_ms"]} <= set(stored_changes(wh))
    resumed = CrashingWarehouse(
        tmp_path / "crash-1" / base.path.name, tmp_path / "crash-1" / base.lake_root.name
    )
    run_uplynk(fresh_sandbox, resumed)
    assert_matches_sandbox(fresh_sandbox, resumed)


def test_deletions_during_a_listing_do_not_hide_live_assets(fresh_sandbox, tmp_path):
    """Deletes shift later assets left while skip/limit pages are fetched; the overlapping
    pages and look-backs must still see every asset that stays alive."""
    import threading

    fresh_sandbox.faults(p_slow=1.0, slow_s=0.04)
    stop = threading.Event()

    def churn():
        while not stop.wait(0.05):
            fresh_sandbox.advance(seconds=1, deletes=12)

    churner = threading.Thread(target=churn)
    churner.start()
    wh = new_warehouse(tmp_path)
    try:
        report = run_uplynk(fresh_sandbox, wh, list_concurrency=2)
    finally:
        stop.set()
        churner.join()
    fresh_sandbox.clear_faults()
    assert report.list_look_backs > 0, "no deletion shifted the listing: the test proves nothing"
    # the feed delivers the deletions made after the run; an asset the listing skipped and
    # that never changed again would still be missing
    assert run_uplynk(fresh_sandbox, wh).reconciled is None
    assert_matches_sandbox(fresh_sandbox, wh)


def test_changes_made_while_a_first_listing_runs_all_end_in_the_table(fresh_sandbox, tmp_path):
    """A first run walks the feed beside its listing: updates, creates and deletes made
    while both run are in the table when the run ends (states the listing read before a
    change must not win over the change)."""
    import threading
    import time

    fresh_sandbox.reset(assets=6000)
    fresh_sandbox.faults(p_slow=1.0, slow_s=0.04)
    fresh_sandbox.reset_stats()
    stop = threading.Event()
    finished: list[float] = []

    def churn():
        while uplynk_requests(fresh_sandbox.stats(), "list") == 0:  # the listing has begun
            if stop.wait(0.005):
                return
        for _ in range(6):
            fresh_sandbox.advance(seconds=1, creates=5, updates=80, deletes=5)
            time.sleep(0.03)
        finished.append(time.monotonic())

    churner = threading.Thread(target=churn)
    churner.start()
    wh = new_warehouse(tmp_path)
    try:
        report = run_uplynk(fresh_sandbox, wh, list_concurrency=2)
        ended = time.monotonic()
    finally:
        stop.set()
        churner.join()
    fresh_sandbox.clear_faults()
    assert report.reconciled == "first_run"
    assert finished and finished[0] < ended, "the churn outlasted the run: nothing checked"
    assert report.changes >= 6 * 90  # the churn's changes came through the feed
    assert_matches_sandbox(fresh_sandbox, wh)
