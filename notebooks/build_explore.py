"""Writes notebooks/explore.ipynb from the cells below (no outputs): edit here, run
``.venv/bin/python notebooks/build_explore.py``, commit both. tests/test_notebook.py checks the
two agree and executes the notebook headless."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Exploring the video catalog warehouse

Open this after `make demo` (it reads `data/warehouse.duckdb` and the Parquet lake in
`data/lake`; `CONNECTOR_WAREHOUSE` / `CONNECTOR_LAKE` point elsewhere). The connection is
**read-only**: nothing here changes the warehouse. DuckDB lets one process write a file at a
time, so while a Dagster run writes (`make dev`), opening waits for its transaction to end;
run `con.close()` when done, or the next sync waits for you.

What is here: the four marts, then plots of assets expiring per day by system, dead media
URLs by reason, catalog coverage across the four systems and the sync history (rows and
duration per run, from `meta.runs`); last, the Parquet lake read with a second engine
(`pyarrow.dataset`), to show the files stand on their own.""",
    ),
    (
        "code",
        """import os
import time
import warnings
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
import pyarrow.dataset as ds

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())
WAREHOUSE = Path(os.environ.get("CONNECTOR_WAREHOUSE", ROOT / "data" / "warehouse.duckdb"))
LAKE = Path(os.environ.get("CONNECTOR_LAKE", ROOT / "data" / "lake"))
for _attempt in range(30):  # a sync holds the file only for short transactions
    try:
        con = duckdb.connect(str(WAREHOUSE), read_only=True)
        break
    except duckdb.IOException:
        time.sleep(1)
else:
    raise RuntimeError(f"{WAREHOUSE} stayed locked by a writer for 30 s")
pd.set_option("display.max_columns", 20)
warnings.filterwarnings("ignore", message=".*inplace keyword")  # duckdb's .df() on pandas 3.1
print(f"warehouse: {WAREHOUSE}\\nlake:      {LAKE}")""",
    ),
    ("md", "## The marts\n\nRow counts, then the first rows of each."),
    (
        "code",
        """MARTS = [
    "assets_expiring_soon",
    "dead_source_urls",
    "catalog_coverage",
    "recommendations_to_unplayable",
]
pd.DataFrame(
    [(m, con.sql(f"SELECT count(*) FROM marts.{m}").fetchone()[0]) for m in MARTS],
    columns=["mart", "rows"],
)""",
    ),
    (
        "code",
        """for m in MARTS:
    print(f"marts.{m}")
    display(con.sql(f"SELECT * FROM marts.{m} LIMIT 5").df())""",
    ),
    ("md", "## Assets expiring per day, by system (the next 14 days)"),
    (
        "code",
        """expiring = con.sql(
    \"\"\"
    SELECT CAST(ends_at AS DATE) AS day, system, count(*) AS assets
    FROM marts.assets_expiring_soon
    GROUP BY ALL ORDER BY day
    \"\"\"
).df()
if expiring.empty:
    print("nothing expires in the next 14 days")
else:
    per_day = expiring.pivot_table(index="day", columns="system", values="assets", fill_value=0)
    per_day.index = pd.to_datetime(per_day.index).strftime("%a %m-%d")
    ax = per_day.plot.bar(stacked=True, figsize=(10, 4), rot=45)
    ax.set(title="Assets expiring per day, by system", xlabel="", ylabel="assets")
    plt.tight_layout()
    plt.show()""",
    ),
    ("md", "## Dead media URLs, by reason"),
    (
        "code",
        """dead = con.sql(
    \"\"\"
    SELECT system, coalesce(dead_because, 'unknown') AS dead_because, count(*) AS urls
    FROM marts.dead_source_urls
    GROUP BY ALL ORDER BY urls DESC
    \"\"\"
).df()
if dead.empty:
    print("no dead URLs")
else:
    by_reason = dead.pivot_table(
        index="dead_because", columns="system", values="urls", fill_value=0
    )
    ax = by_reason.plot.barh(stacked=True, figsize=(8, 3))
    ax.set(title="Dead media URLs, by reason", xlabel="URLs", ylabel="")
    plt.tight_layout()
    plt.show()
dead""",
    ),
    (
        "md",
        "## Catalog coverage across the four systems\n\nEach canonical asset's state in "
        "each system (`core.asset_xref` clusters), and how many systems have it live.",
    ),
    (
        "code",
        """coverage = con.sql(
    \"\"\"
    SELECT system, state, count(*) AS assets
    FROM (UNPIVOT marts.catalog_coverage ON uplynk, ibm, valt, iris
          INTO NAME system VALUE state)
    GROUP BY ALL
    \"\"\"
).df()
states = coverage.pivot_table(index="system", columns="state", values="assets", fill_value=0)
live = con.sql(
    "SELECT systems_live, count(*) AS assets FROM marts.catalog_coverage GROUP BY ALL ORDER BY 1"
).df()
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
states.loc[[s for s in ["uplynk", "ibm", "valt", "iris"] if s in states.index]].plot.bar(
    stacked=True, ax=left, rot=0, title="State of each canonical asset, per system"
)
left.set(xlabel="", ylabel="canonical assets")
right.bar(live["systems_live"].astype(str), live["assets"])
right.set(title="Systems where an asset is live", xlabel="systems", ylabel="canonical assets")
plt.tight_layout()
plt.show()
orphans = con.sql("SELECT count(*) FROM marts.catalog_coverage WHERE orphan").fetchone()[0]
print(f"orphans (live in one system, gone in another): {orphans:,}")""",
    ),
    ("md", "## Sync history\n\nRows changed and duration of each run, from `meta.runs`."),
    (
        "code",
        """runs = con.sql(
    \"\"\"
    SELECT stream, started_at, status,
           coalesce(rows_inserted, 0) + coalesce(rows_updated, 0)
             + coalesce(rows_deleted, 0) AS rows_changed,
           epoch(finished_at - started_at) AS seconds
    FROM meta.runs
    WHERE finished_at IS NOT NULL
    ORDER BY started_at
    \"\"\"
).df()
fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
for stream, g in runs.groupby("stream"):
    top.plot(g["started_at"], g["rows_changed"], marker="o", label=stream)
    bottom.plot(g["started_at"], g["seconds"], marker="o", label=stream)
top.set(title="Rows changed per run", ylabel="rows")
bottom.set(title="Duration per run", ylabel="seconds")
top.legend(loc="upper left", fontsize="small")
fig.autofmt_xdate()
plt.tight_layout()
plt.show()
runs.groupby("stream").agg(
    runs=("status", "size"), rows=("rows_changed", "sum"), seconds=("seconds", "sum")
)""",
    ),
    (
        "md",
        """## The Parquet lake, read without DuckDB

Every batch a sync wrote is also a Parquet file under `<lake>/<stream>/date=YYYY-MM-DD/`.
`pyarrow.dataset` reads them on its own (Hive partitioning gives the `date` column):""",
    ),
    (
        "code",
        """streams = sorted(p.name for p in LAKE.iterdir() if p.is_dir()) if LAKE.is_dir() else []
lake = pd.DataFrame(
    [
        (s, len(d.files), d.count_rows())
        for s in streams
        for d in [ds.dataset(LAKE / s, format="parquet", partitioning="hive")]
    ],
    columns=["stream", "files", "rows landed"],
)
lake""",
    ),
    (
        "code",
        """assets = ds.dataset(LAKE / "uplynk_assets", format="parquet", partitioning="hive")
landed = assets.to_table(columns=["asset_id", "lastmod_at", "deleted_at"])
latest = landed.group_by("asset_id").aggregate([("lastmod_at", "max")])
stored = con.sql("SELECT count(*) FROM raw.uplynk_assets").fetchone()[0]
print(
    f"{landed.num_rows:,} Uplynk rows landed in {len(assets.files)} files, "
    f"{latest.num_rows:,} distinct assets; raw.uplynk_assets holds {stored:,} rows"
)""",
    ),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook(
        cells=[
            new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: the file only changes with its cells
    return nb


if __name__ == "__main__":
    nbformat.write(build(), HERE / "explore.ipynb")
    print(HERE / "explore.ipynb")
