"""Marts: analyst-facing views, one ``.sql`` file each with a comment header.

Each file is a ``CREATE OR REPLACE VIEW marts.<name>`` statement; :func:`build_mart`
(re)creates one in the warehouse. Views read the raw tables at query time, so a mart is
always as fresh as the last sync. Building ``dead_source_urls`` first records the dead
streaks of media URLs (``sql/record_dead_streaks.sql``: the last probes keep no history, so
"dead since" is carried here from build to build).
"""

from __future__ import annotations

from pathlib import Path

from connector.warehouse import Warehouse

SQL_DIR = Path(__file__).parent
#: statements run in the same transaction before a mart is (re)created
_BEFORE = {"dead_source_urls": "sql/record_dead_streaks.sql"}


def mart_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


def mart_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def build_mart(warehouse: Warehouse, name: str) -> int:
    """(Re)create ``marts.<name>``; return its current row count."""
    with warehouse.write() as tx:
        if name in _BEFORE:
            tx.execute((SQL_DIR / _BEFORE[name]).read_text())
        tx.execute(mart_sql(name))
        return int(tx.con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0])
