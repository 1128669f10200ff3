"""The progress line's ETA needs a total: the IBM and VALT runs announce one as soon as their
policy has chosen what to read (expirations to check, recording details to read), and the
announced total is what the run then writes."""

from __future__ import annotations

from connector.kit.progress import progress_text, rows_done
from tests.ibm_helpers import new_warehouse, run_ibm
from tests.valt_helpers import run_valt


def test_ibm_and_valt_runs_announce_the_rows_they_will_write(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    ibm = run_ibm(fresh_sandbox, wh)
    assert ibm.selected > 100, "the policy chose no expirations: nothing to estimate"
    assert getattr(ibm, "expected_rows", None) == rows_done(ibm), (
        "the IBM run announced no total, or not the one it wrote"
    )
    valt = run_valt(fresh_sandbox, wh)
    assert valt.details_selected > 50
    assert getattr(valt, "expected_rows", None) == rows_done(valt)

    halfway = type(ibm)(run_id="x", inserted=ibm.expected_rows // 2)
    halfway.expected_rows = ibm.expected_rows
    assert "ETA" in progress_text("ibm", halfway, 2.0)
