"""core.asset_xref over loopback: the Uplynk and IBM connectors sync the sandbox (default
noise), reconcile links them, and the links are compared with the sandbox's ground truth
(GET /_control/truth). VALT and IRIS join once their connectors sync in these tests."""

from __future__ import annotations

from connector.reconcile import reconcile
from tests.ibm_helpers import run_ibm
from tests.uplynk_helpers import new_warehouse, run_uplynk


def _truth_pairs(sandbox, stored_ibm: set[str], stored_uplynk: set[str]) -> tuple[set, set]:
    """(IBM video, Uplynk asset) pairs of the same content among the stored records, and the
    decoy IBM videos (vendor-only videos titled like a canonical asset)."""
    rows = list(sandbox.truth())
    uplynk_by_content: dict[int, list[str]] = {}
    for r in rows:
        if r["canonical_index"] is not None and r["uplynk_id"] in stored_uplynk:
            uplynk_by_content.setdefault(r["content_index"], []).append(r["uplynk_id"])
    pairs = {
        (r["ibm_video_id"], u)
        for r in rows
        if r["canonical_index"] is not None and r["ibm_video_id"] in stored_ibm
        for u in uplynk_by_content.get(r["canonical_index"], [])
    }
    decoys = {
        r["ibm_video_id"] for r in rows if r.get("decoy_of") is not None and r["ibm_video_id"]
    }
    return pairs, decoys & stored_ibm


def test_ibm_uplynk_links_agree_with_the_sandbox_truth(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    run_ibm(fresh_sandbox, wh)
    report = reconcile(wh)
    assert report.status == "ok" and {"uplynk", "ibm"} <= set(report.systems)

    stored_ibm = {r[0] for r in wh.query("SELECT video_id FROM raw.ibm_videos")}
    stored_uplynk = {r[0] for r in wh.query("SELECT asset_id FROM raw.uplynk_assets")}
    truth, decoys = _truth_pairs(fresh_sandbox, stored_ibm, stored_uplynk)
    got = set(
        wh.query(
            "SELECT i.system_id, u.system_id FROM core.asset_xref i JOIN core.asset_xref u "
            "USING (canonical_id) WHERE i.system = 'ibm' AND u.system = 'uplynk'"
        )
    )
    correct = len(got & truth)
    precision, recall = correct / len(got), correct / len(truth)
    print(f"ibm~uplynk: {len(got)} links, {len(truth)} true, P {precision:.4f} R {recall:.4f}")
    assert len(truth) > 500 and decoys
    assert precision >= 0.99 and recall >= 0.95
    linked_ibm = {i for i, _ in got}
    assert not decoys & linked_ibm  # no decoy merged into a canonical asset

    again = reconcile(wh)
    assert (again.dirty, again.inserted, again.updated) == (0, 0, 0)
