"""notebooks/explore.ipynb runs headless, every cell, against a small demo warehouse (built
from the session sandbox: every source synced, an hour of churn synced, reconciled, probed,
the marts built), and draws its plots; the notebook file is what notebooks/build_explore.py
writes (edit the cells there)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.demo_warehouse import shared_demo_warehouse

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


@pytest.fixture(scope="module")
def demo_warehouse(sandbox, tmp_path_factory):
    return shared_demo_warehouse(sandbox, tmp_path_factory)


def test_the_notebook_file_is_what_its_builder_writes():
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        from build_explore import build
    finally:
        sys.path.pop(0)
    on_disk = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in on_disk.cells] == [c.source for c in build().cells], (
        "notebooks/explore.ipynb differs from notebooks/build_explore.py: run it"
    )
    assert all(not c.get("outputs") for c in on_disk.cells), "commit the notebook without outputs"


def test_the_notebook_runs_headless_and_draws_its_plots(demo_warehouse, monkeypatch):
    monkeypatch.setenv("CONNECTOR_WAREHOUSE", str(demo_warehouse.path))
    monkeypatch.setenv("CONNECTOR_LAKE", str(demo_warehouse.lake_root))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    t0 = time.monotonic()
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()  # raises CellExecutionError, naming the cell, when one fails
    print(f"notebook executed in {time.monotonic() - t0:.1f} s")

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    images = sum(1 for o in outputs if "image/png" in o.get("data", {}))
    assert images == 4, f"{images} plots drawn: expiring, dead URLs, coverage, sync history"
    counts = {
        name: demo_warehouse.query(f"SELECT count(*) FROM marts.{name}")[0][0]
        for name in ("assets_expiring_soon", "dead_source_urls", "catalog_coverage")
    }
    assert all(counts.values()), f"a mart is empty in the demo warehouse: {counts}"
    text = "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs)
    for name, n in counts.items():
        assert name in text and str(n) in text, f"the notebook does not show marts.{name} ({n})"
    assert "raw.uplynk_assets holds" in text  # the lake read by pyarrow
