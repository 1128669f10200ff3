"""Marts: analyst-facing views, one ``.sql`` file each with a comment header.

Each file is a ``CREATE OR REPLACE VIEW marts.<name>`` statement; :func:`build_mart`
(re)creates one in the warehouse. Views read the raw tables at query time, so a mart is
always as fresh as the last sync.
"""

from __future__ import annotations

from pathlib import Path

from connector.warehouse import Warehouse

SQL_DIR = Path(__file__).parent


def mart_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


def mart_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def build_mart(warehouse: Warehouse, name: str) -> int:
    """(Re)create ``marts.<name>``; return its current row count."""
    with warehouse.write() as tx:
        tx.execute(mart_sql(name))
        return int(tx.con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0])
