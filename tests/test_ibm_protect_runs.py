"""Every protect run, dry or real, is in meta.runs (stream ``ibm_protect``), so the sync
history and `python -m connector status` show it: rows_updated is the number of videos the
vendor now holds at rule=never (the sandbox's ground truth), rows_inserted the audit rows."""

from __future__ import annotations

from connector.ibm import ProtectOptions, protect_ibm
from connector.reconcile import reconcile
from tests.ibm_helpers import FAST_RETRY, ibm_settings, new_warehouse, rows, run_ibm
from tests.uplynk_helpers import run_uplynk


def test_protect_runs_are_recorded_in_meta_runs_with_what_they_changed(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    run_ibm(fresh_sandbox, wh)
    reconcile(wh)
    for dry_run in (True, False):
        opts = ProtectOptions(now_ms=fresh_sandbox.now_ms(), dry_run=dry_run)
        protect_ibm(ibm_settings(fresh_sandbox), wh, opts, retry=FAST_RETRY)
    protected = sum(1 for r in fresh_sandbox.expected_ibm() if r["protected"])
    assert protected > 0, "the world has no video to protect: the test proves nothing"
    runs = rows(
        wh,
        "SELECT status, rows_inserted, rows_updated, requests FROM meta.runs "
        "WHERE stream = 'ibm_protect' ORDER BY started_at",
    )
    assert len(runs) == 2, f"{len(runs)} protect runs in meta.runs, 2 ran"
    assert runs == [("ok", protected, 0, 0), ("ok", protected, protected, runs[1][3])], runs
    assert runs[1][3] >= 2 * protected  # a GET and a PUT per video
